/**
 * A room's ordering layer on one peer: the OrderingService every peer has, and, on the peers elected super-peers,
 * the room's Raft group (a RaftDriver persisting into this peer's storage).
 *
 * How a peer becomes a super-peer:
 * - the founder: once the member view has settled (`bootstrapDelayMs`, and every peer a relay lists has been heard
 *   from) and no member says it is in a group, the top-ranked candidate (`shouldBootstrap`) starts a one-voter group
 *   with itself. The group is named after its founder (`<founder's join time>:<founder id>`), and its Raft messages travel on a transport group of that name, so
 *   that two groups founded at once never mix their logs;
 * - a replacement: the leader's quorum manager adds it as a learner; its first Raft message starts its driver (with an
 *   empty configuration, so it cannot campaign until the log makes it a voter);
 * - a reload: a peer that stored Raft state for this room restarts its driver from it and rejoins.
 * Two groups (views differed when they were founded): every peer follows the oldest group it hears of. A group that
 * holds no command yet is left (its storage wiped) for the oldest one; a group that holds commands stays, so nothing
 * committed is lost, and `ordering.split` counts it. A new group takes no command while it settles (until every
 * member follows it, or for `settleMs`), so two founders who hear of each other within that time never split.
 * The leader runs the quorum manager every `quorumIntervalMs`: one membership change at a time towards the desired
 * super-peers (`desiredSuperPeers` over the member table).
 */
import { RaftDriver } from '../consensus/raft/driver.js'
import { createRaftTransport, type RaftLibp2pTransport } from '../consensus/raft/libp2p-transport.js'
import { RaftStorage } from '../consensus/raft/raft-storage.js'
import type { RaftStatus } from '../consensus/raft/core.js'
import { reportListenerError } from '../events.js'
import type { OrderingInfo } from '../membership/room-messages.js'
import type { MetricsRegistry } from '../metrics/index.js'
import { desiredSuperPeers, othersFollowGroup, shouldBootstrap, superPeerTarget, type CandidateInfo, type SuperPeerCapability } from '../ordering/election.js'
import { nextConfigChange, quorumHealth, type QuorumHealth } from '../ordering/quorum-manager.js'
import { OrderingService } from '../ordering/service.js'
import type { Clock, Random, Timer } from '../runtime/index.js'
import type { StorageAdapter } from '../storage/adapter.js'
import type { SynodLibp2p } from '../transport/create-node.js'

export interface RoomOrderingOptions {
  /** Raft tick, in ms. Default 100 (election timeouts of 1–2 s). */
  readonly tickMs: number
  /** How long a new peer watches the room before it may found a group, in ms. Default 3000. */
  readonly bootstrapDelayMs: number
  /** How often the leader runs the quorum manager, in ms. Default 1000. */
  readonly quorumIntervalMs: number
}

export const DEFAULT_ORDERING_OPTIONS: RoomOrderingOptions = {
  tickMs: 100,
  bootstrapDelayMs: 3000,
  quorumIntervalMs: 1000,
}

export interface RoomOrderingDeps {
  readonly node: SynodLibp2p
  readonly roomId: string
  readonly selfId: string
  readonly incarnation: number
  readonly capability: SuperPeerCapability
  readonly storage: StorageAdapter
  readonly metrics: MetricsRegistry
  readonly clock: Clock
  readonly timer: Timer
  readonly random: Random
  /** Ms since the epoch, for lock time: the leader stamps commands with it. */
  readonly wallClock?: Clock
  /** The member table as the election sees it, this peer included. */
  readonly candidates: () => CandidateInfo[]
  /** Other members' ordering info from their heartbeats. */
  readonly memberOrdering: () => ReadonlyMap<string, OrderingInfo>
  /** Other members that are alive. */
  readonly members: () => string[]
  /**
   * Other members the relays say are registered in the room, whether or not we have heard from them yet: a peer
   * registered but not yet heard (its heartbeat still on its way) may outrank us, so we do not found a group yet.
   * Null until a relay has sent the list at all: until then we do not know who else is here.
   */
  readonly registered: () => ReadonlySet<string> | null
  /**
   * How long a group this peer has just founded refuses commands unless every member follows it (see
   * `othersFollowGroup`): long enough for a rival founder's heartbeat to arrive and for either side to reconcile.
   */
  readonly settleMs: number
}

const WALL_CLOCK: Clock = { now: () => Date.now() }

/** How many bootstrap delays a founder waits at most for peers the relay lists but that it has not heard from. */
const UNHEARD_WAIT = 5

/** Applied entries between two compactions of the room's Raft log. */
const COMPACT_EVERY = 1000

export interface OrderingStats {
  readonly role: OrderingInfo['role']
  readonly term: number
  readonly leader: string | null
  readonly commitIndex: number
  readonly appliedIndex: number
  /** Each super-peer the leader tracks: its role, how far it has replicated, and its lag behind the leader. */
  /**
   * Each super-peer: its role in the group, the term its last heartbeat reported, and (on the leader, which tracks
   * replication; 0 elsewhere) how far its log matches and how many entries it lags behind.
   */
  readonly superPeers: readonly {
    readonly id: string
    readonly role: 'leader' | 'voter' | 'learner'
    readonly term: number
    readonly match: number
    readonly lag: number
  }[]
  readonly health: QuorumHealth | null
}

export class RoomOrdering {
  readonly service: OrderingService
  /** The transport of the Raft group this peer is in or follows (`<room>/raft/<group>`). */
  private raftTransport: RaftLibp2pTransport | null = null
  private readonly orderTransport: RaftLibp2pTransport
  /** The group this peer is in or follows; null before it knows of any. */
  private group: string | null = null
  private unsubscribeRaft: () => void = () => undefined
  private driver: RaftDriver | null = null
  private starting = false
  private readonly startedAt: number
  /** When this peer founded its group, while that group is still settling; null otherwise. */
  private foundedAt: number | null = null
  private cancelTimer: () => void = () => undefined
  private quorumBusy = false
  private compacting = false
  private closed = false
  private readonly cleanups: (() => void)[] = []

  constructor(
    private readonly deps: RoomOrderingDeps,
    private readonly o: RoomOrderingOptions = DEFAULT_ORDERING_OPTIONS,
  ) {
    this.startedAt = deps.clock.now()
    this.orderTransport = createRaftTransport({ node: deps.node, group: `${deps.roomId}/order`, metrics: deps.metrics.scope('order') })
    this.service = new OrderingService({
      self: deps.selfId,
      incarnation: deps.incarnation,
      transport: this.orderTransport,
      wallClock: deps.wallClock ?? WALL_CLOCK,
      timer: deps.timer,
      random: deps.random,
      superPeers: () => this.superPeers(),
      members: () => deps.members(),
      group: () => this.group,
      metrics: deps.metrics,
      accepting: () => this.settled(),
    })
  }

  /** Restarts a stored group, then watches for founding and runs the quorum manager. */
  async start(): Promise<void> {
    const stored = await this.deps.storage.load(this.groupKey())
    if (stored !== undefined && this.deps.capability !== 'never') {
      this.follow(new TextDecoder().decode(stored))
      await this.startDriver(undefined)
    }
    this.schedule()
  }

  private groupKey(): string[] {
    return ['raftgroup', this.deps.roomId]
  }

  /** Listens on `group`'s transport: a Raft message there means its leader added us, so a driver starts. */
  private follow(group: string): void {
    if (this.group === group) return
    this.unsubscribeRaft()
    this.raftTransport?.close()
    this.group = group
    const transport = createRaftTransport({ node: this.deps.node, group: `${this.deps.roomId}/raft/${group}`, metrics: this.deps.metrics })
    this.raftTransport = transport
    this.unsubscribeRaft = transport.onMessage(() => {
      if (this.driver === null && this.deps.capability !== 'never') void this.startDriver(undefined)
    })
  }

  info(directPeers: number): OrderingInfo {
    const st = this.status()
    const role = st === null ? 'peer' : st.role === 'leader' ? 'leader' : st.config.voters.includes(this.deps.selfId) || st.config.learners.includes(this.deps.selfId) ? 'super' : 'peer'
    const info: OrderingInfo = { capability: this.deps.capability, role, term: st?.term ?? 0, directPeers, group: this.group ?? '' }
    // The leader advertises its configuration once committed, so that a member Raft removed learns it (see below).
    if (st === null || role !== 'leader' || st.configIndex > st.commit || st.configIndex === 0) return info
    return { ...info, config: { index: st.configIndex, members: [...st.config.voters, ...st.config.learners] } }
  }

  stats(): OrderingStats {
    const st = this.status()
    const info = this.info(0)
    let superPeers: OrderingStats['superPeers'] = []
    let health: QuorumHealth | null = null
    if (st !== null) {
      const advertised = this.deps.memberOrdering()
      superPeers = [...st.config.voters, ...st.config.learners].map((id) => {
        const role = id === st.leader ? 'leader' : st.config.voters.includes(id) ? 'voter' : 'learner'
        const self = id === this.deps.selfId
        const match = self ? st.lastIndex : (st.progress[id]?.match ?? 0)
        const term = self ? st.term : (advertised.get(id)?.term ?? 0)
        const lag = st.role === 'leader' ? Math.max(0, st.lastIndex - match) : 0
        return { id, role, term, match, lag }
      })
      const candidates = this.deps.candidates()
      const alive = new Set(candidates.filter((c) => c.alive).map((c) => c.id))
      health = quorumHealth(st.config, desiredSuperPeers(candidates, { current: st.config.voters }), (id) => alive.has(id), {
        target: superPeerTarget(candidates),
      })
    }
    return {
      role: info.role,
      term: info.term,
      leader: st?.leader ?? this.advertisedLeader(),
      commitIndex: st?.commit ?? this.service.replica.appliedIndex,
      appliedIndex: this.service.replica.appliedIndex,
      superPeers,
      health,
    }
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.cancelTimer()
    for (const c of this.cleanups.splice(0)) c()
    this.service.close()
    const driver = this.driver
    this.driver = null
    this.service.detachDriver()
    const closeTransports = (): void => {
      this.unsubscribeRaft()
      this.raftTransport?.close()
      this.orderTransport.close()
    }
    if (driver === null) closeTransports()
    // Stop the driver first: it may be persisting, and stopping waits for that before the transports go.
    else void driver.stop().finally(closeTransports)
  }

  private status(): RaftStatus | null {
    try {
      return this.driver?.status() ?? null
    } catch {
      return null
    }
  }

  /** The super-peers to send submits to, leader first when known. */
  private superPeers(): string[] {
    const st = this.status()
    if (st !== null && st.config.voters.length > 0) {
      const voters = [...st.config.voters]
      return st.leader === null ? voters : [st.leader, ...voters.filter((v) => v !== st.leader)]
    }
    const supers: string[] = []
    let leader: string | null = null
    let leaderTerm = -1
    for (const [id, info] of this.deps.memberOrdering()) {
      if (info.role === 'peer' || info.group !== this.group) continue
      supers.push(id)
      if (info.role === 'leader' && info.term > leaderTerm) {
        leader = id
        leaderTerm = info.term
      }
    }
    return leader === null ? supers : [leader, ...supers.filter((s) => s !== leader)]
  }

  private advertisedLeader(): string | null {
    const advertised = this.deps.memberOrdering()
    return this.superPeers().find((id) => advertised.get(id)?.role === 'leader') ?? null
  }

  private async startDriver(bootstrap: string[] | undefined): Promise<void> {
    const transport = this.raftTransport
    const group = this.group
    if (this.driver !== null || this.starting || this.closed || transport === null || group === null) return
    this.starting = true
    await this.deps.storage.save(this.groupKey(), new TextEncoder().encode(group))
    const driver = new RaftDriver({
      id: this.deps.selfId,
      storage: new RaftStorage(this.deps.storage, { prefix: ['raft', this.deps.roomId] }),
      transport,
      timer: this.deps.timer,
      random: this.deps.random,
      tickMs: this.o.tickMs,
      ...(bootstrap === undefined ? {} : { bootstrap: { voters: bootstrap, learners: [] } }),
      apply: this.service.applyFromRaft,
      metrics: this.deps.metrics,
    })
    driver.on('error', ({ error }) => reportListenerError(error))
    try {
      await driver.start()
    } finally {
      this.starting = false
    }
    if (this.closed) {
      await driver.stop()
      return
    }
    this.driver = driver
    this.service.attachDriver(driver)
  }

  private schedule(): void {
    this.cancelTimer = this.deps.timer.setTimeout(() => {
      if (this.closed) return
      this.maybeFound()
      this.leaveIfRemoved().catch(reportListenerError)
      this.reconcileGroups().catch(reportListenerError)
      this.runQuorumManager()
      this.service.tickClock()
      this.maybeCompact()
      this.schedule()
    }, this.o.quorumIntervalMs)
  }

  /**
   * Founding uses a ranking every peer computes identically from stable facts (capability, join time, id), not
   * connectivity, which changes while connections form and would let two peers each see themselves on top. It waits
   * until every member's heartbeat has been heard.
   */
  private maybeFound(): void {
    if (this.driver !== null || this.starting || this.deps.capability === 'never') return
    if (this.deps.clock.now() - this.startedAt < this.o.bootstrapDelayMs) return
    const ordering = this.deps.memberOrdering()
    for (const info of ordering.values()) if (info.role !== 'peer') return
    if (this.deps.members().some((id) => !ordering.has(id))) return
    // Until a relay has listed the room's registrations we do not know who else is here; a peer listed but not heard
    // from yet may rank first or have founded already: wait for its heartbeat. Both for up to UNHEARD_WAIT bootstrap
    // delays, so that an unreachable relay or a stale registration cannot keep a room without a group for good.
    const registered = this.deps.registered()
    const unsure = registered === null || [...registered].some((id) => !ordering.has(id))
    if (unsure && this.deps.clock.now() - this.startedAt < UNHEARD_WAIT * this.o.bootstrapDelayMs) return
    if (!shouldBootstrap(this.deps.selfId, this.deps.candidates(), { wellConnectedRatio: 0 })) return
    // Named so that names sort by the founder's join time: the oldest group wins when two exist.
    this.follow(`${String(this.deps.incarnation).padStart(15, '0')}:${this.deps.selfId}`)
    this.foundedAt = this.deps.clock.now()
    void this.startDriver([this.deps.selfId])
  }

  /**
   * A group founded here takes no command until it has settled: until every member follows it, or `settleMs` passed.
   * Two peers that each founded a group before hearing of the other then both hold nothing yet, and the younger group
   * dissolves into the older one (`reconcileGroups`) instead of splitting the room's log for good. Only a start where
   * the founders cannot hear each other for all of `settleMs` still splits.
   */
  private settled(): boolean {
    if (this.foundedAt === null || this.group === null) return true
    const done =
      this.deps.clock.now() - this.foundedAt >= this.deps.settleMs ||
      othersFollowGroup(this.group, [...this.deps.members(), ...(this.deps.registered() ?? [])], this.deps.memberOrdering())
    if (done) this.foundedAt = null
    return done
  }

  /**
   * Follows the oldest group any member advertises (or ours, if older). Leaves our own group for an older one only
   * while ours holds no command: its storage is wiped and the replica starts over. One that holds commands stays.
   */
  private async reconcileGroups(): Promise<void> {
    let oldest = this.group
    for (const info of this.deps.memberOrdering().values()) {
      if (info.role === 'peer' || info.group === '') continue
      if (oldest === null || info.group < oldest) oldest = info.group
    }
    if (oldest === null || oldest === this.group) return
    const driver = this.driver
    if (driver === null && !this.starting) {
      if (this.service.replica.commands === 0) this.service.resetReplica()
      this.follow(oldest)
      return
    }
    if (driver === null) return // still starting: the next pass decides
    if (this.service.replica.commands > 0) {
      this.deps.metrics.counter('ordering.split').inc()
      return
    }
    this.deps.metrics.counter('ordering.dissolved').inc()
    this.foundedAt = null
    this.driver = null
    this.service.detachDriver()
    await driver.stop()
    await this.deps.storage.batch([
      { type: 'removeRange', prefix: ['raft', this.deps.roomId] },
      { type: 'remove', key: this.groupKey() },
    ])
    this.service.resetReplica()
    this.follow(oldest)
  }

  /**
   * Raft never tells a follower it was removed: the leader just stops sending to it, and its own log still names it a
   * member, so it would go on calling itself a super-peer (and campaign, harmlessly, into the leader's lease). The
   * leader's heartbeat carries its committed configuration; when that is newer than ours and leaves us out, we were
   * removed: the driver stops (its storage stays, for a later re-admission as a learner, which restarts it) and this
   * peer follows the log like any other.
   */
  private async leaveIfRemoved(): Promise<void> {
    const driver = this.driver
    const st = this.status()
    if (driver === null || st === null || st.role === 'leader') return
    const removed = [...this.deps.memberOrdering().values()].some(
      (info) =>
        info.group === this.group &&
        info.role === 'leader' &&
        info.term >= st.term &&
        info.config !== undefined &&
        info.config.index > st.configIndex &&
        !info.config.members.includes(this.deps.selfId),
    )
    if (!removed) return
    this.deps.metrics.counter('ordering.removed').inc()
    this.driver = null
    this.service.detachDriver()
    await driver.stop()
  }

  /**
   * Every `COMPACT_EVERY` applied entries, the Raft log up to what is applied is replaced by a snapshot of the ordered
   * state, so the log in memory and in storage stays bounded; a peer that needs older entries gets the snapshot.
   */
  private maybeCompact(): void {
    const driver = this.driver
    const st = this.status()
    if (driver === null || st === null || this.compacting) return
    const applied = this.service.replica.appliedIndex
    if (applied - st.snapshotIndex < COMPACT_EVERY || applied > st.applied) return
    this.compacting = true
    driver
      .compact(applied, this.service.replica.snapshotBytes())
      .then(() => this.deps.metrics.counter('ordering.compactions').inc(), reportListenerError)
      .finally(() => {
        this.compacting = false
      })
  }

  private runQuorumManager(): void {
    const driver = this.driver
    const st = this.status()
    if (driver === null || st === null || st.role !== 'leader' || this.quorumBusy) return
    const candidates = this.deps.candidates()
    const alive = new Set(candidates.filter((c) => c.alive).map((c) => c.id))
    const action = nextConfigChange({
      config: st.config,
      desired: desiredSuperPeers(candidates, { current: st.config.voters }),
      alive: (id) => alive.has(id),
      progress: (id) => {
        const p = st.progress[id]
        if (p === undefined) return undefined
        return { match: p.match, lagging: p.match + 64 < st.lastIndex || !alive.has(id) }
      },
      configPending: false,
      selfId: this.deps.selfId,
    })
    if (action === null) return
    if (action.type === 'transfer') {
      driver.transferLeadership(action.to)
      return
    }
    this.quorumBusy = true
    driver.proposeConfigChange(action).then(
      () => this.deps.metrics.counter(`ordering.config.${action.type}`).inc(),
      // Refused (another change pending, not caught up, leadership moved): the next round looks again.
      () => this.deps.metrics.counter('ordering.config.refused').inc(),
    ).finally(() => {
      this.quorumBusy = false
    })
  }
}
