/**
 * A room in the simulator whose peers join, leave and die at random (a dead peer never comes back: a closed tab), each
 * with a declared super-peer capability. Every peer runs a Raft core that stays idle until the leader adds it to the
 * ordering group; every peer runs the super-peer election over its own member view, which lags the truth (joins and
 * goodbyes spread in tens of ms, deaths are noticed after hundreds); the Raft leader runs the quorum manager every few
 * ticks and proposes what it returns; every peer keeps appending entries through the super-peers.
 *
 * Checked at every step: Raft's safety properties (SafetyMonitor); at most one configuration entry uncommitted in
 * any log (the leader's against its own commit index, everyone's against the highest index known committed); every
 * change the manager makes keeps a live majority, by the leader's view and by the truth; at most one peer ever founds
 * a group; every append acknowledged to a peer is the entry committed at that index. After the churn: the voters
 * become exactly the desired super-peers and every member applies the same entries.
 *
 * The churn stays within the failure model Raft's guarantees are stated for: a member of the group dies or leaves
 * only while every configuration in play (counting each learner as the voter it may become the next moment) keeps a
 * live majority without it and holds no other dead voter; peers outside the group come and go freely. Faults beyond
 * that (two voters dying inside the detection window, a newcomer dying as a one-voter group grows) can strand a group
 * whatever the manager does (see quorum-manager.ts), so they are not bugs this simulation could show.
 *
 * Over the ~400-line guide: the room model, the peer and the cluster share the truth and the checks (the peer reports
 * into the cluster, the cluster reads the peers' cores, both read the model), so split across files each part would
 * import the other two; this simulation keeps to one support file.
 */
import { RaftCore, quorumSize } from '../../../src/consensus/raft/index.js'
import type { ClusterConfig, ConfigChange, Entry, Message, NodeId, Role } from '../../../src/consensus/raft/types.js'
import {
  desiredSuperPeers,
  shouldBootstrap,
  type CandidateInfo,
  type SuperPeerCapability,
  type SuperPeerOptions,
} from '../../../src/ordering/election.js'
import { keepsLiveQuorum, nextConfigChange, type QuorumAction, type QuorumInputs } from '../../../src/ordering/quorum-manager.js'
import { Simulation, deriveSeed, type LinkFaults, type NodeContext, type SimNode } from '../../../src/sim/index.js'
import type { Random } from '../../../src/runtime/random.js'
import { SafetyMonitor, SafetyViolation } from './safety.js'

export interface QuorumClusterOptions {
  readonly seed: number
  /** Peers present at the start (at least one of them may serve). */
  readonly initialPeers: number
  /** Joins stop while this many peers are live. */
  readonly maxRoom: number
  readonly election?: SuperPeerOptions
  /** How long peers join, leave and die; then the room stays as it is. */
  readonly churnMs: number
  /** Time between two churn events, uniform. Default 80–300 ms. */
  readonly churnIntervalMs?: { readonly minMs: number; readonly maxMs: number }
  readonly network?: Partial<LinkFaults>
  /** Default 32. */
  readonly compactEvery?: number
  /** The quorum manager under test. Default: nextConfigChange. */
  readonly manager?: (inputs: QuorumInputs) => QuorumAction | null
  /** Give up waiting for the voters to settle after this much simulated time once churn stops. Default 20 s. */
  readonly settleMs?: number
}

interface AppendRequest {
  readonly type: 'appendRequest'
  readonly value: string
}

interface AppendReply {
  readonly type: 'appendReply'
  readonly value: string
  readonly ok: boolean
  readonly index: number
  readonly leader: NodeId | null
}

type RoomMessage = Message | AppendRequest | AppendReply

const TICK_MS = 20
const RAFT = { electionTicks: 10, heartbeatTicks: 2, promoteLag: 32 } as const
/** The leader runs the quorum manager every this many ticks. */
const MANAGER_TICKS = 2
/** A peer waits this long after joining before it may found a group (its view settles first). */
const DISCOVERY_MS = 150
const APPEND_TIMEOUT_MS = 300
/** Declared join times are wall-clock ms; peers' clocks disagree by up to ± this. */
const CLOCK_SKEW_MS = 1500
const EPOCH_MS = 1_700_000_000_000
/** How late a peer's view learns each kind of event, ms. */
const LAG_MS = { join: [5, 80], left: [5, 50], died: [300, 900], group: [5, 80] } as const
type LagKind = keyof typeof LAG_MS

interface Facts {
  readonly id: NodeId
  readonly capability: SuperPeerCapability
  readonly joinedAt: number
  /** The fraction of the other live members it holds direct connections to. */
  readonly connectivity: number
  readonly joinedMs: number
  gone: { readonly atMs: number; readonly how: 'left' | 'died' } | null
}

/** The truth about who is in the room, and what each peer's view of it is at a given time. */
class RoomModel {
  private readonly facts = new Map<NodeId, Facts>()
  private readonly lags = new Map<string, number>()
  founded: { readonly id: NodeId; readonly atMs: number } | null = null

  constructor(private readonly seed: number) {}

  add(f: Facts): void {
    this.facts.set(f.id, f)
  }

  get(id: NodeId): Facts {
    const f = this.facts.get(id)
    if (f === undefined) throw new Error(`unknown peer ${id}`)
    return f
  }

  isLive(id: NodeId): boolean {
    return this.facts.get(id)?.gone === null
  }

  liveIds(): NodeId[] {
    return [...this.facts.values()].filter((f) => f.gone === null).map((f) => f.id)
  }

  /** The member table as `observer` sees it at `nowMs`; null for the truth. */
  view(observer: NodeId | null, nowMs: number): CandidateInfo[] {
    const rows: Array<{ f: Facts; alive: boolean }> = []
    for (const f of this.facts.values()) {
      if (f.id !== observer && nowMs < f.joinedMs + this.lag(observer, f.id, 'join')) continue
      const alive = f.gone === null || nowMs < f.gone.atMs + this.lag(observer, f.id, f.gone.how)
      rows.push({ f, alive })
    }
    const others = Math.max(0, rows.filter((r) => r.alive).length - 1)
    return rows.map(({ f, alive }) => ({
      id: f.id,
      capability: f.capability,
      joinedAt: f.joinedAt,
      directPeers: Math.round(f.connectivity * others),
      alive,
    }))
  }

  groupVisible(observer: NodeId, nowMs: number): boolean {
    const g = this.founded
    return g !== null && (g.id === observer || nowMs >= g.atMs + this.lag(observer, g.id, 'group'))
  }

  /** A fixed, seed-derived delay per (observer, subject, kind), so a replay sees the same views. */
  private lag(observer: NodeId | null, subject: NodeId, kind: LagKind): number {
    if (observer === null) return 0
    const key = `${kind}|${observer}|${subject}`
    let lag = this.lags.get(key)
    if (lag === undefined) {
      const [min, max] = LAG_MS[kind]
      lag = min + ((deriveSeed(this.seed, key) >>> 0) % (max - min + 1))
      this.lags.set(key, lag)
    }
    return lag
  }
}

/** What a peer applies: a running digest of the committed entries, compared across peers at the end. */
class AppliedLog {
  index = 0
  digest = 0x811c9dc5
  entries = 0

  apply(e: Entry): void {
    this.index = e.index
    if (e.kind !== 'normal') return
    this.entries++
    let h = this.digest ^ e.index
    for (const b of e.data) h = Math.imul(h ^ b, 0x01000193)
    this.digest = h >>> 0
  }

  encode(): Uint8Array {
    return enc.encode(JSON.stringify([this.index, this.digest, this.entries]))
  }

  restore(bytes: Uint8Array): void {
    ;[this.index, this.digest, this.entries] = JSON.parse(dec.decode(bytes)) as [number, number, number]
  }
}

const enc = new TextEncoder()
const dec = new TextDecoder()
const EMPTY: ClusterConfig = { voters: [], learners: [] }

export class RoomPeer implements SimNode<RoomMessage> {
  private raft: RaftCore
  private role: Role = 'follower'
  readonly state = new AppliedLog()
  private cancelTick: (() => void) | null = null
  private ticks = 0
  private snapshotIndex = 0
  private stopped = false
  private leaving = false
  /** On the leader: appends proposed here, by value, to answer once applied. */
  private readonly waiting = new Map<string, NodeId>()
  private pending: { readonly value: string; cancel: () => void } | null = null
  /** When each peer last sent this one a Raft message: the leader's own evidence that a learner is there. */
  private readonly heardAt = new Map<NodeId, number>()
  private seq = 0
  private leaderHint: NodeId | null = null

  constructor(
    private readonly env: NodeContext<RoomMessage>,
    private readonly cluster: QuorumCluster,
  ) {
    this.raft = this.newCore(EMPTY)
    env.timer.setTimeout(() => this.discover(), DISCOVERY_MS)
  }

  get id(): NodeId {
    return this.env.id
  }

  get core(): RaftCore {
    return this.raft
  }

  receive(from: NodeId, msg: RoomMessage): void {
    if (this.stopped) return
    if (msg.type === 'appendRequest') this.serveAppend(from, msg)
    else if (msg.type === 'appendReply') this.onAppendReply(msg)
    else {
      this.heardAt.set(from, this.env.clock.now())
      this.raft.step(msg)
    }
    this.process()
  }

  stop(): void {
    this.stopped = true
    this.cluster.leaders.delete(this)
  }

  /**
   * A graceful goodbye. Returns whether the peer needs a moment before it goes: a leader hands over first. Anyone else
   * goes at once; one that kept answering for a while could still be added and promoted by a leader that has not yet
   * heard the goodbye, which is not how a closed tab behaves.
   */
  leave(): boolean {
    this.leaving = true
    this.pending?.cancel()
    if (this.role !== 'leader') return false
    const st = this.raft.status()
    const best = st.config.voters
      .filter((id) => id !== this.id)
      .sort((a, b) => (st.progress[b]?.match ?? 0) - (st.progress[a]?.match ?? 0))[0]
    if (best !== undefined) this.raft.transferLeadership(best)
    this.process()
    return true
  }

  /** The leader's latest configuration entry is uncommitted, or it has not committed an entry of its own term. */
  configPending(): boolean {
    const st = this.raft.status()
    if (configsAfter(this.raft, st.commit) > 0) return true
    // Compacted at the commit index: the term is unknown here, and the core refuses with 'configPending' if needed.
    const e = this.raft.entry(st.commit)
    return e !== undefined && e.term !== st.term
  }

  private newCore(config: ClusterConfig): RaftCore {
    return new RaftCore({ id: this.env.id, random: this.env.random, ...RAFT }, { config })
  }

  private discover(): void {
    if (this.stopped) return
    this.scheduleAppend()
    this.maybeFound()
  }

  private maybeFound(): void {
    if (this.stopped || this.leaving || this.cluster.room.groupVisible(this.id, this.env.clock.now())) return
    const view = this.cluster.room.view(this.id, this.env.clock.now())
    if (shouldBootstrap(this.id, view, this.cluster.electionOptions)) {
      this.cluster.onFounded(this)
      this.raft = this.newCore({ voters: [this.id], learners: [] })
      this.updateTicking()
      this.process()
      return
    }
    this.env.timer.setTimeout(() => this.maybeFound(), 100)
  }

  // ---- the driver: persist (nothing: a peer here never restarts), send, apply ------------------------------------

  private process(): void {
    const monitor = this.cluster.monitor
    while (!this.stopped && this.raft.hasReady()) {
      const rd = this.raft.ready()
      if (rd.hardState !== null) monitor.onCommit(this.id, this.raft, rd.hardState.commit)
      if (rd.entries.length > 0) this.cluster.checkConfigsInFlight(this)
      for (const m of rd.messages) this.env.send(m.to, m)
      if (rd.softState !== null) {
        this.onSoftState(rd.softState.role)
        monitor.onSoftState(this.id, rd.softState, this.raft)
      }
      if (rd.snapshot !== null) {
        this.snapshotIndex = rd.snapshot.meta.index
        this.state.restore(rd.snapshot.data)
        monitor.onSnapshot(this.id, rd.snapshot.meta.index)
      }
      for (const e of rd.committed) this.apply(e)
      this.raft.advance(rd)
      if (rd.snapshot !== null || rd.entries.some((e) => e.kind === 'config')) this.updateTicking()
      this.maybeCompact()
    }
  }

  private apply(e: Entry): void {
    this.cluster.monitor.onApply(this.id, e)
    this.state.apply(e)
    this.cluster.onApplied(e)
    if (e.kind !== 'normal') return
    const value = dec.decode(e.data)
    const client = this.waiting.get(value)
    if (client === undefined) return
    this.waiting.delete(value)
    this.env.send(client, { type: 'appendReply', value, ok: true, index: e.index, leader: this.id })
  }

  private maybeCompact(): void {
    if (this.state.index - this.snapshotIndex < this.cluster.compactEvery) return
    if (this.raft.compact(this.state.index, this.state.encode()) !== null) this.snapshotIndex = this.state.index
  }

  private onSoftState(role: Role): void {
    this.role = role
    if (role === 'leader') this.cluster.leaders.add(this)
    else {
      this.cluster.leaders.delete(this)
      this.waiting.clear()
    }
  }

  /**
   * Members tick; peers outside the group only answer messages (saving their timer events). A learner must tick too:
   * it may be a voter in a configuration it has not received yet, and it grants votes only once its election timer
   * says the old leader's lease is over (a learner that never ticked once kept a group without a leader for good).
   */
  private updateTicking(): void {
    const { voters, learners } = this.raft.status().config
    const member = voters.includes(this.id) || learners.includes(this.id)
    if (member && this.cancelTick === null) this.scheduleTick()
    if (!member && this.cancelTick !== null && this.role !== 'leader') {
      this.cancelTick()
      this.cancelTick = null
    }
  }

  private scheduleTick(): void {
    this.cancelTick = this.env.timer.setTimeout(() => {
      if (this.stopped) return
      // The next tick first: process() below may call updateTicking(), which must see this chain (and may cancel it)
      // rather than start a second one. Two chains once made a leader tick so fast that CheckQuorum deposed it
      // before any follower could answer.
      this.scheduleTick()
      this.raft.tick()
      this.ticks++
      if (this.role === 'leader' && !this.leaving && this.ticks % MANAGER_TICKS === 0) this.manage()
      this.process()
    }, TICK_MS)
  }

  /** The leader's quorum manager round: its own view, its own progress, one action. */
  private manage(): void {
    const now = this.env.clock.now()
    const st = this.raft.status()
    const view = this.cluster.room.view(this.id, now)
    const live = new Set(view.filter((m) => m.alive).map((m) => m.id))
    const inputs: QuorumInputs = {
      config: st.config,
      desired: desiredSuperPeers(view, { ...this.cluster.electionOptions, current: this.cluster.committedVoters() }),
      alive: (id) => id === this.id || live.has(id),
      progress: (id) => {
        const p = st.progress[id]
        if (p === undefined) return undefined
        const silent = now - (this.heardAt.get(id) ?? -Infinity) > RAFT.electionTicks * TICK_MS
        return { match: p.match, lagging: silent || p.match + RAFT.promoteLag < st.lastIndex }
      },
      configPending: this.configPending(),
      selfId: this.id,
    }
    const action = this.cluster.manager(inputs)
    if (action === null) return
    if (action.type === 'transfer') {
      if (this.raft.transferLeadership(action.to).ok) this.cluster.stats.transfers++
      return
    }
    if (!keepsLiveQuorum(st.config, action, inputs.alive)) {
      throw new SafetyViolation(`${this.id}: ${action.type} ${action.node} left the group without a live majority (its view)`)
    }
    const r = this.raft.proposeConfigChange(action)
    if (r.ok) this.cluster.onConfigChange(this.id, st.config, action)
    else this.cluster.stats.refused++
  }

  // ---- appends: every peer is a client; super-peers serve ------------------------------------------------------------

  private scheduleAppend(): void {
    const delay = 100 + this.env.random.int(300)
    this.env.timer.setTimeout(() => {
      if (this.stopped || this.leaving || !this.cluster.clientsOn) return
      this.pending = { value: `${this.id}.${++this.seq}`, cancel: () => undefined }
      this.sendAppend()
    }, delay)
  }

  private sendAppend(): void {
    const p = this.pending
    if (p === null || this.stopped || this.leaving) return
    const target = this.leaderHint ?? this.raft.status().leader ?? this.pickSuperPeer()
    if (target !== null) this.env.send(target, { type: 'appendRequest', value: p.value })
    p.cancel = this.env.timer.setTimeout(() => {
      this.leaderHint = null
      this.sendAppend()
    }, APPEND_TIMEOUT_MS)
  }

  private pickSuperPeer(): NodeId | null {
    const desired = desiredSuperPeers(this.cluster.room.view(this.id, this.env.clock.now()), this.cluster.electionOptions)
    return desired.length === 0 ? null : (desired[this.env.random.int(desired.length)] as NodeId)
  }

  private serveAppend(from: NodeId, msg: AppendRequest): void {
    const r = this.role === 'leader' ? this.raft.propose(enc.encode(msg.value)) : null
    if (r !== null && r.ok) {
      this.waiting.set(msg.value, from)
      return
    }
    const leader = r === null ? this.raft.status().leader : null
    this.env.send(from, { type: 'appendReply', value: msg.value, ok: false, index: 0, leader })
  }

  private onAppendReply(msg: AppendReply): void {
    const p = this.pending
    if (p === null || msg.value !== p.value) return
    p.cancel()
    if (!msg.ok) {
      this.leaderHint = msg.leader
      p.cancel = this.env.timer.setTimeout(() => this.sendAppend(), 10)
      return
    }
    this.cluster.onAcknowledged(msg.index, msg.value)
    this.leaderHint = msg.leader
    this.pending = null
    this.scheduleAppend()
  }
}

/** All counters at zero: a cluster's starting stats, and the sum a test accumulates over seeds. */
export function emptyQuorumStats(): QuorumStats {
  return { joins: 0, leaves: 0, deaths: 0, configChanges: 0, transfers: 0, refused: 0, acknowledged: 0, maxVoters: 0 }
}

export interface QuorumStats {
  joins: number
  leaves: number
  deaths: number
  configChanges: number
  transfers: number
  /** Manager proposals the core refused (a race with its own state; retried on the next round). */
  refused: number
  acknowledged: number
  maxVoters: number
}

export class QuorumCluster {
  readonly sim: Simulation<RoomMessage, RoomPeer>
  readonly monitor = new SafetyMonitor()
  readonly room: RoomModel
  readonly leaders = new Set<RoomPeer>()
  readonly electionOptions: SuperPeerOptions
  readonly compactEvery: number
  readonly manager: (inputs: QuorumInputs) => QuorumAction | null
  readonly stats: QuorumStats = emptyQuorumStats()
  clientsOn = true
  /** The entries as first applied anywhere, in index order: what every member must end up with. */
  private readonly reference = new AppliedLog()
  private readonly committedValues = new Map<number, string>()
  /** The latest configuration committed (first applied anywhere). */
  private committedConfig: ClusterConfig = EMPTY
  private readonly random: Random
  private nextId = 0
  private readonly log: string[] = []

  constructor(private readonly o: QuorumClusterOptions) {
    this.room = new RoomModel(o.seed)
    this.electionOptions = o.election ?? {}
    this.compactEvery = o.compactEvery ?? 32
    this.manager = o.manager ?? nextConfigChange
    this.sim = new Simulation<RoomMessage, RoomPeer>({
      seed: o.seed,
      createNode: (ctx) => new RoomPeer(ctx, this),
      ...(o.network === undefined ? {} : { network: o.network }),
    })
    this.random = this.sim.randomStream('churn')
    const first = Array.from({ length: o.initialPeers }, () => this.drawCapability())
    // Someone must be able to found the group: founding late, into a room already busy, is the race that
    // shouldBootstrap documents, not something the quorum manager could handle.
    if (!first.some((c) => c !== 'never')) first[0] = 'auto'
    for (const capability of first) this.join(capability)
    this.sim.onEvent(() => this.checkLeaders())
  }

  /** Runs the whole scenario; throws on any safety or liveness failure. */
  run(): void {
    this.sim.runFor(1000)
    let stopChurn = false
    const churn = (): void => {
      if (stopChurn) return
      this.churnOnce()
      const { minMs, maxMs } = this.o.churnIntervalMs ?? { minMs: 80, maxMs: 300 }
      this.sim.timer.setTimeout(churn, minMs + this.random.next() * (maxMs - minMs))
    }
    churn()
    this.sim.runFor(this.o.churnMs)
    stopChurn = true
    const settleMs = this.o.settleMs ?? 20_000
    let checkedAt = -Infinity
    const settled = this.sim.runUntil(
      () => {
        // Cheap enough per event only when throttled: it sorts the member table.
        if (this.sim.now - checkedAt < TICK_MS) return false
        checkedAt = this.sim.now
        return this.settled()
      },
      { maxMs: settleMs },
    )
    if (!settled) throw this.failure(`liveness: voters did not become the desired super-peers within ${settleMs} ms`)
    this.clientsOn = false
    if (!this.sim.runUntil(() => this.quiescent(), { maxMs: 5000 })) {
      throw this.failure('convergence: members did not apply the same entries')
    }
  }

  /** The leader of the highest term among live peers, if any. */
  leader(): RoomPeer | null {
    let best: RoomPeer | null = null
    for (const p of this.leaders) {
      if (best === null || p.core.status().term > best.core.status().term) best = p
    }
    return best
  }

  /** The desired super-peers by the truth (every view agrees once churn has stopped long enough). */
  desired(): NodeId[] {
    return desiredSuperPeers(this.room.view(null, this.sim.now), { ...this.electionOptions, current: this.committedVoters() })
  }

  /**
   * The voters of the latest committed configuration: what the room learns from the log (a simplification: a real
   * peer learns it with a delay, like any committed entry).
   */
  committedVoters(): readonly NodeId[] {
    return this.committedConfig.voters
  }

  /** The leader's configuration (its latest), once the run has settled. */
  finalConfig(): ClusterConfig {
    return this.leader()?.core.status().config ?? EMPTY
  }

  formatLog(): string {
    return this.log.join('\n')
  }

  // ---- churn -------------------------------------------------------------------------------------------------------

  private drawCapability(): SuperPeerCapability {
    const roll = this.random.next()
    return roll < 0.2 ? 'prefer' : roll < 0.8 ? 'auto' : 'never'
  }

  private join(capability: SuperPeerCapability = this.drawCapability()): void {
    const id = `p${++this.nextId}`
    const now = this.sim.now
    const poor = this.random.next() < 0.25
    this.room.add({
      id,
      capability,
      joinedAt: EPOCH_MS + Math.round(now + (this.random.next() * 2 - 1) * CLOCK_SKEW_MS),
      connectivity: poor ? this.random.next() * 0.45 : 0.6 + this.random.next() * 0.4,
      joinedMs: now,
      gone: null,
    })
    this.stats.joins++
    this.note(`join ${id} (${capability}${poor ? ', poorly connected' : ''})`)
    this.sim.addNode(id)
  }

  private churnOnce(): void {
    const live = this.room.liveIds()
    const goers = live.filter((id) => this.mayGo(id))
    const canJoin = live.length < this.o.maxRoom
    // Joins weigh as much as leaves and deaths together, so the room hovers near maxRoom rather than draining.
    const joinWeight = canJoin ? 5 : 0
    const roll = this.random.next() * (joinWeight + (goers.length > 0 ? 5 : 0))
    if (roll < joinWeight) {
      this.join()
      return
    }
    if (goers.length === 0) return
    const id = goers[this.random.int(goers.length)] as NodeId
    if (roll < joinWeight + 2) this.leave(id)
    else this.die(id)
  }

  private leave(id: NodeId): void {
    this.room.get(id).gone = { atMs: this.sim.now, how: 'left' }
    this.stats.leaves++
    this.note(`leave ${id}`)
    if (this.sim.node(id)?.leave() === true) this.sim.timer.setTimeout(() => this.sim.crash(id), 2 * TICK_MS)
    else this.sim.crash(id)
  }

  private die(id: NodeId): void {
    this.room.get(id).gone = { atMs: this.sim.now, how: 'died' }
    this.stats.deaths++
    this.note(`die ${id}`)
    this.sim.crash(id)
  }

  /**
   * Whether `id` may go without breaking Raft's own failure model: in every configuration in play (the latest
   * committed one, the latest of each of its live members, which includes any uncommitted one, and each of these with
   * any one learner promoted), a voter goes only if no other voter is gone and a majority stays.
   *
   * Counting a learner as the voter it may become the next moment matters for a group of one: growing it passes
   * through two voters (one server at a time), and a learner that dies just before the leader notices and promotes it
   * leaves a two-voter group that can never commit again. No manager rule can see that death coming; only joint
   * consensus (changing several servers at once) would avoid the two-voter step.
   */
  private mayGo(id: NodeId): boolean {
    const latest = [this.committedConfig]
    for (const m of [...this.committedConfig.voters, ...this.committedConfig.learners]) {
      const peer = this.room.isLive(m) ? this.sim.node(m) : undefined
      if (peer !== undefined) latest.push(peer.core.status().config)
    }
    const voterSets = latest.flatMap((c) => [c.voters, ...c.learners.map((l) => [...c.voters, l])])
    return voterSets.every(
      (voters) =>
        !voters.includes(id) || (voters.every((v) => this.room.isLive(v)) && voters.length - 1 >= quorumSize(voters.length)),
    )
  }

  // ---- checks ------------------------------------------------------------------------------------------------------

  onFounded(peer: RoomPeer): void {
    const earlier = this.room.founded
    if (earlier !== null) {
      throw new SafetyViolation(`two groups: ${peer.id} founded one after ${earlier.id} at ${earlier.atMs} ms`)
    }
    this.room.founded = { id: peer.id, atMs: this.sim.now }
    this.committedConfig = { voters: [peer.id], learners: [] }
    this.note(`${peer.id} founds the group`)
  }

  onApplied(e: Entry): void {
    if (e.index <= this.reference.index) return
    if (e.index !== this.reference.index + 1) {
      throw new SafetyViolation(`entry ${e.index} applied before ${this.reference.index + 1} was applied anywhere`)
    }
    this.reference.apply(e)
    if (e.kind === 'config') {
      this.committedConfig = e.config
      this.stats.maxVoters = Math.max(this.stats.maxVoters, e.config.voters.length)
    }
    if (e.kind === 'normal') this.committedValues.set(e.index, dec.decode(e.data))
  }

  onAcknowledged(index: number, value: string): void {
    const committed = this.committedValues.get(index)
    if (committed !== value) {
      throw new SafetyViolation(`append ${value} acknowledged at ${index}, where ${committed ?? 'nothing'} is committed`)
    }
    this.stats.acknowledged++
  }

  onConfigChange(leader: NodeId, before: ClusterConfig, change: ConfigChange): void {
    this.stats.configChanges++
    this.note(`${leader}: ${change.type} ${change.node}`)
    if (!keepsLiveQuorum(before, change, (id) => this.room.isLive(id))) {
      throw new SafetyViolation(`${leader}: ${change.type} ${change.node} left the group without a live majority (truth)`)
    }
  }

  /** Every log holds at most one configuration entry past what is known committed anywhere. */
  checkConfigsInFlight(peer: RoomPeer): void {
    const configs = configsAfter(peer.core, Math.max(peer.core.status().commit, this.monitor.highestCommitted))
    if (configs > 1) throw new SafetyViolation(`${peer.id} holds ${configs} uncommitted configuration entries`)
  }

  /** After every event: a leader's own log has at most one configuration entry past its own commit index. */
  private checkLeaders(): void {
    for (const leader of this.leaders) {
      const configs = configsAfter(leader.core, leader.core.status().commit)
      if (configs > 1) throw new SafetyViolation(`leader ${leader.id} has ${configs} configuration entries in flight`)
    }
  }

  private settled(): boolean {
    const leader = this.leader()
    if (leader === null) return false
    const config = leader.core.status().config
    const desired = this.desired()
    if (config.learners.length > 0 || !sameSet(config.voters, desired) || leader.configPending()) return false
    return config.voters.every((id) => {
      const peer = this.sim.node(id)
      return peer !== undefined && sameConfig(peer.core.status().config, config)
    })
  }

  private quiescent(): boolean {
    const leader = this.leader()
    if (leader === null) return false
    const st = leader.core.status()
    if (st.commit !== st.lastIndex || this.reference.index !== st.commit) return false
    return [...st.config.voters, ...st.config.learners].every((id) => {
      const s = this.sim.node(id)?.state
      return s !== undefined && s.index === this.reference.index && s.digest === this.reference.digest
    })
  }

  private note(what: string): void {
    if (this.log.length < 2000) this.log.push(`${this.sim.now.toFixed(0).padStart(6)} ms ${what}`)
  }

  private failure(message: string): Error {
    const leader = this.leader()
    const peers = this.room
      .liveIds()
      .map((id) => {
        const f = this.room.get(id)
        const st = this.sim.node(id)?.core.status()
        const role = st === undefined ? 'down' : `${st.role}@${st.term} commit ${st.commit}/${st.lastIndex}`
        return `${id} ${f.capability} ${role}`
      })
      .join('; ')
    const config = leader === null ? 'no leader' : JSON.stringify(leader.core.status().config)
    return new Error(`${message}: desired ${this.desired().join(',')}, leader config ${config}; ${peers}`)
  }
}

/** How many configuration entries `core`'s log holds past `index` (what the in-flight checks count). */
export function configsAfter(core: RaftCore, index: number): number {
  const last = core.status().lastIndex
  let configs = 0
  for (let i = index + 1; i <= last; i++) if (core.entry(i)?.kind === 'config') configs++
  return configs
}

function sameSet(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id))
}

function sameConfig(a: ClusterConfig, b: ClusterConfig): boolean {
  return sameSet(a.voters, b.voters) && sameSet(a.learners, b.learners)
}
