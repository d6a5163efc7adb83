/**
 * A room's ordering service on one peer. Every peer keeps an OrderedReplica and can submit commands; a super-peer
 * also runs the room's Raft group (a RaftDriver attached with `attachDriver`).
 *
 * - Submitting: a peer sends its command to a super-peer (the leader if it knows it), which forwards it to the leader;
 *   the leader stamps it with its clock and proposes it. The answer comes back the same way. On a timeout or a refusal
 *   the peer retries elsewhere with the same (client, seq), which the state machine applies at most once, so a retry
 *   is always safe. The promise resolves once this peer's own replica has applied the command, so an `append` that
 *   resolved has also been delivered as an entry here.
 * - Spreading: the leader pushes each batch of committed commands to every member outside the Raft group; a peer that
 *   sees a gap, or has heard nothing for a while, fetches from a super-peer, and gets a snapshot of the ordered state
 *   when the commands it needs were compacted away.
 *
 * Messages travel over a RaftTransport-style group transport (`<room>/order`), bounded and decoded defensively.
 */
import { NotCommittedError, RoomClosedError, throwIfAborted } from '../errors.js'
import type { Clock, Random, Timer } from '../runtime/index.js'
import type { RaftDriver } from '../consensus/raft/driver.js'
import type { RaftTransport } from '../consensus/raft/transport.js'
import type { Entry, Snapshot } from '../consensus/raft/types.js'
import { encodeStamped, decodeStamped, type OrderingCommand } from './commands.js'
import type { MetricsScope } from '../metrics/index.js'
import { decodeOrderMessage, encodeOrderMessage, ORDER_LIMITS, type OrderMessage } from './order-messages.js'
import type { CommandResult } from './ordered-state.js'
import { decodeSnapshot, OrderedReplica } from './replica.js'

export type ClientCommand =
  | { readonly type: 'append'; readonly log: string; readonly value: unknown }
  | { readonly type: 'acquire'; readonly lock: string; readonly ttlMs: number }
  | { readonly type: 'release'; readonly lock: string; readonly token: number }

export interface Submitted {
  readonly index: number
  /** The client's seq of the command (lock grants for a queued acquire are matched by it). */
  readonly seq: number
  readonly result: CommandResult
}

export interface OrderingServiceOptions {
  /** This peer's id (the transport's node id). */
  readonly self: string
  /** This peer's session, so that a reloaded page starts a new exactly-once session instead of reusing seqs. */
  readonly incarnation: number
  readonly transport: RaftTransport
  /** The wall clock the leader stamps commands with (ms since epoch): it gives locks their time. */
  readonly wallClock: Clock
  readonly timer: Timer
  readonly random: Random
  /** The room's current super-peers (leader first when known). */
  readonly superPeers: () => readonly string[]
  /** Every other member of the room (the leader pushes committed commands to the ones outside the Raft group). */
  readonly members: () => readonly string[]
  /** The Raft group this peer follows (its own, or the one it takes committed commands from); null for none yet. */
  readonly group: () => string | null
  readonly metrics?: MetricsScope
  /** How long one attempt waits for an answer before trying another super-peer. Default 3 000 ms. */
  readonly attemptTimeoutMs?: number
  /** How long a submit keeps trying before it rejects (outcome unknown). Default 30 000 ms. */
  readonly submitTimeoutMs?: number
  /** A peer that heard nothing new for this long fetches from a super-peer anyway. Default 2 000 ms. */
  readonly pollMs?: number
  /**
   * Whether this peer, as leader, takes client commands now. A group just founded refuses them until it knows no
   * other group was founded at the same time (room-ordering.ts): one that holds no command can still be dissolved
   * into the older group, so a race between founders loses nothing. Default: always.
   */
  readonly accepting?: () => boolean
}

/** Submits a super-peer holds at once while they commit; more are refused with 'busy'. */
const MAX_SERVING = 8192

interface Attempt {
  readonly seq: number
  readonly encoded: Uint8Array
  readonly resolve: (s: Submitted) => void
  readonly reject: (err: unknown) => void
  /** Index of the next super-peer to try, rotating. */
  target: number
  leaderHint: string | null
  cancelTimer: () => void
  cancelDeadline: () => void
  /** Removes the abort listener; called once the attempt settles either way. */
  detach: () => void
  done: boolean
  /** Set once the answer came, while waiting for the local replica to apply it. */
  answer: Submitted | undefined
}

/** A submit forwarded by this super-peer to the leader: where the answer goes back. */
interface Forwarded {
  readonly origin: string
  readonly originId: number
  readonly cancel: () => void
}

export class OrderingService {
  readonly replica = new OrderedReplica()
  readonly client: string
  private readonly o: Required<Omit<OrderingServiceOptions, 'metrics'>> & Pick<OrderingServiceOptions, 'metrics'>
  private driver: RaftDriver | null = null
  private seq = 0
  private nextId = 1
  private readonly attempts = new Map<number, Attempt>()
  /** Our own submits by message id. */
  private readonly byId = new Map<number, Attempt>()
  private readonly forwarded = new Map<number, Forwarded>()
  /** Submits from other peers waiting for the local apply of their command: key `${client}#${seq}`. */
  private readonly serving = new Map<string, { from: string; id: number }[]>()
  private readonly unsubscribe: (() => void)[] = []
  private cancelPoll: () => void = () => undefined
  private closed = false
  private clockPending = false

  constructor(options: OrderingServiceOptions) {
    this.o = { attemptTimeoutMs: 3000, submitTimeoutMs: 30_000, pollMs: 2000, accepting: () => true, ...options }
    this.client = `${options.self}:${options.incarnation}`
    this.unsubscribe.push(options.transport.onMessage((from, bytes) => this.receive(from, bytes)))
    this.unsubscribe.push(this.replica.events.on('reply', (r) => this.onReply(r)))
    this.unsubscribe.push(this.replica.events.on('applied', () => this.onApplied()))
    this.schedulePoll()
  }

  /** This peer became a super-peer: its driver's committed entries feed the replica. */
  attachDriver(driver: RaftDriver): void {
    this.driver = driver
  }

  detachDriver(): void {
    this.driver = null
  }

  /** What a RaftDriver's `apply` option should call. */
  readonly applyFromRaft = (entries: readonly Entry[], snapshot: Snapshot | null): void => {
    const before = this.replica.appliedIndex
    this.replica.applyRaft(entries, snapshot)
    if (this.isLeader()) this.pushFrom(before + 1)
  }

  /** Submits a command; resolves once it is committed and applied here. */
  submit(command: ClientCommand, options: { signal?: AbortSignal } = {}): Promise<Submitted> {
    if (this.closed) return Promise.reject(new RoomClosedError('the room was left'))
    throwIfAborted(options.signal)
    const seq = ++this.seq
    const full = { ...command, client: this.client, seq } as OrderingCommand
    const encoded = encodeStamped({ atMs: 0, command: full })
    return new Promise<Submitted>((resolve, reject) => {
      const a: Attempt = {
        seq,
        encoded,
        resolve,
        reject,
        target: this.o.random.int(1 << 30),
        leaderHint: null,
        cancelTimer: () => undefined,
        cancelDeadline: () => undefined,
        detach: () => undefined,
        done: false,
        answer: undefined,
      }
      this.attempts.set(seq, a)
      a.cancelDeadline = this.o.timer.setTimeout(
        () => this.fail(a, new NotCommittedError(`not committed within ${this.o.submitTimeoutMs} ms`, true)),
        this.o.submitTimeoutMs,
      )
      const onAbort = (): void => this.fail(a, new NotCommittedError('the submit was aborted', true, { cause: options.signal?.reason }))
      options.signal?.addEventListener('abort', onAbort, { once: true })
      a.detach = () => options.signal?.removeEventListener('abort', onAbort)
      this.tryNext(a)
    })
  }

  /**
   * Leader only: a lease has run out by the wall clock, but log time only moves when an entry is committed. Proposes a
   * clock entry so the lock is freed (and handed to the next waiter) even when nothing else happens in the room.
   */
  tickClock(): void {
    const driver = this.driver
    if (driver === null || !this.isLeader() || this.clockPending) return
    const next = this.replica.view.nextExpiry()
    const now = this.o.wallClock.now()
    if (next === null || next > now) return
    this.clockPending = true
    driver
      .propose(encodeStamped({ atMs: now, command: { type: 'clock', nowMs: now } }))
      .catch(() => undefined)
      .finally(() => {
        this.clockPending = false
      })
  }

  /**
   * The super-peers changed (one left, or another leads now): every submit still waiting for an answer is sent again
   * at once, instead of after its attempt timeout. Safe, since retries are idempotent.
   */
  nudge(): void {
    for (const a of this.attempts.values()) {
      if (a.done || a.answer !== undefined) continue
      a.leaderHint = null
      a.target++
      this.tryNext(a)
    }
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.cancelPoll()
    for (const u of this.unsubscribe) u()
    for (const a of [...this.attempts.values()]) this.fail(a, new NotCommittedError('the room was left', true, { cause: new RoomClosedError('the room was left') }))
    for (const f of this.forwarded.values()) f.cancel()
    this.forwarded.clear()
  }

  private isLeader(): boolean {
    return this.driver !== null && this.driver.status().role === 'leader'
  }

  // ---- client side -------------------------------------------------------------------------------------------------

  private tryNext(a: Attempt): void {
    if (a.done || a.answer !== undefined) return
    a.cancelTimer()
    const id = this.nextId++
    this.byId.set(id, a)
    if (this.driver !== null) {
      // We are a super-peer: serve it ourselves (forwarding to the leader if we are not it).
      this.serveSubmit(this.o.self, id, a.encoded, true)
    } else {
      const target = this.pickTarget(a)
      if (target !== null) this.send(target, { type: 'submit', id, command: a.encoded })
    }
    a.cancelTimer = this.o.timer.setTimeout(() => {
      this.byId.delete(id)
      a.leaderHint = null
      a.target++
      this.tryNext(a)
    }, this.o.attemptTimeoutMs)
  }

  private pickTarget(a: Attempt): string | null {
    const supers = this.o.superPeers()
    if (a.leaderHint !== null && supers.includes(a.leaderHint)) return a.leaderHint
    if (supers.length === 0) return null
    return supers[a.target % supers.length] ?? null
  }

  private onAnswer(id: number, m: OrderMessage): void {
    const a = this.byId.get(id)
    if (a === undefined || a.done) return
    this.byId.delete(id)
    if (m.type === 'submitted') {
      a.cancelTimer()
      a.answer = { index: m.index, seq: a.seq, result: JSON.parse(m.result) as CommandResult }
      this.finishIfApplied(a)
      if (a.answer !== undefined && !a.done) this.fetchUpTo()
    } else if (m.type === 'refused') {
      a.leaderHint = m.leader
      if (m.leader === null) a.target++
      a.cancelTimer()
      // A short pause, so that a group in the middle of an election is not flooded.
      a.cancelTimer = this.o.timer.setTimeout(() => this.tryNext(a), 50 + this.o.random.int(100))
    }
  }

  private finishIfApplied(a: Attempt): void {
    if (a.answer === undefined || a.done || this.replica.appliedIndex < a.answer.index) return
    a.done = true
    a.cancelDeadline()
    a.detach()
    this.attempts.delete(a.seq)
    this.replica.view.setFloor(this.client, this.lowestOpenSeq())
    a.resolve(a.answer)
  }

  private lowestOpenSeq(): number {
    let low = this.seq + 1
    for (const seq of this.attempts.keys()) low = Math.min(low, seq)
    return low
  }

  private fail(a: Attempt, err: unknown): void {
    if (a.done) return
    a.done = true
    a.cancelTimer()
    a.cancelDeadline()
    a.detach()
    this.attempts.delete(a.seq)
    a.reject(err)
  }

  private onApplied(): void {
    for (const a of [...this.attempts.values()]) this.finishIfApplied(a)
  }

  // ---- super-peer side ---------------------------------------------------------------------------------------------

  /** A submit reached this super-peer (`local`: from this peer's own client side). */
  private serveSubmit(from: string, id: number, encoded: Uint8Array, local: boolean): void {
    const driver = this.driver
    if (driver === null) {
      this.answer(from, id, { type: 'refused', id, leader: this.o.superPeers()[0] ?? null, mayHaveCommitted: false, reason: 'not a super-peer' }, local)
      return
    }
    let command: OrderingCommand
    try {
      command = decodeStamped(encoded).command
    } catch {
      this.answer(from, id, { type: 'refused', id, leader: null, mayHaveCommitted: false, reason: 'malformed command' }, local)
      return
    }
    if (command.type === 'clock') return
    const st = driver.status()
    if (st.role !== 'leader') {
      this.forward(from, id, encoded, st.leader, local)
      return
    }
    if (!this.o.accepting()) {
      this.answer(from, id, { type: 'refused', id, leader: this.o.self, mayHaveCommitted: false, reason: 'group settling' }, local)
      return
    }
    const key = `${command.client}#${command.seq}`
    const waiting = this.serving.get(key) ?? []
    if (waiting.length === 0) {
      if (this.serving.size >= MAX_SERVING) {
        this.answer(from, id, { type: 'refused', id, leader: this.o.self, mayHaveCommitted: false, reason: 'busy' }, local)
        return
      }
      // Forget a command that never applied (it lost its place in the log): the client retries with the same seq.
      this.o.timer.setTimeout(() => this.serving.delete(key), this.o.submitTimeoutMs)
    }
    waiting.push({ from, id })
    this.serving.set(key, waiting)
    const stamped = encodeStamped({ atMs: this.o.wallClock.now(), command })
    driver.propose(stamped).catch((err: unknown) => {
      // The state machine answers when (if) the command applies; only a definite refusal is passed back now.
      const known = err instanceof NotCommittedError && !err.mayHaveCommitted
      if (!known) return
      this.serving.delete(key)
      const leader = (err as { leader?: string | null }).leader ?? null
      for (const w of waiting) {
        this.answer(w.from, w.id, { type: 'refused', id: w.id, leader, mayHaveCommitted: false, reason: err.message }, w.from === this.o.self)
      }
    })
  }

  /** Passes a submit on to the leader and its answer back (dissertation §6.2: clients may contact any server). */
  private forward(from: string, id: number, encoded: Uint8Array, leader: string | null, local: boolean): void {
    if (leader === null || leader === this.o.self) {
      this.answer(from, id, { type: 'refused', id, leader: null, mayHaveCommitted: false, reason: 'no leader yet' }, local)
      return
    }
    const fid = this.nextId++
    const cancel = this.o.timer.setTimeout(() => this.forwarded.delete(fid), this.o.attemptTimeoutMs)
    this.forwarded.set(fid, { origin: local ? '' : from, originId: id, cancel })
    this.send(leader, { type: 'submit', id: fid, command: encoded })
  }

  private onForwardedAnswer(fid: number, m: OrderMessage): boolean {
    const f = this.forwarded.get(fid)
    if (f === undefined) return false
    this.forwarded.delete(fid)
    f.cancel()
    if (m.type !== 'submitted' && m.type !== 'refused') return true
    const relayed = { ...m, id: f.originId }
    if (f.origin === '') this.onAnswer(f.originId, relayed)
    else this.send(f.origin, relayed)
    return true
  }

  private onReply(r: { client: string; seq: number; result: CommandResult; index: number }): void {
    const key = `${r.client}#${r.seq}`
    const waiting = this.serving.get(key)
    if (waiting === undefined) return
    this.serving.delete(key)
    const result = JSON.stringify(r.result)
    for (const w of waiting) {
      const m: OrderMessage = { type: 'submitted', id: w.id, index: r.index, result }
      if (w.from === this.o.self) this.onAnswer(w.id, m)
      else this.send(w.from, m)
    }
  }

  private answer(to: string, id: number, m: OrderMessage, local: boolean): void {
    if (local) this.onAnswer(id, m)
    else this.send(to, m)
  }

  /** The leader pushes newly committed commands to every member outside the Raft group. */
  private pushFrom(from: number): void {
    const items = this.replica.itemsFrom(from, ORDER_LIMITS.maxBatch)
    if (items === undefined || items.length === 0) return
    const inGroup = new Set(this.driverMembers())
    const group = this.o.group()
    if (group === null) return
    const m: OrderMessage = { type: 'entries', id: 0, group, commit: this.replica.appliedIndex, items }
    for (const member of this.o.members()) if (!inGroup.has(member) && member !== this.o.self) this.send(member, m)
  }

  private driverMembers(): string[] {
    if (this.driver === null) return []
    const { voters, learners } = this.driver.status().config
    return [...voters, ...learners]
  }

  private serveFetch(from: string, id: number, start: number): void {
    const group = this.o.group()
    if (group === null) return
    const items = this.replica.itemsFrom(start, ORDER_LIMITS.maxBatch)
    if (items !== undefined) {
      this.send(from, { type: 'entries', id, group, commit: this.replica.appliedIndex, items })
      return
    }
    this.send(from, { type: 'snapshot', id, group, index: this.replica.appliedIndex, state: this.replica.snapshotBytes() })
  }

  /**
   * This peer now follows another group and has applied no command of the old one: start the replica over, since
   * Raft indexes of different groups have nothing to do with each other.
   */
  resetReplica(): void {
    this.replica.reset()
  }

  // ---- catching up -------------------------------------------------------------------------------------------------

  private fetchUpTo(): void {
    const supers = this.o.superPeers().filter((id) => id !== this.o.self)
    if (this.driver !== null || supers.length === 0) return
    const target = supers[this.o.random.int(supers.length)] as string
    this.send(target, { type: 'fetch', id: this.nextId++, from: this.replica.appliedIndex + 1 })
  }

  private schedulePoll(): void {
    this.cancelPoll = this.o.timer.setTimeout(() => {
      if (this.closed) return
      this.fetchUpTo()
      this.schedulePoll()
    }, this.o.pollMs)
  }

  // ---- wire --------------------------------------------------------------------------------------------------------

  private receive(from: string, bytes: Uint8Array): void {
    if (this.closed) return
    let m: OrderMessage
    try {
      m = decodeOrderMessage(bytes)
    } catch {
      this.o.metrics?.counter('order.rejected').inc()
      return
    }
    switch (m.type) {
      case 'submit':
        this.serveSubmit(from, m.id, m.command, false)
        break
      case 'submitted':
      case 'refused':
        if (!this.onForwardedAnswer(m.id, m)) this.onAnswer(m.id, m)
        break
      case 'fetch':
        if (this.driver !== null) this.serveFetch(from, m.id, m.from)
        break
      case 'entries':
        if (m.group === this.o.group()) this.onEntries(m.items, m.commit)
        break
      case 'snapshot':
        if (m.group === this.o.group()) this.onSnapshot(m.index, m.state)
        break
    }
  }

  private onEntries(items: readonly { index: number; data: Uint8Array }[], commit: number): void {
    if (this.driver !== null) return
    this.replica.offer(items)
    const last = items[items.length - 1]?.index ?? 0
    // A gap (this batch starts past what we have) or more committed than was sent: fetch the rest.
    if (this.replica.waitingFor > 0 || commit > Math.max(last, this.replica.appliedIndex)) this.fetchUpTo()
  }

  private onSnapshot(index: number, state: Uint8Array): void {
    if (this.driver !== null || index <= this.replica.appliedIndex) return
    try {
      this.replica.restore(decodeSnapshot(state), index)
    } catch {
      this.o.metrics?.counter('order.rejected').inc()
      return
    }
    this.fetchUpTo()
  }

  private send(to: string, m: OrderMessage): void {
    if (to === this.o.self) return
    this.o.transport.send(to, encodeOrderMessage(m))
  }
}
