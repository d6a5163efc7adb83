/**
 * `room.log(name)` and `room.lock(name)`: one total order and linearizable, fenced locks for every peer of the room,
 * through the room's super-peers (see room/room-ordering.ts). Thin handles over the ordering service.
 */
import { AbortError, InvalidOptionError, LockBusyError, NotCommittedError, throwIfAborted } from '../errors.js'
import { Emitter } from '../events.js'
import { ORDERING_LIMITS } from '../ordering/commands.js'
import type { LockGrant, OrderedEntry } from '../ordering/ordered-state.js'
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
  /**
   * Whether to wait in the queue while another peer holds the lock. Default true. With false, a busy lock rejects
   * with LockBusyError at once (the request is withdrawn first, so it is never granted later).
   */
  readonly wait?: boolean
}

export interface LockGrantInfo {
  /** Strictly increasing across every grant in the room: pass it to the resource you protect (fencing). */
  readonly token: number
  /** When the lease ends, in the log's time (ms since the epoch, by the leader's clock). */
  readonly expiresAtMs: number
}

/** Who holds a lock, as far as this peer has applied the room's ordered log. */
export interface LockHolder extends LockGrantInfo {
  /** The holder's peer id. */
  readonly peer: string
  /** Held by this peer (through this room). */
  readonly mine: boolean
}

export interface LockEvents extends Record<string, unknown> {
  change: LockHolder | null
}

/** A linearizable lock with a lease and a fencing token. */
export class LockHandle {
  private held: LockGrantInfo | null = null
  private readonly events = new Emitter<LockEvents>()
  private readonly unsubscribe: (() => void)[]
  /** The token of the holder last reported by `change` (0: free), so each change is reported once. */
  private reported: number

  constructor(
    private readonly service: OrderingService,
    readonly name: string,
  ) {
    checkName('lock', name)
    const replica = service.replica
    this.reported = replica.view.holder(name)?.token ?? 0
    this.unsubscribe = [
      replica.events.on('event', (e) => {
        // The view already shows the state after the whole entry (a release may hand the lock on in the same entry),
        // so report from the event itself: `null`, then the next holder.
        if (e.type === 'granted' && e.grant.lock === name) this.report(e.grant)
        else if (e.type === 'freed' && e.lock === name) this.report(null)
      }),
      // A snapshot restore (a peer catching up after compaction) changes holders without events: compare once applied.
      replica.events.on('applied', () => this.report(replica.view.holder(name))),
    ]
  }

  /** The grant this handle holds, if any (it may have expired since: check `expiresAtMs`). */
  get grant(): LockGrantInfo | null {
    return this.held
  }

  /**
   * Who holds the lock as far as this peer has applied the room's log, or null when it is free. The lease may have
   * run out since (the log frees it with its next clock entry): compare `expiresAtMs` with the time if it matters.
   */
  holder(): LockHolder | null {
    const g = this.service.replica.view.holder(this.name)
    return g === null ? null : this.toHolder(g)
  }

  /** The lock was granted or freed (released, or its lease ran out); returns an unsubscribe function. */
  on(event: 'change', listener: (holder: LockHolder | null) => void): () => void {
    return this.events.on(event, listener)
  }

  /**
   * Waits for the lock (in the order requests reached the log) and resolves with its fencing token. Aborting the
   * signal withdraws the request (rejecting with AbortError); if the grant raced the abort, the lock is released.
   * With `wait: false`, rejects with LockBusyError instead of waiting when another peer holds the lock.
   */
  async acquire(options: AcquireOptions = {}): Promise<LockGrantInfo> {
    throwIfAborted(options.signal)
    const ttlMs = options.ttlMs ?? 30_000
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > ORDERING_LIMITS.maxTtlMs) {
      throw new InvalidOptionError(`ttlMs must be an integer from 1 to ${ORDERING_LIMITS.maxTtlMs}`)
    }
    const wait: unknown = options.wait ?? true
    if (typeof wait !== 'boolean') throw new InvalidOptionError(`wait must be a boolean, got ${JSON.stringify(wait)}`)
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
      const current = this.service.replica.view.holder(this.name)
      // Granted already (the holder released while our answer travelled): not busy, whatever `wait` says.
      if (current !== null && current.holder === client && current.seq === seq) return this.hold(current)
      if (!wait) throw await this.busy(current)
      return await new Promise<LockGrantInfo>((resolve, reject) => {
        const onAbort = (): void => {
          reject(new AbortError('acquire was aborted', { cause: options.signal?.reason }))
          this.withdraw().catch(() => {
            // Best effort: the caller has its AbortError, and a grant we failed to release ends with its lease.
          })
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

  /** Stops reporting `change` (the room was left). */
  close(): void {
    for (const off of this.unsubscribe) off()
    this.events.clear()
  }

  private hold(g: LockGrantInfo): LockGrantInfo {
    this.held = { token: g.token, expiresAtMs: g.expiresAtMs }
    return this.held
  }

  private toHolder(g: LockGrant): LockHolder {
    return { peer: peerOf(g.holder), token: g.token, expiresAtMs: g.expiresAtMs, mine: g.holder === this.service.client }
  }

  /** Emits `change` if `g` is not the holder last reported (compared by token, so an unchanged lock costs nothing). */
  private report(g: LockGrant | null): void {
    const token = g?.token ?? 0
    if (token === this.reported) return
    this.reported = token
    this.events.emit('change', g === null ? null : this.toHolder(g))
  }

  /**
   * `acquire({ wait: false })` found the lock held: withdraw the queued request before saying so, so the caller is
   * never granted a lock it was told is busy. If the withdrawal fails, the error is the busy error's cause: the
   * request may then still be granted later, and that grant ends with its lease.
   */
  private async busy(current: LockGrant | null): Promise<LockBusyError> {
    const peer = current === null ? '' : peerOf(current.holder)
    const expiresAtMs = current?.expiresAtMs ?? 0
    try {
      await this.withdraw()
    } catch (err) {
      return new LockBusyError(this.name, peer, expiresAtMs, { cause: err })
    }
    return new LockBusyError(this.name, peer, expiresAtMs)
  }

  /** The caller gave up: take the request out of the queue, or release a grant that raced the withdrawal. */
  private async withdraw(): Promise<void> {
    await this.service.submit({ type: 'release', lock: this.name, token: 0 })
    // The withdrawal is applied here now: if we still hold the lock, the grant came before it.
    const h = this.service.replica.view.holder(this.name)
    if (h !== null && h.holder === this.service.client) {
      await this.service.submit({ type: 'release', lock: this.name, token: h.token })
    }
  }
}
