/**
 * A deterministic simulation of a cluster of protocol nodes: one seed decides every delay, loss, duplication and
 * timer race, so a failing run replays exactly from its seed (the TigerBeetle / FoundationDB approach).
 *
 * Everything runs on one SimClock. An *event* is one scheduled callback: a message arrival (delivered or dropped), a
 * node's timer, or a callback set on `sim.timer`. After each event the `onEvent` listeners run, so a test can check
 * its invariants at every step.
 *
 * Random streams, all derived from the seed by label (see `deriveSeed`), so adding a node, a nemesis or a test-level
 * draw shifts no other stream:
 * - `sim.random`: `seededRandom(seed)` itself, for the test's own choices (which client, which key);
 * - the network: one stream per sending node (`net/<id>`);
 * - each node: one stream per incarnation (`node/<id>/<incarnation>`), so a restarted node does not replay the
 *   random choices of its previous life;
 * - anything else (the nemesis, a workload): `sim.randomStream(label)`.
 */
import { InvalidOptionError } from '../errors.js'
import type { Clock } from '../runtime/clock.js'
import { type Random, seededRandom } from '../runtime/random.js'
import { SimClock } from '../runtime/sim-clock.js'
import type { Timer } from '../runtime/timer.js'
import { SimDisk, type SimDiskOptions } from './disk.js'
import { type LinkFaults, type NodeId, SimNetwork } from './network.js'
import { deriveSeed } from './seeds.js'

/** What a simulated node must implement. */
export interface SimNode<M> {
  receive(from: NodeId, msg: M): void
  /** Called when the node crashes, after its timers were cancelled and its disk handle closed. */
  stop?(): void
}

/** Everything a node gets from the simulation; valid for one incarnation (until the node crashes). */
export interface NodeContext<M> {
  readonly id: NodeId
  /** 0 at the first start, +1 at every restart. */
  readonly incarnation: number
  readonly clock: Clock
  /** Timers of this incarnation: all cancelled when the node crashes; ignored if set after it. */
  readonly timer: Timer
  /** The node's durable storage; it survives crashes. This handle is closed at the crash. */
  readonly disk: SimDisk
  readonly random: Random
  /** Sends through the simulated network; ignored once this incarnation has crashed. */
  send(to: NodeId, msg: M): void
}

export interface SimulationOptions<M, N extends SimNode<M>> {
  /** Decides everything; any safe integer. */
  readonly seed: number
  /** Builds a node, at `addNode` and again at every `restart` (with the same disk). */
  readonly createNode: (ctx: NodeContext<M>) => N
  /** Faults of every link to begin with (see `LinkFaults` for the defaults). */
  readonly network?: Partial<LinkFaults>
  /** Default 10_000. */
  readonly maxInFlightPerLink?: number
  readonly disk?: SimDiskOptions
  /** Simulated time at the start, ms. Default 0. */
  readonly startMs?: number
}

export interface RunUntilOptions {
  /** Give up after this much simulated time; required, so a predicate that never holds cannot hang the test. */
  readonly maxMs: number
}

interface NodeRecord<N> {
  readonly id: NodeId
  /** Up: from the start of `createNode` until the crash (so the constructor may already send and set timers). */
  live: boolean
  /** The node object; null while down and while its constructor runs. */
  node: N | null
  incarnation: number
  disk: SimDisk
  /** A handle for tests to inspect the disk, never closed. */
  readonly inspect: SimDisk
  /** Cancel functions of this incarnation's pending timers. */
  timers: Set<() => void>
}

/** Thrown through SimClock to end a run right after an event; SimClock leaves the remaining timers pending. */
const STOP = new Error('simulation stop signal (internal; never escapes Simulation)')

/** How far `step` lets the clock look for the next event. */
const FOREVER_MS = Number.MAX_SAFE_INTEGER

export class Simulation<M, N extends SimNode<M> = SimNode<M>> {
  readonly seed: number
  /** The simulation's clock; set timers through `timer` (or a node's context) so they count as events. */
  readonly clock: Clock
  /** A timer outside any node (for workloads and fault schedules); its callbacks are events. */
  readonly timer: Timer
  /** `seededRandom(seed)`: the test's own stream. */
  readonly random: Random
  readonly network: SimNetwork<M>
  private readonly simClock: SimClock
  private readonly createNode: (ctx: NodeContext<M>) => N
  private readonly diskOptions: SimDiskOptions
  private readonly records = new Map<NodeId, NodeRecord<N>>()
  private readonly order: NodeId[] = []
  private eventCount = 0
  private readonly listeners: Array<(sim: Simulation<M, N>) => void> = []
  private stopWhen: (() => boolean) | null = null
  private stopAfterOne = false
  /** listeners, stopWhen or stopAfterOne present: the only per-event check when none is. */
  private hooked = false
  private running = false

  constructor(options: SimulationOptions<M, N>) {
    if (!Number.isSafeInteger(options.seed)) {
      throw new InvalidOptionError(`seed must be a safe integer, got ${options.seed}`)
    }
    this.seed = options.seed
    this.simClock = new SimClock(options.startMs ?? 0)
    this.clock = this.simClock
    this.random = seededRandom(options.seed)
    this.createNode = options.createNode
    this.diskOptions = options.disk ?? {}
    this.timer = {
      setTimeout: (fn, ms) =>
        this.simClock.setTimeout(() => {
          fn()
          this.afterEvent()
        }, ms),
    }
    this.network = new SimNetwork<M>({
      seed: deriveSeed(options.seed, 'net'),
      clock: this.simClock,
      timer: this.simClock,
      deliver: (to, msg, from) => this.deliver(to, msg, from),
      afterArrival: this.afterEvent,
      unknownNodesUp: false,
      ...(options.network === undefined ? {} : { defaults: options.network }),
      ...(options.maxInFlightPerLink === undefined ? {} : { maxInFlightPerLink: options.maxInFlightPerLink }),
    })
  }

  get now(): number {
    return this.simClock.now()
  }

  /** Events run so far. */
  get events(): number {
    return this.eventCount
  }

  /** Timers and messages still scheduled. */
  get pending(): number {
    return this.simClock.pending
  }

  /** A named random stream, independent of every other (same seed and label, same stream). */
  randomStream(label: string): Random {
    return seededRandom(deriveSeed(this.seed, `user/${label}`))
  }

  /** Adds a node and starts it (calls `createNode`). */
  addNode(id: NodeId): N {
    if (this.records.has(id)) throw new InvalidOptionError(`node ${id} already exists`)
    const disk = new SimDisk(this.diskOptions)
    const record: NodeRecord<N> = {
      id,
      live: false,
      node: null,
      incarnation: -1,
      disk,
      inspect: disk.openAnother(),
      timers: new Set(),
    }
    this.records.set(id, record)
    this.order.push(id)
    return this.start(record)
  }

  /**
   * Crashes a node: it loses its memory (the object is dropped) and its timers; what is in flight to it is dropped on
   * arrival; its disk stays. Does nothing if it is already down.
   */
  crash(id: NodeId): void {
    const record = this.record(id)
    if (!record.live) return
    const node = record.node
    record.live = false
    record.node = null
    for (const cancel of record.timers) cancel()
    record.timers = new Set()
    record.disk.close()
    this.network.nodeDown(id)
    node?.stop?.()
  }

  /** Starts a crashed node again: `createNode` with the same disk. Does nothing if it is up. */
  restart(id: NodeId): N {
    const record = this.record(id)
    if (record.live && record.node !== null) return record.node
    if (record.live) throw new InvalidOptionError(`node ${id} is still starting (restart from inside its constructor?)`)
    return this.start(record)
  }

  isUp(id: NodeId): boolean {
    return this.record(id).live
  }

  /** The running node object, or undefined while it is down. */
  node(id: NodeId): N | undefined {
    return this.record(id).node ?? undefined
  }

  /** The node's storage, for inspection (a handle that stays open across crashes). */
  disk(id: NodeId): SimDisk {
    return this.record(id).inspect
  }

  /** Every node id, in the order added. */
  ids(): readonly NodeId[] {
    return this.order
  }

  upIds(): NodeId[] {
    return this.order.filter((id) => this.record(id).live)
  }

  downIds(): NodeId[] {
    return this.order.filter((id) => !this.record(id).live)
  }

  /** Calls `listener` after every event; returns a function that removes it. */
  onEvent(listener: (sim: Simulation<M, N>) => void): () => void {
    this.listeners.push(listener)
    this.updateHooked()
    return () => {
      const i = this.listeners.indexOf(listener)
      if (i !== -1) this.listeners.splice(i, 1)
      this.updateHooked()
    }
  }

  /** Runs every event due in the next `ms` of simulated time; the clock ends `ms` later. */
  runFor(ms: number): void {
    this.drive(() => this.simClock.advance(ms))
  }

  /**
   * Runs events until `predicate` holds (checked first, then after every event) or `maxMs` of simulated time pass.
   * Returns whether it held; the clock stops at the event that made it true.
   */
  runUntil(predicate: () => boolean, options: RunUntilOptions): boolean {
    if (predicate()) return true
    this.stopWhen = predicate
    return this.drive(() => this.simClock.advance(options.maxMs))
  }

  /** Runs the next event, however far away it is. Returns false if nothing was scheduled. */
  step(): boolean {
    if (this.simClock.pending === 0) return false
    this.stopAfterOne = true
    return this.drive(() => this.simClock.runUntilIdle(FOREVER_MS))
  }

  /** Runs `run`, turning STOP into `true`; any other error propagates with the clock at the failing event. */
  private drive(run: () => void): boolean {
    if (this.running) {
      throw new InvalidOptionError('the simulation is already running (called from inside an event?)')
    }
    this.running = true
    this.updateHooked()
    try {
      run()
      return false
    } catch (err) {
      if (err === STOP) return true
      throw err
    } finally {
      this.running = false
      this.stopWhen = null
      this.stopAfterOne = false
      this.updateHooked()
    }
  }

  /** An arrow function, so the network can call it without a bound copy. Kept tiny: it runs once per event. */
  private readonly afterEvent = (): void => {
    this.eventCount++
    if (this.hooked) this.runHooks()
  }

  private runHooks(): void {
    for (const listener of this.listeners) listener(this)
    if (this.stopAfterOne || (this.stopWhen !== null && this.stopWhen())) throw STOP
  }

  private updateHooked(): void {
    this.hooked = this.listeners.length > 0 || this.stopWhen !== null || this.stopAfterOne
  }

  private deliver(to: NodeId, msg: M, from: NodeId): void {
    // The network drops messages to nodes that are down, so a record without a node here is a bug of ours.
    const node = this.records.get(to)?.node
    if (node === undefined || node === null) throw new Error(`network delivered to ${to}, which is down or unknown`)
    node.receive(from, msg)
  }

  private start(record: NodeRecord<N>): N {
    record.incarnation++
    if (record.disk.isClosed) record.disk = record.disk.reopen()
    record.live = true
    this.network.nodeUp(record.id)
    const ctx = this.context(record)
    const node = this.createNode(ctx)
    // A node crashed while its constructor ran stays down.
    if (record.live && record.incarnation === ctx.incarnation) record.node = node
    return node
  }

  private context(record: NodeRecord<N>): NodeContext<M> {
    const { id, incarnation } = record
    const alive = (): boolean => record.live && record.incarnation === incarnation
    const network = this.network
    const simClock = this.simClock
    const timers = record.timers
    return {
      id,
      incarnation,
      clock: simClock,
      disk: record.disk,
      random: seededRandom(deriveSeed(this.seed, `node/${id}/${incarnation}`)),
      send: (to, msg) => {
        if (alive()) network.send(id, to, msg)
      },
      timer: {
        setTimeout: (fn, ms) => {
          if (!alive()) return noop
          const cancel = simClock.setTimeout(() => {
            timers.delete(cancel)
            fn()
            this.afterEvent()
          }, ms)
          timers.add(cancel)
          return () => {
            if (timers.delete(cancel)) cancel()
          }
        },
      },
    }
  }

  private record(id: NodeId): NodeRecord<N> {
    const record = this.records.get(id)
    if (record === undefined) throw new InvalidOptionError(`unknown node ${id}`)
    return record
  }
}

function noop(): void {}
