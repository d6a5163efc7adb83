import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeStamped, encodeStamped, type OrderingCommand } from '../../../src/ordering/commands.js'
import { OrderedState, type OrderingEvent } from '../../../src/ordering/ordered-state.js'

let raft = 0
function apply(s: OrderedState, command: OrderingCommand, atMs = 0): ReturnType<OrderedState['apply']> {
  return s.apply(++raft, encodeStamped({ atMs, command }))
}

const append = (client: string, seq: number, value: unknown, log = 'l'): OrderingCommand => ({ type: 'append', log, client, seq, value })
const acquire = (client: string, seq: number, ttlMs = 1000, lock = 'k'): OrderingCommand => ({ type: 'acquire', lock, client, seq, ttlMs })
const release = (client: string, seq: number, token: number, lock = 'k'): OrderingCommand => ({ type: 'release', lock, client, seq, token })

describe('ordered logs', () => {
  it('numbers entries per log from 1 and reports them as events', () => {
    const s = new OrderedState()
    expect(apply(s, append('a', 1, 'x')).reply?.result).toEqual({ type: 'appended', log: 'l', index: 1 })
    expect(apply(s, append('b', 1, 'y')).reply?.result).toEqual({ type: 'appended', log: 'l', index: 2 })
    expect(apply(s, append('a', 2, 'z', 'other')).reply?.result).toEqual({ type: 'appended', log: 'other', index: 1 })
    expect(s.entries('l').entries.map((e) => e.value)).toEqual(['x', 'y'])
    expect(s.entries('l', 2).entries.map((e) => e.value)).toEqual(['y'])
  })

  it('applies a retried command once and answers it with the saved result', () => {
    const s = new OrderedState()
    apply(s, append('a', 1, 'x'))
    const again = apply(s, append('a', 1, 'x'))
    expect(again.reply?.result).toEqual({ type: 'appended', log: 'l', index: 1 })
    expect(again.events).toEqual([])
    expect(s.logLength('l')).toBe(1)
  })

  it('accepts one client’s commands out of order (pipelined appends), each once', () => {
    const s = new OrderedState()
    apply(s, append('a', 2, 'second'))
    apply(s, append('a', 1, 'first'))
    apply(s, append('a', 2, 'second'))
    expect(s.entries('l').entries.map((e) => e.value)).toEqual(['second', 'first'])
  })

  it('ignores a command below the client’s floor (its answer was already received)', () => {
    const s = new OrderedState()
    apply(s, append('a', 1, 'x'))
    s.setFloor('a', 2)
    expect(apply(s, append('a', 1, 'x')).reply).toBeUndefined()
    expect(s.logLength('l')).toBe(1)
  })

  it('skips a malformed entry without changing state', () => {
    const s = new OrderedState()
    const out = s.apply(7, new Uint8Array([1, 123, 34]))
    expect(out).toEqual({ events: [] })
    expect(s.appliedIndex).toBe(7)
  })

  it('snapshots and restores to the same state, keeping only the retained entries', () => {
    const s = new OrderedState({ retainEntries: 3 })
    for (let i = 1; i <= 5; i++) apply(s, append('a', i, i))
    const r = OrderedState.restore(JSON.parse(JSON.stringify(s.snapshot())) as ReturnType<OrderedState['snapshot']>, { retainEntries: 3 })
    expect(r.entries('l')).toEqual({ first: 3, entries: s.entries('l', 3).entries })
    expect(r.logLength('l')).toBe(5)
    expect(apply(r, append('b', 1, 6)).reply?.result).toEqual({ type: 'appended', log: 'l', index: 6 })
    // Sessions survive too: a retry after restore is still recognised.
    expect(apply(r, append('a', 5, 5)).reply?.result).toEqual({ type: 'appended', log: 'l', index: 5 })
  })
})

describe('locks', () => {
  it('grants a free lock with a token, queues others, hands over on release', () => {
    const s = new OrderedState()
    const g = apply(s, acquire('a', 1)).reply?.result
    expect(g).toMatchObject({ type: 'granted' })
    const tokenA = (g as { token: number }).token
    expect(apply(s, acquire('b', 1)).reply?.result).toEqual({ type: 'queued', position: 1 })
    const out = apply(s, release('a', 2, tokenA))
    expect(out.reply?.result).toEqual({ type: 'released' })
    const granted = out.events.find((e): e is Extract<OrderingEvent, { type: 'granted' }> => e.type === 'granted')
    expect(granted?.grant.holder).toBe('b')
    expect(granted?.grant.token).toBeGreaterThan(tokenA)
    expect(s.holder('k')?.holder).toBe('b')
  })

  it('refuses a release with a stale token or by another client', () => {
    const s = new OrderedState()
    const t = (apply(s, acquire('a', 1)).reply?.result as { token: number }).token
    expect(apply(s, release('b', 1, t)).reply?.result).toEqual({ type: 'notHolder' })
    expect(apply(s, release('a', 2, t - 1)).reply?.result).toEqual({ type: 'notHolder' })
    expect(s.holder('k')?.holder).toBe('a')
  })

  it('expires a lease by the log’s time, never by a local clock, and grants the next waiter', () => {
    const s = new OrderedState()
    apply(s, acquire('a', 1, 1000), 10_000)
    apply(s, acquire('b', 1, 1000), 10_500)
    expect(s.holder('k')?.holder).toBe('a')
    const out = apply(s, { type: 'clock', nowMs: 11_000 }, 11_000)
    expect(out.events.map((e) => e.type)).toEqual(['freed', 'granted'])
    expect(s.holder('k')).toMatchObject({ holder: 'b', expiresAtMs: 12_000 })
    // A retried acquire by b is answered with its grant.
    expect(apply(s, acquire('b', 1, 1000), 11_000).reply?.result).toMatchObject({ type: 'granted' })
  })

  it('log time never goes backwards (a new leader with a slower clock cannot extend leases)', () => {
    const s = new OrderedState()
    apply(s, acquire('a', 1, 1000), 5000)
    apply(s, append('c', 1, 'x'), 4000)
    expect(s.timeMs).toBe(5000)
  })

  it('reports the earliest lease end among held locks', () => {
    const s = new OrderedState()
    expect(s.nextExpiry()).toBeNull()
    apply(s, acquire('a', 1, 5000, 'k1'), 1000)
    apply(s, acquire('b', 1, 2000, 'k2'), 1000)
    expect(s.nextExpiry()).toBe(3000)
    apply(s, { type: 'clock', nowMs: 3000 }, 3000)
    expect(s.nextExpiry()).toBe(6000)
  })

  it('withdraws a queued acquire with token 0', () => {
    const s = new OrderedState()
    const t = (apply(s, acquire('a', 1)).reply?.result as { token: number }).token
    apply(s, acquire('b', 1))
    expect(apply(s, release('b', 2, 0)).reply?.result).toEqual({ type: 'released' })
    const out = apply(s, release('a', 2, t))
    expect(out.events.some((e) => e.type === 'granted')).toBe(false)
  })

  it('never has two holders and tokens strictly increase (random commands)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ c: fc.constantFrom('a', 'b', 'c'), op: fc.constantFrom('acq', 'rel', 'tick'), dt: fc.nat(600) }), { maxLength: 80 }),
        (ops) => {
          const s = new OrderedState()
          let now = 0
          const seq = new Map<string, number>()
          let lastToken = 0
          for (const { c, op, dt } of ops) {
            now += dt
            const n = (seq.get(c) ?? 0) + 1
            seq.set(c, n)
            let out
            if (op === 'acq') out = apply(s, acquire(c, n, 500), now)
            else if (op === 'rel') out = apply(s, release(c, n, s.holder('k')?.holder === c ? (s.holder('k')?.token ?? 1) : 1), now)
            else out = apply(s, { type: 'clock', nowMs: now }, now)
            for (const e of out.events) {
              if (e.type !== 'granted') continue
              expect(e.grant.token).toBeGreaterThan(lastToken)
              lastToken = e.grant.token
            }
            const h = s.holder('k')
            if (h !== null) expect(h.expiresAtMs).toBeGreaterThan(s.timeMs)
          }
        },
      ),
    )
  })
})

describe('command encoding', () => {
  it('round-trips every command', () => {
    for (const command of [append('a', 1, { x: [1, 'y'] }), acquire('a', 2), release('a', 3, 9), { type: 'clock', nowMs: 5 } as const]) {
      expect(decodeStamped(encodeStamped({ atMs: 3, command }))).toEqual({ atMs: 3, command })
    }
  })

  it('rejects malformed bytes with DecodeError only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeStamped(bytes)
        } catch (err) {
          expect((err as Error).name).toBe('DecodeError')
        }
      }),
    )
    const bad = (o: unknown): Uint8Array => new Uint8Array([1, ...new TextEncoder().encode(JSON.stringify(o))])
    expect(() => decodeStamped(bad({ t: 1, c: { type: 'append', log: '', client: 'a', seq: 1, value: 1 } }))).toThrow(/log/)
    expect(() => decodeStamped(bad({ t: 1, c: { type: 'acquire', lock: 'k', client: 'a', seq: 1, ttlMs: 0 } }))).toThrow(/ttlMs/)
    expect(() => decodeStamped(bad({ t: -1, c: { type: 'clock', nowMs: 1 } }))).toThrow(/time/)
    expect(() => decodeStamped(bad({ t: 1, c: { type: 'nope' } }))).toThrow(/unknown/)
    expect(() => decodeStamped(new Uint8Array([2, 123, 125]))).toThrow(/version/)
  })

  it('refuses to encode what it could not decode', () => {
    expect(() => encodeStamped({ atMs: 0, command: append('a', 1, undefined) })).toThrow(/value/)
    expect(() => encodeStamped({ atMs: 0, command: append('a', 1, 'x'.repeat(300_000)) })).toThrow(/bytes/)
  })
})
