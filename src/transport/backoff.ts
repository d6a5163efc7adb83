/**
 * Exponential backoff with jitter, for dial retries and relay reconnects. Jitter spreads out peers that failed at the
 * same moment (a relay restart) so that they do not all come back at the same moment too.
 */
import { InvalidOptionError } from '../errors.js'
import type { Random } from '../runtime/index.js'

/**
 * How the delay is drawn below the exponential ceiling:
 * - `'full'`: uniform in [0, ceiling] (AWS "full jitter"; spreads retries best, the default);
 * - `'equal'`: ceiling/2 plus uniform in [0, ceiling/2] (never retries almost at once);
 * - `'none'`: exactly the ceiling.
 */
export type BackoffJitter = 'full' | 'equal' | 'none'

export interface BackoffOptions {
  /** The ceiling of the first delay, in ms; default 250. Must be >= 0. */
  readonly initialMs?: number
  /** The largest ceiling, in ms; default 30 000. Must be >= initialMs. */
  readonly maxMs?: number
  /** How much the ceiling grows per attempt; default 2. Must be >= 1. */
  readonly factor?: number
  /** See BackoffJitter; default 'full'. */
  readonly jitter?: BackoffJitter
  /** The source of jitter: `realRandom` in drivers, a seeded one in simulations. */
  readonly random: Random
}

export class Backoff {
  private readonly initialMs: number
  private readonly maxMs: number
  private readonly factor: number
  private readonly jitter: BackoffJitter
  private readonly random: Random
  private attempts = 0
  /** min(maxMs, initialMs·factor^attempts), kept incrementally so it never overflows to Infinity or NaN. */
  private ceilingMs: number

  constructor(options: BackoffOptions) {
    this.initialMs = options.initialMs ?? 250
    this.maxMs = options.maxMs ?? 30_000
    this.factor = options.factor ?? 2
    this.jitter = options.jitter ?? 'full'
    this.random = options.random
    if (!(Number.isFinite(this.initialMs) && this.initialMs >= 0)) {
      throw new InvalidOptionError(`initialMs must be a finite number >= 0, got ${this.initialMs}`)
    }
    if (!(Number.isFinite(this.maxMs) && this.maxMs >= this.initialMs)) {
      throw new InvalidOptionError(`maxMs must be a finite number >= initialMs (${this.initialMs}), got ${this.maxMs}`)
    }
    if (!(Number.isFinite(this.factor) && this.factor >= 1)) {
      throw new InvalidOptionError(`factor must be a finite number >= 1, got ${this.factor}`)
    }
    if (!['full', 'equal', 'none'].includes(this.jitter)) {
      throw new InvalidOptionError(`jitter must be 'full', 'equal' or 'none', got '${String(this.jitter)}'`)
    }
    this.ceilingMs = this.initialMs
  }

  /** How many delays `next()` has handed out since construction or the last `reset()`. */
  get attempt(): number {
    return this.attempts
  }

  /** The delay before the next retry, in ms (not necessarily an integer); grows the ceiling for the one after. */
  next(): number {
    const ceiling = this.ceilingMs
    this.attempts++
    this.ceilingMs = Math.min(this.maxMs, this.ceilingMs * this.factor)
    switch (this.jitter) {
      case 'full':
        return this.random.next() * ceiling
      case 'equal':
        return ceiling / 2 + (this.random.next() * ceiling) / 2
      case 'none':
        return ceiling
    }
  }

  /** Back to the first delay; call it after a success so the next failure retries quickly again. */
  reset(): void {
    this.attempts = 0
    this.ceilingMs = this.initialMs
  }
}
