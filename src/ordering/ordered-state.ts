/**
 * The replicated state machine of a room's ordering layer: named append-only logs and leased locks. Every peer of the
 * room applies the same committed commands in the same order (super-peers from their Raft log, the others from what
 * the super-peers relay), so every peer computes the same indexes, lock holders and fencing tokens. Pure and
 * deterministic: time is the log's own (the highest clock stamp applied so far), never a local clock.
 *
 * Exactly-once: each client (a peer id) numbers its commands; a command whose (client, seq) was already applied returns
 * the saved result and changes nothing, so a retry through another super-peer or a new leader is harmless. A client
 * says, with `floor`, below which seq it has all its answers, and results below it are forgotten.
 */
import { DecodeError } from '../errors.js'
import { decodeStamped, type OrderingCommand } from './commands.js'

export interface OrderedEntry {
  readonly log: string
  /** 1-based position in the named log. */
  readonly index: number
  readonly value: unknown
  /** Who appended it. */
  readonly client: string
}

export interface LockGrant {
  readonly lock: string
  readonly holder: string
  /** The seq of the holder's acquire command. */
  readonly seq: number
  /** Strictly increasing across every grant of every lock in the room. */
  readonly token: number
  readonly expiresAtMs: number
}

export type OrderingEvent =
  | { readonly type: 'entry'; readonly entry: OrderedEntry }
  | { readonly type: 'granted'; readonly grant: LockGrant }
  | { readonly type: 'freed'; readonly lock: string; readonly holder: string; readonly token: number; readonly reason: 'released' | 'expired' }

export type CommandResult =
  | { readonly type: 'appended'; readonly log: string; readonly index: number }
  | { readonly type: 'granted'; readonly token: number; readonly expiresAtMs: number }
  | { readonly type: 'queued'; readonly position: number }
  | { readonly type: 'released' }
  | { readonly type: 'notHolder' }
  | { readonly type: 'rejected'; readonly reason: string }

export interface ApplyOutcome {
  /** The answer for the command's client (absent for clock entries and for stale duplicates). */
  readonly reply?: { readonly client: string; readonly seq: number; readonly result: CommandResult }
  readonly events: readonly OrderingEvent[]
}

export interface OrderedStateOptions {
  /** Entries kept per named log in snapshots (older ones are dropped from snapshots). Default 10 000. */
  readonly retainEntries?: number
  /** Waiters per lock. Default 1024. */
  readonly maxWaiters?: number
  /** A client not heard from for this much log time loses its session (saved results). Default 1 hour. */
  readonly sessionTtlMs?: number
  /** Results kept per client. Default 4096. */
  readonly maxResultsPerClient?: number
}

interface Session {
  lastSeenMs: number
  /** Results of commands with seq >= the client's floor. */
  results: Map<number, CommandResult>
  floor: number
}

interface LockState {
  holder: string | null
  seq: number
  token: number
  expiresAtMs: number
  waiters: { client: string; seq: number; ttlMs: number }[]
}

interface NamedLog {
  /** Entries from `first` on (older ones were dropped from memory by retention). */
  first: number
  entries: OrderedEntry[]
}

export interface OrderedStateSnapshot {
  readonly v: 1
  readonly nowMs: number
  readonly lastToken: number
  readonly appliedIndex: number
  readonly logs: [string, NamedLog][]
  readonly locks: [string, LockState][]
  readonly sessions: [string, { lastSeenMs: number; floor: number; results: [number, CommandResult][] }][]
}

export class OrderedState {
  private nowMs = 0
  /** The last fencing token handed out. */
  private lastToken = 0
  appliedIndex = 0
  private readonly logs = new Map<string, NamedLog>()
  private readonly locks = new Map<string, LockState>()
  private readonly sessions = new Map<string, Session>()
  private readonly o: Required<OrderedStateOptions>

  constructor(options: OrderedStateOptions = {}) {
    this.o = {
      retainEntries: options.retainEntries ?? 10_000,
      maxWaiters: options.maxWaiters ?? 1024,
      sessionTtlMs: options.sessionTtlMs ?? 60 * 60 * 1000,
      maxResultsPerClient: options.maxResultsPerClient ?? 4096,
    }
  }

  /** The log's time: the highest clock stamp applied. */
  get timeMs(): number {
    return this.nowMs
  }

  /** Applies the committed entry at Raft index `raftIndex`. A malformed one changes nothing but the applied index. */
  apply(raftIndex: number, data: Uint8Array): ApplyOutcome {
    this.appliedIndex = raftIndex
    let stamped
    try {
      stamped = decodeStamped(data)
    } catch (err) {
      if (err instanceof DecodeError) return { events: [] }
      throw err
    }
    const events: OrderingEvent[] = []
    this.nowMs = Math.max(this.nowMs, stamped.atMs)
    this.expireLocks(events)
    const command = stamped.command
    if (command.type === 'clock') {
      this.nowMs = Math.max(this.nowMs, command.nowMs)
      this.expireLocks(events)
      this.expireSessions()
      return { events }
    }
    const session = this.session(command.client)
    const saved = session.results.get(command.seq)
    if (saved !== undefined) return { reply: { client: command.client, seq: command.seq, result: saved }, events }
    if (command.seq < session.floor) return { events }
    const result = this.execute(command, events)
    this.remember(session, command.seq, result)
    return { reply: { client: command.client, seq: command.seq, result }, events }
  }

  /** Skips a Raft entry that carries no command (noop, config). */
  skip(raftIndex: number): void {
    this.appliedIndex = raftIndex
  }

  /** The client promises it needs no result below `floor` any more. */
  setFloor(client: string, floor: number): void {
    const s = this.sessions.get(client)
    if (s === undefined || floor <= s.floor) return
    s.floor = floor
    for (const seq of s.results.keys()) if (seq < floor) s.results.delete(seq)
  }

  /** Entries of `log` from index `from` on (1-based), as far as they are retained. */
  entries(log: string, from = 1): { first: number; entries: readonly OrderedEntry[] } {
    const l = this.logs.get(log)
    if (l === undefined) return { first: 1, entries: [] }
    return { first: l.first, entries: l.entries.slice(Math.max(0, from - l.first)) }
  }

  logLength(log: string): number {
    const l = this.logs.get(log)
    return l === undefined ? 0 : l.first - 1 + l.entries.length
  }

  holder(lock: string): LockGrant | null {
    const l = this.locks.get(lock)
    if (l === undefined || l.holder === null) return null
    return { lock, holder: l.holder, seq: l.seq, token: l.token, expiresAtMs: l.expiresAtMs }
  }

  /** The earliest lease end among held locks (log time), or null when no lock is held. */
  nextExpiry(): number | null {
    let next: number | null = null
    for (const l of this.locks.values()) {
      if (l.holder !== null && (next === null || l.expiresAtMs < next)) next = l.expiresAtMs
    }
    return next
  }

  snapshot(): OrderedStateSnapshot {
    return {
      v: 1,
      nowMs: this.nowMs,
      lastToken: this.lastToken,
      appliedIndex: this.appliedIndex,
      logs: [...this.logs].map(([name, l]) => {
        const kept = l.entries.slice(-this.o.retainEntries)
        return [name, { first: l.first + l.entries.length - kept.length, entries: kept }]
      }),
      locks: [...this.locks].map(([name, l]) => [name, { ...l, waiters: [...l.waiters] }]),
      sessions: [...this.sessions].map(([c, s]) => [c, { lastSeenMs: s.lastSeenMs, floor: s.floor, results: [...s.results] }]),
    }
  }

  static restore(snap: OrderedStateSnapshot, options: OrderedStateOptions = {}): OrderedState {
    if (snap.v !== 1) throw new DecodeError(`unknown ordered-state snapshot version ${String(snap.v)}`)
    const s = new OrderedState(options)
    s.nowMs = snap.nowMs
    s.lastToken = snap.lastToken
    s.appliedIndex = snap.appliedIndex
    for (const [name, l] of snap.logs) s.logs.set(name, { first: l.first, entries: [...l.entries] })
    for (const [name, l] of snap.locks) s.locks.set(name, { ...l, waiters: [...l.waiters] })
    for (const [c, x] of snap.sessions) {
      s.sessions.set(c, { lastSeenMs: x.lastSeenMs, floor: x.floor, results: new Map(x.results) })
    }
    return s
  }

  private execute(c: Exclude<OrderingCommand, { type: 'clock' }>, events: OrderingEvent[]): CommandResult {
    switch (c.type) {
      case 'append':
        return this.append(c.log, c.client, c.value, events)
      case 'acquire':
        return this.acquire(c, events)
      case 'release':
        return this.release(c.lock, c.client, c.token, events)
    }
  }

  private append(name: string, client: string, value: unknown, events: OrderingEvent[]): CommandResult {
    let l = this.logs.get(name)
    if (l === undefined) {
      l = { first: 1, entries: [] }
      this.logs.set(name, l)
    }
    const entry: OrderedEntry = { log: name, index: l.first + l.entries.length, value, client }
    l.entries.push(entry)
    // Retention in memory too, amortised: trim once the log holds twice what it keeps.
    if (l.entries.length > 2 * this.o.retainEntries) {
      const drop = l.entries.length - this.o.retainEntries
      l.entries.splice(0, drop)
      l.first += drop
    }
    events.push({ type: 'entry', entry })
    return { type: 'appended', log: name, index: entry.index }
  }

  private acquire(
    c: { lock: string; client: string; seq: number; ttlMs: number },
    events: OrderingEvent[],
  ): CommandResult {
    const l = this.lock(c.lock)
    if (l.holder === null) return this.grant(c.lock, l, c, events)
    if (l.holder === c.client) {
      // Re-entrant acquire by the holder (e.g. a retry after it lost the answer): a new lease, same rules.
      return this.grant(c.lock, l, c, events)
    }
    const at = l.waiters.findIndex((w) => w.client === c.client)
    if (at >= 0) {
      l.waiters[at] = { client: c.client, seq: c.seq, ttlMs: c.ttlMs }
      return { type: 'queued', position: at + 1 }
    }
    if (l.waiters.length >= this.o.maxWaiters) return { type: 'rejected', reason: 'too many waiters' }
    l.waiters.push({ client: c.client, seq: c.seq, ttlMs: c.ttlMs })
    return { type: 'queued', position: l.waiters.length }
  }

  private grant(
    name: string,
    l: LockState,
    w: { client: string; seq: number; ttlMs: number },
    events: OrderingEvent[],
  ): CommandResult {
    l.holder = w.client
    l.seq = w.seq
    // Not the Raft index: one entry can grant twice (an expiry hands the lock on, then the command itself).
    l.token = ++this.lastToken
    l.expiresAtMs = this.nowMs + w.ttlMs
    events.push({
      type: 'granted',
      grant: { lock: name, holder: w.client, seq: w.seq, token: l.token, expiresAtMs: l.expiresAtMs },
    })
    return { type: 'granted', token: l.token, expiresAtMs: l.expiresAtMs }
  }

  private release(name: string, client: string, token: number, events: OrderingEvent[]): CommandResult {
    const l = this.locks.get(name)
    if (l === undefined) return { type: 'notHolder' }
    if (token === 0) {
      // Token 0: withdraw a queued acquire (the caller gave up waiting).
      const before = l.waiters.length
      l.waiters = l.waiters.filter((w) => w.client !== client)
      return l.waiters.length < before ? { type: 'released' } : { type: 'notHolder' }
    }
    if (l.holder !== client || l.token !== token) return { type: 'notHolder' }
    this.free(name, l, 'released', events)
    return { type: 'released' }
  }

  private free(name: string, l: LockState, reason: 'released' | 'expired', events: OrderingEvent[]): void {
    events.push({ type: 'freed', lock: name, holder: l.holder as string, token: l.token, reason })
    l.holder = null
    const next = l.waiters.shift()
    if (next !== undefined) {
      this.grant(name, l, next, events)
      this.session(next.client).results.set(next.seq, { type: 'granted', token: l.token, expiresAtMs: l.expiresAtMs })
    }
  }

  private expireLocks(events: OrderingEvent[]): void {
    for (const [name, l] of this.locks) {
      // A lease that ends exactly now has ended: the holder's time is up at expiresAtMs.
      if (l.holder !== null && l.expiresAtMs <= this.nowMs) this.free(name, l, 'expired', events)
    }
  }

  private expireSessions(): void {
    for (const [client, s] of this.sessions) {
      if (this.nowMs - s.lastSeenMs > this.o.sessionTtlMs) this.sessions.delete(client)
    }
  }

  private lock(name: string): LockState {
    let l = this.locks.get(name)
    if (l === undefined) {
      l = { holder: null, seq: 0, token: 0, expiresAtMs: 0, waiters: [] }
      this.locks.set(name, l)
    }
    return l
  }

  private session(client: string): Session {
    let s = this.sessions.get(client)
    if (s === undefined) {
      s = { lastSeenMs: this.nowMs, results: new Map(), floor: 0 }
      this.sessions.set(client, s)
    }
    s.lastSeenMs = this.nowMs
    return s
  }

  private remember(s: Session, seq: number, result: CommandResult): void {
    s.results.set(seq, result)
    if (s.results.size <= this.o.maxResultsPerClient) return
    // Forget the oldest: a client that keeps more than this many commands in flight loses exactly-once for the oldest.
    const oldest = Math.min(...s.results.keys())
    s.results.delete(oldest)
    s.floor = Math.max(s.floor, oldest + 1)
  }
}
