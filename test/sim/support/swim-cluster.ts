/**
 * A SWIM cluster in the deterministic simulator: each node drives a SwimCore with a tick timer, sends what `ready()`
 * returns and reports every change to the cluster, which compares it with the truth (who is really up) to count
 * false suspicions, false deaths and detection times.
 */
import {
  SwimCore,
  type MemberChange,
  type MemberId,
  type SwimMessage,
  type SwimOptions,
} from '../../../src/membership/swim/index.js'
import { Simulation, type LinkFaults, type NodeContext, type SimNode } from '../../../src/sim/index.js'

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
}

/** What the observers concluded that the truth contradicts, and how fast they saw real deaths. */
export interface SwimObservations {
  /** A live, healthy member marked suspect by someone (one per observer that marks it). */
  falseSuspicions: number
  /** Distinct suspicions (member, incarnation) of live healthy members, however many observers adopted each. */
  falseSuspicionEpisodes: number
  /** A slow member marked suspect: the slow member's own doing, which Lifeguard does not try to prevent. */
  slowSuspicions: number
  /** A live member marked dead by someone. */
  falseDeaths: number
}

class SwimNode implements SimNode<SwimMessage> {
  readonly core: SwimCore

  constructor(
    private readonly ctx: NodeContext<SwimMessage>,
    private readonly cluster: SwimCluster,
    options: Partial<Omit<SwimOptions, 'id' | 'random'>>,
    private readonly tickMs: number,
  ) {
    this.core = new SwimCore({ ...options, id: ctx.id, random: ctx.random })
    if (ctx.id !== cluster.ids[0]) this.core.join([cluster.ids[0] ?? ctx.id])
    this.flush()
    // A random phase, so that the members do not all probe in lockstep.
    ctx.timer.setTimeout(this.loop, 1 + ctx.random.int(tickMs))
  }

  receive(from: MemberId, msg: SwimMessage): void {
    this.core.step(from, msg)
    this.flush()
  }

  private readonly loop = (): void => {
    this.core.tick()
    this.flush()
    this.ctx.timer.setTimeout(this.loop, this.tickMs)
  }

  private flush(): void {
    const ready = this.core.ready()
    for (const { to, msg } of ready.messages) this.ctx.send(to, msg)
    for (const change of ready.changes) this.cluster.observe(this.ctx.id, change)
  }
}

export class SwimCluster {
  readonly sim: Simulation<SwimMessage, SwimNode>
  readonly ids: readonly MemberId[]
  readonly periodMs: number
  readonly slowIds: readonly MemberId[]
  observations: SwimObservations = { falseSuspicions: 0, falseSuspicionEpisodes: 0, slowSuspicions: 0, falseDeaths: 0 }
  /** For the failure report. */
  readonly falseDeathLog: string[] = []
  private readonly episodes = new Set<string>()
  private readonly killedAt = new Map<MemberId, number>()
  /** killed member → observer → when the observer marked it dead. */
  private readonly deadAt = new Map<MemberId, Map<MemberId, number>>()

  constructor(readonly options: SwimClusterOptions) {
    const tickMs = options.tickMs ?? 20
    this.periodMs = (options.swim?.periodTicks ?? 5) * tickMs
    this.ids = Array.from({ length: options.size }, (_, i) => `m${i}`)
    this.sim = new Simulation<SwimMessage, SwimNode>({
      seed: options.seed,
      network: options.network,
      createNode: (ctx) => new SwimNode(ctx, this, options.swim ?? {}, tickMs),
    })
    // The slow members are the last ones, so never the seed.
    this.slowIds = this.ids.slice(this.ids.length - (options.slow ?? 0))
    for (const slow of this.slowIds) {
      for (const other of this.ids) {
        if (other === slow) continue
        const faults = { ...options.network, ...options.slowLinks }
        this.sim.network.setLinkFaults(slow, other, faults)
        this.sim.network.setLinkFaults(other, slow, faults)
      }
    }
    for (const id of this.ids) this.sim.addNode(id)
  }

  observe(observer: MemberId, change: MemberChange): void {
    const killed = this.killedAt.has(change.id)
    if (change.state === 'suspect' && !killed) {
      if (this.slowIds.includes(change.id)) this.observations.slowSuspicions++
      else {
        this.observations.falseSuspicions++
        const episode = `${change.id}/${change.incarnation}`
        if (!this.episodes.has(episode)) {
          this.episodes.add(episode)
          this.observations.falseSuspicionEpisodes++
        }
      }
    }
    if (change.state === 'dead') {
      if (!killed) {
        this.observations.falseDeaths++
        if (this.falseDeathLog.length < 100) this.falseDeathLog.push(`${observer} marked ${change.id}/${change.incarnation} dead at ${this.sim.now} ms`)
      }
      else this.deadAt.get(change.id)?.set(observer, this.sim.now)
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

  kill(ids: readonly MemberId[]): void {
    for (const id of ids) {
      this.killedAt.set(id, this.sim.now)
      this.deadAt.set(id, new Map())
      this.sim.crash(id)
    }
  }

  /** Every up member has marked every killed member dead. */
  allDetected(): boolean {
    const up = this.sim.upIds()
    for (const seen of this.deadAt.values()) if (seen.size < up.length) return false
    return true
  }

  /** Periods from the kill to the observer's `dead`, for every (killed, live observer) pair seen so far. */
  detectionPeriods(): number[] {
    const out: number[] = []
    for (const [id, seen] of this.deadAt) {
      const killedAt = this.killedAt.get(id) ?? 0
      for (const at of seen.values()) out.push((at - killedAt) / this.periodMs)
    }
    return out
  }

  node(id: MemberId): SwimNode {
    const node = this.sim.node(id)
    if (node === undefined) throw new Error(`${id} is down`)
    return node
  }

  rejected(): number {
    return this.sim.upIds().reduce((sum, id) => sum + this.node(id).core.stats.rejected, 0)
  }
}
