/**
 * room/: wires one room together (discovery, direct connections, the member table, presence) for one room id. It may
 * import every layer below api/. This file: the session a Room handle drives, from join to leave.
 */
import type { Message } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { DecodeError, RoomClosedError } from '../errors.js'
import { Emitter, reportListenerError } from '../events.js'
import { peerIdFromString } from '@libp2p/peer-id'
import { createRaftTransport, type RaftLibp2pTransport } from '../consensus/raft/libp2p-transport.js'
import { gossipParameters } from '../membership/adaptive-gossip.js'
import { MemberTable, type Member, type MemberChange } from '../membership/member-table.js'
import { PresenceState } from '../membership/presence.js'
import { decodeRoomMessage, encodeRoomMessage, ROOM_LIMITS, type LinkInfo, type OrderingInfo, type RoomMessage } from '../membership/room-messages.js'
import { SWIM_PROTOCOL } from '../membership/swim/codec.js'
import { SwimDriver, type SwimDriverStats } from '../membership/swim/driver.js'
import { isDirectConnection } from '../transport/peer-dialer.js'
import { penalise, scoreOf, scoreTopic, tuneMesh, unscoreTopic } from './gossip-tuning.js'
import type { MetricsRegistry, MetricsSnapshot } from '../metrics/index.js'
import type { Clock, Random, Timer } from '../runtime/index.js'
import type { SynodLibp2p } from '../transport/create-node.js'
import type { PeerDialer } from '../transport/peer-dialer.js'
import { TokenBucket } from '../transport/token-bucket.js'
import type { RelayConnector } from '../transport/relay-connector.js'
import { RoomDiscovery } from '../transport/rendezvous/client.js'
import type { FramedStream } from '../transport/framed-stream.js'
import type { StorageAdapter } from '../storage/adapter.js'
import type { CandidateInfo, SuperPeerCapability } from '../ordering/election.js'
import { RoomDocs } from './room-docs.js'
import { DEFAULT_ORDERING_OPTIONS, RoomOrdering, type OrderingStats, type RoomOrderingOptions } from './room-ordering.js'

export interface MembershipOptions {
  /** One SWIM protocol period (one probe of one member), in ms. Default 1000. */
  readonly periodMs: number
  /** α: the shortest suspicion lasts α·max(1, log10 N) periods (up to 4× that without confirmations). Default 4. */
  readonly suspicionMult: number
  /** k: members asked to probe indirectly when a direct probe goes unanswered. Default 3. */
  readonly indirectChecks: number
  /** How long a member the detector declared dead stays listed (as `dead`) before it leaves the list, in ms. */
  readonly deadRetentionMs: number
  /** Gossip mesh, heartbeat interval and presence throttle follow the room's size and observed loss. Default true. */
  readonly adaptive: boolean
}

export const DEFAULT_MEMBERSHIP_OPTIONS: MembershipOptions = {
  periodMs: 1000,
  suspicionMult: 4,
  indirectChecks: 3,
  deadRetentionMs: 10_000,
  adaptive: true,
}

export interface RoomOptions {
  /**
   * Interval between two heartbeats (name, role, links: what the room shows about us), in ms. Default 1000; adaptive
   * gossip lengthens it in rooms past 32 members.
   */
  readonly heartbeatIntervalMs: number
  /**
   * Fallback: a member neither heard from (heartbeat) nor held alive by the failure detector for this long is
   * dropped, in ms. Default 5000. The detector (`membership`) is what normally marks members suspect and dead.
   */
  readonly memberTimeoutMs: number
  /** Minimum interval between two presence messages from this peer, in ms. Default 50. */
  readonly presenceThrottleMs: number
  /** Largest presence value (UTF-8 JSON bytes). Default 8 KiB. */
  readonly maxPresenceBytes: number
  /** Room messages accepted per member per second before the excess is dropped. Default 50 (burst 100). */
  readonly inboundRatePerSecond: number
  /** Typed handles commit the local operations of this window as one change, in ms. Default 25. */
  readonly batchWindowMs: number
  /** The room's ordering group (super-peers, Raft): tick, founding delay, quorum manager interval. */
  readonly ordering: RoomOrderingOptions
  /** The SWIM failure detector and adaptive gossip. */
  readonly membership: MembershipOptions
}

export const DEFAULT_ROOM_OPTIONS: RoomOptions = {
  heartbeatIntervalMs: 1000,
  memberTimeoutMs: 5000,
  presenceThrottleMs: 50,
  maxPresenceBytes: 8 * 1024,
  inboundRatePerSecond: 50,
  batchWindowMs: 25,
  ordering: DEFAULT_ORDERING_OPTIONS,
  membership: DEFAULT_MEMBERSHIP_OPTIONS,
}

export interface RoomSessionDeps {
  readonly node: SynodLibp2p
  readonly relays: RelayConnector
  readonly dialer: PeerDialer
  readonly metrics: MetricsRegistry
  readonly clock: Clock
  readonly timer: Timer
  readonly random: Random
  readonly name: string
  readonly storage: StorageAdapter
  /** Whether this peer may serve as one of the room's super-peers. */
  readonly superPeer: SuperPeerCapability
}

export interface PresenceChange {
  readonly peerId: string
  /** The new value, or undefined when the member cleared it or left. */
  readonly value: unknown
  readonly local: boolean
}

export interface RoomSessionEvents extends Record<string, unknown> {
  'member:join': Member
  'member:leave': Member
  'member:update': Member
  'presence:change': PresenceChange
  'room:closed': undefined
}

export interface RoomStats {
  /** Documents held in this room and their sync status. */
  readonly docs: Record<string, { readonly status: 'local' | 'syncing' | 'synced'; readonly heads: number }>
  readonly roomId: string
  readonly peerId: string
  readonly members: number
  readonly directConnections: number
  readonly relays: number
  /** The room's ordering group as this peer sees it: its role, the Raft term, commit index, super-peers and lag. */
  readonly ordering: OrderingStats
  /** The failure detector and the gossip parameters in force. */
  readonly membership: MembershipStats
  readonly metrics: MetricsSnapshot
}

export interface MembershipStats {
  readonly detector: SwimDriverStats | null
  readonly gossip: {
    readonly D: number
    readonly Dlazy: number
    readonly gossipFactor: number
    readonly heartbeatIntervalMs: number
    readonly presenceThrottleMs: number
  }
}

/** `room.topology()`: who is connected to whom, as each member reports it in its heartbeats. */
export interface Topology {
  readonly self: string
  readonly nodes: readonly {
    readonly id: string
    readonly name: string
    readonly role: Member['role']
    readonly state: Member['state']
    readonly self: boolean
    /** This peer's gossipsub score of the member (0 for itself). */
    readonly score: number
  }[]
  /** Each link once (a < b by id); `direct` wins when the two ends disagree. */
  readonly edges: readonly { readonly a: string; readonly b: string; readonly via: LinkInfo['via'] }[]
  /** The relays this peer holds a reservation on. */
  readonly relays: readonly string[]
}

const EMPTY_ORDERING_STATS: OrderingStats = {
  role: 'peer',
  term: 0,
  leader: null,
  commitIndex: 0,
  appliedIndex: 0,
  superPeers: [],
  health: null,
}

export class RoomSession extends Emitter<RoomSessionEvents> {
  readonly topic: string
  private readonly members = new MemberTable()
  private readonly presence: PresenceState
  private readonly discovery: RoomDiscovery
  private readonly incarnation: number
  private readonly buckets = new Map<string, TokenBucket>()
  /** Messages the gossipsub validator already decoded, so delivery does not decode them again. */
  private readonly decoded = new WeakMap<Uint8Array, RoomMessage>()
  private readonly cleanups: Array<() => void> = []
  private cancelHeartbeat: (() => void) | undefined
  private closed = false
  private docsLoading: Promise<RoomDocs> | undefined
  private docsReady: RoomDocs | undefined
  private orderingLayer: RoomOrdering | undefined
  /** Each member's last seen role, so that only a role change re-routes pending submits. */
  private readonly knownRoles = new Map<string, string>()
  private swim: SwimDriver | undefined
  private swimTransport: RaftLibp2pTransport | undefined
  /** What adaptive gossip chose last; starts at the configured values. */
  private heartbeatIntervalMs: number
  private mesh = { D: 6, Dlazy: 6, gossipFactor: 0.25 }

  constructor(
    readonly roomId: string,
    private readonly deps: RoomSessionDeps,
    private readonly options: RoomOptions,
  ) {
    super()
    this.topic = `synod/${roomId}/room/1`
    // Wall-clock start of this session: a reloaded page must outrank its previous incarnation.
    this.incarnation = Date.now()
    this.presence = new PresenceState(
      { throttleMs: options.presenceThrottleMs, maxBytes: options.maxPresenceBytes },
      deps.clock,
      deps.timer,
      ({ version, json }) => this.publish({ type: 'presence', incarnation: this.incarnation, version, json }),
    )
    this.discovery = new RoomDiscovery(deps.node, deps.relays, roomId, { random: deps.random, metrics: deps.metrics })
    this.heartbeatIntervalMs = options.heartbeatIntervalMs
  }

  get batchWindowMs(): number {
    return this.options.batchWindowMs
  }

  get isClosed(): boolean {
    return this.closed
  }

  get selfId(): string {
    return this.deps.node.peerId.toString()
  }

  start(): void {
    const { node, dialer } = this.deps
    const pubsub = node.services.pubsub
    pubsub.topicValidators.set(this.topic, (_from, msg) => this.validate(msg))
    scoreTopic(node, this.topic)
    pubsub.subscribe(this.topic)
    this.startDetector()

    const onMessage = (evt: CustomEvent<Message>): void => this.onGossip(evt.detail)
    pubsub.addEventListener('message', onMessage)
    // A peer that just subscribed to our topic does not know us yet: say hello now rather than at the next beat.
    const onSubscription = (evt: CustomEvent<{ subscriptions: Array<{ topic: string; subscribe: boolean }> }>): void => {
      if (evt.detail.subscriptions.some((s) => s.topic === this.topic && s.subscribe)) this.heartbeat()
    }
    pubsub.addEventListener('subscription-change', onSubscription)
    this.cleanups.push(() => {
      pubsub.removeEventListener('message', onMessage)
      pubsub.removeEventListener('subscription-change', onSubscription)
    })

    this.cleanups.push(
      this.discovery.on('peer:discovered', ({ id, addrs }) => dialer.want(id, addrs, this.roomId)),
      this.discovery.on('peer:gone', ({ id }) => {
        // The relay no longer sees it; if it is still here it keeps talking to us directly and stays a member.
        if (!this.members.has(id)) dialer.forget(id, this.roomId)
      }),
      dialer.on('direct:open', ({ peer }) => this.apply(this.members.setDirect(peer, true))),
      dialer.on('direct:close', ({ peer }) => this.apply(this.members.setDirect(peer, false))),
      // Documents sync with every member we hold a direct connection to; gossip-free, one stream each way.
      this.on('member:join', (m) => {
        if (m.direct) this.docsReady?.connect(m.id)
      }),
      this.on('member:update', (m) => {
        if (m.direct) this.docsReady?.connect(m.id)
        else this.docsReady?.disconnect(m.id)
      }),
      this.on('member:leave', (m) => this.docsReady?.disconnect(m.id)),
      // A super-peer left or the leader changed: submits waiting on the old one go elsewhere now.
      this.on('member:leave', (m) => {
        this.knownRoles.delete(m.id)
        if (m.role !== 'peer') this.orderingLayer?.service.nudge()
      }),
      this.on('member:update', (m) => {
        if (this.knownRoles.get(m.id) !== m.role) {
          this.knownRoles.set(m.id, m.role)
          this.orderingLayer?.service.nudge()
        }
      }),
    )
    this.discovery.start()
    this.orderingLayer = new RoomOrdering(
      {
        node,
        roomId: this.roomId,
        selfId: this.selfId,
        incarnation: this.incarnation,
        capability: this.deps.superPeer,
        storage: this.deps.storage,
        metrics: this.deps.metrics,
        clock: this.deps.clock,
        timer: this.deps.timer,
        random: this.deps.random,
        candidates: () => this.candidates(),
        memberOrdering: () => {
          const out = new Map<string, OrderingInfo>()
          for (const row of this.members.rowsForElection()) if (row.ordering !== undefined) out.set(row.id, row.ordering)
          return out
        },
        members: () => this.members.list().filter((m) => m.state !== 'dead').map((m) => m.id),
        registered: () => this.discovery.listedPeers(),
        // A rival founder's next heartbeat, then our reconcile pass or its own, with a heartbeat's worth of slack.
        settleMs: 2 * this.options.heartbeatIntervalMs + this.options.ordering.quorumIntervalMs,
      },
      this.options.ordering,
    )
    this.orderingLayer.start().catch(reportListenerError)
    this.heartbeat()
  }

  /** The SWIM failure detector on `/synod/swim/1`: it sets members' states; forged input is scored against its sender. */
  private startDetector(): void {
    const { node, metrics } = this.deps
    const m = this.options.membership
    const transport = createRaftTransport({ node, group: `${this.roomId}/swim`, protocol: SWIM_PROTOCOL, metrics: metrics.scope('swim') })
    const swim = new SwimDriver({
      self: this.selfId,
      session: this.incarnation,
      transport,
      timer: this.deps.timer,
      random: this.deps.random,
      metrics,
      periodMs: m.periodMs,
      swim: { suspicionMult: m.suspicionMult, indirectChecks: m.indirectChecks },
    })
    this.cleanups.push(
      swim.on('member', (e) => {
        if (e.state === 'dead') metrics.counter('membership.declared_dead').inc()
        if (e.state === 'suspect') metrics.counter('membership.suspected').inc()
        this.apply(this.members.setState(e.peer, e.session, e.state, this.deps.clock.now()))
      }),
      swim.on('rejection', ({ peer }) => {
        metrics.counter('membership.rejected').inc()
        penalise(node, peer)
      }),
    )
    this.swim = swim
    this.swimTransport = transport
    swim.start()
  }

  /** The room's ordering layer (log and locks). */
  ordering(): RoomOrdering {
    this.assertOpen()
    if (this.orderingLayer === undefined) throw new RoomClosedError(`room '${this.roomId}' is not started`)
    return this.orderingLayer
  }

  private directCount(): number {
    return this.deps.dialer.directPeers().filter((p) => this.members.has(p)).length
  }

  /** The member table as the super-peer election sees it, this peer included (dead members are not alive). */
  private candidates(): CandidateInfo[] {
    const rows: CandidateInfo[] = this.members.rowsForElection().map((row) => ({
      id: row.id,
      capability: row.ordering?.capability ?? 'never',
      joinedAt: row.id === this.selfId ? this.incarnation : row.joinedAt,
      directPeers: row.ordering?.directPeers ?? 0,
      alive: row.alive,
    }))
    rows.push({
      id: this.selfId,
      capability: this.deps.superPeer,
      joinedAt: this.incarnation,
      directPeers: this.directCount(),
      alive: true,
    })
    return rows
  }

  /** The room's documents, created (and Automerge loaded) on first use. */
  async docs(): Promise<RoomDocs> {
    this.assertOpen()
    this.docsLoading ??= RoomDocs.create({
      node: this.deps.node,
      roomId: this.roomId,
      storage: this.deps.storage,
      metrics: this.deps.metrics,
      directMembers: () => this.members.list().filter((m) => m.direct).map((m) => m.id),
    }).then((docs) => {
      if (this.closed) docs.close()
      else this.docsReady = docs
      return docs
    })
    return this.docsLoading
  }

  /** A member's sync stream for this room arrived (the peer-wide router read its hello). */
  acceptSync(peer: string, framed: FramedStream): void {
    if (this.closed) {
      framed.abort(new RoomClosedError('room was left'))
      return
    }
    this.docs().then(
      (docs) => docs.accept(peer, framed),
      (err: unknown) => framed.abort(err instanceof Error ? err : new Error(String(err))),
    )
  }

  /**
   * The members, with the role their heartbeats claim; of several that claim to lead (a stale heartbeat from a
   * deposed leader), only the one with the highest term shows as leader.
   */
  memberList(): Member[] {
    const list = this.members.list()
    let leader: string | null = null
    let term = -1
    for (const m of list) {
      const info = this.members.orderingOf(m.id)
      if (info?.role === 'leader' && info.term > term) {
        leader = m.id
        term = info.term
      }
    }
    const own = this.orderingLayer?.info(0)
    if (own?.role === 'leader' && own.term >= term) leader = null
    return list.map((m) => (m.role === 'leader' && m.id !== leader ? { ...m, role: 'super' } : m))
  }

  setPresence(value: unknown): void {
    this.assertOpen()
    if (this.presence.set(value)) {
      this.emit('presence:change', { peerId: this.selfId, value: this.presence.local(), local: true })
    }
  }

  getPresence(peerId: string): unknown {
    return peerId === this.selfId ? this.presence.local() : this.presence.get(peerId)
  }

  stats(): RoomStats {
    return {
      docs: this.docsReady?.stats() ?? {},
      roomId: this.roomId,
      peerId: this.selfId,
      members: this.members.size,
      directConnections: this.directCount(),
      relays: this.deps.relays.relays.size,
      ordering: this.orderingLayer?.stats() ?? EMPTY_ORDERING_STATS,
      membership: {
        detector: this.swim?.stats() ?? null,
        gossip: { ...this.mesh, heartbeatIntervalMs: this.heartbeatIntervalMs, presenceThrottleMs: this.presence.throttleMs },
      },
      metrics: this.deps.metrics.snapshot(),
    }
  }

  /** The connection graph: this peer's own links, and every member's as its last heartbeat reported them. */
  topology(): Topology {
    const node = this.deps.node
    const nodes: Topology['nodes'][number][] = [
      { id: this.selfId, name: this.deps.name, role: this.orderingLayer?.info(0).role ?? 'peer', state: 'alive', self: true, score: 0 },
      ...this.memberList().map((m) => ({ id: m.id, name: m.name, role: m.role, state: m.state, self: false, score: scoreOf(node, m.id) })),
    ]
    const edges = new Map<string, { a: string; b: string; via: LinkInfo['via'] }>()
    const add = (x: string, y: string, via: LinkInfo['via']): void => {
      if (x === y) return
      const [a, b] = x < y ? [x, y] : [y, x]
      const key = `${a} ${b}`
      if (edges.get(key)?.via !== 'direct') edges.set(key, { a, b, via })
    }
    for (const link of this.ownLinks()) add(this.selfId, link.peer, link.via)
    for (const m of this.members.list()) for (const link of this.members.linksOf(m.id)) add(m.id, link.peer, link.via)
    const relays = [...this.deps.relays.relays.keys()]
    return { self: this.selfId, nodes, edges: [...edges.values()], relays }
  }

  /** This peer's connections to members: direct (WebRTC) or only relayed, at most ROOM_LIMITS.maxLinks. */
  private ownLinks(): LinkInfo[] {
    const links: LinkInfo[] = []
    for (const m of this.members.list()) {
      if (links.length >= ROOM_LIMITS.maxLinks) break
      const connections = this.deps.node.getConnections(peerIdFromString(m.id))
      if (connections.length === 0) continue
      links.push({ peer: m.id, via: connections.some(isDirectConnection) ? 'direct' : 'relayed' })
    }
    return links
  }

  /** Says goodbye (best effort) and stops everything this room started. Idempotent. */
  close(): void {
    if (this.closed) return
    this.publish({ type: 'leave', incarnation: this.incarnation })
    this.swim?.leave()
    // The goodbye is queued on the SWIM streams; give it a moment before the transport goes.
    const swimTransport = this.swimTransport
    this.deps.timer.setTimeout(() => swimTransport?.close(), 1000)
    tuneMesh(this.deps.node, this.roomId, null)
    this.closed = true
    this.cancelHeartbeat?.()
    this.presence.close()
    this.discovery.stop()
    this.docsReady?.close()
    this.orderingLayer?.close()
    for (const cleanup of this.cleanups.splice(0)) cleanup()
    const pubsub = this.deps.node.services.pubsub
    pubsub.unsubscribe(this.topic)
    pubsub.topicValidators.delete(this.topic)
    unscoreTopic(this.deps.node, this.topic)
    for (const m of this.members.list()) this.deps.dialer.forget(m.id, this.roomId)
    this.emit('room:closed', undefined)
    this.clear()
  }

  private assertOpen(): void {
    if (this.closed) throw new RoomClosedError(`room '${this.roomId}' was left`)
  }

  private heartbeat(): void {
    if (this.closed) return
    this.cancelHeartbeat?.()
    this.publish({
      type: 'heartbeat',
      incarnation: this.incarnation,
      name: this.deps.name,
      presenceVersion: this.presence.localVersion,
      ordering: this.orderingLayer?.info(this.directCount()) ?? { capability: this.deps.superPeer, role: 'peer', term: 0, directPeers: 0, group: '' },
      links: this.ownLinks(),
    })
    const expiry = {
      // Heartbeats slow down in large rooms: the fallback timeout keeps its ratio to their interval.
      timeoutMs: Math.max(this.options.memberTimeoutMs, (this.heartbeatIntervalMs * this.options.memberTimeoutMs) / this.options.heartbeatIntervalMs),
      retentionMs: this.options.membership.deadRetentionMs,
      vouched: (id: string) => {
        const incarnation = this.members.incarnationOf(id)
        const state = incarnation === undefined ? undefined : this.swim?.stateOf(id, incarnation)
        return state === 'alive' || state === 'suspect'
      },
    }
    for (const change of this.members.expire(this.deps.clock.now(), expiry)) this.apply(change)
    this.adapt()
    this.cancelHeartbeat = this.deps.timer.setTimeout(() => this.heartbeat(), this.heartbeatIntervalMs)
  }

  /** Adaptive gossip: parameters from the room's size and the detector's observed loss (membership/adaptive-gossip.ts). */
  private adapt(): void {
    if (!this.options.membership.adaptive) return
    const params = gossipParameters(
      { members: this.members.size + 1, loss: this.swim?.observedLoss() ?? null },
      { heartbeatIntervalMs: this.options.heartbeatIntervalMs, presenceThrottleMs: this.options.presenceThrottleMs },
    )
    this.heartbeatIntervalMs = params.heartbeatIntervalMs
    this.presence.throttleMs = params.presenceThrottleMs
    this.mesh = { D: params.D, Dlazy: params.Dlazy, gossipFactor: params.gossipFactor }
    tuneMesh(this.deps.node, this.roomId, params)
  }

  private publish(msg: RoomMessage): void {
    if (this.closed) return
    const metrics = this.deps.metrics
    this.deps.node.services.pubsub.publish(this.topic, encodeRoomMessage(msg)).then(
      () => metrics.counter(`room.sent.${msg.type}`).inc(),
      () => metrics.counter('room.publish_failures').inc(),
    )
  }

  private validate(msg: Message): TopicValidatorResult {
    if (msg.type !== 'signed') return TopicValidatorResult.Reject
    const from = msg.from.toString()
    let bucket = this.buckets.get(from)
    if (bucket === undefined) {
      const rate = this.options.inboundRatePerSecond
      bucket = new TokenBucket(rate * 2, rate, this.deps.clock)
      if (this.buckets.size < 4096) this.buckets.set(from, bucket)
    }
    if (!bucket.take()) {
      this.deps.metrics.counter('room.rate_limited').inc()
      return TopicValidatorResult.Ignore
    }
    try {
      this.decoded.set(msg.data, decodeRoomMessage(msg.data, this.options.maxPresenceBytes))
      return TopicValidatorResult.Accept
    } catch (err) {
      // Rejecting (not ignoring) lowers the sender's gossipsub score; the message goes no further.
      const kind = msg.data[0] === 2 ? 'presence' : 'room'
      this.deps.metrics.counter(`${kind}.rejected`).inc()
      if (!(err instanceof DecodeError)) throw err
      return TopicValidatorResult.Reject
    }
  }

  private onGossip(msg: Message): void {
    if (this.closed || msg.topic !== this.topic || msg.type !== 'signed') return
    let decoded = this.decoded.get(msg.data)
    if (decoded === undefined) {
      try {
        decoded = decodeRoomMessage(msg.data, this.options.maxPresenceBytes)
      } catch {
        return // already counted by the validator
      }
    }
    const from = msg.from.toString()
    if (from === this.selfId) return
    const now = this.deps.clock.now()
    switch (decoded.type) {
      case 'heartbeat': {
        const known = this.members.incarnationOf(from)
        const change = this.members.heard(from, decoded.name, decoded.incarnation, now, this.deps.dialer.isDirect(from))
        this.apply(change)
        this.apply(this.members.setOrdering(from, decoded.ordering))
        this.members.setLinks(from, decoded.links)
        // The detector learns of members from their heartbeats (it joins through them the first time).
        this.swim?.meet(from, decoded.incarnation)
        if (change?.kind === 'join' || (known !== undefined && decoded.incarnation > known)) {
          // Someone new (or reloaded): they need our presence, and dialling them directly if we can.
          this.presence.resend()
          this.heartbeatSoon()
        }
        break
      }
      case 'presence': {
        this.deps.metrics.counter('presence.received').inc()
        if (!this.members.has(from)) break // heard before its first heartbeat: it re-sends once it sees us
        if (this.presence.receive(from, decoded.incarnation, decoded.version, decoded.json)) {
          this.emit('presence:change', { peerId: from, value: this.presence.get(from), local: false })
        }
        break
      }
      case 'leave':
        if ((this.members.incarnationOf(from) ?? -1) <= decoded.incarnation) {
          this.apply(this.members.remove(from))
        }
        break
    }
  }

  private heartbeatSoon(): void {
    // One early beat so the newcomer learns about us without waiting a full interval.
    this.deps.timer.setTimeout(() => this.heartbeat(), 20)
  }

  private apply(change: MemberChange | undefined): void {
    if (change === undefined) return
    this.emit(`member:${change.kind}`, change.member)
    if (change.kind === 'leave') {
      if (this.presence.remove(change.member.id)) {
        this.emit('presence:change', { peerId: change.member.id, value: undefined, local: false })
      }
      this.deps.dialer.forget(change.member.id, this.roomId)
      this.buckets.delete(change.member.id)
    }
  }
}
