import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Histogram, quantile, summarize } from '../../../src/metrics/index.js'

describe('quantile', () => {
  it('interpolates linearly between the closest ranks', () => {
    const sorted = [10, 20, 30, 40]
    expect(quantile(sorted, 0)).toBe(10)
    expect(quantile(sorted, 1)).toBe(40)
    expect(quantile(sorted, 0.5)).toBe(25)
    // rank = 0.9 * 3 = 2.7 → 30 + 0.7 * 10
    expect(quantile(sorted, 0.9)).toBeCloseTo(37, 10)
    expect(quantile([5], 0.99)).toBe(5)
  })

  it('returns 0 for no values and rejects q outside [0, 1]', () => {
    expect(quantile([], 0.5)).toBe(0)
    expect(() => quantile([1], 1.5)).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
    expect(() => quantile([1], Number.NaN)).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
  })
})

describe('summarize', () => {
  it('gives exact statistics without modifying its input', () => {
    const values = [5, 1, 4, 2, 3]
    expect(summarize(values)).toEqual({ count: 5, min: 1, max: 5, mean: 3, p50: 3, p95: 4.8, p99: 4.96 })
    expect(values).toEqual([5, 1, 4, 2, 3])
  })

  it('is all zeros when empty', () => {
    expect(summarize([])).toEqual({ count: 0, min: 0, max: 0, mean: 0, p50: 0, p95: 0, p99: 0 })
  })
})

function withinOnePercent(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= 0.01 * Math.abs(expected) + 1e-6
}

describe('Histogram', () => {
  it('snapshots to all zeros when empty', () => {
    const h = new Histogram()
    expect(h.count).toBe(0)
    expect(h.snapshot()).toEqual({ count: 0, min: 0, max: 0, mean: 0, p50: 0, p95: 0, p99: 0 })
  })

  it('keeps count, min, max and mean exact', () => {
    const h = new Histogram()
    for (const v of [3.5, 0, 1200, 17]) h.record(v)
    const s = h.snapshot()
    expect(h.count).toBe(4)
    expect(s.count).toBe(4)
    expect(s.min).toBe(0)
    expect(s.max).toBe(1200)
    expect(s.mean).toBeCloseTo((3.5 + 0 + 1200 + 17) / 4, 10)
  })

  it('reports a single value exactly', () => {
    const h = new Histogram()
    h.record(42.42)
    expect(h.snapshot()).toEqual({ count: 1, min: 42.42, max: 42.42, mean: 42.42, p50: 42.42, p95: 42.42, p99: 42.42 })
  })

  it('keeps percentiles within 1% of the exact ones (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e7, noNaN: true, noDefaultInfinity: true }), {
          minLength: 1,
          maxLength: 300,
        }),
        (values) => {
          const h = new Histogram()
          for (const v of values) h.record(v)
          const approx = h.snapshot()
          const exact = summarize(values)
          expect(approx.count).toBe(exact.count)
          expect(approx.min).toBe(exact.min)
          expect(approx.max).toBe(exact.max)
          expect(withinOnePercent(approx.p50, exact.p50)).toBe(true)
          expect(withinOnePercent(approx.p95, exact.p95)).toBe(true)
          expect(withinOnePercent(approx.p99, exact.p99)).toBe(true)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('stays within 1% on a large latency-like sample while holding few buckets', () => {
    const h = new Histogram()
    const values: number[] = []
    // A deterministic long-tailed spread from 0.01 ms to ~100 s.
    for (let i = 0; i < 100_000; i++) {
      const v = 0.01 * 10 ** ((((i * 7) % 1000) / 1000) * 7)
      values.push(v)
      h.record(v)
    }
    const approx = h.snapshot()
    const exact = summarize(values)
    for (const key of ['p50', 'p95', 'p99'] as const) {
      expect(withinOnePercent(approx[key], exact[key])).toBe(true)
    }
    // Bounded memory: 100k values spanning 7 decades must land in a few hundred buckets (about 2% wide each).
    const buckets = (h as unknown as { buckets: Map<number, number> }).buckets
    expect(buckets.size).toBeLessThan(1000)
  })

  it('rejects negative, NaN and infinite values', () => {
    const h = new Histogram()
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => h.record(bad)).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
    }
    expect(h.count).toBe(0)
  })

  it('handles values beyond the tracked range without losing min and max', () => {
    const h = new Histogram()
    h.record(1e-9)
    h.record(1e15)
    const s = h.snapshot()
    expect(s.min).toBe(1e-9)
    expect(s.max).toBe(1e15)
    expect(s.p99).toBeGreaterThanOrEqual(s.min)
    expect(s.p99).toBeLessThanOrEqual(s.max)
  })
})
