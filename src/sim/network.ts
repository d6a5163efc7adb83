/**
 * A seeded, simulated message network: every message gets a delay, and may be lost, duplicated or reordered, as
 * decided by the sending node's random stream; partitions, one-way cuts and isolation decide which links are up.
 *
 * Semantics worth knowing:
 * - A link must be up both when a message is sent and when it arrives; a cut or partition made while a message is in
 *   flight drops it (a real packet on a link that goes down is lost too). A link that goes down and comes back while
 *   a message is in flight does not drop it.
 * - A message is delivered only to the incarnation of its destination that was current when it was sent: a crash or
 *   restart of the destination drops what was in flight to it, as a reset connection would.
 * - With `reorder` 0 each link is FIFO, whatever the delays (as over one TCP or libp2p stream): a message never
 *   arrives before one sent earlier on the same link. `reorder` is the chance that a message leaves that order: it
 *   gets an extra random delay and later messages overtake it.
 * - Messages are never copied: they are treated as immutable, and the receiver gets the sender's object.
 *
 * Randomness: each sending node has its own stream, derived from the network seed and its id, so a node's traffic
 * does not shift the randomness of any other node's messages.
 */
import { InvalidOptionError } from '../errors.js'
import type { Clock } from '../runtime/clock.js'
import { type Random, seededRandom } from '../runtime/random.js'
import type { Timer } from '../runtime/timer.js'
import { deriveSeed } from './seeds.js'

export type NodeId = string

/** How one directed link treats messages. */
export interface LinkFaults {
  /** Shortest delay, ms. Default 1. */
  readonly minDelayMs: number
  /** Longest delay (before any reordering delay), ms. Default 10. */
  readonly maxDelayMs: number
  /**
   * `'uniform'` (default) over [min, max], or `'long-tail'`: min + (max − min)·u³, so half the messages take less
   * than an eighth of the range and one in ten more than 73% of it.
   */
  readonly delayDistribution: 'uniform' | 'long-tail'
  /** Probability that a message is lost. Default 0. */
  readonly loss: number
  /** Probability that a message is delivered twice (each copy with its own delay). Default 0. */
  readonly duplicate: number
  /** Probability that a message leaves FIFO order with an extra delay. Default 0 (links are FIFO). */
  readonly reorder: number
  /** The extra delay of a reordered message is uniform in [0, reorderDelayMs]. Default 50. */
  readonly reorderDelayMs: number
}

export const DEFAULT_LINK_FAULTS: LinkFaults = Object.freeze({
  minDelayMs: 1,
  maxDelayMs: 10,
  delayDistribution: 'uniform',
  loss: 0,
  duplicate: 0,
  reorder: 0,
  reorderDelayMs: 50,
})

export type DropReason = 'loss' | 'partition' | 'down' | 'overflow'

export interface NetworkStats {
  /** Calls to `send`. Invariant: sent + duplicated = delivered + dropped.total + inFlight. */
  readonly sent: number
  readonly delivered: number
  /** Extra copies created by duplication. */
  readonly duplicated: number
  readonly inFlight: number
  /**
   * `loss`: random loss; `partition`: the link was down at send or at arrival; `down`: the destination was down or
   * restarted since the send; `overflow`: the link already had `maxInFlightPerLink` messages in flight.
   */
  readonly dropped: Readonly<Record<DropReason, number>> & { readonly total: number }
}

export interface SimNetworkOptions<M> {
  /** Seeds every sender's random stream. */
  readonly seed: number
  /** Where delivery is scheduled; a SimClock (or a Simulation's clock and timer). */
  readonly clock: Clock
  readonly timer: Timer
  /** Called at delivery time for each message that arrives. */
  readonly deliver: (to: NodeId, msg: M, from: NodeId) => void
  /** Called after every arrival, delivered or dropped (the Simulation counts events and checks hooks with it). */
  readonly afterArrival?: () => void
  /** Faults of every link without an override. Default DEFAULT_LINK_FAULTS. */
  readonly defaults?: Partial<LinkFaults>
  /** Most messages in flight on one directed link; more are dropped (reason `overflow`). Default 10_000. */
  readonly maxInFlightPerLink?: number
  /**
   * Whether a node the network has not been told about (with `nodeUp`/`nodeDown`) counts as up. Default true, so the
   * network can be used on its own; the Simulation sets false, so messages to ids it does not know are dropped.
   */
  readonly unknownNodesUp?: boolean
}

/** Messages in flight on one directed link. Exists only while some are, so 1000 nodes do not mean 10⁶ objects. */
interface Link {
  inFlight: number
  /** Due time of the last in-order message: the next one may not arrive earlier (FIFO). */
  lastDueMs: number
}

/** What the network knows about one node, as sender and as destination. */
interface NodeState {
  readonly id: NodeId
  random: Random | null
  readonly links: Map<NodeId, Link>
  /** Per-destination fault overrides (resolved against the defaults), or null when there are none. */
  faultsTo: Map<NodeId, LinkFaults> | null
  overridesTo: Map<NodeId, Partial<LinkFaults>> | null
  cutTo: Set<NodeId> | null
  /** Nodes talk only within the same group; 0 when there is no partition. */
  group: number
  isolated: boolean
  down: boolean
  /** Bumped when the node goes down or up; a message carries the value from its send. */
  epoch: number
}

export class SimNetwork<M> {
  private readonly seed: number
  private readonly clock: Clock
  private readonly timer: Timer
  private readonly deliverFn: (to: NodeId, msg: M, from: NodeId) => void
  private readonly afterArrival: () => void
  private readonly maxInFlightPerLink: number
  private readonly unknownNodesUp: boolean
  private defaultFaults: LinkFaults
  private readonly nodes = new Map<NodeId, NodeState>()
  /** Whether a partition is in force: nodes created meanwhile belong to no group, so they are isolated too. */
  private partitioned = false
  private nextLoneGroup = -1
  private sent = 0
  private delivered = 0
  private duplicated = 0
  private inFlight = 0
  private readonly dropped: Record<DropReason, number> = { loss: 0, partition: 0, down: 0, overflow: 0 }

  constructor(options: SimNetworkOptions<M>) {
    this.seed = options.seed
    this.clock = options.clock
    this.timer = options.timer
    this.deliverFn = options.deliver
    this.afterArrival = options.afterArrival ?? noop
    this.maxInFlightPerLink = options.maxInFlightPerLink ?? 10_000
    if (!Number.isSafeInteger(this.maxInFlightPerLink) || this.maxInFlightPerLink < 1) {
      throw new InvalidOptionError(`maxInFlightPerLink must be a positive integer, got ${this.maxInFlightPerLink}`)
    }
    this.unknownNodesUp = options.unknownNodesUp ?? true
    this.defaultFaults = resolveFaults(DEFAULT_LINK_FAULTS, options.defaults ?? {})
  }

  /** Sends `msg`; it arrives through `deliver` after the link's delay, unless a fault drops it. */
  send(from: NodeId, to: NodeId, msg: M): void {
    this.sent++
    const s = this.state(from)
    const d = this.state(to)
    if (!linkUp(s, d)) {
      this.dropped.partition++
      return
    }
    const faults = (s.faultsTo === null ? undefined : s.faultsTo.get(to)) ?? this.defaultFaults
    const random = s.random ?? this.senderRandom(s)
    // Draw only for faults that are enabled, so a fault-free network costs one draw per message.
    if (faults.loss > 0 && random.next() < faults.loss) {
      this.dropped.loss++
      return
    }
    let link = s.links.get(to)
    if (link === undefined) {
      link = { inFlight: 0, lastDueMs: Number.NEGATIVE_INFINITY }
      s.links.set(to, link)
    }
    this.schedule(s, d, link, msg, faults, random)
    if (faults.duplicate > 0 && random.next() < faults.duplicate) {
      this.duplicated++
      this.schedule(s, d, link, msg, faults, random)
    }
  }

  private schedule(s: NodeState, d: NodeState, link: Link, msg: M, faults: LinkFaults, random: Random): void {
    if (link.inFlight >= this.maxInFlightPerLink) {
      this.dropped.overflow++
      return
    }
    const now = this.clock.now()
    let delay = faults.minDelayMs
    const span = faults.maxDelayMs - faults.minDelayMs
    if (span > 0) {
      const u = random.next()
      delay += span * (faults.delayDistribution === 'uniform' ? u : u * u * u)
    }
    if (faults.reorder > 0 && random.next() < faults.reorder) {
      // Out of order: not held back by earlier messages and does not hold back later ones.
      delay += random.next() * faults.reorderDelayMs
    } else {
      if (now + delay < link.lastDueMs) delay = delayReaching(now, link.lastDueMs)
      link.lastDueMs = now + delay
    }
    link.inFlight++
    this.inFlight++
    const epoch = d.epoch
    // The one allocation per message (besides the timer's entry): a closure holding what arrival needs.
    this.timer.setTimeout(() => this.arrive(s, d, link, msg, epoch), delay)
  }

  private arrive(s: NodeState, d: NodeState, link: Link, msg: M, epoch: number): void {
    this.inFlight--
    if (--link.inFlight === 0) s.links.delete(d.id)
    if (d.down || d.epoch !== epoch) this.dropped.down++
    else if (!linkUp(s, d)) this.dropped.partition++
    else {
      this.delivered++
      this.deliverFn(d.id, msg, s.id)
    }
    this.afterArrival()
  }

  /** Whether a message sent now from `from` to `to` would get through the partitions and cuts (faults aside). */
  connected(from: NodeId, to: NodeId): boolean {
    return linkUp(this.state(from), this.state(to))
  }

  /**
   * Splits the network: nodes talk only within their group. Nodes in no group (including ones that appear later,
   * until `heal`) are isolated. Replaces any earlier partition; cuts and isolations stay.
   */
  partition(groups: readonly (readonly NodeId[])[]): void {
    const seen = new Set<NodeId>()
    for (const group of groups) {
      for (const id of group) {
        if (seen.has(id)) throw new InvalidOptionError(`node ${id} is in more than one partition group`)
        seen.add(id)
      }
    }
    this.partitioned = true
    for (const node of this.nodes.values()) node.group = this.nextLoneGroup--
    groups.forEach((group, i) => {
      for (const id of group) this.state(id).group = i + 1
    })
  }

  /** Drops every message from `from` to `to` (one direction only) until `heal`. */
  cut(from: NodeId, to: NodeId): void {
    const s = this.state(from)
    this.state(to)
    ;(s.cutTo ??= new Set()).add(to)
  }

  /** Cuts `id` off from every other node, both directions, until `heal`. */
  isolate(id: NodeId): void {
    this.state(id).isolated = true
  }

  /** Removes every partition, cut and isolation. Link faults (delay, loss, …) are unchanged. */
  heal(): void {
    this.partitioned = false
    for (const node of this.nodes.values()) {
      node.group = 0
      node.isolated = false
      node.cutTo = null
    }
  }

  /** Marks `id` down: what is in flight to it, or sent to it while down, is dropped on arrival. */
  nodeDown(id: NodeId): void {
    const node = this.state(id)
    node.down = true
    node.epoch++
  }

  /** Marks `id` up; messages sent to an earlier incarnation are still dropped. */
  nodeUp(id: NodeId): void {
    const node = this.state(id)
    node.down = false
    node.epoch++
  }

  /** The faults of links without an override. */
  get defaults(): LinkFaults {
    return this.defaultFaults
  }

  /** Changes the faults of every link without an override (overrides keep their own fields and inherit the rest). */
  setDefaults(faults: Partial<LinkFaults>): void {
    this.defaultFaults = resolveFaults(this.defaultFaults, faults)
    for (const node of this.nodes.values()) {
      if (node.overridesTo === null) continue
      for (const [to, override] of node.overridesTo) {
        node.faultsTo?.set(to, resolveFaults(this.defaultFaults, override))
      }
    }
  }

  /** Overrides some faults of the link `from` → `to` (the rest follow the defaults); null removes the override. */
  setLinkFaults(from: NodeId, to: NodeId, faults: Partial<LinkFaults> | null): void {
    const s = this.state(from)
    if (faults === null) {
      s.overridesTo?.delete(to)
      s.faultsTo?.delete(to)
      return
    }
    const resolved = resolveFaults(this.defaultFaults, faults)
    ;(s.overridesTo ??= new Map()).set(to, { ...faults })
    ;(s.faultsTo ??= new Map()).set(to, resolved)
  }

  /** The faults in force on `from` → `to`. */
  linkFaults(from: NodeId, to: NodeId): LinkFaults {
    return this.nodes.get(from)?.faultsTo?.get(to) ?? this.defaultFaults
  }

  /** Messages in flight on `from` → `to`. */
  inFlightOn(from: NodeId, to: NodeId): number {
    return this.nodes.get(from)?.links.get(to)?.inFlight ?? 0
  }

  stats(): NetworkStats {
    const d = this.dropped
    return {
      sent: this.sent,
      delivered: this.delivered,
      duplicated: this.duplicated,
      inFlight: this.inFlight,
      dropped: { ...d, total: d.loss + d.partition + d.down + d.overflow },
    }
  }

  private state(id: NodeId): NodeState {
    return this.nodes.get(id) ?? this.createState(id)
  }

  private createState(id: NodeId): NodeState {
    const node: NodeState = {
      id,
      random: null,
      links: new Map(),
      faultsTo: null,
      overridesTo: null,
      cutTo: null,
      group: this.partitioned ? this.nextLoneGroup-- : 0,
      isolated: false,
      down: !this.unknownNodesUp,
      epoch: 0,
    }
    this.nodes.set(id, node)
    return node
  }

  private senderRandom(s: NodeState): Random {
    s.random = seededRandom(deriveSeed(this.seed, `net/${s.id}`))
    return s.random
  }
}

function linkUp(s: NodeState, d: NodeState): boolean {
  if (s === d) return true
  return s.group === d.group && !s.isolated && !d.isolated && (s.cutTo === null || !s.cutTo.has(d.id))
}

/**
 * The smallest delay whose due time, as the timer computes it (`now + delay`), is at least `target`: the plain
 * difference can round so that the sum lands just below `target`, which would let a message overtake its predecessor.
 */
function delayReaching(now: number, target: number): number {
  let delay = target - now
  while (now + delay < target) delay += Math.max(Number.MIN_VALUE, Math.abs(delay) * Number.EPSILON)
  return delay
}

function resolveFaults(base: LinkFaults, override: Partial<LinkFaults>): LinkFaults {
  const f: LinkFaults = { ...base, ...override }
  checkRange('minDelayMs', f.minDelayMs, 0, Number.MAX_SAFE_INTEGER)
  checkRange('maxDelayMs', f.maxDelayMs, f.minDelayMs, Number.MAX_SAFE_INTEGER)
  checkRange('reorderDelayMs', f.reorderDelayMs, 0, Number.MAX_SAFE_INTEGER)
  checkRange('loss', f.loss, 0, 1)
  checkRange('duplicate', f.duplicate, 0, 1)
  checkRange('reorder', f.reorder, 0, 1)
  if (f.delayDistribution !== 'uniform' && f.delayDistribution !== 'long-tail') {
    const got = String(f.delayDistribution)
    throw new InvalidOptionError(`delayDistribution must be 'uniform' or 'long-tail', got '${got}'`)
  }
  return Object.freeze(f)
}

function checkRange(name: string, value: number, min: number, max: number): void {
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw new InvalidOptionError(`${name} must be a number in [${min}, ${max}], got ${value}`)
  }
}

function noop(): void {}
