/**
 * A SWIM cluster in the deterministic simulator: each node drives a SwimCore with a tick timer, sends what `ready()`
 * returns and reports every change to the cluster, which compares it with the truth (who is really up, who is
 * impaired) to count false suspicions and false deaths, and times detections of real crashes and the spread of joins.
 *
 * Impaired members are the last ones (never the seed, never a crash victim): first the `slow` ones, whose links are
 * slow both ways, then the `stalls.count` ones, which now and then stop reading messages for a while (their timers
 * keep firing, so they keep probing and timing out; what arrived meanwhile is read when the stall ends). That is
 * Lifeguard's "slow message processing" case: such a member suspects healthy ones. Suspicions and deaths of impaired
 * members are counted apart: Lifeguard does not try to prevent those.
 *
 * One file (over 400 lines) because every measurement reads the same stream of observed changes against the same
 * truth; the test in test/sim and bench/membership.bench.ts share it.
 */
import {
  SwimCore,
  type MemberChange,
  type MemberId,
  type SwimMessage,
  type SwimOptions,
  type SwimUpdate,
} from '../../../src/membership/swim/index.js'
import { Simulation, type LinkFaults, type NodeContext, type SimNode } from '../../../src/sim/index.js'

export interface StallSchedule {
  /** Members that stall. */
  readonly count: number
  /** Length of one stall, in protocol periods: uniform in [min, max]. */
  readonly stallPeriods: readonly [number, number]
  /** Normal running before each stall, in protocol periods: uniform in [min, max]. */
  readonly runPeriods: readonly [number, number]
}

export interface SwimClusterOptions {
  readonly seed: number
  readonly size: number
  readonly network: Partial<LinkFaults>
  /** Milliseconds per core tick. Default 20. */
  readonly tickMs?: number
  readonly swim?: Partial<Omit<SwimOptions, 'id' | 'random'>>
  /** Members whose links (both ways) are slow: Lifeguard's "slow message processing" case. Default none. */
  readonly slow?: number
  readonly slowLinks?: Partial<LinkFaults>
  /** Members that stall now and then. Default none. */
  readonly stalls?: StallSchedule
  /**
   * `'join'` (default): every member joins through m0 at time 0, as a room fills. `'roster'`: every member starts
   * knowing all the others (alive, incarnation 0) with nothing queued to gossip, as in a cluster that has long been
   * running; a 1,000-member join storm takes ~130 periods to settle, which a benchmark need not pay for every run.
   */
  readonly bootstrap?: 'join' | 'roster'
  /**
   * Every member ticks at the same instants, so that protocol periods are aligned, as SWIM's analysis assumes
   * (while nobody's local health stretches its period). Default false: each member gets a random phase.
   */
  readonly alignedTicks?: boolean
}

/** What the observers concluded that the truth contradicts. "Healthy": up, not impaired, not killed. */
export interface SwimObservations {
  /** A healthy member marked suspect by someone (one per observer that marks it). */
  falseSuspicions: number
  /** Distinct suspicions (member, incarnation) of healthy members, however many observers adopted each. */
  falseSuspicionEpisodes: number
  /** A healthy member marked dead by someone (one per observer). */
  falseDeaths: number
  /** Distinct deaths (member, incarnation) of healthy members. */
  falseDeathEpisodes: number
  /** Of those, the ones that some healthy observer adopted (the rest stayed in impaired members' own views). */
  falseDeathEpisodesSeenByHealthy: number
  /** An impaired member marked suspect by someone: its own doing, which Lifeguard does not try to prevent. */
  impairedSuspicions: number
  /** An impaired member marked dead by someone (one per observer). */
  impairedDeaths: number
  impairedDeathEpisodes: number
}

/** Messages sent since the last `resetTraffic`. */
export interface SwimTraffic {
  messages: number
  /** Updates piggybacked on ping, ack and pingReq. */
  piggybacked: number
  /** Entries of full views (join, sync). */
  viewEntries: number
  /** Messages a stalled member could not hold (MAX_HELD): lost as from a full receive buffer. */
  droppedWhileStalled: number
  readonly byType: Record<SwimMessage['type'], number>
}

/** One crash, in protocol periods after it; null for what has not happened (yet). */
export interface CrashReport {
  readonly id: MemberId
  /** The first ping that any live member sent it. */
  readonly firstPing: number | null
  readonly firstSuspect: number | null
  readonly firstDead: number | null
  /** Every live member has marked it suspect or dead. */
  readonly allNoticed: number | null
  /** Every live member has marked it dead. */
  readonly allDead: number | null
}

/** One join, in protocol periods after `join()`. */
export interface JoinReport {
  readonly id: MemberId
  /** Every other live member has it in its table. */
  readonly allKnow: number | null
}

interface Crash {
  readonly at: number
  firstPingAt: number | null
  firstSuspectAt: number | null
  /** Observer → when it first marked the member suspect or dead. */
  readonly noticed: Map<MemberId, number>
  /** Observer → when it marked the member dead. */
  readonly dead: Map<MemberId, number>
}

interface Episode {
  readonly seenByHealthy: boolean
}

/** Messages an impaired member holds during one stall; more are dropped (a full receive buffer). */
const MAX_HELD = 100_000
/** Stands for the sender of the `'roster'` bootstrap's sync: no member, so nothing from it is gossiped on. */
const ROSTER = '(roster)'

function emptyObservations(): SwimObservations {
  return {
    falseSuspicions: 0,
    falseSuspicionEpisodes: 0,
    falseDeaths: 0,
    falseDeathEpisodes: 0,
    falseDeathEpisodesSeenByHealthy: 0,
    impairedSuspicions: 0,
    impairedDeaths: 0,
    impairedDeathEpisodes: 0,
  }
}

function emptyTraffic(): SwimTraffic {
  return {
    messages: 0,
    piggybacked: 0,
    viewEntries: 0,
    droppedWhileStalled: 0,
    byType: { ping: 0, ack: 0, nack: 0, pingReq: 0, join: 0, sync: 0 },
  }
}

class SwimNode implements SimNode<SwimMessage> {
  readonly core: SwimCore
  /** Non-null while stalled: what arrived meanwhile, read when the stall ends. */
  private held: Array<readonly [MemberId, SwimMessage]> | null = null

  constructor(
    private readonly ctx: NodeContext<SwimMessage>,
    private readonly cluster: SwimCluster,
    options: Partial<Omit<SwimOptions, 'id' | 'random'>>,
    tickMs: number,
    start: { readonly seed: MemberId } | { readonly roster: readonly SwimUpdate[] } | null,
    aligned: boolean,
  ) {
    this.core = new SwimCore({ ...options, id: ctx.id, random: ctx.random })
    if (start !== null && 'seed' in start) this.core.join([start.seed])
    else if (start !== null) this.core.step(ROSTER, { type: 'sync', members: start.roster })
    this.flush()
    const loop = (): void => {
      this.core.tick()
      this.flush()
      ctx.timer.setTimeout(loop, tickMs)
    }
    // A random phase, so that the members do not all probe in lockstep (unless asked to). The draw happens either way,
    // so that aligning does not change the rest of the node's random stream.
    const phase = 1 + ctx.random.int(tickMs)
    ctx.timer.setTimeout(loop, aligned ? tickMs - (ctx.clock.now() % tickMs) : phase)
  }

  receive(from: MemberId, msg: SwimMessage): void {
    if (this.held !== null) {
      if (this.held.length < MAX_HELD) this.held.push([from, msg])
      else this.cluster.traffic.droppedWhileStalled++
      return
    }
    this.core.step(from, msg)
    this.flush()
  }

  /** Stops reading messages for `ms`; timers keep firing. */
  stall(ms: number): void {
    if (this.held !== null) return
    this.held = []
    this.ctx.timer.setTimeout(() => {
      const held = this.held ?? []
      this.held = null
      for (const [from, msg] of held) this.core.step(from, msg)
      this.flush()
    }, ms)
  }

  private flush(): void {
    const ready = this.core.ready()
    for (const { to, msg } of ready.messages) {
      this.cluster.sent(to, msg)
      this.ctx.send(to, msg)
    }
    for (const change of ready.changes) this.cluster.observe(this.ctx.id, change)
  }
}

export class SwimCluster {
  readonly sim: Simulation<SwimMessage, SwimNode>
  readonly periodMs: number
  readonly slowIds: readonly MemberId[]
  readonly stalledIds: readonly MemberId[]
  observations: SwimObservations = emptyObservations()
  traffic: SwimTraffic = emptyTraffic()
  /** For the failure report. */
  readonly falseDeathLog: string[] = []
  private readonly memberIds: MemberId[]
  private readonly impaired: ReadonlySet<MemberId>
  private readonly suspicionEpisodes = new Set<string>()
  private readonly deathEpisodes = new Map<string, Episode>()
  private readonly crashes = new Map<MemberId, Crash>()
  /** Newcomer → when it joined, and observer → when it first heard of it. */
  private readonly joins = new Map<MemberId, { readonly at: number; readonly seen: Map<MemberId, number> }>()
  /** How the next node built starts: read by `createNode`. */
  private nextStart: { readonly seed: MemberId } | { readonly roster: readonly SwimUpdate[] } | null = null

  constructor(readonly options: SwimClusterOptions) {
    const tickMs = options.tickMs ?? 20
    this.periodMs = (options.swim?.periodTicks ?? 5) * tickMs
    this.memberIds = Array.from({ length: options.size }, (_, i) => `m${i}`)
    this.sim = new Simulation<SwimMessage, SwimNode>({
      seed: options.seed,
      network: options.network,
      createNode: (ctx) =>
        new SwimNode(ctx, this, options.swim ?? {}, tickMs, this.nextStart, options.alignedTicks ?? false),
    })
    const slow = options.slow ?? 0
    const stalled = options.stalls?.count ?? 0
    const firstImpaired = options.size - slow - stalled
    if (firstImpaired < 1) throw new Error(`${slow + stalled} impaired members leave no healthy seed`)
    this.slowIds = this.memberIds.slice(firstImpaired, firstImpaired + slow)
    this.stalledIds = this.memberIds.slice(firstImpaired + slow)
    this.impaired = new Set([...this.slowIds, ...this.stalledIds])
    for (const id of this.slowIds) {
      for (const other of this.memberIds) {
        if (other === id) continue
        const faults = { ...options.network, ...options.slowLinks }
        this.sim.network.setLinkFaults(id, other, faults)
        this.sim.network.setLinkFaults(other, id, faults)
      }
    }
    const roster = this.memberIds.map((id): SwimUpdate => ({ id, state: 'alive', incarnation: 0, from: id }))
    for (const id of this.memberIds) {
      const seed = this.memberIds[0] ?? id
      this.nextStart = options.bootstrap === 'roster' ? { roster } : id === seed ? null : { seed }
      this.sim.addNode(id)
    }
    this.nextStart = null
    if (options.stalls !== undefined) this.scheduleStalls(options.stalls)
  }

  /** Every member ever added, newcomers included. */
  get ids(): readonly MemberId[] {
    return this.memberIds
  }

  resetObservations(): void {
    this.observations = emptyObservations()
    this.suspicionEpisodes.clear()
    this.deathEpisodes.clear()
  }

  resetTraffic(): void {
    this.traffic = emptyTraffic()
  }

  observe(observer: MemberId, change: MemberChange): void {
    const now = this.sim.now
    const crash = this.crashes.get(change.id)
    if (crash !== undefined) {
      if (change.state === 'suspect' || change.state === 'dead') {
        if (!crash.noticed.has(observer)) crash.noticed.set(observer, now)
        crash.firstSuspectAt ??= now
      }
      if (change.state === 'dead') crash.dead.set(observer, now)
      return
    }
    if (change.previous === null) this.joins.get(change.id)?.seen.set(observer, now)
    if (change.state === 'suspect') this.observeSuspicion(change)
    if (change.state === 'dead') this.observeDeath(observer, change)
  }

  private observeSuspicion(change: MemberChange): void {
    if (this.impaired.has(change.id)) {
      this.observations.impairedSuspicions++
      return
    }
    this.observations.falseSuspicions++
    const episode = `${change.id}/${change.incarnation}`
    if (!this.suspicionEpisodes.has(episode)) {
      this.suspicionEpisodes.add(episode)
      this.observations.falseSuspicionEpisodes++
    }
  }

  private observeDeath(observer: MemberId, change: MemberChange): void {
    const key = `${change.id}/${change.incarnation}`
    const episode = this.deathEpisodes.get(key)
    const byHealthy = !this.impaired.has(observer)
    if (episode === undefined || (byHealthy && !episode.seenByHealthy)) {
      this.deathEpisodes.set(key, { seenByHealthy: byHealthy })
    }
    if (this.impaired.has(change.id)) {
      this.observations.impairedDeaths++
      if (episode === undefined) this.observations.impairedDeathEpisodes++
      return
    }
    this.observations.falseDeaths++
    if (episode === undefined) this.observations.falseDeathEpisodes++
    if (byHealthy && episode?.seenByHealthy !== true) this.observations.falseDeathEpisodesSeenByHealthy++
    if (this.falseDeathLog.length < 100) {
      this.falseDeathLog.push(`${observer} marked ${change.id}/${change.incarnation} dead at ${this.sim.now} ms`)
    }
  }

  /** Called by each node for each message it sends. */
  sent(to: MemberId, msg: SwimMessage): void {
    const t = this.traffic
    t.messages++
    t.byType[msg.type]++
    if (msg.type === 'sync') t.viewEntries += msg.members.length
    else if (msg.type === 'join') t.viewEntries += msg.updates.length
    else if (msg.type !== 'nack') t.piggybacked += msg.updates.length
    if (msg.type === 'ping') {
      const crash = this.crashes.get(to)
      if (crash !== undefined) crash.firstPingAt ??= this.sim.now
    }
  }

  /** Every up member knows every other up member (as alive or suspect: under loss someone is always suspected). */
  converged(): boolean {
    const up = this.sim.upIds()
    return up.every((id) => {
      const known = this.node(id)
        .core.members()
        .filter((m) => m.state === 'alive' || m.state === 'suspect').length
      return known === up.length
    })
  }

  /** Runs whole periods until `predicate` holds (checked between periods: it is costly); false after `maxPeriods`. */
  runPeriodsUntil(predicate: () => boolean, maxPeriods: number): boolean {
    for (let i = 0; i < maxPeriods; i++) {
      if (predicate()) return true
      this.sim.runFor(this.periodMs)
    }
    return predicate()
  }

  runPeriods(periods: number): void {
    this.sim.runFor(periods * this.periodMs)
  }

  /** Every crash has been suspected by someone. */
  allSuspected(): boolean {
    for (const crash of this.crashes.values()) if (crash.firstSuspectAt === null) return false
    return true
  }

  kill(ids: readonly MemberId[]): void {
    for (const id of ids) {
      const at = this.sim.now
      this.crashes.set(id, { at, firstPingAt: null, firstSuspectAt: null, noticed: new Map(), dead: new Map() })
      this.sim.crash(id)
    }
  }

  /** `count` distinct healthy members other than the seed, drawn from the test's random stream. */
  pickHealthy(count: number): MemberId[] {
    const candidates = this.sim.upIds().filter((id) => id !== this.memberIds[0] && !this.impaired.has(id))
    const picked: MemberId[] = []
    while (picked.length < Math.min(count, candidates.length)) {
      const id = candidates[this.sim.random.int(candidates.length)]
      if (id !== undefined && !picked.includes(id)) picked.push(id)
    }
    return picked
  }

  /** Every up member has marked every killed member dead. */
  allDetected(): boolean {
    const up = this.sim.upIds().length
    for (const crash of this.crashes.values()) if (crash.dead.size < up) return false
    return true
  }

  /** Every up member has marked every killed member suspect or dead. */
  allNoticed(): boolean {
    const up = this.sim.upIds().length
    for (const crash of this.crashes.values()) if (crash.noticed.size < up) return false
    return true
  }

  /** Periods from the kill to the observer's `dead`, for every (killed, live observer) pair seen so far. */
  detectionPeriods(): number[] {
    const out: number[] = []
    for (const crash of this.crashes.values()) {
      for (const at of crash.dead.values()) out.push((at - crash.at) / this.periodMs)
    }
    return out
  }

  crashReports(): CrashReport[] {
    const up = this.sim.upIds().length
    const periods = (at: number | null, crash: Crash): number | null =>
      at === null ? null : (at - crash.at) / this.periodMs
    const last = (times: Map<MemberId, number>): number | null =>
      times.size >= up ? Math.max(...times.values()) : null
    const first = (times: Map<MemberId, number>): number | null => (times.size > 0 ? Math.min(...times.values()) : null)
    return [...this.crashes].map(([id, crash]) => ({
      id,
      firstPing: periods(crash.firstPingAt, crash),
      firstSuspect: periods(crash.firstSuspectAt, crash),
      firstDead: periods(first(crash.dead), crash),
      allNoticed: periods(last(crash.noticed), crash),
      allDead: periods(last(crash.dead), crash),
    }))
  }

  /** Adds a member that joins through `seed`; `joinReports` times how long until everyone knows it. */
  addMember(seed: MemberId): MemberId {
    const id = `m${this.memberIds.length}`
    this.memberIds.push(id)
    this.joins.set(id, { at: this.sim.now, seen: new Map() })
    this.nextStart = { seed }
    try {
      this.sim.addNode(id)
    } finally {
      this.nextStart = null
    }
    return id
  }

  /** Every newcomer is known to every other up member. */
  allKnowJoins(): boolean {
    const others = this.sim.upIds().length - 1
    for (const join of this.joins.values()) if (join.seen.size < others) return false
    return true
  }

  joinReports(): JoinReport[] {
    const others = this.sim.upIds().length - 1
    return [...this.joins].map(([id, join]) => ({
      id,
      allKnow: join.seen.size >= others ? (Math.max(...join.seen.values()) - join.at) / this.periodMs : null,
    }))
  }

  node(id: MemberId): SwimNode {
    const node = this.sim.node(id)
    if (node === undefined) throw new Error(`${id} is down`)
    return node
  }

  rejected(): number {
    return this.sim.upIds().reduce((sum, id) => sum + this.node(id).core.stats.rejected, 0)
  }

  /** Each stalled member runs, stalls, runs, …, with lengths from its own stream of the test's randomness. */
  private scheduleStalls(schedule: StallSchedule): void {
    const uniform = (random: { next(): number }, [min, max]: readonly [number, number]): number =>
      (min + random.next() * (max - min)) * this.periodMs
    for (const id of this.stalledIds) {
      const random = this.sim.randomStream(`stall/${id}`)
      const next = (): void => {
        const stallMs = uniform(random, schedule.stallPeriods)
        this.sim.node(id)?.stall(stallMs)
        this.sim.timer.setTimeout(next, stallMs + uniform(random, schedule.runPeriods))
      }
      this.sim.timer.setTimeout(next, uniform(random, schedule.runPeriods))
    }
  }
}
