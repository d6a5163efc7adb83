// An in-memory StorageAdapter: for Node, tests and simulations. Its optional quota makes the StorageQuotaError path
// testable anywhere, with the same all-or-nothing behaviour IndexedDB gives a transaction that runs out of space.
import { InvalidOptionError, StorageError, StorageQuotaError } from '../errors.js'
import type { StorageAdapter, StorageEntry, StorageKey, StorageOp, StorageUsage } from './adapter.js'
import {
  assertKey,
  assertOps,
  assertPrefix,
  compareEncoded,
  decodeKey,
  encodeKey,
  inRange,
  prefixRange,
} from './key.js'

export interface MemoryStorageOptions {
  /**
   * The most value bytes the adapter may hold (keys are not counted). A save or batch that would end above it rejects
   * with StorageQuotaError and changes nothing. Default: no limit.
   */
  readonly quotaBytes?: number
}

export class MemoryStorageAdapter implements StorageAdapter {
  readonly kind = 'memory'
  readonly #quota: number
  /** Encoded key to value. Values are private copies, never handed out. */
  #entries: Map<string, Uint8Array> | undefined = new Map()
  #usage = 0

  constructor(options: MemoryStorageOptions = {}) {
    const quota = options.quotaBytes ?? Number.POSITIVE_INFINITY
    if (typeof quota !== 'number' || Number.isNaN(quota) || quota < 0) {
      throw new InvalidOptionError(`quotaBytes must be a number >= 0, got ${String(options.quotaBytes)}`)
    }
    this.#quota = quota
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    assertKey(key)
    return this.#open().get(encodeKey(key))?.slice()
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    return this.batch([{ type: 'save', key, data }])
  }

  async remove(key: StorageKey): Promise<void> {
    return this.batch([{ type: 'remove', key }])
  }

  async loadRange(prefix: StorageKey): Promise<StorageEntry[]> {
    assertPrefix(prefix)
    const range = prefixRange(prefix)
    const matches = [...this.#open()].filter(([encoded]) => inRange(encoded, range))
    matches.sort(([a], [b]) => compareEncoded(a, b))
    return matches.map(([encoded, data]) => ({ key: decodeKey(encoded), data: data.slice() }))
  }

  async removeRange(prefix: StorageKey): Promise<void> {
    return this.batch([{ type: 'removeRange', prefix }])
  }

  /**
   * Stages the operations in an overlay (undefined marks a deletion), checks the quota against the result, and only
   * then writes the overlay through, so a rejected batch leaves the map exactly as it was.
   */
  async batch(ops: ReadonlyArray<StorageOp>): Promise<void> {
    assertOps(ops)
    const entries = this.#open()
    const staged = new Map<string, Uint8Array | undefined>()
    for (const op of ops) {
      if (op.type === 'save') {
        // A copy in a buffer of its own and exactly its length: `slice()` would keep a view for a Node Buffer.
        staged.set(encodeKey(op.key), new Uint8Array(op.data))
      } else if (op.type === 'remove') {
        staged.set(encodeKey(op.key), undefined)
      } else {
        const range = prefixRange(op.prefix)
        for (const encoded of [...entries.keys(), ...staged.keys()]) {
          if (inRange(encoded, range)) staged.set(encoded, undefined)
        }
      }
    }
    let usage = this.#usage
    for (const [encoded, data] of staged) {
      usage += (data?.byteLength ?? 0) - (entries.get(encoded)?.byteLength ?? 0)
    }
    if (usage > this.#quota) {
      throw new StorageQuotaError(
        `storage write would hold ${usage} bytes, over the quota of ${this.#quota} bytes; nothing was changed`,
      )
    }
    for (const [encoded, data] of staged) {
      if (data === undefined) entries.delete(encoded)
      else entries.set(encoded, data)
    }
    this.#usage = usage
  }

  async estimate(): Promise<StorageUsage> {
    this.#open()
    return { usage: this.#usage, quota: this.#quota }
  }

  async close(): Promise<void> {
    this.#entries = undefined
  }

  #open(): Map<string, Uint8Array> {
    if (this.#entries === undefined) throw new StorageError('the memory storage adapter is closed')
    return this.#entries
  }
}
