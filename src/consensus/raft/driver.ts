/**
 * The Raft driver: runs one RaftCore against real time, storage and a network. It ticks the core every `tickMs`, steps
 * it with each authenticated inbound message, and drains its Ready in one serialized async loop, in the order the
 * core's header requires and DESIGN.md repeats: persist (one atomic batch, awaited), then send, then apply, then
 * advance. Never two persists in flight; ticks and inbound messages keep stepping the core while the loop awaits,
 * which the core allows (their effects come out in the next Ready). Inbound messages are stepped as they arrive, not
 * queued, so the driver holds no inbound buffer; the transport's per-peer rate limit bounds how fast they come.
 *
 * Client calls resolve on the local state machine: `propose` once its entry is applied here, `readIndex` once the
 * local state has applied the confirmed read index, so the caller may then read local state linearizably.
 *
 * Failures:
 * - A refusal, an overwritten entry, an unconfirmed read: `RaftNotCommittedError` (its `name` is 'NotCommittedError',
 *   so `err.name` matching works), with `reason`, the `leader` hint and `mayHaveCommitted`.
 * - `stop()`: pending proposals reject with RaftNotCommittedError(mayHaveCommitted = true, reason 'stopped') whose
 *   `cause` is a RoomClosedError (the entry may still commit elsewhere: only the proposer's knowledge is lost);
 *   pending reads and transfers reject with the RoomClosedError itself, as does every call made after stop.
 * - A storage write or the application's `apply` failing is fatal (fail-stop, as etcd does): the state on disk or in
 *   the state machine is no longer known, so the driver stops, rejects what is pending as stop() does (with the
 *   failure as the cause) and emits 'error'. With no 'error' listener the failure is rethrown asynchronously rather
 *   than lost. Encoding failures of outbound messages are bugs and take the same path.
 *
 * Why past ~400 lines: a third of the file is the documented public types (options, reasons, the error class, events)
 * that a reader needs next to the class; the rest is the loop and the bookkeeping of pending calls, which share the
 * loop's state (what is applied, who leads) and would only trade fields for parameters if split.
 */
import {
  AbortError,
  DecodeError,
  InvalidOptionError,
  NotCommittedError,
  RoomClosedError,
  throwIfAborted,
} from '../../errors.js'
import { Emitter, reportListenerError } from '../../events.js'
import { MetricsRegistry, type Counter, type Histogram, type MetricsScope } from '../../metrics/index.js'
import { realClock, type Clock } from '../../runtime/clock.js'
import type { Random } from '../../runtime/random.js'
import type { Timer } from '../../runtime/timer.js'
import { decodeRaftMessage, encodeRaftMessage } from './codec.js'
import {
  RaftCore,
  type ProposeFailure,
  type ProposeResult,
  type RaftStatus,
  type Ready,
  type SoftState,
} from './core.js'
import { MAX_READ_CTX_LENGTH, resolveRaftOptions, type RaftOptions } from './options.js'
import type { RaftStorage } from './raft-storage.js'
import type { RaftTransport } from './transport.js'
import type { ClusterConfig, ConfigChange, Entry, NodeId, Snapshot } from './types.js'

/** Reads this driver waits on at once; more are refused with reason 'busy' (the leader has its own bound). */
const MAX_PENDING_READS = 4096

export interface RaftDriverOptions {
  readonly id: NodeId
  /** Loaded by `start()`; the driver is then its only writer. */
  readonly storage: RaftStorage
  readonly transport: RaftTransport
  readonly timer: Timer
  /** Measures latencies only (never decides anything). Default: `realClock`. */
  readonly clock?: Clock
  /** Election timeouts are drawn from it: seeded in tests and simulations. */
  readonly random: Random
  /** Milliseconds per core tick. Default 100, so the default 10 election ticks time out after 1 to 2 s. */
  readonly tickMs?: number
  /** Core options (see RaftOptions); `electionTicks` defaults to 10. */
  readonly raft?: Partial<Omit<RaftOptions, 'id' | 'random'>>
  /** The configuration of a brand-new group; pass the same one on every start (a snapshot or config entry wins). */
  readonly bootstrap?: ClusterConfig
  /**
   * The state machine. Called in log order, once per batch: with the snapshot to restore from (a stored one at
   * start, or one received from the leader) and/or the committed entries after it, noop and config entries included
   * (skip them). After a restart the committed entries after the stored snapshot come again: apply must rebuild
   * from the snapshot, or be idempotent. Throwing (or rejecting) is fatal for the driver.
   */
  readonly apply: (entries: readonly Entry[], snapshot: Snapshot | null) => void | Promise<void>
  /** Where `raft.*` metrics go. Default: a private registry. */
  readonly metrics?: MetricsScope
  /**
   * A read not confirmed by the leader within this many ms rejects with reason 'timeout' (a follower's request to the
   * leader may be lost). Default 4 × electionTicks × tickMs: twice the longest election timeout, 4 s by default.
   */
  readonly readTimeoutMs?: number
}

export type NotCommittedReason =
  /** The core refused the proposal (nothing was appended): see ProposeFailure. */
  | ProposeFailure
  /** (read) No leader is known to ask. */
  | 'noLeader'
  /** (read) The leader refused the read or lost leadership before confirming it. */
  | 'readRefused'
  /** (read) No answer within `readTimeoutMs`. */
  | 'timeout'
  /** Another entry was committed at the proposal's index: it will never commit. */
  | 'overwritten'
  /** A snapshot from the leader covered the index before this node saw the entry: the outcome is unknown. */
  | 'snapshot'
  /** The signal was aborted while waiting: the outcome is unknown. */
  | 'aborted'
  /** The driver stopped (stop() or a fatal error) while waiting: the outcome is unknown. */
  | 'stopped'

/**
 * NotCommittedError with the context a caller needs to retry: why, and where the leader is (when known). Its `name` is
 * 'NotCommittedError'. `mayHaveCommitted` is false when nothing happened or the entry certainly lost (retry freely),
 * true when the outcome is unknown (retry only if the command is idempotent).
 */
export class RaftNotCommittedError extends NotCommittedError {
  constructor(
    message: string,
    mayHaveCommitted: boolean,
    readonly reason: NotCommittedReason,
    readonly leader: NodeId | null,
    options: { readonly cause?: unknown } = {},
  ) {
    super(message, mayHaveCommitted, options)
  }
}

/** Where a proposal landed in the log, once it is applied here. */
export interface Committed {
  readonly index: number
  readonly term: number
}

export type TransferResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: ProposeFailure; readonly leader: NodeId | null; readonly detail?: string }

export type RaftDriverEvents = {
  /** The role, leader or term changed. */
  role: SoftState
  /** The local state machine applied up to `index` (after a snapshot, a batch of entries, or both). */
  applied: { readonly index: number }
  /** A fatal failure: the driver has stopped. */
  error: { readonly error: unknown }
}

export interface CallOptions {
  readonly signal?: AbortSignal
}

interface Waiter<T> {
  readonly resolve: (value: T) => void
  readonly reject: (err: unknown) => void
  /** Removes the abort listener and timers. */
  release: () => void
}

interface PendingProposal extends Waiter<Committed> {
  readonly index: number
  readonly term: number
  readonly at: number
}

interface PendingRead extends Waiter<number> {
  /** -1 until the leader confirms it. */
  index: number
}

interface Metrics {
  readonly messagesIn: Counter
  readonly messagesOut: Counter
  readonly rejected: Counter
  readonly rejectedDecode: Counter
  readonly rejectedSender: Counter
  readonly rejectedRecipient: Counter
  readonly persistMs: Histogram
  readonly commitMs: Histogram
}

type State = 'new' | 'running' | 'stopped'

export class RaftDriver {
  readonly id: NodeId
  readonly #o: RaftDriverOptions
  readonly #raft: RaftOptions
  readonly #tickMs: number
  readonly #readTimeoutMs: number
  readonly #clock: Clock
  readonly #metrics: Metrics
  readonly #events = new Emitter<RaftDriverEvents>()
  #state: State = 'new'
  #core: RaftCore | undefined
  #starting: Promise<void> | undefined
  #loop: Promise<void> = Promise.resolve()
  #looping = false
  #cancelTick: () => void = () => undefined
  #unsubscribe: () => void = () => undefined
  #applied = 0
  /** By index; more than one when this node proposed at an index again in a later term (its log was truncated). */
  readonly #proposals = new Map<number, Set<PendingProposal>>()
  readonly #reads = new Map<string, PendingRead>()
  readonly #ctxPrefix: string
  #nextRead = 0

  constructor(options: RaftDriverOptions) {
    this.#o = options
    this.id = options.id
    this.#tickMs = options.tickMs ?? 100
    assertPositive('tickMs', this.#tickMs)
    // Validated now, so a bad option fails at construction rather than in start().
    this.#raft = { electionTicks: 10, ...options.raft, id: options.id, random: options.random }
    const electionTicks = resolveRaftOptions(this.#raft).electionTicks
    this.#readTimeoutMs = options.readTimeoutMs ?? 4 * electionTicks * this.#tickMs
    assertPositive('readTimeoutMs', this.#readTimeoutMs)
    this.#clock = options.clock ?? realClock
    this.#metrics = makeMetrics(options.metrics ?? new MetricsRegistry())
    // A fresh prefix per driver: a restarted node's read ctxs must not collide with its old ones still queued.
    this.#ctxPrefix = `${options.random.int(2 ** 32).toString(36)}.`
  }

  /** Loads the stored state, restores the state machine from a stored snapshot, then starts ticking. Idempotent. */
  start(): Promise<void> {
    this.#starting ??= this.#start()
    return this.#starting
  }

  /**
   * Stops ticking and listening, rejects everything pending (see the file header), and waits for the loop's current
   * step to finish, so that the storage is no longer in use when it resolves. Idempotent.
   */
  async stop(): Promise<void> {
    this.#shutdown(new RoomClosedError('the raft driver was stopped'))
    await this.#loop
    await this.#starting?.catch(() => undefined)
  }

  on<K extends keyof RaftDriverEvents>(event: K, listener: (payload: RaftDriverEvents[K]) => void): () => void {
    return this.#events.on(event, listener)
  }

  status(): RaftStatus {
    return this.#running().status()
  }

  /** Resolves with the entry's position once it is applied here; see NotCommittedReason for the rejections. */
  async propose(data: Uint8Array, options: CallOptions = {}): Promise<Committed> {
    const core = this.#running()
    throwIfAborted(options.signal)
    return this.#track(core.propose(data), options.signal)
  }

  /** One membership change (see RaftCore.proposeConfigChange); resolves once applied here, like `propose`. */
  async proposeConfigChange(change: ConfigChange, options: CallOptions = {}): Promise<Committed> {
    const core = this.#running()
    throwIfAborted(options.signal)
    return this.#track(core.proposeConfigChange(change), options.signal)
  }

  /**
   * A linearizable read (§6.4): resolves with the read index once the local state machine has applied it, so local
   * state read right after reflects every write committed before the call. Refusals and timeouts reject with
   * RaftNotCommittedError (mayHaveCommitted false: a read changes nothing, retry freely); an abort with AbortError.
   */
  async readIndex(options: CallOptions = {}): Promise<number> {
    const core = this.#running()
    throwIfAborted(options.signal)
    if (this.#reads.size >= MAX_PENDING_READS) throw this.#refusal('busy', `${MAX_PENDING_READS} reads are pending`)
    const ctx = `${this.#ctxPrefix}${(this.#nextRead++).toString(36)}.${this.id}`.slice(0, MAX_READ_CTX_LENGTH)
    if (!core.readIndex(ctx)) {
      if (core.status().leader === null) throw this.#refusal('noLeader', 'no leader is known to confirm the read')
      throw this.#refusal('busy', 'too many reads are pending at the leader')
    }
    this.#kick()
    return new Promise<number>((resolve, reject) => {
      const read: PendingRead = { index: -1, resolve, reject, release: () => undefined }
      const cancelTimer = this.#o.timer.setTimeout(() => {
        this.#settleRead(ctx, this.#refusal('timeout', `the read was not confirmed within ${this.#readTimeoutMs} ms`))
      }, this.#readTimeoutMs)
      const unlisten = onAbort(options.signal, () => this.#settleRead(ctx, new AbortError('the read was aborted')))
      read.release = () => {
        cancelTimer()
        unlisten()
      }
      this.#reads.set(ctx, read)
    })
  }

  /**
   * Asks the leader (this node) to hand over to `target` (dissertation §3.10). Returns at once; 'role' events tell
   * when `target` took over. The core abandons a transfer that does not finish within an election timeout.
   */
  transferLeadership(target: NodeId): TransferResult {
    const r = this.#running().transferLeadership(target)
    this.#kick()
    return r.ok ? { ok: true } : r
  }

  /**
   * The application saved its state machine as of `index` (at most what it has applied) in `data`: the core drops the
   * log before it at once, and the snapshot and the deletion of the entries it covers are stored in one batch.
   * Resolves false when `index` is not past the current snapshot. If the write fails the disk keeps the older
   * snapshot and the entries (a consistent state) and the promise rejects.
   */
  async compact(index: number, data: Uint8Array): Promise<boolean> {
    const snapshot = this.#running().compact(index, data)
    if (snapshot === null) return false
    await this.#o.storage.saveCompaction(snapshot)
    return true
  }

  // ---- lifecycle ----------------------------------------------------------------------------------------------------

  async #start(): Promise<void> {
    if (this.#state !== 'new') throw new RoomClosedError('the raft driver was stopped')
    const stored = await this.#o.storage.load()
    const config = this.#o.bootstrap
    this.#core = new RaftCore(this.#raft, config === undefined ? stored : { ...stored, config })
    if (stored.snapshot !== undefined) {
      await this.#o.apply([], stored.snapshot)
      this.#applied = stored.snapshot.meta.index
    }
    if (this.#state !== 'new') throw new RoomClosedError('the raft driver was stopped while starting')
    this.#state = 'running'
    this.#unsubscribe = this.#o.transport.onMessage((from, bytes) => this.#receive(from, bytes))
    if (this.#applied > 0) this.#events.emit('applied', { index: this.#applied })
    this.#scheduleTick()
    this.#kick()
  }

  #shutdown(cause: unknown): void {
    if (this.#state === 'stopped') return
    this.#state = 'stopped'
    this.#cancelTick()
    this.#unsubscribe()
    const leader = this.#core?.status().leader ?? null
    for (const set of this.#proposals.values()) {
      for (const p of set) {
        p.release()
        const message = 'the raft driver stopped before the outcome was known'
        p.reject(new RaftNotCommittedError(message, true, 'stopped', leader, { cause }))
      }
    }
    this.#proposals.clear()
    for (const read of this.#reads.values()) {
      read.release()
      read.reject(cause)
    }
    this.#reads.clear()
  }

  #fail(error: unknown): void {
    this.#shutdown(error)
    if (this.#events.listenerCount('error') === 0) reportListenerError(error)
    else this.#events.emit('error', { error })
  }

  #scheduleTick(): void {
    this.#cancelTick = this.#o.timer.setTimeout(() => {
      if (this.#state !== 'running') return
      this.#scheduleTick()
      this.#running().tick()
      this.#kick()
    }, this.#tickMs)
  }

  #receive(from: NodeId, bytes: Uint8Array): void {
    if (this.#state !== 'running') return
    const m = this.#decode(bytes)
    if (m === undefined) return this.#reject(this.#metrics.rejectedDecode)
    // The transport authenticated `from`; a message claiming another sender could forge votes or acks.
    if (m.from !== from) return this.#reject(this.#metrics.rejectedSender)
    if (m.to !== this.id) return this.#reject(this.#metrics.rejectedRecipient)
    this.#metrics.messagesIn.inc()
    this.#running().step(m)
    this.#kick()
  }

  #decode(bytes: Uint8Array): ReturnType<typeof decodeRaftMessage> | undefined {
    try {
      return decodeRaftMessage(bytes)
    } catch (err) {
      if (err instanceof DecodeError) return undefined
      throw err
    }
  }

  #reject(reason: Counter): void {
    this.#metrics.rejected.inc()
    reason.inc()
  }

  // ---- the Ready loop -----------------------------------------------------------------------------------------------

  /** Starts the loop unless it is running; a running loop re-checks `hasReady` before it exits, so no work is lost. */
  #kick(): void {
    if (this.#looping || this.#state !== 'running') return
    this.#looping = true
    this.#loop = this.#run()
  }

  async #run(): Promise<void> {
    const core = this.#core
    if (core === undefined) throw new Error('RaftDriver: the loop ran before start()')
    try {
      while (this.#state === 'running' && core.hasReady()) await this.#handle(core, core.ready())
    } catch (err) {
      this.#fail(err)
    } finally {
      // Synchronously after the last hasReady() check, so a kick from now on starts a new loop.
      this.#looping = false
    }
  }

  async #handle(core: RaftCore, rd: Ready): Promise<void> {
    if (rd.hardState !== null || rd.snapshot !== null || rd.entries.length > 0) {
      const started = this.#clock.now()
      await this.#o.storage.persist(rd)
      this.#metrics.persistMs.record(this.#clock.now() - started)
      if (this.#state !== 'running') return
    }
    for (const m of rd.messages) {
      this.#o.transport.send(m.to, encodeRaftMessage(m))
      this.#metrics.messagesOut.inc()
    }
    if (rd.softState !== null) this.#events.emit('role', rd.softState)
    const last = rd.committed[rd.committed.length - 1]
    if (rd.snapshot !== null || last !== undefined) {
      await this.#o.apply(rd.committed, rd.snapshot)
      if (this.#state !== 'running') return
    }
    core.advance(rd)
    // Settled after advance, so a caller reacting to them (say, by compacting) sees the core's applied index moved.
    if (rd.snapshot !== null) this.#settleCoveredBy(rd.snapshot.meta.index)
    for (const e of rd.committed) this.#settleAt(e)
    for (const rs of rd.readStates) {
      const read = this.#reads.get(rs.ctx)
      if (read !== undefined) read.index = rs.index
    }
    for (const ctx of rd.rejectedReads) {
      this.#settleRead(ctx, this.#refusal('readRefused', 'the leader refused the read or lost leadership'))
    }
    const applied = Math.max(this.#applied, rd.snapshot?.meta.index ?? 0, last?.index ?? 0)
    if (applied > this.#applied) {
      this.#applied = applied
      this.#events.emit('applied', { index: applied })
    }
    this.#serveReads()
  }

  // ---- pending calls ------------------------------------------------------------------------------------------------

  #track(r: ProposeResult, signal: AbortSignal | undefined): Promise<Committed> {
    if (!r.ok) {
      const detail = r.detail === undefined ? '' : `: ${r.detail}`
      throw new RaftNotCommittedError(`proposal refused (${r.reason}${detail})`, false, r.reason, r.leader)
    }
    this.#kick()
    return new Promise<Committed>((resolve, reject) => {
      const { index, term } = r
      const p: PendingProposal = { index, term, at: this.#clock.now(), resolve, reject, release: () => undefined }
      p.release = onAbort(signal, () => {
        this.#forget(p)
        reject(
          new RaftNotCommittedError('aborted before the outcome was known', true, 'aborted', this.#leader(), {
            cause: new AbortError('the proposal was aborted', { cause: signal?.reason }),
          }),
        )
      })
      const set = this.#proposals.get(r.index) ?? new Set()
      set.add(p)
      this.#proposals.set(r.index, set)
    })
  }

  /** Entry `e` was applied: a proposal at its index succeeded if it has its term (one leader per term), else lost. */
  #settleAt(e: Entry): void {
    const set = this.#proposals.get(e.index)
    if (set === undefined) return
    this.#proposals.delete(e.index)
    for (const p of set) {
      p.release()
      if (p.term === e.term) {
        this.#metrics.commitMs.record(this.#clock.now() - p.at)
        p.resolve({ index: p.index, term: p.term })
      } else {
        const message = `entry ${e.index} of term ${e.term} was committed instead of the one of term ${p.term}`
        p.reject(new RaftNotCommittedError(message, false, 'overwritten', this.#leader()))
      }
    }
  }

  #settleCoveredBy(index: number): void {
    for (const [i, set] of this.#proposals) {
      if (i > index) continue
      this.#proposals.delete(i)
      for (const p of set) {
        p.release()
        const message = `a snapshot up to ${index} replaced the log before entry ${i} was seen`
        p.reject(new RaftNotCommittedError(message, true, 'snapshot', this.#leader()))
      }
    }
  }

  #forget(p: PendingProposal): void {
    const set = this.#proposals.get(p.index)
    set?.delete(p)
    if (set?.size === 0) this.#proposals.delete(p.index)
  }

  #serveReads(): void {
    for (const [ctx, read] of this.#reads) {
      if (read.index >= 0 && read.index <= this.#applied) {
        this.#reads.delete(ctx)
        read.release()
        read.resolve(read.index)
      }
    }
  }

  #settleRead(ctx: string, err: unknown): void {
    const read = this.#reads.get(ctx)
    if (read === undefined) return
    this.#reads.delete(ctx)
    read.release()
    read.reject(err)
  }

  #refusal(reason: NotCommittedReason, message: string): RaftNotCommittedError {
    return new RaftNotCommittedError(message, false, reason, this.#leader())
  }

  #leader(): NodeId | null {
    return this.#core?.status().leader ?? null
  }

  #running(): RaftCore {
    if (this.#state === 'stopped') throw new RoomClosedError('the raft driver was stopped')
    if (this.#core === undefined || this.#state !== 'running') {
      throw new Error('RaftDriver: call start() and await it first')
    }
    return this.#core
  }
}

function makeMetrics(scope: MetricsScope): Metrics {
  return {
    messagesIn: scope.counter('raft.messages_in'),
    messagesOut: scope.counter('raft.messages_out'),
    rejected: scope.counter('raft.rejected'),
    rejectedDecode: scope.counter('raft.rejected_decode'),
    rejectedSender: scope.counter('raft.rejected_sender'),
    rejectedRecipient: scope.counter('raft.rejected_recipient'),
    persistMs: scope.histogram('raft.persist_ms'),
    commitMs: scope.histogram('raft.commit_ms'),
  }
}

function onAbort(signal: AbortSignal | undefined, fn: () => void): () => void {
  if (signal === undefined) return () => undefined
  signal.addEventListener('abort', fn, { once: true })
  return () => signal.removeEventListener('abort', fn)
}

function assertPositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError(`${name} must be a finite number > 0, got ${value}`)
  }
}
