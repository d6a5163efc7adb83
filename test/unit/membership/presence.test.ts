import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PresenceState, type PresenceSend } from '../../../src/membership/presence.js'
import { SimClock } from '../../../src/runtime/sim-clock.js'

const THROTTLE = 50

interface Harness {
  readonly clock: SimClock
  readonly sent: PresenceSend[]
  readonly presence: PresenceState
}

function harness(options: { throttleMs?: number; maxBytes?: number } = {}): Harness {
  const clock = new SimClock(1_000)
  const sent: PresenceSend[] = []
  const presence = new PresenceState(
    { throttleMs: options.throttleMs ?? THROTTLE, maxBytes: options.maxBytes ?? 1024 },
    clock,
    clock,
    (msg) => sent.push(msg),
  )
  return { clock, sent, presence }
}

function caught(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected an error, nothing was thrown')
}

describe('PresenceState: sending', () => {
  it('sends on the first set, at once', () => {
    const { sent, presence } = harness()
    expect(presence.set({ x: 1 })).toBe(true)
    expect(sent).toEqual([{ version: 1, json: '{"x":1}' }])
    expect(presence.local()).toEqual({ x: 1 })
    expect(presence.localVersion).toBe(1)
  })

  it('sends nothing for an unchanged value', () => {
    const { clock, sent, presence } = harness()
    presence.set({ x: 1 })
    clock.advance(THROTTLE * 3)
    expect(presence.set({ x: 1 })).toBe(false)
    clock.advance(THROTTLE * 3)
    expect(sent).toHaveLength(1)
    expect(presence.localVersion).toBe(1)
  })

  it('sends a burst of 100 sets within one throttle window as at most 2 messages, the last one latest', () => {
    const { clock, sent, presence } = harness()
    for (let i = 0; i < 100; i++) {
      presence.set({ cursor: i })
      clock.advance(THROTTLE / 200) // 100 sets take half a window
    }
    expect(sent.length).toBeLessThanOrEqual(2)
    clock.advance(THROTTLE * 2)
    expect(sent.length).toBeGreaterThanOrEqual(1)
    expect(sent.length).toBeLessThanOrEqual(2)
    expect(sent.at(-1)).toEqual({ version: 100, json: '{"cursor":99}' })
    expect(clock.pending).toBe(0)
  })

  it('under random sets and pauses, sends are throttled, versions increase, and the latest value is sent last', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 120 })), {
          minLength: 1,
          maxLength: 60,
        }),
        (steps) => {
          const { clock, sent, presence } = harness()
          const sentAt: number[] = []
          const record = sent.push.bind(sent)
          sent.push = (...msgs: PresenceSend[]) => {
            sentAt.push(clock.now())
            return record(...msgs)
          }
          for (const [value, pause] of steps) {
            presence.set(value)
            clock.advance(pause)
          }
          clock.runUntilIdle(THROTTLE * 2)
          for (let i = 1; i < sent.length; i++) {
            expect(sentAt[i]! - sentAt[i - 1]!).toBeGreaterThanOrEqual(THROTTLE)
            expect(sent[i]!.version).toBeGreaterThan(sent[i - 1]!.version)
          }
          expect(sent.at(-1)).toEqual({ version: presence.localVersion, json: JSON.stringify(steps.at(-1)![0]) })
        },
      ),
    )
  })

  it('rejects a value over maxBytes with MessageTooLargeError and changes nothing', () => {
    const { clock, sent, presence } = harness({ maxBytes: 20 })
    presence.set('ok')
    const err = caught(() => presence.set('x'.repeat(19))) // 21 bytes of JSON
    expect(err.name).toBe('MessageTooLargeError')
    expect(err).toMatchObject({ size: 21, limit: 20 })
    expect(presence.local()).toBe('ok')
    expect(presence.localVersion).toBe(1)
    clock.advance(THROTTLE * 3)
    expect(sent).toEqual([{ version: 1, json: '"ok"' }])
    // Exactly at the limit is fine.
    expect(presence.set('x'.repeat(18))).toBe(true)
  })

  it('an over-limit set while a send is pending does not change what is sent', () => {
    const { clock, sent, presence } = harness({ maxBytes: 20 })
    presence.set(1)
    presence.set(2) // pending: within the window
    expect(caught(() => presence.set('y'.repeat(30))).name).toBe('MessageTooLargeError')
    clock.advance(THROTTLE)
    expect(sent).toEqual([
      { version: 1, json: '1' },
      { version: 2, json: '2' },
    ])
  })

  it('counts the limit in UTF-8 bytes', () => {
    const { presence } = harness({ maxBytes: 10 })
    // '"éééé"' is 6 characters but 10 bytes; one more 'é' is 12 bytes.
    expect(presence.set('éééé')).toBe(true)
    expect(caught(() => presence.set('ééééé')).name).toBe('MessageTooLargeError')
  })

  it.each([
    ['a BigInt', 1n],
    ['an object holding a BigInt', { n: 1n }],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
  ])('throws for %s and changes nothing', (_, value) => {
    const { clock, sent, presence } = harness()
    presence.set('before')
    expect(() => presence.set(value)).toThrow(TypeError)
    expect(presence.local()).toBe('before')
    expect(presence.localVersion).toBe(1)
    clock.advance(THROTTLE * 3)
    expect(sent).toHaveLength(1)
  })

  it('throws for a cyclic value', () => {
    const { presence } = harness()
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => presence.set(cyclic)).toThrow(TypeError)
    expect(presence.localVersion).toBe(0)
  })

  it('treats undefined as null', () => {
    const { sent, presence } = harness()
    expect(presence.set(undefined)).toBe(true)
    expect(sent).toEqual([{ version: 1, json: 'null' }])
    expect(presence.set(null)).toBe(false)
  })

  it('resend() sends the current value again, subject to the throttle', () => {
    const { clock, sent, presence } = harness()
    presence.set({ x: 1 })
    clock.advance(10)
    presence.resend()
    expect(sent).toHaveLength(1) // still within the window
    clock.advance(THROTTLE - 10 - 1)
    expect(sent).toHaveLength(1)
    clock.advance(1)
    expect(sent).toEqual([
      { version: 1, json: '{"x":1}' },
      { version: 1, json: '{"x":1}' },
    ])
    clock.advance(THROTTLE * 2)
    presence.resend()
    expect(sent).toHaveLength(3) // outside the window: at once
    presence.resend()
    presence.resend()
    clock.advance(THROTTLE * 2)
    expect(sent).toHaveLength(4) // repeated resends inside one window collapse into one
  })

  it('resend() before any set sends nothing', () => {
    const { clock, sent, presence } = harness()
    presence.resend()
    clock.advance(THROTTLE * 2)
    expect(sent).toEqual([])
  })

  it('close() cancels a pending send', () => {
    const { clock, sent, presence } = harness()
    presence.set(1)
    presence.set(2)
    expect(clock.pending).toBe(1)
    presence.close()
    clock.advance(THROTTLE * 2)
    expect(sent).toHaveLength(1)
    expect(clock.pending).toBe(0)
  })
})

describe('PresenceState: receiving', () => {
  it('stores a value and returns it', () => {
    const { presence } = harness()
    expect(presence.receive('a', 1, 1, '{"x":1}')).toBe(true)
    expect(presence.get('a')).toEqual({ x: 1 })
    expect(presence.get('b')).toBeUndefined()
  })

  it('orders by (incarnation, version): older dropped, a newer incarnation wins even with a lower version', () => {
    const { presence } = harness()
    presence.receive('a', 5, 10, '"v10"')
    expect(presence.receive('a', 5, 9, '"v9"')).toBe(false)
    expect(presence.receive('a', 5, 10, '"again"')).toBe(false)
    expect(presence.receive('a', 4, 99, '"old incarnation"')).toBe(false)
    expect(presence.get('a')).toBe('v10')
    expect(presence.receive('a', 5, 11, '"v11"')).toBe(true)
    expect(presence.receive('a', 6, 1, '"reloaded"')).toBe(true)
    expect(presence.get('a')).toBe('reloaded')
  })

  it('keeps the greatest (incarnation, version) whatever the arrival order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 20 })), {
          minLength: 1,
          maxLength: 20,
          selector: ([i, v]) => `${i}/${v}`,
        }),
        (updates) => {
          const { presence } = harness()
          for (const [inc, ver] of updates) presence.receive('a', inc, ver, JSON.stringify(`${inc}/${ver}`))
          const [bi, bv] = [...updates].sort((x, y) => x[0] - y[0] || x[1] - y[1]).at(-1)!
          expect(presence.get('a')).toBe(`${bi}/${bv}`)
        },
      ),
    )
  })

  it('keeps members apart', () => {
    const { presence } = harness()
    presence.receive('a', 1, 5, '"a"')
    expect(presence.receive('b', 1, 1, '"b"')).toBe(true)
    expect(presence.get('a')).toBe('a')
    expect(presence.get('b')).toBe('b')
  })

  it('remove drops a member, so any later value is accepted', () => {
    const { presence } = harness()
    presence.receive('a', 3, 3, '"x"')
    expect(presence.remove('a')).toBe(true)
    expect(presence.remove('a')).toBe(false)
    expect(presence.get('a')).toBeUndefined()
    expect(presence.entries()).toEqual([])
    expect(presence.receive('a', 1, 1, '"back"')).toBe(true)
    expect(presence.get('a')).toBe('back')
  })

  it('null clears a value', () => {
    const { presence } = harness()
    presence.receive('a', 1, 1, '{"x":1}')
    expect(presence.receive('a', 1, 2, 'null')).toBe(true)
    expect(presence.get('a')).toBeUndefined()
    // The cleared value still has its version: a delayed older value must not come back.
    expect(presence.receive('a', 1, 1, '{"x":1}')).toBe(false)
    expect(presence.get('a')).toBeUndefined()
  })

  it('entries() lists what was received', () => {
    const { presence } = harness()
    presence.receive('a', 1, 1, '1')
    presence.receive('b', 1, 1, '[2]')
    expect(presence.entries()).toEqual([
      ['a', 1],
      ['b', [2]],
    ])
  })
})
