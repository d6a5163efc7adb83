/**
 * The SWIM core: one member's failure detector as a pure state machine, after SWIM (Das, Gupta & Motivala 2002) with
 * the Lifeguard refinements (Dadgar, Phillips & Currey 2018). Like the Raft core it does no I/O, reads no clock and
 * draws no randomness of its own: the driver calls `tick()` at a fixed interval, `step(from, msg)` for each message
 * received, then takes `ready()` and sends the messages (loss is tolerated: the protocol is built for it).
 *
 * Section references (§) are to the SWIM paper unless they say "Lifeguard".
 *
 * Why one file: the probe, the suspicion timers, the gossip queue and the local-health score all read and write the
 * same member table, and each handler touches several of them (an ack lowers the health score and carries gossip;
 * a refutation bumps the incarnation, raises the score and queues gossip). Types and options live in types.ts, the
 * gossip queue's ordering in broadcast-queue.ts.
 */
import { BroadcastQueue } from './broadcast-queue.js'
import {
  resolveSwimOptions,
  type MemberChange,
  type MemberId,
  type MemberView,
  type Outgoing,
  type RejectReason,
  type Rejection,
  type ResolvedSwimOptions,
  type SwimMessage,
  type SwimOptions,
  type SwimRandom,
  type SwimReady,
  type SwimState,
  type SwimUpdate,
} from './types.js'

interface MemberRecord {
  state: SwimState
  incarnation: number
  /** Tick of the last state change: the oldest tombstone is evicted first when the table is full. */
  since: number
  /** Set while `state` is `suspect`. */
  suspicion: Suspicion | null
  /** This record as a full-view entry, built on demand and dropped at every change (push-pull sends N of them). */
  view: SwimUpdate | null
}

interface Suspicion {
  readonly start: number
  /** Tick at which it turns into `dead`: start + the timeout for the confirmations so far (only ever earlier). */
  deadline: number
  /** Distinct suspecters seen, the first included; at most K + 1 are kept (more no longer shorten the timeout). */
  readonly confirmers: Set<MemberId>
}

interface Probe {
  readonly target: MemberId
  readonly seq: number
  /** When to give up on a direct ack and ask k others. */
  readonly indirectAt: number
  indirectSent: boolean
  acked: boolean
  /** Helpers asked, and nacks heard from them (Lifeguard). */
  helpers: number
  nacks: number
}

/** A ping we sent for another member's pingReq: forward its ack with the requester's seq. */
interface Relay {
  readonly origin: MemberId
  readonly originSeq: number
  readonly expires: number
  /** When to tell the origin that no ack came yet. */
  readonly nackAt: number
  nacked: boolean
}

export interface SwimStats {
  /** Updates refused as forged (see `SwimOptions.incarnationBound`). */
  readonly rejected: number
  /** pingReqs ignored because `maxPendingProbes` relays were in flight. */
  readonly droppedPingReqs: number
  /** New members ignored because the table was full of live members. */
  readonly droppedMembers: number
  /** Lifeguard's local-health score, 0 when healthy. */
  readonly localHealth: number
  readonly incarnation: number
}

/** Rejections kept between two `ready()` calls; more are counted but not itemised. */
const MAX_REJECTIONS = 256
/** Cluster size above which push-pull slows down (memberlist's pushPullScaleThreshold). */
const PUSH_PULL_SCALE_THRESHOLD = 32
/** Seeds remembered for join retries. */
const MAX_SEEDS = 16

export class SwimCore {
  readonly id: MemberId
  private readonly options: ResolvedSwimOptions
  private readonly random: SwimRandom
  private incarnation = 0
  private hasLeft = false
  private readonly table = new Map<MemberId, MemberRecord>()
  /** Alive and suspect members other than us. */
  private liveOthers = 0
  private readonly suspects = new Set<MemberId>()
  /** No suspicion expires before this tick (a lower bound: refuted suspicions may leave it early). */
  private nextExpiry = Number.POSITIVE_INFINITY
  /** §4.3: probe targets in a random order, reshuffled after each full round. */
  private probeOrder: MemberId[] = []
  private probeIndex = 0
  private probe: Probe | null = null
  private nextProbeAt = 0
  private now = 0
  private seq = 0
  /** Periods until the next push-pull; -1 until the first is scheduled. */
  private pushPullIn = -1
  /** Where `join` was sent: asked again every period while we know nobody (the join or its answer may be lost). */
  private seeds: MemberId[] = []
  private readonly relays = new Map<number, Relay>()
  /** At most one pending update per member: a newer one replaces the older. */
  private readonly queue = new BroadcastQueue()
  private health = 0
  /** Drained by every `ready()`; one tick or step adds a bounded number (≤ k + 1 messages, or N for a join). */
  private outbox: Outgoing[] = []
  private changes: MemberChange[] = []
  private rejections: Rejection[] = []
  private rejectedCount = 0
  private droppedPingReqs = 0
  private droppedMembers = 0

  constructor(options: SwimOptions) {
    this.id = options.id
    this.random = options.random
    this.options = resolveSwimOptions(options)
  }

  get stats(): SwimStats {
    return {
      rejected: this.rejectedCount,
      droppedPingReqs: this.droppedPingReqs,
      droppedMembers: this.droppedMembers,
      localHealth: this.health,
      incarnation: this.incarnation,
    }
  }

  /** Every member we know of, ourselves first. */
  members(): MemberView[] {
    const self: MemberView = { id: this.id, state: this.hasLeft ? 'left' : 'alive', incarnation: this.incarnation }
    const others = [...this.table].map(([id, r]) => ({ id, state: r.state, incarnation: r.incarnation }))
    return [self, ...others]
  }

  /** The state of another member, or undefined when it is not in the table (never heard of, or evicted). */
  stateOf(id: MemberId): SwimState | undefined {
    return this.table.get(id)?.state
  }

  /** Announces us to `seeds`; each answers with its member list. Call again with other seeds if none answers. */
  join(seeds: readonly MemberId[]): void {
    if (this.hasLeft) return
    this.enqueue(this.selfUpdate('alive'))
    this.seeds = seeds.filter((seed) => seed !== this.id).slice(0, MAX_SEEDS)
    this.sendJoin()
  }

  private sendJoin(): void {
    for (const seed of this.seeds) this.send(seed, { type: 'join', updates: this.snapshot() })
  }

  /**
   * Says goodbye: the `left` update goes to λ·⌈log10(N + 1)⌉ random members, who gossip it on. After this the
   * core is inert.
   */
  leave(): void {
    if (this.hasLeft) return
    this.hasLeft = true
    this.probe = null
    const goodbye = this.selfUpdate('left')
    const targets = this.pick(this.liveIds(), this.maxTransmits())
    for (const to of targets) this.send(to, { type: 'ping', seq: 0, updates: [goodbye] })
  }

  /** One protocol tick. */
  tick(): void {
    if (this.hasLeft) return
    this.now++
    this.expireSuspicions()
    this.expireRelays()
    const probe = this.probe
    if (probe !== null && !probe.acked && !probe.indirectSent && this.now >= probe.indirectAt) {
      this.sendIndirect(probe)
    }
    if (this.now >= this.nextProbeAt) {
      if (probe !== null) this.finishProbe(probe)
      this.startProbe()
      if (this.liveOthers === 0) this.sendJoin()
      else this.maybePushPull()
      this.nextProbeAt = this.now + this.scaled(this.options.periodTicks)
    }
  }

  step(from: MemberId, msg: SwimMessage): void {
    if (this.hasLeft || from === this.id) return
    const { maxPiggyback, maxMembers } = this.options
    switch (msg.type) {
      case 'ping':
        // +1: a buddy-system suspicion may precede the regular piggyback.
        this.applyAll(from, msg.updates, maxPiggyback + 1)
        this.send(from, { type: 'ack', seq: msg.seq, updates: this.piggyback(maxPiggyback) })
        return
      case 'ack':
        this.applyAll(from, msg.updates, maxPiggyback + 1)
        this.onAck(msg.seq)
        return
      case 'nack':
        if (this.probe !== null && this.probe.seq === msg.seq) {
          this.probe.nacks = Math.min(this.probe.helpers, this.probe.nacks + 1)
        }
        return
      case 'pingReq':
        this.applyAll(from, msg.updates, maxPiggyback + 1)
        this.relay(from, msg.seq, msg.target)
        return
      case 'join':
        this.applyAll(from, msg.updates, maxMembers, true)
        this.send(from, { type: 'sync', members: this.snapshot() })
        return
      case 'sync':
        this.applyAll(from, msg.members, maxMembers, true)
        return
    }
  }

  ready(): SwimReady {
    const ready: SwimReady = { messages: this.outbox, changes: this.changes, rejections: this.rejections }
    this.outbox = []
    this.changes = []
    this.rejections = []
    return ready
  }

  // --- probing (§3.1, §4.3) ---

  private startProbe(): void {
    this.probe = null
    const target = this.nextTarget()
    if (target === null) return
    const seq = this.nextSeq()
    this.probe = {
      target,
      seq,
      indirectAt: this.now + this.scaled(this.options.probeTimeoutTicks),
      indirectSent: false,
      acked: false,
      helpers: 0,
      nacks: 0,
    }
    // Lifeguard buddy system: tell a suspect it is suspected, so it refutes at once instead of waiting for gossip.
    const record = this.table.get(target)
    const buddy: SwimUpdate[] =
      record?.state === 'suspect'
        ? [{ id: target, state: 'suspect', incarnation: record.incarnation, from: this.id }]
        : []
    this.send(target, { type: 'ping', seq, updates: [...buddy, ...this.piggyback(this.options.maxPiggyback)] })
  }

  /** Round-robin over a shuffled list; a full round is reshuffled, so every live member is probed within 2N periods. */
  private nextTarget(): MemberId | null {
    for (let pass = 0; pass < 2; pass++) {
      while (this.probeIndex < this.probeOrder.length) {
        const id = this.probeOrder[this.probeIndex++]
        if (id !== undefined && this.isLive(id)) return id
      }
      this.probeOrder = this.shuffle(this.liveIds())
      this.probeIndex = 0
    }
    return null
  }

  private sendIndirect(probe: Probe): void {
    probe.indirectSent = true
    const helpers = this.pick(
      this.liveIds().filter((id) => id !== probe.target && this.table.get(id)?.state === 'alive'),
      this.options.indirectChecks,
    )
    probe.helpers = helpers.length
    for (const to of helpers) {
      this.send(to, { type: 'pingReq', seq: probe.seq, target: probe.target, updates: this.piggyback() })
    }
  }

  private finishProbe(probe: Probe): void {
    if (probe.acked) return
    // Lifeguard: a missed ack may be our own fault (slow, overloaded), so probe more patiently for a while; each
    // helper whose nack did not arrive either is more evidence that the fault is ours.
    this.changeHealth(1 + probe.helpers - probe.nacks)
    const record = this.table.get(probe.target)
    if (record === undefined || (record.state !== 'alive' && record.state !== 'suspect')) return
    this.apply(this.id, { id: probe.target, state: 'suspect', incarnation: record.incarnation, from: this.id })
  }

  private onAck(seq: number): void {
    const probe = this.probe
    if (probe !== null && probe.seq === seq && seq !== 0) {
      if (!probe.acked) this.changeHealth(-1)
      probe.acked = true
      return
    }
    const relay = this.relays.get(seq)
    if (relay === undefined) return
    this.relays.delete(seq)
    this.send(relay.origin, { type: 'ack', seq: relay.originSeq, updates: this.piggyback() })
  }

  private relay(origin: MemberId, originSeq: number, target: MemberId): void {
    if (target === this.id) {
      this.send(origin, { type: 'ack', seq: originSeq, updates: this.piggyback() })
      return
    }
    if (this.relays.size >= this.options.maxPendingProbes) {
      this.droppedPingReqs++
      return
    }
    const seq = this.nextSeq()
    this.relays.set(seq, {
      origin,
      originSeq,
      expires: this.now + this.scaled(this.options.periodTicks),
      nackAt: this.now + this.options.probeTimeoutTicks,
      nacked: false,
    })
    this.send(target, { type: 'ping', seq, updates: this.piggyback() })
  }

  private expireRelays(): void {
    for (const [seq, relay] of this.relays) {
      if (relay.expires <= this.now) this.relays.delete(seq)
      else if (!relay.nacked && relay.nackAt <= this.now) {
        relay.nacked = true
        this.send(relay.origin, { type: 'nack', seq: relay.originSeq })
      }
    }
  }

  /**
   * memberlist's scaling: above 32 members the interval grows by one base interval per doubling, so that a member's
   * share of full-view traffic (N entries per exchange) grows as N / log N instead of N.
   */
  private pushPullInterval(): number {
    const n = this.liveOthers + 1
    const scale = n <= PUSH_PULL_SCALE_THRESHOLD ? 1 : Math.ceil(Math.log2(n / PUSH_PULL_SCALE_THRESHOLD)) + 1
    return this.options.pushPullPeriods * scale
  }

  private maybePushPull(): void {
    // The first exchange comes after a random part of the interval (memberlist's stagger): members started together
    // would otherwise all exchange full views in the same period, every interval.
    if (this.pushPullIn < 0) this.pushPullIn = 1 + this.random.int(this.pushPullInterval())
    if (--this.pushPullIn > 0) return
    this.pushPullIn = this.pushPullInterval()
    const [partner] = this.pick(this.liveIds(), 1)
    if (partner !== undefined) this.send(partner, { type: 'join', updates: this.snapshot() })
  }

  // --- suspicion (§4.2, Lifeguard §4.2) ---

  /** Runs every tick, so it walks the suspects only when one may be due. */
  private expireSuspicions(): void {
    if (this.now < this.nextExpiry) return
    let next = Number.POSITIVE_INFINITY
    for (const id of this.suspects) {
      const record = this.table.get(id)
      const suspicion = record?.suspicion
      if (record === undefined || suspicion === undefined || suspicion === null) continue
      if (this.now >= suspicion.deadline) {
        this.apply(this.id, { id, state: 'dead', incarnation: record.incarnation, from: this.id })
      } else next = Math.min(next, suspicion.deadline)
    }
    this.nextExpiry = next
  }

  /**
   * Sets the deadline for the confirmations so far. Like memberlist, the cluster size is read when the suspicion
   * starts and when it is confirmed, not on every tick.
   */
  private schedule(suspicion: Suspicion): void {
    suspicion.deadline = suspicion.start + this.suspicionTimeout(suspicion.confirmers.size - 1)
    this.nextExpiry = Math.min(this.nextExpiry, suspicion.deadline)
  }

  /**
   * Lifeguard's dynamic suspicion timeout: `max` with no independent confirmation, falling on a log curve to `min`
   * after K of them, so a member many others also suspect is declared dead sooner, while one lone (possibly unhealthy)
   * suspecter waits long enough for a refutation to arrive.
   */
  suspicionTimeout(confirmations: number): number {
    const { suspicionMult, suspicionMaxMult, suspicionConfirmations: k, periodTicks } = this.options
    const min = suspicionMult * Math.max(1, Math.log10(this.liveOthers + 1)) * periodTicks
    const max = suspicionMaxMult * min
    const fraction = Math.log(Math.max(0, confirmations) + 1) / Math.log(k + 1)
    return Math.ceil(Math.max(min, max - (max - min) * fraction))
  }

  // --- updates and precedence (§4.2) ---

  /**
   * `bulk`: the updates are a full view (join, sync), not gossip. A member we had never heard of is then added
   * without being gossiped on (unless it is the sender itself, a newcomer): it is the sender's old news, and a joiner
   * that queued the N members of its seed's answer would fill every piggyback slot with them for ~N·λ·log N / 8
   * messages (hundreds of periods at N = 1000), so that no fresh update got through. SWIM §5 gossips only the join.
   */
  private applyAll(sender: MemberId, updates: readonly SwimUpdate[], limit: number, bulk = false): void {
    const n = Math.min(limit, updates.length)
    for (let i = 0; i < n; i++) this.apply(sender, updates[i] as SwimUpdate, bulk)
  }

  private apply(sender: MemberId, u: SwimUpdate, bulk = false): void {
    if (!Number.isSafeInteger(u.incarnation) || u.incarnation < 0) return this.reject(sender, 'malformed', u)
    if (u.id === this.id) return this.applyAboutSelf(sender, u)
    const record = this.table.get(u.id)
    const known = record?.incarnation ?? 0
    if ((u.state === 'suspect' || u.state === 'dead') && u.incarnation > known + this.options.incarnationBound) {
      return this.reject(sender, 'incarnationTooHigh', u)
    }
    if (record === undefined) return this.add(u, !bulk || u.id === sender)
    if (overrides(u, record)) return this.set(u, record)
    if (u.state === 'suspect' && record.state === 'suspect' && u.incarnation === record.incarnation) {
      this.confirm(u, record)
    } else if (!bulk && overrides(record, u) && !this.queue.has(u.id)) {
      // The sender spreads news we know to be stale (say, a suspicion of a member that has left): gossip ours again,
      // so that it is corrected rather than left to expire on its own. (A full view is answered with ours instead.)
      this.enqueue({ id: u.id, state: record.state, incarnation: record.incarnation, from: this.id })
    }
  }

  private applyAboutSelf(sender: MemberId, u: SwimUpdate): void {
    // Nobody can know a later incarnation of us than we do: this was forged (or is a replay from a past life).
    if (u.incarnation > this.incarnation) return this.reject(sender, 'selfIncarnationTooHigh', u)
    if (u.state === 'alive') return
    if (u.incarnation < this.incarnation) {
      // An old suspicion still going round (a buddy ping, say): our refutation has not reached everyone yet.
      if (!this.queue.has(this.id)) this.enqueue(this.selfUpdate('alive'))
      return
    }
    // §4.2 refutation: a higher incarnation overrides the suspicion everywhere it has spread.
    this.incarnation++
    this.enqueue(this.selfUpdate('alive'))
    // Lifeguard: being suspected hints that our own messages are slow; be more patient ourselves.
    this.changeHealth(+1)
  }

  private add(u: SwimUpdate, gossip: boolean): void {
    if (this.table.size >= this.options.maxMembers && !this.evictTombstone()) {
      this.droppedMembers++
      return
    }
    const record: MemberRecord = {
      state: u.state,
      incarnation: u.incarnation,
      since: this.now,
      suspicion: null,
      view: null,
    }
    this.table.set(u.id, record)
    this.track(u.id, record, null, u, gossip)
    if (isLiveState(u.state)) {
      // §4.3: a newcomer goes to a random place in the current round.
      const at = this.random.int(this.probeOrder.length + 1)
      this.probeOrder.splice(at, 0, u.id)
      if (at < this.probeIndex) this.probeIndex++
    }
  }

  private set(u: SwimUpdate, record: MemberRecord): void {
    const previous = record.state
    record.state = u.state
    record.incarnation = u.incarnation
    record.since = this.now
    this.track(u.id, record, previous, u)
  }

  /** Bookkeeping shared by add and set: counters, suspicion timer, change event, gossip. */
  private track(id: MemberId, record: MemberRecord, previous: SwimState | null, u: SwimUpdate, gossip = true): void {
    if (previous !== null && isLiveState(previous)) this.liveOthers--
    if (isLiveState(u.state)) this.liveOthers++
    record.view = null
    if (u.state === 'suspect') {
      record.suspicion = { start: this.now, deadline: this.now, confirmers: new Set([u.from]) }
      this.schedule(record.suspicion)
      this.suspects.add(id)
    } else {
      record.suspicion = null
      this.suspects.delete(id)
    }
    if (previous !== u.state) this.changes.push({ id, state: u.state, incarnation: u.incarnation, previous })
    if (gossip) this.enqueue(u)
  }

  private confirm(u: SwimUpdate, record: MemberRecord): void {
    const suspicion = record.suspicion
    if (suspicion === null || suspicion.confirmers.has(u.from)) return
    if (suspicion.confirmers.size > this.options.suspicionConfirmations) return
    suspicion.confirmers.add(u.from)
    this.schedule(suspicion)
    // Lifeguard: gossip only new confirmations, so that others shorten their timers too.
    this.enqueue(u)
  }

  private evictTombstone(): boolean {
    let oldest: MemberId | null = null
    let oldestSince = Number.POSITIVE_INFINITY
    for (const [id, r] of this.table) {
      if (!isLiveState(r.state) && r.since < oldestSince) {
        oldest = id
        oldestSince = r.since
      }
    }
    if (oldest === null) return false
    this.table.delete(oldest)
    this.queue.delete(oldest)
    return true
  }

  private reject(from: MemberId, reason: RejectReason, update: SwimUpdate): void {
    this.rejectedCount++
    if (this.rejections.length < MAX_REJECTIONS) this.rejections.push({ from, reason, update })
  }

  // --- dissemination (§4.1) ---

  private enqueue(update: SwimUpdate): void {
    this.queue.set(update)
  }

  /** Fewest-sent first, newest first among equals; an update is dropped after λ·⌈log10(N + 1)⌉ sends. */
  private piggyback(limit = this.options.maxPiggyback): SwimUpdate[] {
    return this.queue.size === 0 ? [] : this.queue.take(limit, this.maxTransmits())
  }

  private maxTransmits(): number {
    return this.options.retransmitMult * Math.max(1, Math.ceil(Math.log10(this.liveOthers + 2)))
  }

  private snapshot(): SwimUpdate[] {
    const all: SwimUpdate[] = [this.selfUpdate('alive')]
    for (const [id, r] of this.table) {
      if (all.length >= this.options.maxMembers) break
      if (r.view === null) {
        // A suspicion keeps its original suspecter: relaying it is no independent confirmation.
        const [suspecter] = r.suspicion?.confirmers ?? []
        r.view = { id, state: r.state, incarnation: r.incarnation, from: suspecter ?? this.id }
      }
      all.push(r.view)
    }
    return all
  }

  // --- helpers ---

  private changeHealth(delta: number): void {
    this.health = Math.min(this.options.maxLocalHealth, Math.max(0, this.health + delta))
  }

  /** Lifeguard's Local Health Multiplier applied to a duration. */
  private scaled(ticks: number): number {
    return this.options.localHealth ? ticks * (1 + this.health) : ticks
  }

  private selfUpdate(state: SwimState): SwimUpdate {
    return { id: this.id, state, incarnation: this.incarnation, from: this.id }
  }

  private isLive(id: MemberId): boolean {
    const record = this.table.get(id)
    return record !== undefined && isLiveState(record.state)
  }

  private liveIds(): MemberId[] {
    const ids: MemberId[] = []
    for (const [id, r] of this.table) if (isLiveState(r.state)) ids.push(id)
    return ids
  }

  private nextSeq(): number {
    // Never 0: seq 0 marks the unsolicited pings of `leave`.
    this.seq = this.seq >= Number.MAX_SAFE_INTEGER ? 1 : this.seq + 1
    return this.seq
  }

  private send(to: MemberId, msg: SwimMessage): void {
    this.outbox.push({ to, msg })
  }

  private shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.random.int(i + 1)
      const a = items[i] as T
      items[i] = items[j] as T
      items[j] = a
    }
    return items
  }

  /** Up to `count` distinct random items (a partial Fisher–Yates). */
  private pick<T>(items: T[], count: number): T[] {
    const n = Math.min(count, items.length)
    for (let i = 0; i < n; i++) {
      const j = i + this.random.int(items.length - i)
      const a = items[i] as T
      items[i] = items[j] as T
      items[j] = a
    }
    return items.slice(0, n)
  }
}

function isLiveState(state: SwimState): boolean {
  return state === 'alive' || state === 'suspect'
}

/**
 * §4.2 precedence, by incarnation: alive(i) beats anything older than i; suspect(i) beats alive(j ≤ i) and
 * suspect(j < i); dead and left beat alive/suspect(j ≤ i) and only a newer incarnation otherwise (left beats dead at
 * the same incarnation, being the member's own word).
 */
export function overrides(
  u: Pick<SwimUpdate, 'state' | 'incarnation'>,
  current: Pick<MemberView, 'state' | 'incarnation'>,
): boolean {
  const i = u.incarnation
  const j = current.incarnation
  switch (u.state) {
    case 'alive':
      return i > j
    case 'suspect':
      return (current.state === 'alive' && i >= j) || (current.state === 'suspect' && i > j)
    case 'dead':
      return isLiveState(current.state) ? i >= j : i > j
    case 'left':
      return isLiveState(current.state) || current.state === 'dead' ? i >= j : i > j
  }
}
