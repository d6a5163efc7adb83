/**
 * A seeded fault schedule (Jepsen's "nemesis"): at random intervals it partitions, isolates, cuts, crashes, restarts,
 * heals or degrades the network of a Simulation, and logs what it did so a failure report can show the faults that
 * led to it. Its randomness is its own stream (`sim.randomStream('nemesis')`), so it never shifts the network's.
 */
import { InvalidOptionError } from '../errors.js'
import type { Random } from '../runtime/random.js'
import type { LinkFaults, NodeId } from './network.js'
import type { SimNode, Simulation } from './simulation.js'

/** One kind of fault. Built-in ones are listed in BuiltinNemesisAction; tests add their own ("isolate the leader"). */
export interface NemesisAction<M, N extends SimNode<M>> {
  readonly name: string
  /** Relative chance of being picked; 0 disables it. */
  readonly weight: number
  /** Does it; returns what it did (for the log) or null if it does not apply right now (nothing is logged). */
  run(sim: Simulation<M, N>, random: Random): string | null
}

export type BuiltinNemesisAction = 'partition' | 'isolate' | 'cut' | 'crash' | 'restart' | 'heal' | 'degrade'

export interface MsRange {
  readonly minMs: number
  readonly maxMs: number
}

export interface NemesisOptions<M, N extends SimNode<M>> {
  /** Time between two actions, uniform in the range. Default 100–1000 ms. */
  readonly intervalMs?: MsRange
  /** Most nodes down at once; `crash` does nothing at the limit. Counts nodes the test crashed itself. Default 1. */
  readonly maxDown?: number
  /**
   * Weights of the built-in actions. Defaults: `heal` 2, every other 1. `partition` splits the nodes into two random
   * sides; `isolate` cuts one node off; `cut` drops one direction between two nodes; `crash`/`restart` take a random
   * up/down node; `heal` removes every partition and cut; `degrade` changes loss and delay of every link for a while.
   */
  readonly weights?: Partial<Record<BuiltinNemesisAction, number>>
  /** Extra actions, picked by weight together with the built-in ones. */
  readonly actions?: ReadonlyArray<NemesisAction<M, N>>
  /** What `degrade` may do: loss up to `maxLoss` (default 0.3), longest delay up to `maxDelayMs` (default 200). */
  readonly degrade?: { readonly maxLoss?: number; readonly maxDelayMs?: number; readonly durationMs?: MsRange }
  /** Log entries kept (the oldest go first). Default 10_000. */
  readonly maxLogEntries?: number
  /** Which nodes `crash` may pick (default all): e.g. servers, not the clients whose histories a test checks. */
  readonly crashable?: (id: NodeId) => boolean
}

export interface NemesisLogEntry {
  readonly atMs: number
  readonly action: string
  readonly description: string
}

const DEFAULT_WEIGHTS: Readonly<Record<BuiltinNemesisAction, number>> = {
  partition: 1,
  isolate: 1,
  cut: 1,
  crash: 1,
  restart: 1,
  heal: 2,
  degrade: 1,
}

export class Nemesis<M, N extends SimNode<M>> {
  private readonly random: Random
  private readonly actions: ReadonlyArray<NemesisAction<M, N>>
  private readonly totalWeight: number
  private readonly interval: MsRange
  private readonly maxDown: number
  private readonly maxLogEntries: number
  private readonly crashable: (id: NodeId) => boolean
  private readonly entries: NemesisLogEntry[] = []
  private droppedEntries = 0
  private cancelNext: (() => void) | null = null
  /** Link defaults from before the current `degrade`, and the timer that puts them back. */
  private baseline: LinkFaults | null = null
  private cancelRecovery: (() => void) | null = null

  constructor(
    private readonly sim: Simulation<M, N>,
    options: NemesisOptions<M, N> = {},
  ) {
    this.random = sim.randomStream('nemesis')
    this.interval = checkRange('intervalMs', options.intervalMs ?? { minMs: 100, maxMs: 1000 })
    this.maxDown = options.maxDown ?? 1
    if (!Number.isSafeInteger(this.maxDown) || this.maxDown < 0) {
      throw new InvalidOptionError(`maxDown must be an integer >= 0, got ${this.maxDown}`)
    }
    this.maxLogEntries = options.maxLogEntries ?? 10_000
    this.crashable = options.crashable ?? (() => true)
    const weights = { ...DEFAULT_WEIGHTS, ...options.weights }
    const degrade = {
      maxLoss: options.degrade?.maxLoss ?? 0.3,
      maxDelayMs: options.degrade?.maxDelayMs ?? 200,
      durationMs: checkRange('degrade.durationMs', options.degrade?.durationMs ?? { minMs: 500, maxMs: 3000 }),
    }
    const builtins: Array<NemesisAction<M, N>> = [
      { name: 'partition', weight: weights.partition, run: (s, r) => partitionAction(s, r) },
      { name: 'isolate', weight: weights.isolate, run: (s, r) => isolateAction(s, r) },
      { name: 'cut', weight: weights.cut, run: (s, r) => cutAction(s, r) },
      { name: 'crash', weight: weights.crash, run: (s, r) => this.crashAction(s, r) },
      { name: 'restart', weight: weights.restart, run: (s, r) => restartAction(s, r) },
      { name: 'heal', weight: weights.heal, run: (s) => (s.network.heal(), 'healed every partition and cut') },
      { name: 'degrade', weight: weights.degrade, run: (s, r) => this.degradeAction(s, r, degrade) },
    ]
    this.actions = [...builtins, ...(options.actions ?? [])]
    for (const a of this.actions) {
      if (!(a.weight >= 0) || !Number.isFinite(a.weight)) {
        throw new InvalidOptionError(
          `weight of nemesis action '${a.name}' must be a finite number >= 0, got ${a.weight}`,
        )
      }
    }
    this.totalWeight = this.actions.reduce((sum, a) => sum + a.weight, 0)
  }

  get running(): boolean {
    return this.cancelNext !== null
  }

  /** Starts the schedule: the first action comes one random interval from now. Idempotent. */
  start(): void {
    if (this.running || this.totalWeight === 0) return
    this.scheduleNext()
  }

  /**
   * Stops the schedule and undoes every fault: heals the network, puts back the link faults from before any
   * `degrade`, and restarts every node that is down, so a test can check liveness afterwards. Idempotent.
   */
  stop(): void {
    this.cancelNext?.()
    this.cancelNext = null
    this.endDegrade()
    this.sim.network.heal()
    const down = this.sim.downIds()
    for (const id of down) this.sim.restart(id)
    this.record('stop', down.length === 0 ? 'healed everything' : `healed everything, restarted ${down.join(', ')}`)
  }

  /** The actions taken, oldest first (at most `maxLogEntries`). */
  get log(): readonly NemesisLogEntry[] {
    return this.entries
  }

  /** The log as text, one action a line, for failure reports. */
  formatLog(): string {
    const lines = this.entries.map((e) => `${formatMs(e.atMs)} ${e.action}: ${e.description}`)
    if (this.droppedEntries > 0) lines.unshift(`(${this.droppedEntries} earlier entries dropped)`)
    return lines.join('\n')
  }

  private scheduleNext(): void {
    const { minMs, maxMs } = this.interval
    const delay = minMs + this.random.next() * (maxMs - minMs)
    this.cancelNext = this.sim.timer.setTimeout(() => {
      this.act()
      // act() may have run a custom action that stopped us.
      if (this.cancelNext !== null) this.scheduleNext()
    }, delay)
  }

  private act(): void {
    let pick = this.random.next() * this.totalWeight
    let chosen = this.actions[this.actions.length - 1]
    for (const action of this.actions) {
      if (pick < action.weight) {
        chosen = action
        break
      }
      pick -= action.weight
    }
    if (chosen === undefined) return
    const description = chosen.run(this.sim, this.random)
    if (description !== null) this.record(chosen.name, description)
  }

  private record(action: string, description: string): void {
    if (this.entries.length >= this.maxLogEntries) {
      // Amortised: drop the oldest tenth at once rather than shifting the array on every entry.
      const drop = Math.max(1, Math.floor(this.maxLogEntries / 10))
      this.entries.splice(0, drop)
      this.droppedEntries += drop
    }
    this.entries.push({ atMs: this.sim.now, action, description })
  }

  private crashAction(sim: Simulation<M, N>, random: Random): string | null {
    if (sim.downIds().length >= this.maxDown) return null
    const id = pick(sim.upIds().filter(this.crashable), random)
    if (id === undefined) return null
    sim.crash(id)
    return id
  }

  private degradeAction(
    sim: Simulation<M, N>,
    random: Random,
    limits: { maxLoss: number; maxDelayMs: number; durationMs: MsRange },
  ): string {
    this.baseline ??= sim.network.defaults
    const base = this.baseline
    const loss = random.next() * limits.maxLoss
    const extraDelayMs = random.next() * (limits.maxDelayMs - base.maxDelayMs)
    const maxDelayMs = Math.max(base.maxDelayMs, base.maxDelayMs + extraDelayMs)
    sim.network.setDefaults({ loss, maxDelayMs })
    const { minMs, maxMs } = limits.durationMs
    const forMs = minMs + random.next() * (maxMs - minMs)
    // A second degrade before the first recovers replaces it; recovery always goes back to the pre-degrade baseline.
    this.cancelRecovery?.()
    this.cancelRecovery = sim.timer.setTimeout(() => {
      this.cancelRecovery = null
      this.endDegrade()
      this.record('degrade', 'link faults restored')
    }, forMs)
    return `loss ${loss.toFixed(3)}, delay up to ${maxDelayMs.toFixed(1)} ms, for ${forMs.toFixed(0)} ms`
  }

  private endDegrade(): void {
    this.cancelRecovery?.()
    this.cancelRecovery = null
    if (this.baseline !== null) this.sim.network.setDefaults(this.baseline)
    this.baseline = null
  }
}

function partitionAction<M, N extends SimNode<M>>(sim: Simulation<M, N>, random: Random): string | null {
  const ids = shuffled(sim.ids(), random)
  if (ids.length < 2) return null
  const cutAt = 1 + random.int(ids.length - 1)
  const sides = [ids.slice(0, cutAt).sort(), ids.slice(cutAt).sort()]
  sim.network.partition(sides)
  return sides.map((side) => side.join(',')).join(' | ')
}

function isolateAction<M, N extends SimNode<M>>(sim: Simulation<M, N>, random: Random): string | null {
  const id = pick(sim.ids(), random)
  if (id === undefined) return null
  sim.network.isolate(id)
  return id
}

function cutAction<M, N extends SimNode<M>>(sim: Simulation<M, N>, random: Random): string | null {
  const ids = sim.ids()
  if (ids.length < 2) return null
  const [from, to] = shuffled(ids, random)
  if (from === undefined || to === undefined) return null
  sim.network.cut(from, to)
  return `${from} -> ${to}`
}

function restartAction<M, N extends SimNode<M>>(sim: Simulation<M, N>, random: Random): string | null {
  const id = pick(sim.downIds(), random)
  if (id === undefined) return null
  sim.restart(id)
  return id
}

function pick(ids: readonly NodeId[], random: Random): NodeId | undefined {
  return ids.length === 0 ? undefined : ids[random.int(ids.length)]
}

/** Fisher–Yates on a copy. */
function shuffled(ids: readonly NodeId[], random: Random): NodeId[] {
  const out = [...ids]
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1)
    const tmp = out[i] as NodeId
    out[i] = out[j] as NodeId
    out[j] = tmp
  }
  return out
}

function checkRange(name: string, range: MsRange): MsRange {
  if (!(range.minMs >= 0) || !(range.maxMs >= range.minMs) || !Number.isFinite(range.maxMs)) {
    throw new InvalidOptionError(`${name} must have 0 <= minMs <= maxMs (finite), got ${range.minMs}–${range.maxMs}`)
  }
  return range
}

function formatMs(ms: number): string {
  return `${(Math.round(ms * 10) / 10).toFixed(1)}ms`
}
