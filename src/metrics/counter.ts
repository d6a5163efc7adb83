/** A monotonically increasing count (messages sent, dials failed, …). */
import { InvalidOptionError } from '../errors.js'

export class Counter {
  private count = 0

  /** Adds `n` (default 1). Counters only go up, so a negative or non-finite `n` is a programmer error and throws. */
  inc(n = 1): void {
    if (!Number.isFinite(n) || n < 0) {
      throw new InvalidOptionError(`counter increment must be a finite number >= 0, got ${n}`)
    }
    this.count += n
  }

  value(): number {
    return this.count
  }
}
