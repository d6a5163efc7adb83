import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { SimClock } from '../../../src/runtime/index.js'
import { sleep } from '../../../src/transport/sleep.js'

describe('sleep', () => {
  it('resolves once the time has passed', async () => {
    const clock = new SimClock()
    let done = false
    const p = sleep(100, undefined, clock).then(() => {
      done = true
    })
    clock.advance(99)
    await Promise.resolve()
    expect(done).toBe(false)
    clock.advance(1)
    await p
    expect(done).toBe(true)
  })

  it('resolves with the real timer', async () => {
    await expect(sleep(1)).resolves.toBeUndefined()
  })

  it('rejects at once with AbortError when the signal is already aborted', async () => {
    const clock = new SimClock()
    const controller = new AbortController()
    controller.abort('gone')
    await expect(sleep(100, controller.signal, clock)).rejects.toMatchObject({ name: 'AbortError', cause: 'gone' })
    expect(clock.pending).toBe(0)
  })

  it('rejects with AbortError when aborted while waiting, and clears its timer', async () => {
    const clock = new SimClock()
    const controller = new AbortController()
    const p = sleep(1000, controller.signal, clock)
    expect(clock.pending).toBe(1)
    controller.abort(new Error('stop'))
    await expect(p).rejects.toMatchObject({ name: 'AbortError' })
    expect(clock.pending).toBe(0)
  })

  it('removes its abort listener when it resolves, so a long-lived signal does not collect them', async () => {
    const clock = new SimClock()
    const controller = new AbortController()
    const p = sleep(10, controller.signal, clock)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    clock.advance(10)
    await p
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })
})
