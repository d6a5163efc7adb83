import { describe, expect, it } from 'vitest'
import { seededRandom, type Random } from '../../../src/runtime/index.js'
import { Backoff } from '../../../src/transport/backoff.js'

/** A Random that always returns the same fraction, so that delays can be checked exactly. */
function fixed(x: number): Random {
  return { next: () => x, int: (max) => Math.floor(x * max) }
}

describe('Backoff', () => {
  it('doubles the ceiling from 250 ms up to 30 s by default (no jitter)', () => {
    const b = new Backoff({ jitter: 'none', random: fixed(0) })
    const delays = Array.from({ length: 10 }, () => b.next())
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000])
    expect(b.attempt).toBe(10)
  })

  it('uses full jitter by default: uniform in [0, ceiling]', () => {
    const high = new Backoff({ random: fixed(0.999) })
    expect(high.next()).toBeCloseTo(249.75, 6)
    expect(high.next()).toBeCloseTo(499.5, 6)
    const low = new Backoff({ random: fixed(0) })
    expect(low.next()).toBe(0)
  })

  it('keeps full-jitter delays under the ceiling with a real generator', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, random: seededRandom(3) })
    const ceilings = [100, 200, 400, 800, 1000, 1000, 1000]
    for (const ceiling of ceilings) {
      const d = b.next()
      expect(d).toBeGreaterThanOrEqual(0)
      expect(d).toBeLessThanOrEqual(ceiling)
    }
  })

  it('equal jitter stays in [ceiling/2, ceiling]', () => {
    expect(new Backoff({ jitter: 'equal', random: fixed(0) }).next()).toBe(125)
    expect(new Backoff({ jitter: 'equal', random: fixed(0.5) }).next()).toBe(187.5)
    const b = new Backoff({ jitter: 'equal', initialMs: 100, factor: 3, maxMs: 10_000, random: seededRandom(9) })
    for (const ceiling of [100, 300, 900, 2700, 8100, 10_000]) {
      const d = b.next()
      expect(d).toBeGreaterThanOrEqual(ceiling / 2)
      expect(d).toBeLessThanOrEqual(ceiling)
    }
  })

  it('reset() goes back to the first delay', () => {
    const b = new Backoff({ jitter: 'none', initialMs: 10, random: fixed(0) })
    b.next()
    b.next()
    b.reset()
    expect(b.attempt).toBe(0)
    expect(b.next()).toBe(10)
  })

  it('never overflows after very many attempts', () => {
    const b = new Backoff({ jitter: 'none', initialMs: 0, factor: 10, random: fixed(0) })
    for (let i = 0; i < 2000; i++) expect(b.next()).toBe(0)
    const c = new Backoff({ jitter: 'none', factor: 10, random: fixed(0) })
    for (let i = 0; i < 2000; i++) c.next()
    expect(c.next()).toBe(30_000)
  })

  it('is deterministic for a seeded random', () => {
    const run = (): number[] => {
      const b = new Backoff({ random: seededRandom(77) })
      return Array.from({ length: 8 }, () => b.next())
    }
    expect(run()).toEqual(run())
  })

  it.each([
    [{ initialMs: -1 }, /initialMs/],
    [{ initialMs: Number.NaN }, /initialMs/],
    [{ maxMs: 100 }, /maxMs/],
    [{ maxMs: Number.POSITIVE_INFINITY }, /maxMs/],
    [{ factor: 0.5 }, /factor/],
    [{ jitter: 'some' as 'full' }, /jitter/],
  ])('rejects %o', (options, message) => {
    const create = (): Backoff => new Backoff({ ...options, random: fixed(0) })
    expect(create).toThrow(message)
    expect(create).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
  })
})
