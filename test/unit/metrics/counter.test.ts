import { describe, expect, it } from 'vitest'
import { Counter } from '../../../src/metrics/index.js'

describe('Counter', () => {
  it('starts at 0 and adds 1 or n', () => {
    const c = new Counter()
    expect(c.value()).toBe(0)
    c.inc()
    c.inc(5)
    c.inc(0)
    expect(c.value()).toBe(6)
  })

  it('refuses to go down or to NaN', () => {
    const c = new Counter()
    expect(() => c.inc(-1)).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
    expect(() => c.inc(Number.NaN)).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
    expect(c.value()).toBe(0)
  })
})
