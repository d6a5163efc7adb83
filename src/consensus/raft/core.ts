/**
 * The Raft core: one node's consensus state machine, after the Raft paper (Ongaro & Ousterhout 2014) and Ongaro's
 * dissertation, in the style of etcd-io/raft. It does no I/O and reads no clock: the driver calls `tick()` at a fixed
 * interval, `step(message)` for each message received, and `propose`/`readIndex`/... for client requests; it then
 * takes `ready()`, and must, in this order, persist the hard state, snapshot and entries, send the messages, apply the
 * committed entries, and call `advance(ready)`.
 *
 * Section references (§) are to the paper unless they say "dissertation".
 *
 * Why one long file: every handler reads and writes the same few fields (term, vote, role, log, progress), and the
 * rules interlock (a vote resets the election timer, a commit releases reads, a config entry changes the quorum). The
 * parts that stand alone are split out: the log (log.ts), per-follower flow control (progress.ts), quorum maths
 * (quorum.ts) and the ReadIndex queue (read-index.ts). What remains reads top to bottom by role.
 */
import { RaftLog } from './log.js'
import { InvalidOptionError } from '../../errors.js'
import { MAX_READ_CTX_LENGTH, resolveRaftOptions, type RaftOptions, type ResolvedRaftOptions } from './options.js'
import { Progress } from './progress.js'
import { applyConfigChange, committedIndex, isVoter, members, tallyVotes } from './quorum.js'
import { ReadIndexQueue, type PendingRead } from './read-index.js'
import type {
  AppendMessage,
  AppendResponseMessage,
  ClusterConfig,
  ConfigChange,
  Entry,
  HardState,
  HeartbeatMessage,
  HeartbeatResponseMessage,
  Message,
  NodeId,
  ReadState,
  Role,
  Snapshot,
  SnapshotMessage,
  SnapshotResponseMessage,
  VoteMessage,
  VoteResponseMessage,
} from './types.js'

/** What a node remembers across restarts: the driver loads it from storage and passes it to the constructor. */
export interface RaftInitialState {
  readonly hardState?: HardState
  /** The last snapshot persisted, if any. */
  readonly snapshot?: Snapshot
  /** Persisted entries after the snapshot, contiguous. */
  readonly entries?: readonly Entry[]
  /** The configuration of a brand-new group (ignored when a snapshot or a config entry says otherwise). */
  readonly config?: ClusterConfig
}

export interface SoftState {
  readonly role: Role
  readonly leader: NodeId | null
  readonly term: number
}

/** Everything the driver has to do after a batch of ticks, steps and proposals. */
export interface Ready {
  /** Changed since the last ready: for status displays; never persisted. */
  readonly softState: SoftState | null
  /** Persist before sending messages; null when unchanged. */
  readonly hardState: HardState | null
  /** A snapshot received from the leader: persist it (it replaces the whole log) and restore the state machine from it. */
  readonly snapshot: Snapshot | null
  /** Persist, after the snapshot; `entries[0]` may overwrite stored entries from its index on (drop those). */
  readonly entries: readonly Entry[]
  /** Send after persisting. */
  readonly messages: readonly Message[]
  /** Apply in order, after persisting (includes noop and config entries, which the application skips). */
  readonly committed: readonly Entry[]
  /** ReadIndex reads now confirmed: serve each once the state machine has applied `index`. */
  readonly readStates: readonly ReadState[]
  /** ReadIndex reads that failed (leadership lost or refused): the client should retry elsewhere. */
  readonly rejectedReads: readonly string[]
}

export type ProposeFailure =
  | 'notLeader'
  | 'transferring'
  | 'busy'
  | 'configPending'
  | 'invalid'
  | 'lagging'
  /** The entry is over `maxEntryBytes`. */
  | 'tooLarge'

export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly reason: ProposeFailure; readonly leader: NodeId | null; readonly detail?: string }

export interface ProgressStatus {
  readonly match: number
  readonly next: number
  readonly state: Progress['state']
}

export interface RaftStatus extends SoftState {
  readonly id: NodeId
  readonly vote: NodeId | null
  readonly commit: number
  readonly applied: number
  readonly lastIndex: number
  readonly snapshotIndex: number
  readonly config: ClusterConfig
  /** The index of the entry that set `config` (the snapshot's index once compaction dropped it). */
  readonly configIndex: number
  /** Leader only: each other member's replication progress. */
  readonly progress: Readonly<Record<NodeId, ProgressStatus>>
  /** Messages refused because they contradicted this node's committed log (a faulty peer). */
  readonly refused: number
}

interface IncomingSnapshot {
  readonly msg: SnapshotMessage
  readonly chunks: Uint8Array[]
  received: number
}

type Vote = VoteMessage

export class RaftCore {
  private readonly o: ResolvedRaftOptions
  readonly id: NodeId
  private readonly log: RaftLog
  private term: number
  private vote: NodeId | null
  private role: Role = 'follower'
  private leader: NodeId | null = null
  private config: ClusterConfig
  private electionElapsed = 0
  private heartbeatElapsed = 0
  private randomizedTimeout = 0
  private readonly votes = new Map<NodeId, boolean>()
  private readonly progress = new Map<NodeId, Progress>()
  private leadTransferee: NodeId | null = null
  private readonly reads: ReadIndexQueue
  /** Reads a new leader received before committing an entry of its own term (§6.4 step 1 makes them wait). */
  private readsWaitingForTerm: { ctx: string; origin: NodeId }[] = []
  private incomingSnapshot: IncomingSnapshot | null = null
  private msgs: Message[] = []
  private readStates: ReadState[] = []
  private rejectedReads: string[] = []
  private prevHard: HardState
  private prevSoft: SoftState
  private applied: number
  /** Set by proposals: appends go out once per ready(), so proposals between two readies share messages. */
  private appendsPending = false
  private refused = 0

  constructor(options: RaftOptions, initial: RaftInitialState = {}) {
    this.o = resolveRaftOptions(options)
    this.id = this.o.id
    const snapshot: Snapshot = initial.snapshot ?? {
      meta: { index: 0, term: 0, config: initial.config ?? { voters: [], learners: [] } },
      data: new Uint8Array(0),
    }
    const hard = initial.hardState ?? { term: 0, vote: null, commit: 0 }
    this.log = new RaftLog(snapshot, initial.entries ?? [], hard.commit)
    this.term = hard.term
    this.vote = hard.vote
    this.applied = snapshot.meta.index
    this.config = this.log.latestConfig()
    this.reads = new ReadIndexQueue(this.o.maxPendingReads)
    this.prevHard = this.hardState()
    this.prevSoft = this.softState()
    this.resetRandomizedTimeout()
  }

  // ---- inputs ------------------------------------------------------------------------------------------------------

  /** One unit of logical time. */
  tick(): void {
    if (this.role === 'leader') this.tickLeader()
    else this.tickElection()
  }

  /** A message from another node. Messages addressed elsewhere, or from an unknown past, are ignored. */
  step(m: Message): void {
    if (m.to !== this.id || m.from === this.id) return
    if (!this.stepTerm(m)) return
    if (m.type === 'vote') {
      this.handleVote(m)
      return
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m)
        break
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m)
        break
      case 'follower':
        this.stepFollower(m)
        break
    }
  }

  /** Appends `data` to the log if this node is the leader; the entry is committed once a majority stores it. */
  propose(data: Uint8Array): ProposeResult {
    const refusal = this.checkProposal()
    if (refusal !== null) return refusal
    if (data.length > this.o.maxEntryBytes) {
      return { ok: false, reason: 'tooLarge', leader: this.id, detail: `${data.length} > ${this.o.maxEntryBytes} bytes` }
    }
    return this.appendLocal({ kind: 'normal', data })
  }

  /**
   * One membership change (dissertation §4.1). Refused while an earlier change is uncommitted, before this leader
   * has committed an entry of its own term (the fix for the single-server change bug, raft-dev 2015), and, for a
   * promotion, while the learner lags more than `promoteLag` entries behind.
   */
  proposeConfigChange(change: ConfigChange): ProposeResult {
    const refusal = this.checkProposal()
    if (refusal !== null) return refusal
    if (this.log.latestConfigIndex() > this.log.committed || this.log.term(this.log.committed) !== this.term) {
      return { ok: false, reason: 'configPending', leader: this.id }
    }
    const next = applyConfigChange(this.config, change)
    if (!next.ok) return { ok: false, reason: 'invalid', leader: this.id, detail: next.reason }
    if (change.type === 'promote') {
      const match = this.progress.get(change.node)?.match ?? 0
      if (match + this.o.promoteLag < this.log.lastIndex()) {
        return { ok: false, reason: 'lagging', leader: this.id, detail: `${change.node} is at ${match}` }
      }
    }
    return this.appendLocal({ kind: 'config', config: next.config })
  }

  /**
   * Asks for a linearizable read (§6.4). The answer comes in a later `ready().readStates` (or `rejectedReads`) with
   * the same `ctx`, which must be unique among reads in flight. Returns false if it could not even be asked (no known
   * leader, or too many reads pending): the caller retries later.
   */
  readIndex(ctx: string): boolean {
    if (ctx.length === 0 || ctx.length > MAX_READ_CTX_LENGTH) {
      throw new InvalidOptionError(`read ctx must be 1 to ${MAX_READ_CTX_LENGTH} characters, got ${ctx.length}`)
    }
    if (this.role === 'leader') return this.leaderRead(ctx, this.id)
    if (this.leader === null) return false
    this.send({ type: 'readIndex', to: this.leader, term: this.term, ctx })
    return true
  }

  /**
   * Leadership transfer (dissertation §3.10): brings `target` up to date, then tells it to campaign at once. New
   * proposals are refused meanwhile; the transfer is abandoned after an election timeout.
   */
  transferLeadership(target: NodeId): ProposeResult {
    if (this.role !== 'leader') return { ok: false, reason: 'notLeader', leader: this.leader }
    if (target === this.id) return { ok: true, index: this.log.lastIndex(), term: this.term }
    const pr = this.progress.get(target)
    if (pr === undefined || !isVoter(this.config, target)) {
      return { ok: false, reason: 'invalid', leader: this.id, detail: `${target} is not a voter` }
    }
    this.leadTransferee = target
    this.electionElapsed = 0
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', to: target, term: this.term })
    else this.sendAppend(target)
    return { ok: true, index: this.log.lastIndex(), term: this.term }
  }

  /**
   * The application saved its state machine as of `index` (at most what it has applied): the log before it is
   * dropped, and the snapshot is what lagging followers receive. Returns the snapshot, which the driver persists
   * (replacing the entries it covers); null when `index` is not past the current snapshot.
   */
  compact(index: number, data: Uint8Array): Snapshot | null {
    if (index > this.applied) throw new RangeError(`cannot compact to ${index}: only ${this.applied} is applied`)
    if (index <= this.log.snapshotMeta.index) return null
    return { meta: this.log.compact(index, data), data }
  }

  // ---- outputs -----------------------------------------------------------------------------------------------------

  hasReady(): boolean {
    this.flushAppends()
    return (
      this.msgs.length > 0 ||
      this.readStates.length > 0 ||
      this.rejectedReads.length > 0 ||
      this.log.pendingSnapshot !== null ||
      this.log.unstableFrom <= this.log.lastIndex() ||
      this.log.committed > this.log.handedOut ||
      !sameHard(this.prevHard, this.hardState()) ||
      !sameSoft(this.prevSoft, this.softState())
    )
  }

  /** Takes the pending work. Steps and ticks may happen before `advance`; they show up in the next ready. */
  ready(): Ready {
    this.flushAppends()
    const hard = this.hardState()
    const soft = this.softState()
    const committed = this.log.nextCommitted(this.o.maxApplyPerReady)
    const rd: Ready = {
      softState: sameSoft(this.prevSoft, soft) ? null : soft,
      hardState: sameHard(this.prevHard, hard) ? null : hard,
      snapshot: this.log.pendingSnapshot,
      entries: this.log.unstableEntries(),
      messages: this.msgs,
      committed,
      readStates: this.readStates,
      rejectedReads: this.rejectedReads,
    }
    this.msgs = []
    this.readStates = []
    this.rejectedReads = []
    this.prevSoft = soft
    if (rd.hardState !== null) this.prevHard = rd.hardState
    const lastCommitted = committed[committed.length - 1]
    if (lastCommitted !== undefined) this.log.handedOut = lastCommitted.index
    return rd
  }

  /** The driver finished with `rd`: its entries are durable and its committed entries applied. */
  advance(rd: Ready): void {
    if (rd.snapshot !== null && this.log.pendingSnapshot === rd.snapshot) this.log.pendingSnapshot = null
    const last = rd.entries[rd.entries.length - 1]
    if (last !== undefined) this.log.stableTo(last.index, last.term)
    if (rd.snapshot !== null) this.applied = Math.max(this.applied, rd.snapshot.meta.index)
    const lastCommitted = rd.committed[rd.committed.length - 1]
    if (lastCommitted !== undefined) this.applied = Math.max(this.applied, lastCommitted.index)
  }

  status(): RaftStatus {
    const progress: Record<NodeId, ProgressStatus> = {}
    if (this.role === 'leader') {
      for (const [id, pr] of this.progress) {
        if (id !== this.id) progress[id] = { match: pr.match, next: pr.next, state: pr.state }
      }
    }
    return {
      ...this.softState(),
      id: this.id,
      vote: this.vote,
      commit: this.log.committed,
      applied: this.applied,
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.log.snapshotMeta.index,
      config: this.config,
      configIndex: this.log.latestConfigIndex(),
      progress,
      refused: this.refused,
    }
  }

  /** The entry at `index` if it is still in the log (tests and the driver's catch-up use it). */
  entry(index: number): Entry | undefined {
    return this.log.entry(index)
  }

  // ---- terms and elections -----------------------------------------------------------------------------------------

  /**
   * The term rules common to every message (§5.1): a higher term makes us a follower, a lower one is answered (so a
   * stale leader learns it is stale) or ignored. Returns false when the message needs no further handling.
   */
  private stepTerm(m: Message): boolean {
    if (m.term > this.term) {
      if (m.type === 'vote') {
        // §6 / dissertation §4.2.3: while we hear from a live leader, ignore candidates (a removed or partitioned
        // server would otherwise depose it), unless the leader itself asked for the election.
        // A pre-vote is refused on the same grounds with or without CheckQuorum: dissertation §9.6 grants one only to
        // a voter that has not heard from a leader for an election timeout (else a node that merely cannot hear the
        // leader, with an up-to-date log, wins the pre-vote and deposes it).
        const leaseApplies = this.o.checkQuorum || m.pre
        const inLease = leaseApplies && this.leader !== null && this.electionElapsed < this.o.electionTicks
        if (inLease && !m.transfer) return false
        if (m.pre) return true
      }
      if (m.type === 'voteResponse' && m.pre && m.granted) return true
      const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot'
      this.becomeFollower(m.term, fromLeader ? m.from : null)
      return true
    }
    if (m.term < this.term) {
      if ((this.o.checkQuorum || this.o.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // Tell a stale leader about the new term; without this, with CheckQuorum, it could stay stuck.
        this.send({ type: 'heartbeatResponse', to: m.from, term: this.term, ctx: null })
      } else if (m.type === 'vote' && m.pre) {
        this.send({ type: 'voteResponse', to: m.from, term: this.term, pre: true, granted: false })
      }
      return false
    }
    return true
  }

  /** §5.2, §5.4.1: one vote per term, only for a candidate whose log is at least as up to date. */
  private handleVote(m: Vote): void {
    const canVote =
      this.vote === m.from || (this.vote === null && this.leader === null) || (m.pre && m.term > this.term)
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm)) {
      this.send({ type: 'voteResponse', to: m.from, term: m.term, pre: m.pre, granted: true })
      if (!m.pre) {
        this.electionElapsed = 0
        this.vote = m.from
      }
      return
    }
    this.send({ type: 'voteResponse', to: m.from, term: this.term, pre: m.pre, granted: false })
  }

  private tickElection(): void {
    this.electionElapsed++
    if (this.promotable() && this.electionElapsed >= this.randomizedTimeout) {
      this.electionElapsed = 0
      this.campaign(this.o.preVote ? 'pre' : 'election', false)
    }
  }

  private promotable(): boolean {
    return isVoter(this.config, this.id) && this.log.pendingSnapshot === null
  }

  private campaign(kind: 'pre' | 'election', transfer: boolean): void {
    if (kind === 'pre') this.becomePreCandidate()
    else this.becomeCandidate()
    const voteTerm = kind === 'pre' ? this.term + 1 : this.term
    this.votes.set(this.id, true)
    if (this.checkVotes()) return
    for (const to of this.config.voters) {
      if (to === this.id) continue
      this.send({
        type: 'vote',
        to,
        term: voteTerm,
        pre: kind === 'pre',
        lastIndex: this.log.lastIndex(),
        lastTerm: this.log.lastTerm(),
        transfer,
      })
    }
  }

  /** Acts on the votes so far; true when the campaign is decided. */
  private checkVotes(): boolean {
    const tally = tallyVotes(this.config.voters, this.votes)
    if (tally === 'won') {
      if (this.role === 'preCandidate') this.campaign('election', false)
      else this.becomeLeader()
      return true
    }
    if (tally === 'lost') {
      this.becomeFollower(this.term, null)
      return true
    }
    return false
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'voteResponse':
        this.handleVoteResponse(m)
        break
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // §5.2: a leader of our term exists; it won.
        this.becomeFollower(this.term, m.from)
        this.stepFollower(m)
        break
      case 'readIndex':
        this.send({ type: 'readIndexResponse', to: m.from, term: this.term, ctx: m.ctx, index: -1 })
        break
      default:
        break
    }
  }

  private handleVoteResponse(m: VoteResponseMessage): void {
    if (m.pre !== (this.role === 'preCandidate')) return
    this.votes.set(m.from, m.granted)
    this.checkVotes()
  }

  private becomeFollower(term: number, leader: NodeId | null): void {
    const wasLeader = this.role === 'leader'
    if (term !== this.term) {
      this.term = term
      this.vote = null
    }
    this.role = 'follower'
    this.leader = leader
    this.reset()
    if (wasLeader) this.failPendingReads()
  }

  private becomePreCandidate(): void {
    // PreVote changes neither term nor vote (dissertation §9.6).
    this.role = 'preCandidate'
    this.leader = null
    this.votes.clear()
  }

  private becomeCandidate(): void {
    this.term++
    this.vote = this.id
    this.role = 'candidate'
    this.leader = null
    this.reset()
  }

  private becomeLeader(): void {
    this.role = 'leader'
    this.leader = this.id
    this.reset()
    for (const id of members(this.config)) this.addProgress(id)
    // §5.4.2 / §8: a no-op of the new term lets the leader commit earlier entries and serve reads.
    this.appendLocal({ kind: 'noop' })
  }

  private reset(): void {
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    this.resetRandomizedTimeout()
    this.votes.clear()
    this.leadTransferee = null
    this.progress.clear()
    this.incomingSnapshot = null
  }

  private resetRandomizedTimeout(): void {
    this.randomizedTimeout = this.o.electionTicks + this.o.random.int(this.o.electionTicks)
  }

  // ---- leader ------------------------------------------------------------------------------------------------------

  private tickLeader(): void {
    this.electionElapsed++
    this.heartbeatElapsed++
    if (this.electionElapsed >= this.o.electionTicks) {
      this.electionElapsed = 0
      if (this.o.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, null)
        return
      }
      this.leadTransferee = null
    }
    if (this.heartbeatElapsed >= this.o.heartbeatTicks) {
      this.heartbeatElapsed = 0
      this.broadcastHeartbeat(this.reads.lastCtx())
    }
  }

  /** §6.2 CheckQuorum: a majority of voters were heard from during the last election timeout. */
  private quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>()
    for (const id of this.config.voters) {
      const pr = this.progress.get(id)
      votes.set(id, id === this.id || pr?.recentActive === true)
      if (pr !== undefined) pr.recentActive = false
    }
    return tallyVotes(this.config.voters, votes) === 'won'
  }

  private checkProposal(): (ProposeResult & { ok: false }) | null {
    if (this.role !== 'leader') return { ok: false, reason: 'notLeader', leader: this.leader }
    if (this.leadTransferee !== null) return { ok: false, reason: 'transferring', leader: this.id }
    if (this.log.lastIndex() - this.log.committed >= this.o.maxUncommittedEntries) {
      return { ok: false, reason: 'busy', leader: this.id }
    }
    return null
  }

  private appendLocal(
    e: { kind: 'normal'; data: Uint8Array } | { kind: 'config'; config: ClusterConfig } | { kind: 'noop' },
  ): ProposeResult {
    const index = this.log.lastIndex() + 1
    this.log.append({ ...e, index, term: this.term })
    if (e.kind === 'config') this.applyConfig(e.config)
    const self = this.progress.get(this.id)
    if (self !== undefined) self.maybeUpdate(index)
    this.maybeCommit()
    this.appendsPending = true
    return { ok: true, index, term: this.term }
  }

  private flushAppends(): void {
    if (!this.appendsPending) return
    this.appendsPending = false
    if (this.role !== 'leader') return
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id)
  }

  private addProgress(id: NodeId): void {
    if (this.progress.has(id)) return
    const pr = new Progress(this.log.lastIndex() + 1, this.o.maxInflight)
    pr.recentActive = true
    if (id === this.id) pr.match = this.log.lastIndex()
    this.progress.set(id, pr)
  }

  /** Sends `to` the entries it lacks (or a snapshot); false if flow control or `sendIfEmpty` held it back. */
  private sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const pr = this.progress.get(to)
    if (pr === undefined || pr.isPaused()) return false
    const prevIndex = pr.next - 1
    const prevTerm = this.log.term(prevIndex)
    if (prevTerm === undefined) {
      this.startSnapshot(to, pr)
      return true
    }
    const entries = this.log.slice(
      pr.next,
      this.log.lastIndex() + 1,
      this.o.maxEntriesPerAppend,
      this.o.maxBytesPerAppend,
    )
    if (entries.length === 0 && !sendIfEmpty) return false
    this.send({ type: 'append', to, term: this.term, prevIndex, prevTerm, entries, commit: this.log.committed })
    const last = entries[entries.length - 1]
    if (pr.state === 'replicate' && last !== undefined) {
      pr.next = last.index + 1
      pr.inflights.add(last.index)
    } else if (pr.state === 'probe') {
      pr.probeSent = true
    }
    return true
  }

  private broadcastHeartbeat(ctx: string | null): void {
    for (const [to, pr] of this.progress) {
      if (to === this.id) continue
      // §5.3: a follower may only learn a commit index its log is known to contain.
      this.send({ type: 'heartbeat', to, term: this.term, commit: Math.min(pr.match, this.log.committed), ctx })
      if (pr.state === 'snapshot' && pr.snapshotChunkOutstanding) this.sendSnapshotChunk(to, pr)
    }
  }

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from)
    if (m.type === 'readIndex') {
      if (!this.leaderRead(m.ctx, m.from)) {
        this.send({ type: 'readIndexResponse', to: m.from, term: this.term, ctx: m.ctx, index: -1 })
      }
      return
    }
    if (pr === undefined) return
    pr.recentActive = true
    switch (m.type) {
      case 'appendResponse':
        this.handleAppendResponse(m, pr)
        break
      case 'heartbeatResponse':
        this.handleHeartbeatResponse(m, pr)
        break
      case 'snapshotResponse':
        this.handleSnapshotResponse(m, pr)
        break
      default:
        break
    }
  }

  private handleAppendResponse(m: AppendResponseMessage, pr: Progress): void {
    if (m.index > this.log.lastIndex()) {
      // An acknowledgement of entries we never sent: the follower's log is not ours. Ignore it (counted as refused).
      this.refused++
      return
    }
    if (m.reject) {
      // Fast backup: skip the follower's whole conflicting term in one round trip.
      const hint = m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm) : m.hintIndex
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe()
        this.sendAppend(m.from)
      }
      return
    }
    const wasPaused = pr.isPaused()
    if (!pr.maybeUpdate(m.index)) {
      if (wasPaused && !pr.isPaused()) this.sendAppend(m.from, false)
      return
    }
    const wasProbe = pr.state === 'probe'
    if (pr.state === 'probe') pr.becomeReplicate()
    else if (pr.state === 'snapshot' && pr.match >= pr.snapshotIndex) pr.becomeProbe()
    else if (pr.state === 'replicate') pr.inflights.freeLE(m.index)
    if (this.maybeCommit()) {
      for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id)
    } else {
      let sent = false
      while (this.sendAppend(m.from, false)) sent = true
      // A probed follower is paused, so it missed any commit broadcast while its probe was in flight: if nothing
      // else goes out to it now, an empty append tells it the commit index rather than the next heartbeat.
      if (!sent && wasProbe) this.sendAppend(m.from)
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: 'timeoutNow', to: m.from, term: this.term })
    }
  }

  private handleHeartbeatResponse(m: HeartbeatResponseMessage, pr: Progress): void {
    pr.probeSent = false
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst()
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from)
    if (m.ctx !== null) this.releaseReads(this.reads.ack(m.ctx, m.from, this.config.voters))
  }

  /** §5.3, §5.4.2: commit the highest index a majority stores, but only by counting replicas of the current term. */
  private maybeCommit(): boolean {
    const candidate = committedIndex(this.config.voters, (id) => this.progress.get(id)?.match ?? 0)
    if (candidate <= this.log.committed || this.log.term(candidate) !== this.term) return false
    this.log.commitTo(candidate)
    this.onCommitAdvanced()
    return true
  }

  private onCommitAdvanced(): void {
    if (this.role !== 'leader') return
    if (this.readsWaitingForTerm.length > 0 && this.log.term(this.log.committed) === this.term) {
      const waiting = this.readsWaitingForTerm
      this.readsWaitingForTerm = []
      for (const r of waiting) {
        if (!this.leaderRead(r.ctx, r.origin)) this.refuseRead(r.ctx, r.origin)
      }
    }
    // Dissertation §4.2.2: a leader removed from the configuration steps down once the removal is committed.
    if (!isVoter(this.config, this.id) && this.log.latestConfigIndex() <= this.log.committed) {
      this.becomeFollower(this.term, null)
    }
  }

  private applyConfig(config: ClusterConfig): void {
    this.config = config
    if (this.role !== 'leader') return
    for (const id of members(config)) this.addProgress(id)
    for (const id of [...this.progress.keys()]) if (!members(config).includes(id)) this.progress.delete(id)
    if (this.leadTransferee !== null && !isVoter(config, this.leadTransferee)) this.leadTransferee = null
  }

  // ---- ReadIndex ---------------------------------------------------------------------------------------------------

  private leaderRead(ctx: string, origin: NodeId): boolean {
    if (this.reads.full() || this.reads.has(ctx)) return false
    if (this.log.term(this.log.committed) !== this.term) {
      if (this.readsWaitingForTerm.length >= this.o.maxPendingReads) return false
      this.readsWaitingForTerm.push({ ctx, origin })
      return true
    }
    this.reads.add(ctx, this.log.committed, origin, this.id)
    if (this.config.voters.length === 1 && isVoter(this.config, this.id)) {
      this.releaseReads(this.reads.releaseAll())
    } else {
      this.broadcastHeartbeat(ctx)
    }
    return true
  }

  private releaseReads(reads: readonly PendingRead[]): void {
    for (const r of reads) {
      if (r.origin === this.id) this.readStates.push({ ctx: r.ctx, index: r.index })
      else this.send({ type: 'readIndexResponse', to: r.origin, term: this.term, ctx: r.ctx, index: r.index })
    }
  }

  private failPendingReads(): void {
    const waiting = this.readsWaitingForTerm
    this.readsWaitingForTerm = []
    for (const r of [...this.reads.clear(), ...waiting]) this.refuseRead(r.ctx, r.origin)
  }

  private refuseRead(ctx: string, origin: NodeId): void {
    if (origin === this.id) this.rejectedReads.push(ctx)
    else this.send({ type: 'readIndexResponse', to: origin, term: this.term, ctx, index: -1 })
  }

  // ---- snapshots ---------------------------------------------------------------------------------------------------

  private startSnapshot(to: NodeId, pr: Progress): void {
    pr.becomeSnapshot(this.log.snapshotMeta.index)
    this.sendSnapshotChunk(to, pr)
  }

  private sendSnapshotChunk(to: NodeId, pr: Progress): void {
    const snap = this.log.snapshot
    if (pr.snapshotIndex !== snap.meta.index) {
      // We compacted again since the transfer began: send the newer snapshot from the start.
      pr.becomeSnapshot(snap.meta.index)
    }
    const chunk = snap.data.subarray(pr.snapshotOffset, pr.snapshotOffset + this.o.snapshotChunkBytes)
    this.send({
      type: 'snapshot',
      to,
      term: this.term,
      meta: snap.meta,
      offset: pr.snapshotOffset,
      total: snap.data.length,
      chunk,
    })
    pr.snapshotChunkOutstanding = true
  }

  private handleSnapshotResponse(m: SnapshotResponseMessage, pr: Progress): void {
    if (pr.state !== 'snapshot' || m.index !== pr.snapshotIndex) return
    pr.snapshotChunkOutstanding = false
    pr.snapshotOffset = Math.min(m.offset, this.log.snapshot.data.length)
    if (pr.snapshotOffset < this.log.snapshot.data.length) this.sendSnapshotChunk(m.from, pr)
  }

  // ---- follower ----------------------------------------------------------------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.heardFromLeader(m.from)
        this.handleAppend(m)
        break
      case 'heartbeat':
        this.heardFromLeader(m.from)
        this.handleHeartbeat(m)
        break
      case 'snapshot':
        this.heardFromLeader(m.from)
        this.handleSnapshotChunk(m)
        break
      case 'timeoutNow':
        // Dissertation §3.10: the leader hands over; campaign at once, skipping PreVote and the lease.
        if (this.promotable()) this.campaign('election', true)
        break
      case 'readIndex':
        this.send({ type: 'readIndexResponse', to: m.from, term: this.term, ctx: m.ctx, index: -1 })
        break
      case 'readIndexResponse':
        if (m.index < 0) this.rejectedReads.push(m.ctx)
        else this.readStates.push({ ctx: m.ctx, index: m.index })
        break
      default:
        break
    }
  }

  private heardFromLeader(leader: NodeId): void {
    this.electionElapsed = 0
    this.leader = leader
  }

  /** §5.3 receiver rules for AppendEntries. */
  private handleAppend(m: AppendMessage): void {
    let { prevIndex, prevTerm, entries } = m
    const committed = this.log.committed
    if (prevIndex < committed) {
      // Entries up to our commit index are already here (Log Matching); keep only what follows. Check first that the
      // part we already have agrees: trimming a message that contradicts our committed log would graft its tail onto
      // a history its sender does not have (only a faulty peer sends one; refuse it whole).
      const contradicts = (index: number, term: number): boolean => {
        const mine = this.log.term(index)
        return mine !== undefined && mine !== term
      }
      const known = entries.filter((e) => e.index <= committed)
      if (contradicts(prevIndex, prevTerm) || known.some((e) => contradicts(e.index, e.term))) {
        this.refused++
        return
      }
      entries = entries.filter((e) => e.index > committed)
      prevIndex = committed
      prevTerm = this.log.term(committed) ?? 0
    }
    const outcome = this.log.maybeAppend(prevIndex, prevTerm, entries)
    if (outcome.type === 'conflictsWithCommitted') {
      this.refused++
      return
    }
    if (outcome.type === 'mismatch') {
      const hintIndex = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm)
      this.send({
        type: 'appendResponse',
        to: m.from,
        term: this.term,
        reject: true,
        index: m.prevIndex,
        hintIndex,
        hintTerm: this.log.term(hintIndex) ?? 0,
      })
      return
    }
    this.config = this.log.latestConfig()
    this.log.commitTo(Math.min(m.commit, outcome.lastNew))
    this.sendAppendAck(m.from, outcome.lastNew)
  }

  private sendAppendAck(to: NodeId, index: number): void {
    this.send({ type: 'appendResponse', to, term: this.term, reject: false, index, hintIndex: 0, hintTerm: 0 })
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(m.commit)
    this.send({ type: 'heartbeatResponse', to: m.from, term: this.term, ctx: m.ctx })
  }

  /** §7 InstallSnapshot, in chunks that must arrive in order; a gap or a newer snapshot restarts the transfer. */
  private handleSnapshotChunk(m: SnapshotMessage): void {
    if (m.meta.index <= this.log.committed) {
      this.incomingSnapshot = null
      this.sendAppendAck(m.from, this.log.committed)
      return
    }
    let inc = this.incomingSnapshot
    if (m.offset === 0) {
      inc = { msg: m, chunks: [], received: 0 }
    } else if (
      inc === null ||
      inc.msg.meta.index !== m.meta.index ||
      inc.msg.meta.term !== m.meta.term ||
      inc.received !== m.offset
    ) {
      const expected = inc !== null && inc.msg.meta.index === m.meta.index ? inc.received : 0
      this.send({ type: 'snapshotResponse', to: m.from, term: this.term, index: m.meta.index, offset: expected })
      return
    }
    inc.chunks.push(m.chunk)
    inc.received += m.chunk.length
    this.incomingSnapshot = inc
    if (inc.received < m.total) {
      this.send({ type: 'snapshotResponse', to: m.from, term: this.term, index: m.meta.index, offset: inc.received })
      return
    }
    this.incomingSnapshot = null
    this.installSnapshot({ meta: m.meta, data: concat(inc.chunks, inc.received) })
    this.sendAppendAck(m.from, m.meta.index)
  }

  private installSnapshot(snapshot: Snapshot): void {
    if (this.log.matchTerm(snapshot.meta.index, snapshot.meta.term)) {
      // §7: we already have the entry the snapshot ends with; keep our log and just learn the commit.
      this.log.commitTo(snapshot.meta.index)
      return
    }
    this.log.restore(snapshot)
    this.config = snapshot.meta.config
  }

  // ---- helpers -----------------------------------------------------------------------------------------------------

  private send(m: DistributiveOmit<Message, 'from'>): void {
    this.msgs.push({ ...m, from: this.id })
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed }
  }

  private softState(): SoftState {
    return { role: this.role, leader: this.leader, term: this.term }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader && a.term === b.term
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total)
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}
