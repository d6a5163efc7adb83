import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SimClock } from '../../../src/runtime/sim-clock.js'
import { TokenBucket } from '../../../src/transport/token-bucket.js'

function takeAll(bucket: TokenBucket, max = 10_000): number {
  let n = 0
  while (n < max && bucket.take()) n++
  return n
}

describe('TokenBucket', () => {
  it('allows a burst of exactly capacity, then refuses', () => {
    const clock = new SimClock()
    const bucket = new TokenBucket(100, 50, clock)
    expect(takeAll(bucket)).toBe(100)
    expect(bucket.take()).toBe(false)
  })

  it('refills at the rate', () => {
    const clock = new SimClock()
    const bucket = new TokenBucket(10, 10, clock) // one token per 100 ms
    takeAll(bucket)
    clock.advance(99)
    expect(bucket.take()).toBe(false)
    clock.advance(1)
    expect(bucket.take()).toBe(true)
    expect(bucket.take()).toBe(false)
    clock.advance(500)
    expect(takeAll(bucket)).toBe(5)
  })

  it('accumulates fractions of a token across calls', () => {
    const clock = new SimClock()
    const bucket = new TokenBucket(1, 4, clock) // one token per 250 ms
    expect(bucket.take()).toBe(true)
    for (let i = 0; i < 4; i++) {
      clock.advance(50)
      expect(bucket.take()).toBe(false)
    }
    clock.advance(50)
    expect(bucket.take()).toBe(true)
  })

  it('never holds more than capacity, however long it was idle', () => {
    const clock = new SimClock()
    const bucket = new TokenBucket(5, 1000, clock)
    clock.advance(3_600_000)
    expect(takeAll(bucket)).toBe(5)
  })

  it('starts full, counting from its creation time', () => {
    const clock = new SimClock(1_000_000)
    const bucket = new TokenBucket(3, 1, clock)
    expect(takeAll(bucket)).toBe(3)
    clock.advance(999)
    expect(bucket.take()).toBe(false)
  })

  it('over any interval grants at most capacity + rate × elapsed tokens', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 20 })), { maxLength: 40 }),
        (capacity, rate, steps) => {
          const clock = new SimClock()
          const bucket = new TokenBucket(capacity, rate, clock)
          let granted = 0
          let refused = 0
          for (const [pause, attempts] of steps) {
            clock.advance(pause)
            for (let i = 0; i < attempts; i++) {
              if (bucket.take()) granted++
              else refused++
            }
          }
          const elapsedS = clock.now() / 1000
          expect(granted).toBeLessThanOrEqual(capacity + rate * elapsedS + 1e-9)
          // If anything was refused, the bucket was drained at least once, so it cannot have granted far less.
          if (refused > 0) expect(granted).toBeGreaterThanOrEqual(capacity)
        },
      ),
    )
  })
})
