import { describe, expect, it } from 'vitest'
import { realClock, realTimer, SimClock } from '../../../src/runtime/index.js'

describe('SimClock', () => {
  it('starts at the given time and moves only when advanced', () => {
    const clock = new SimClock(1000)
    expect(clock.now()).toBe(1000)
    clock.advance(250)
    expect(clock.now()).toBe(1250)
    expect(new SimClock().now()).toBe(0)
  })

  it('fires due timers in time order, ties in insertion order, each at its due time', () => {
    const clock = new SimClock()
    const fired: string[] = []
    const log = (name: string) => () => fired.push(`${name}@${clock.now()}`)
    clock.setTimeout(log('c'), 30)
    clock.setTimeout(log('a1'), 10)
    clock.setTimeout(log('b'), 20)
    clock.setTimeout(log('a2'), 10)
    clock.setTimeout(log('late'), 100)
    clock.advance(50)
    expect(fired).toEqual(['a1@10', 'a2@10', 'b@20', 'c@30'])
    expect(clock.now()).toBe(50)
    expect(clock.pending).toBe(1)
  })

  it('fires timers set by callbacks within the same advance when they fall due', () => {
    const clock = new SimClock()
    const fired: number[] = []
    clock.setTimeout(() => {
      fired.push(clock.now())
      clock.setTimeout(() => fired.push(clock.now()), 5)
      clock.setTimeout(() => fired.push(clock.now()), 0)
    }, 10)
    clock.advance(14)
    expect(fired).toEqual([10, 10])
    clock.advance(1)
    expect(fired).toEqual([10, 10, 15])
  })

  it('does not fire cancelled timers, and cancelling twice or after firing is harmless', () => {
    const clock = new SimClock()
    let fired = 0
    const cancel = clock.setTimeout(() => fired++, 10)
    const cancelFired = clock.setTimeout(() => fired++, 5)
    clock.advance(5)
    cancelFired()
    cancel()
    cancel()
    expect(clock.pending).toBe(0)
    clock.advance(100)
    expect(fired).toBe(1)
  })

  it('treats negative and NaN delays as 0', () => {
    const clock = new SimClock()
    let fired = 0
    clock.setTimeout(() => fired++, -5)
    clock.setTimeout(() => fired++, Number.NaN)
    clock.advance(0)
    expect(fired).toBe(2)
  })

  it('runUntilIdle stops when no timers remain, at the last due time', () => {
    const clock = new SimClock()
    let n = 0
    const tick = (): void => {
      if (++n < 5) clock.setTimeout(tick, 100)
    }
    clock.setTimeout(tick, 100)
    expect(clock.runUntilIdle(10_000)).toBe(true)
    expect(n).toBe(5)
    expect(clock.now()).toBe(500)
  })

  it('runUntilIdle gives up at maxMs on a timer that re-arms forever', () => {
    const clock = new SimClock()
    let n = 0
    const tick = (): void => {
      n++
      clock.setTimeout(tick, 100)
    }
    clock.setTimeout(tick, 100)
    expect(clock.runUntilIdle(1000)).toBe(false)
    expect(n).toBe(10)
    expect(clock.now()).toBe(1000)
    expect(clock.pending).toBe(1)
  })

  it('keeps order across many random timers (heap check)', () => {
    const clock = new SimClock()
    const fired: number[] = []
    const dues = Array.from({ length: 500 }, (_, i) => (i * 7919) % 1000)
    for (const due of dues) clock.setTimeout(() => fired.push(clock.now()), due)
    clock.advance(1000)
    expect(fired).toEqual([...dues].sort((a, b) => a - b))
  })

  it('rejects going backwards', () => {
    const clock = new SimClock()
    expect(() => clock.advance(-1)).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
    expect(() => clock.runUntilIdle(Number.NaN)).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
  })
})

describe('real runtime', () => {
  it('realClock is monotonic', () => {
    const a = realClock.now()
    const b = realClock.now()
    expect(b).toBeGreaterThanOrEqual(a)
  })

  it('realTimer fires, and a cancelled one does not', async () => {
    let cancelledFired = false
    const cancel = realTimer.setTimeout(() => {
      cancelledFired = true
    }, 0)
    cancel()
    await new Promise<void>((resolve) => realTimer.setTimeout(resolve, 1))
    expect(cancelledFired).toBe(false)
  })
})
