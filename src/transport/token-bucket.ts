/** A token bucket: `capacity` tokens, refilled at `ratePerSecond`; `take()` spends one if there is one. */
import type { Clock } from '../runtime/index.js'

export class TokenBucket {
  private tokens: number
  private lastMs: number

  constructor(
    private readonly capacity: number,
    private readonly ratePerSecond: number,
    private readonly clock: Clock,
  ) {
    this.tokens = capacity
    this.lastMs = clock.now()
  }

  take(): boolean {
    const now = this.clock.now()
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.lastMs) / 1000) * this.ratePerSecond)
    this.lastMs = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}
