/**
 * A simulated node's durable storage: it survives crashes, and it stores copies, so a node cannot change what it
 * persisted by mutating an object afterwards (a classic bug that in-memory test storage hides and a real disk does
 * not).
 */
import { InvalidOptionError, StorageError, StorageQuotaError } from '../errors.js'

export interface SimDiskOptions {
  /** Most keys the disk holds; a write of a new key past it throws StorageQuotaError. Default 1_000_000. */
  readonly maxKeys?: number
}

export interface SimDiskStats {
  readonly keys: number
  readonly writes: number
  readonly deletes: number
}

/** The storage behind one or more handles (one per incarnation of a node). */
class DiskData {
  readonly entries = new Map<string, unknown>()
  writes = 0
  deletes = 0

  constructor(readonly maxKeys: number) {}
}

const DEFAULT_MAX_KEYS = 1_000_000

/**
 * A handle on a node's storage. The simulation closes a node's handle when it crashes and gives the restarted node a
 * new one on the same data (`reopen`), so a node that keeps running code after its crash (a stale callback) fails
 * loudly instead of writing to a disk it no longer owns.
 *
 * Values are copied with `structuredClone` on write and again on read: plain data, arrays, Maps, Sets and typed
 * arrays are fine; functions and class instances lose their prototype, as they would through a real serialisation.
 */
export class SimDisk {
  private data: DiskData
  private closed = false

  constructor(options: SimDiskOptions = {}) {
    const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new InvalidOptionError(`maxKeys must be a positive integer, got ${maxKeys}`)
    }
    this.data = new DiskData(maxKeys)
  }

  /** The stored value (a fresh copy), or undefined. The type parameter is the caller's claim; it is not checked. */
  get<T = unknown>(key: string): T | undefined {
    this.checkOpen()
    const value = this.data.entries.get(key)
    return value === undefined ? undefined : (structuredClone(value) as T)
  }

  has(key: string): boolean {
    this.checkOpen()
    return this.data.entries.has(key)
  }

  /** Stores a copy of `value`; `undefined` deletes the key, so `get` never has to tell "absent" from "undefined". */
  set(key: string, value: unknown): void {
    this.checkOpen()
    if (value === undefined) {
      this.delete(key)
      return
    }
    const entries = this.data.entries
    if (!entries.has(key) && entries.size >= this.data.maxKeys) {
      throw new StorageQuotaError(`simulated disk is full (${this.data.maxKeys} keys); not written: ${key}`)
    }
    entries.set(key, structuredClone(value))
    this.data.writes++
  }

  /** Returns whether the key existed. */
  delete(key: string): boolean {
    this.checkOpen()
    const existed = this.data.entries.delete(key)
    if (existed) this.data.deletes++
    return existed
  }

  /** The keys starting with `prefix`, sorted, so range scans (`log/000001`, …) come back in key order. */
  keys(prefix = ''): string[] {
    this.checkOpen()
    const out: string[] = []
    for (const key of this.data.entries.keys()) if (key.startsWith(prefix)) out.push(key)
    return out.sort()
  }

  get size(): number {
    return this.data.entries.size
  }

  stats(): SimDiskStats {
    return { keys: this.data.entries.size, writes: this.data.writes, deletes: this.data.deletes }
  }

  /** True once `close` or `reopen` was called on this handle. */
  get isClosed(): boolean {
    return this.closed
  }

  /** Closes this handle: every later call on it throws StorageError. The data stays. Idempotent. */
  close(): void {
    this.closed = true
  }

  /** Closes this handle and returns a new, open one on the same data (what a restarted process gets). */
  reopen(): SimDisk {
    this.closed = true
    return this.openAnother()
  }

  /** Another open handle on the same data; this one is unaffected (a test inspecting a node's disk uses one). */
  openAnother(): SimDisk {
    const other = new SimDisk({ maxKeys: this.data.maxKeys })
    other.data = this.data
    return other
  }

  private checkOpen(): void {
    if (this.closed) {
      throw new StorageError('simulated disk handle is closed: its node crashed (a stale callback kept running?)')
    }
  }
}
