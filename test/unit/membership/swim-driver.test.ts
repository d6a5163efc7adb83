// The SWIM driver on an in-memory transport and a simulated clock: members meet through heartbeats (meet), a stopped
// member is suspected then declared dead, a goodbye is `left`, frames for another session are dropped, undecodable
// bytes and forged claims are reported as rejections, and the loss estimate follows the network.
import { describe, expect, it } from 'vitest'
import { encodeSwimMessage } from '../../../src/membership/swim/codec.js'
import { parseSwimMemberId, SwimDriver, swimMemberId, type SwimMemberEvent, type SwimRejectionEvent } from '../../../src/membership/swim/driver.js'
import { MetricsRegistry } from '../../../src/metrics/index.js'
import { seededRandom, SimClock } from '../../../src/runtime/index.js'
import { Writer } from '../../../src/transport/wire.js'
import { MemoryRaftHub } from '../../support/raft-transport-memory.js'

const PERIOD = 100

function cluster(ids: string[]) {
  const clock = new SimClock()
  const hub = new MemoryRaftHub()
  const events = new Map<string, SwimMemberEvent[]>()
  const rejections = new Map<string, SwimRejectionEvent[]>()
  const metrics = new Map<string, MetricsRegistry>()
  const drivers = new Map<string, SwimDriver>()
  ids.forEach((id, i) => {
    const m = new MetricsRegistry()
    const d = new SwimDriver({ self: id, session: 1, transport: hub.transport(id), timer: clock, random: seededRandom(i + 1), metrics: m, periodMs: PERIOD })
    events.set(id, [])
    rejections.set(id, [])
    d.on('member', (e) => events.get(id)?.push(e))
    d.on('rejection', (e) => rejections.get(id)?.push(e))
    metrics.set(id, m)
    drivers.set(id, d)
    d.start()
  })
  const run = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 5) {
      clock.advance(5)
      for (let k = 0; k < 4; k++) await Promise.resolve()
    }
  }
  const meetAll = (): void => {
    for (const a of ids) for (const b of ids) if (a !== b) drivers.get(a)?.meet(b, 1)
  }
  return { clock, hub, events, rejections, metrics, drivers, run, meetAll }
}

describe('SwimDriver', () => {
  it('names members <peer>/<session> and parses them back', () => {
    expect(swimMemberId('12D3Koo', 42)).toBe('12D3Koo/42')
    expect(parseSwimMemberId('12D3Koo/42')).toEqual({ peer: '12D3Koo', session: 42 })
    for (const bad of ['nosession', '/3', 'p/-1', 'p/1.5', 'p/x']) expect(parseSwimMemberId(bad)).toBeNull()
  })

  it('members meet, a stopped one is suspected then dead, a goodbye is left', async () => {
    const c = cluster(['a', 'b', 'c', 'd'])
    c.meetAll()
    await c.run(20 * PERIOD)
    expect(c.drivers.get('a')?.stats().members).toEqual({ alive: 3, suspect: 0, dead: 0, left: 0 })
    c.drivers.get('d')?.stop()
    await c.run(40 * PERIOD)
    for (const id of ['a', 'b', 'c']) {
      const states = (c.events.get(id) ?? []).filter((e) => e.peer === 'd').map((e) => e.state)
      expect(states).toEqual(['alive', 'suspect', 'dead'])
      expect(c.drivers.get(id)?.stateOf('d', 1)).toBe('dead')
    }
    c.drivers.get('c')?.leave()
    await c.run(10 * PERIOD)
    expect(c.drivers.get('a')?.stateOf('c', 1)).toBe('left')
    expect(c.drivers.get('b')?.stateOf('c', 1)).toBe('left')
    // Nobody alive was ever suspected in this lossless run.
    for (const id of ['a', 'b']) expect((c.events.get(id) ?? []).filter((e) => e.peer !== 'd' && e.state === 'suspect')).toEqual([])
  })

  it('drops frames for another session, reports undecodable bytes and forged claims', async () => {
    const c = cluster(['a', 'b'])
    c.meetAll()
    await c.run(5 * PERIOD)
    const frame = (to: number, bytes: Uint8Array): Uint8Array => new Writer().varuint(1).varuint(to).bytes(bytes).finish()
    c.hub.inject('b', 'a', frame(2, encodeSwimMessage({ type: 'ping', seq: 9, updates: [] })))
    c.hub.inject('b', 'a', new Uint8Array([1, 1, 9, 9]))
    c.hub.inject('b', 'a', frame(1, encodeSwimMessage({ type: 'ping', seq: 10, updates: [{ id: 'b/1', state: 'alive', incarnation: 5000, from: 'b/1' }] })))
    c.hub.inject('b', 'a', frame(1, encodeSwimMessage({ type: 'ping', seq: 11, updates: [{ id: 'a/1', state: 'dead', incarnation: 7, from: 'b/1' }] })))
    c.hub.inject('b', 'a', frame(1, encodeSwimMessage({ type: 'ping', seq: 12, updates: [{ id: 'x/1', state: 'dead', incarnation: 900, from: 'b/1' }] })))
    await c.run(PERIOD)
    const counters = c.metrics.get('a')?.snapshot().counters ?? {}
    expect(counters['swim.misaddressed']).toBe(1)
    expect(counters['swim.rejected']).toBe(1)
    expect(c.rejections.get('a')).toEqual([
      { peer: 'b', reason: 'undecodable' },
      { peer: 'b', reason: 'selfIncarnationTooHigh' },
      { peer: 'b', reason: 'incarnationTooHigh' },
    ])
    // The alive claim at 5000 is b's own (b speaks for itself) and is accepted; a stays alive at incarnation 0.
    expect(c.drivers.get('a')?.stats().incarnation).toBe(0)
  })

  it('cuts a full view too large for one message instead of failing to send it', async () => {
    const c = cluster(['a', 'b'])
    c.meetAll()
    await c.run(3 * PERIOD)
    // 900 members with long ids: a's push-pull view is far over 64 KiB.
    const many = Array.from({ length: 900 }, (_, i) => ({ id: `${'m'.repeat(100)}${i}/1`, state: 'alive' as const, incarnation: 0, from: 'b/1' }))
    const sync = (members: typeof many): Uint8Array => new Writer().varuint(1).varuint(1).bytes(encodeSwimMessage({ type: 'sync', members })).finish()
    for (let i = 0; i < many.length; i += 200) c.hub.inject('b', 'a', sync(many.slice(i, i + 200)))
    await c.run(30 * PERIOD)
    expect(c.drivers.get('a')?.stats().members.alive).toBeGreaterThan(800)
    // a kept sending: its joins and syncs went out cut, none was dropped as unencodable.
    expect(c.metrics.get('a')?.snapshot().counters['swim.unencodable']).toBeUndefined()
    expect(c.metrics.get('a')?.snapshot().counters['swim.sent']).toBeGreaterThan(30)
  })

  it('estimates one-way loss from its probes', async () => {
    const c = cluster(['a', 'b', 'c'])
    c.meetAll()
    await c.run(30 * PERIOD)
    expect(c.drivers.get('a')?.observedLoss()).toBe(0)
    let n = 0
    c.hub.dropIf = (m) => m.from !== m.to && n++ % 5 === 0 // 20 % of every message
    await c.run(200 * PERIOD)
    const loss = c.drivers.get('a')?.observedLoss() ?? 0
    expect(loss).toBeGreaterThan(0.05)
    expect(loss).toBeLessThan(0.45)
  })
})
