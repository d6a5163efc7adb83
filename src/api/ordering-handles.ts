/**
 * `room.log(name)` and `room.lock(name)`: one total order and linearizable, fenced locks for every peer of the room,
 * through the room's super-peers (see room/room-ordering.ts). Thin handles over the ordering service.
 */
import { AbortError, InvalidOptionError, NotCommittedError, throwIfAborted } from '../errors.js'
import { Emitter } from '../events.js'
import { ORDERING_LIMITS } from '../ordering/commands.js'
import type { OrderedEntry } from '../ordering/ordered-state.js'
import type { OrderingService } from '../ordering/service.js'

export interface LogEntry<T> {
  /** 1-based position in this log, the same on every peer. */
  readonly index: number
  readonly value: T
  /** The peer that appended it. */
  readonly from: string
}

export interface LogEvents<T> extends Record<string, unknown> {
  entry: LogEntry<T>
}

function checkName(kind: string, name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > ORDERING_LIMITS.maxNameLength) {
    throw new InvalidOptionError(`${kind} name must be 1 to ${ORDERING_LIMITS.maxNameLength} characters`)
  }
  return name
}

function peerOf(client: string): string {
  const at = client.lastIndexOf(':')
  return at < 0 ? client : client.slice(0, at)
}

/** An append-only log with one order for every peer of the room. */
export class LogHandle<T> {
  private readonly events = new Emitter<LogEvents<T>>()
  private readonly unsubscribe: () => void

  constructor(
    private readonly service: OrderingService,
    readonly name: string,
  ) {
    checkName('log', name)
    this.unsubscribe = service.replica.events.on('event', (e) => {
      if (e.type === 'entry' && e.entry.log === name) this.events.emit('entry', toEntry<T>(e.entry))
    })
  }

  /**
   * Appends `value` (JSON) and resolves with its index once it is committed (and delivered here as an `entry`).
   * Retries are idempotent: a value is in the log at most once however often the attempt is repeated. Rejects with
   * NotCommittedError: `mayHaveCommitted` true when the outcome is unknown (aborted, timed out, room left), false when
   * it certainly was not appended.
   */
  async append(value: T, options: { signal?: AbortSignal } = {}): Promise<{ index: number }> {
    throwIfAborted(options.signal)
    if (value === undefined) throw new InvalidOptionError('a log value cannot be undefined')
    const r = await this.service.submit({ type: 'append', log: this.name, value }, options)
    if (r.result.type !== 'appended') throw new NotCommittedError(`append was refused: ${JSON.stringify(r.result)}`, false)
    return { index: r.result.index }
  }

  /** Delivers every committed entry, in order, on every peer; returns an unsubscribe function. */
  on(event: 'entry', listener: (entry: LogEntry<T>) => void): () => void {
    return this.events.on(event, listener)
  }

  /** The entries this peer holds, from index `from` (default 1) on. Older ones may be trimmed (10 000 kept). */
  entries(options: { from?: number } = {}): LogEntry<T>[] {
    return this.service.replica.view.entries(this.name, options.from ?? 1).entries.map((e) => toEntry<T>(e))
  }

  /** How many entries the log has (as far as this peer has applied). */
  get length(): number {
    return this.service.replica.view.logLength(this.name)
  }

  close(): void {
    this.unsubscribe()
  }
}

function toEntry<T>(e: OrderedEntry): LogEntry<T> {
  return { index: e.index, value: e.value as T, from: peerOf(e.client) }
}

export interface AcquireOptions {
  /** How long the lease lasts unless released, by the log's clock (the leader's). Default 30 000 ms. */
  readonly ttlMs?: number
  readonly signal?: AbortSignal
}

export interface LockGrantInfo {
  /** Strictly increasing across every grant in the room: pass it to the resource you protect (fencing). */
  readonly token: number
  /** When the lease ends, in the log's time (ms since the epoch, by the leader's clock). */
  readonly expiresAtMs: number
}

/** A linearizable lock with a lease and a fencing token. */
export class LockHandle {
  private held: LockGrantInfo | null = null

  constructor(
    private readonly service: OrderingService,
    readonly name: string,
  ) {
    checkName('lock', name)
  }

  /** The grant this handle holds, if any (it may have expired since: check `expiresAtMs`). */
  get grant(): LockGrantInfo | null {
    return this.held
  }

  /**
   * Waits for the lock (in the order requests reached the log) and resolves with its fencing token. Aborting the
   * signal withdraws the request (rejecting with AbortError); if the grant raced the abort, the lock is released.
   */
  async acquire(options: AcquireOptions = {}): Promise<LockGrantInfo> {
    throwIfAborted(options.signal)
    const ttlMs = options.ttlMs ?? 30_000
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > ORDERING_LIMITS.maxTtlMs) {
      throw new InvalidOptionError(`ttlMs must be an integer from 1 to ${ORDERING_LIMITS.maxTtlMs}`)
    }
    const client = this.service.client
    // Listen before submitting: a queued request's grant may be applied before the submit's answer is handled.
    let seq = -1
    const granted: { seq: number; token: number; expiresAtMs: number }[] = []
    let wake: () => void = () => undefined
    const unsubscribe = this.service.replica.events.on('event', (e) => {
      if (e.type !== 'granted' || e.grant.lock !== this.name || e.grant.holder !== client) return
      granted.push({ seq: e.grant.seq, token: e.grant.token, expiresAtMs: e.grant.expiresAtMs })
      wake()
    })
    try {
      const r = await this.service.submit({ type: 'acquire', lock: this.name, ttlMs }, options)
      seq = r.seq
      if (r.result.type === 'granted') return this.hold({ token: r.result.token, expiresAtMs: r.result.expiresAtMs })
      if (r.result.type !== 'queued') throw new NotCommittedError(`acquire was refused: ${JSON.stringify(r.result)}`, false)
      const mine = this.service.replica.view.holder(this.name)
      if (mine !== null && mine.holder === client && mine.seq === seq) return this.hold(mine)
      return await new Promise<LockGrantInfo>((resolve, reject) => {
        const onAbort = (): void => {
          reject(new AbortError('acquire was aborted', { cause: options.signal?.reason }))
          void this.withdraw()
        }
        options.signal?.addEventListener('abort', onAbort, { once: true })
        wake = () => {
          const g = granted.find((x) => x.seq === seq)
          if (g === undefined) return
          options.signal?.removeEventListener('abort', onAbort)
          resolve(this.hold(g))
        }
        wake()
      })
    } finally {
      unsubscribe()
    }
  }

  /** Releases the lock if this handle holds it; resolves once the release is committed. */
  async release(options: { signal?: AbortSignal } = {}): Promise<void> {
    const held = this.held
    if (held === null) return
    this.held = null
    await this.service.submit({ type: 'release', lock: this.name, token: held.token }, options)
  }

  private hold(g: LockGrantInfo): LockGrantInfo {
    this.held = { token: g.token, expiresAtMs: g.expiresAtMs }
    return this.held
  }

  /** The caller gave up: take the request out of the queue, or release a grant that raced the abort. */
  private async withdraw(): Promise<void> {
    try {
      await this.service.submit({ type: 'release', lock: this.name, token: 0 })
      const h = this.service.replica.view.holder(this.name)
      if (h !== null && h.holder === this.service.client) {
        await this.service.submit({ type: 'release', lock: this.name, token: h.token })
      }
    } catch {
      // Best effort: the lease expires anyway.
    }
  }
}
