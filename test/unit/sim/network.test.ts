import { describe, expect, it } from 'vitest'
import { SimClock } from '../../../src/runtime/index.js'
import { SimNetwork, type SimNetworkOptions } from '../../../src/sim/index.js'

interface Arrival {
  at: number
  from: string
  to: string
  msg: number
}

function setup(options: Partial<SimNetworkOptions<number>> = {}) {
  const clock = new SimClock()
  const got: Arrival[] = []
  const net = new SimNetwork<number>({
    seed: 1,
    clock,
    timer: clock,
    deliver: (to, msg, from) => got.push({ at: clock.now(), from, to, msg }),
    ...options,
  })
  return { clock, net, got }
}

/** Pairs (i, j), i < j in send order, that arrived in the opposite order. */
function inversions(msgs: readonly number[]): number {
  let count = 0
  for (let i = 1; i < msgs.length; i++) if ((msgs[i] as number) < (msgs[i - 1] as number)) count++
  return count
}

function expectBalanced(net: SimNetwork<number>) {
  const s = net.stats()
  expect(s.sent + s.duplicated).toBe(s.delivered + s.dropped.total + s.inFlight)
}

describe('SimNetwork delivery', () => {
  it('delivers each message once, after a delay within [min, max], with its sender', () => {
    const { clock, net, got } = setup({ defaults: { minDelayMs: 5, maxDelayMs: 20 } })
    // One sender per message, so no link's FIFO order holds one back and the delays show as drawn.
    for (let i = 0; i < 200; i++) net.send(`s${i}`, 'b', i)
    expect(got).toEqual([])
    clock.advance(4.99)
    expect(got).toEqual([])
    clock.advance(100)
    expect(got.map((g) => g.msg).sort((x, y) => x - y)).toEqual([...Array(200).keys()])
    for (const g of got) {
      expect(g).toMatchObject({ from: `s${g.msg}`, to: 'b' })
      expect(g.at).toBeGreaterThanOrEqual(5)
      expect(g.at).toBeLessThanOrEqual(20)
    }
    // Uniform: both ends of the range are reached, and the mean is near the middle.
    expect(Math.min(...got.map((g) => g.at))).toBeLessThan(6)
    expect(Math.max(...got.map((g) => g.at))).toBeGreaterThan(19)
    const mean = got.reduce((sum, g) => sum + g.at, 0) / got.length
    expect(mean).toBeGreaterThan(11.5)
    expect(mean).toBeLessThan(13.5)
    expect(net.stats()).toMatchObject({ sent: 200, delivered: 200, inFlight: 0, dropped: { total: 0 } })
  })

  it('hands over the sender’s object without copying it', () => {
    const clock = new SimClock()
    const received: object[] = []
    const net = new SimNetwork<object>({ seed: 1, clock, timer: clock, deliver: (_to, msg) => received.push(msg) })
    const msg = { hello: 'world' }
    net.send('a', 'b', msg)
    clock.advance(100)
    expect(received[0]).toBe(msg)
  })

  it('replays the same trace for the same seed and a different one for another seed', () => {
    const trace = (seed: number) => {
      const { clock, net, got } = setup({
        seed,
        defaults: { loss: 0.1, duplicate: 0.1, reorder: 0.2, delayDistribution: 'long-tail', maxDelayMs: 30 },
      })
      for (let i = 0; i < 300; i++) {
        net.send(['a', 'b', 'c'][i % 3] as string, ['b', 'c', 'a'][i % 3] as string, i)
        clock.advance(0.7)
      }
      clock.advance(1000)
      return got
    }
    const first = trace(7)
    expect(first.length).toBeGreaterThan(200)
    expect(trace(7)).toEqual(first)
    expect(trace(8)).not.toEqual(first)
  })

  it('gives each sender its own random stream: other traffic does not change its delays', () => {
    const timesFromA = (withOtherTraffic: boolean) => {
      const { clock, net, got } = setup()
      for (let i = 0; i < 50; i++) {
        if (withOtherTraffic) net.send('c', 'b', -i)
        net.send('a', 'b', i)
        clock.advance(3)
      }
      clock.advance(100)
      return got.filter((g) => g.from === 'a').map((g) => g.at)
    }
    expect(timesFromA(true)).toEqual(timesFromA(false))
  })

  it('draws long-tail delays mostly near the minimum, all within the bounds', () => {
    const { clock, net, got } = setup({ defaults: { minDelayMs: 0, maxDelayMs: 1000, delayDistribution: 'long-tail' } })
    // One sender per message, so that no link's FIFO order holds a message back behind a slower one.
    for (let i = 0; i < 4000; i++) net.send(`s${i}`, 'b', i)
    clock.advance(2000)
    const delays = got.map((g) => g.at).sort((x, y) => x - y)
    expect(delays).toHaveLength(4000)
    const median = delays[delays.length / 2] as number
    // u³: the median is at 1000/8 = 125 and one in ten is above 729.
    expect(median).toBeGreaterThan(90)
    expect(median).toBeLessThan(160)
    const slow = delays.filter((d) => d > 729).length / delays.length
    expect(slow).toBeGreaterThan(0.08)
    expect(slow).toBeLessThan(0.12)
    expect(Math.max(...delays)).toBeLessThanOrEqual(1000)
  })
})

describe('SimNetwork faults', () => {
  it('loses about `loss` of the messages (10% ± 1.5% over 10 000)', () => {
    const { clock, net, got } = setup({ seed: 3, defaults: { loss: 0.1 } })
    for (let i = 0; i < 10_000; i++) net.send('a', 'b', i)
    clock.advance(100)
    const lost = 10_000 - got.length
    // σ = √(10 000 · 0.1 · 0.9) = 30; ±150 is 5σ.
    expect(lost).toBeGreaterThan(850)
    expect(lost).toBeLessThan(1150)
    expect(net.stats().dropped).toMatchObject({ loss: lost, total: lost })
    expectBalanced(net)
  })

  it('duplicates about `duplicate` of the messages, each copy delivered', () => {
    const { clock, net, got } = setup({ seed: 4, defaults: { duplicate: 0.2 } })
    for (let i = 0; i < 5000; i++) net.send('a', 'b', i)
    clock.advance(100)
    const { duplicated, delivered } = net.stats()
    expect(duplicated).toBeGreaterThan(850)
    expect(duplicated).toBeLessThan(1150)
    expect(delivered).toBe(5000 + duplicated)
    const counts = new Map<number, number>()
    for (const g of got) counts.set(g.msg, (counts.get(g.msg) ?? 0) + 1)
    expect(counts.size).toBe(5000)
    expect([...counts.values()].filter((c) => c === 2)).toHaveLength(duplicated)
    expect(Math.max(...counts.values())).toBe(2)
  })

  it('keeps each link FIFO when reorder is 0, even with random delays', () => {
    const { clock, net, got } = setup({ defaults: { minDelayMs: 1, maxDelayMs: 50 } })
    for (let i = 0; i < 500; i++) {
      net.send('a', 'b', i)
      net.send('c', 'b', i)
      clock.advance(0.5)
    }
    clock.advance(100)
    expect(inversions(got.filter((g) => g.from === 'a').map((g) => g.msg))).toBe(0)
    expect(inversions(got.filter((g) => g.from === 'c').map((g) => g.msg))).toBe(0)
    // The two links do interleave: FIFO is per link, not global.
    expect(got.slice(0, 50).some((g) => g.from === 'c')).toBe(true)
  })

  it('keeps FIFO with a constant delay, including messages sent at the same instant', () => {
    const { clock, net, got } = setup({ defaults: { minDelayMs: 7, maxDelayMs: 7 } })
    for (let i = 0; i < 100; i++) net.send('a', 'b', i)
    clock.advance(7)
    expect(got.map((g) => g.msg)).toEqual([...Array(100).keys()])
    expect(new Set(got.map((g) => g.at))).toEqual(new Set([7]))
  })

  it('reorders only when enabled', () => {
    const { clock, net, got } = setup({ defaults: { minDelayMs: 1, maxDelayMs: 5, reorder: 0.2, reorderDelayMs: 20 } })
    for (let i = 0; i < 500; i++) {
      net.send('a', 'b', i)
      clock.advance(1)
    }
    clock.advance(100)
    expect(got).toHaveLength(500)
    expect(inversions(got.map((g) => g.msg))).toBeGreaterThan(20)
  })

  it('drops messages across a partition, in both directions; nodes in no group are isolated', () => {
    const { clock, net, got } = setup()
    net.partition([['a', 'b'], ['c']])
    const pairs = [
      ['a', 'b'],
      ['b', 'a'],
      ['a', 'c'],
      ['c', 'a'],
      ['b', 'c'],
      ['d', 'a'],
      ['a', 'd'],
      ['d', 'e'],
    ] as const
    pairs.forEach(([from, to], i) => net.send(from, to, i))
    clock.advance(100)
    expect(got.map((g) => `${g.from}${g.to}`).sort()).toEqual(['ab', 'ba'])
    expect(net.stats().dropped.partition).toBe(6)
    expect(net.connected('c', 'a')).toBe(false)
    expect(net.connected('a', 'c')).toBe(false)
    expect(net.connected('a', 'a')).toBe(true)
    expect(() => net.partition([['a'], ['a', 'b']])).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
  })

  it('cuts one direction only', () => {
    const { clock, net, got } = setup()
    net.cut('a', 'b')
    net.send('a', 'b', 1)
    net.send('b', 'a', 2)
    net.send('a', 'c', 3)
    clock.advance(100)
    expect(got.map((g) => g.msg).sort()).toEqual([2, 3])
    expect(net.connected('a', 'b')).toBe(false)
    expect(net.connected('b', 'a')).toBe(true)
  })

  it('heals partitions, cuts and isolation', () => {
    const { clock, net, got } = setup()
    net.partition([['a'], ['b']])
    net.cut('c', 'd')
    net.isolate('e')
    net.heal()
    const pairs = [
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'a'],
      ['a', 'e'],
      ['x', 'a'],
    ] as const
    pairs.forEach(([from, to], i) => net.send(from, to, i))
    clock.advance(100)
    expect(got).toHaveLength(5)
  })

  it('isolates a node from everyone, both ways', () => {
    const { clock, net, got } = setup()
    net.isolate('a')
    net.send('a', 'b', 1)
    net.send('b', 'a', 2)
    net.send('b', 'c', 3)
    clock.advance(100)
    expect(got.map((g) => g.msg)).toEqual([3])
  })

  it('drops a message whose link is cut while it is in flight', () => {
    const { clock, net, got } = setup({ defaults: { minDelayMs: 10, maxDelayMs: 10 } })
    net.send('a', 'b', 1)
    net.send('b', 'a', 2)
    clock.advance(5)
    net.cut('a', 'b')
    clock.advance(10)
    expect(got.map((g) => g.msg)).toEqual([2])
    expect(net.stats().dropped.partition).toBe(1)
  })

  it('drops what is in flight to a node that goes down, even if it is back up on arrival', () => {
    const { clock, net, got } = setup({ defaults: { minDelayMs: 10, maxDelayMs: 10 } })
    net.send('a', 'b', 1)
    clock.advance(2)
    net.nodeDown('b')
    net.send('a', 'b', 2)
    clock.advance(2)
    net.nodeUp('b')
    net.send('a', 'b', 3)
    clock.advance(100)
    expect(got.map((g) => g.msg)).toEqual([3])
    expect(net.stats().dropped.down).toBe(2)
  })

  it('bounds the messages in flight per link and counts the overflow', () => {
    const { clock, net, got } = setup({ maxInFlightPerLink: 5 })
    for (let i = 0; i < 8; i++) net.send('a', 'b', i)
    net.send('a', 'c', 100)
    expect(net.inFlightOn('a', 'b')).toBe(5)
    expect(net.stats()).toMatchObject({ inFlight: 6, dropped: { overflow: 3 } })
    clock.advance(100)
    expect(got.map((g) => g.msg).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 100])
    expect(net.inFlightOn('a', 'b')).toBe(0)
    // Room again once the link drained.
    net.send('a', 'b', 9)
    clock.advance(100)
    expect(got.at(-1)?.msg).toBe(9)
    expectBalanced(net)
  })

  it('applies per-link overrides on top of the defaults', () => {
    const { clock, net, got } = setup()
    net.setLinkFaults('a', 'b', { loss: 1 })
    for (let i = 0; i < 20; i++) {
      net.send('a', 'b', i)
      net.send('b', 'a', i)
    }
    clock.advance(100)
    expect(got.every((g) => g.from === 'b')).toBe(true)
    expect(got).toHaveLength(20)
    // The override keeps its loss and follows the new default delay.
    net.setDefaults({ minDelayMs: 40, maxDelayMs: 40 })
    expect(net.linkFaults('a', 'b')).toMatchObject({ loss: 1, minDelayMs: 40 })
    net.setLinkFaults('a', 'b', null)
    expect(net.linkFaults('a', 'b')).toBe(net.defaults)
    const before = clock.now()
    net.send('a', 'b', 99)
    clock.advance(100)
    expect(got.at(-1)).toEqual({ at: before + 40, from: 'a', to: 'b', msg: 99 })
  })

  it('rejects invalid faults and options', () => {
    const invalid = expect.objectContaining({ name: 'InvalidOptionError' })
    expect(() => setup({ defaults: { loss: 1.5 } })).toThrow(invalid)
    expect(() => setup({ defaults: { minDelayMs: 10, maxDelayMs: 5 } })).toThrow(invalid)
    expect(() => setup({ defaults: { duplicate: Number.NaN } })).toThrow(invalid)
    expect(() => setup({ maxInFlightPerLink: 0 })).toThrow(invalid)
    const { net } = setup()
    expect(() => net.setDefaults({ reorder: -0.1 })).toThrow(invalid)
    expect(net.defaults.reorder).toBe(0)
  })

  it('keeps sent + duplicated = delivered + dropped + inFlight under every fault at once', () => {
    const { clock, net } = setup({
      maxInFlightPerLink: 3,
      defaults: { loss: 0.2, duplicate: 0.2, reorder: 0.2, maxDelayMs: 40 },
    })
    for (let i = 0; i < 2000; i++) {
      net.send(`n${i % 4}`, `n${(i * 7) % 5}`, i)
      if (i === 500) net.partition([['n0', 'n1'], ['n2', 'n3']])
      if (i === 1000) net.nodeDown('n1')
      if (i === 1500) net.heal()
      clock.advance(0.3)
      expectBalanced(net)
    }
    const mid = net.stats()
    expect(mid.inFlight).toBeGreaterThan(0)
    expect(mid.dropped.overflow).toBeGreaterThan(0)
    clock.advance(1000)
    expect(net.stats().inFlight).toBe(0)
    expectBalanced(net)
  })
})
