import { describe, expect, it } from 'vitest'
import { realRandom, seededRandom } from '../../../src/runtime/index.js'

function draw(seed: number, n: number): number[] {
  const random = seededRandom(seed)
  return Array.from({ length: n }, () => random.next())
}

describe('seededRandom', () => {
  it('gives the same sequence for the same seed', () => {
    expect(draw(42, 100)).toEqual(draw(42, 100))
    const a = seededRandom(7)
    const b = seededRandom(7)
    for (let i = 0; i < 100; i++) expect(a.int(1000)).toBe(b.int(1000))
  })

  it('gives different sequences for different seeds, including seeds that differ only above bit 32', () => {
    expect(draw(1, 10)).not.toEqual(draw(2, 10))
    expect(draw(5, 10)).not.toEqual(draw(5 + 2 ** 32, 10))
    expect(draw(-5, 10)).not.toEqual(draw(5, 10))
  })

  it('keeps next() in [0, 1) and int() in [0, max)', () => {
    const random = seededRandom(123)
    for (let i = 0; i < 10_000; i++) {
      const x = random.next()
      expect(x).toBeGreaterThanOrEqual(0)
      expect(x).toBeLessThan(1)
      const k = random.int(7)
      expect(Number.isInteger(k)).toBe(true)
      expect(k).toBeGreaterThanOrEqual(0)
      expect(k).toBeLessThan(7)
    }
    expect(random.int(1)).toBe(0)
  })

  it('covers every value of int() roughly evenly', () => {
    const random = seededRandom(99)
    const counts = new Array<number>(10).fill(0)
    for (let i = 0; i < 10_000; i++) {
      const k = random.int(10)
      counts[k] = (counts[k] ?? 0) + 1
    }
    for (const c of counts) expect(c).toBeGreaterThan(800)
  })

  it('rejects seeds and bounds it cannot honour', () => {
    expect(() => seededRandom(1.5)).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
    expect(() => seededRandom(Number.NaN)).toThrow(/seed/)
    const random = seededRandom(1)
    expect(() => random.int(0)).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
    expect(() => random.int(2.5)).toThrow(/maxExclusive/)
  })
})

describe('realRandom', () => {
  it('keeps values in range', () => {
    for (let i = 0; i < 1000; i++) {
      const x = realRandom.next()
      expect(x >= 0 && x < 1).toBe(true)
      const k = realRandom.int(3)
      expect([0, 1, 2]).toContain(k)
    }
    expect(() => realRandom.int(-1)).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
  })
})
