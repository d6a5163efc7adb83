import { describe, expect, it } from 'vitest'
import type { HistogramSnapshot, MetricsSnapshot, OrderingStats, Topology } from '../../../src/index.js'
import {
  counterDelta,
  intervalMean,
  latencySummary,
  linksSummary,
  PointRing,
  raftLine,
  RATE_SERIES,
  ratesBetween,
  superPeerLines,
  topologySummary,
  type MetricsSample,
} from '../../../demo/consensus/series.js'

function hist(count: number, mean: number): HistogramSnapshot {
  return { count, mean, min: 0, max: 0, p50: 0, p95: 0, p99: 0 }
}

function sample(atMs: number, counters: Record<string, number>, latency?: HistogramSnapshot): MetricsSample {
  const metrics: MetricsSnapshot = { counters, histograms: latency === undefined ? {} : { 'sync.latency_ms': latency } }
  return { atMs, metrics }
}

const rateIndex = (key: string): number => RATE_SERIES.findIndex((s) => s.key === key)

describe('rates between two snapshots', () => {
  it('divides counter growth by the elapsed seconds and sums the in and out counters of a series', () => {
    const rates = ratesBetween(
      sample(1000, { 'sync.received': 10, 'swim.sent': 4, 'swim.received': 6 }),
      sample(3000, { 'sync.received': 16, 'swim.sent': 8, 'swim.received': 12 }),
    )
    expect(rates?.[rateIndex('syncIn')]).toBe(3)
    expect(rates?.[rateIndex('membership')]).toBe(5)
    // Absent on both sides: nothing happened.
    expect(rates?.[rateIndex('presence')]).toBe(0)
  })

  it('never goes negative when a counter is reset: what it holds now is what happened since', () => {
    expect(counterDelta(50, 7)).toBe(7)
    expect(counterDelta(50, undefined)).toBe(0)
    const rates = ratesBetween(sample(0, { 'sync.sent': 500 }), sample(1000, { 'sync.sent': 2 }))
    expect(rates?.[rateIndex('syncOut')]).toBe(2)
    for (const r of rates ?? []) expect(r).toBeGreaterThanOrEqual(0)
  })

  it('gives no rates when no time has passed (or the clock went back)', () => {
    expect(ratesBetween(sample(1000, {}), sample(1000, {}))).toBeNull()
    expect(ratesBetween(sample(1000, {}), sample(900, {}))).toBeNull()
  })

  it('counts Raft from the driver when it runs, else from the transport, never both', () => {
    const raft = rateIndex('raft')
    const both = ratesBetween(
      sample(0, { 'raft.messages_in': 0, 'raft.messages_out': 0, 'raft.received': 0, 'raft.sent': 0 }),
      sample(1000, { 'raft.messages_in': 3, 'raft.messages_out': 4, 'raft.received': 3, 'raft.sent': 4 }),
    )
    expect(both?.[raft]).toBe(7)
    const transportOnly = ratesBetween(sample(0, { 'raft.received': 1 }), sample(1000, { 'raft.received': 6, 'raft.sent': 1 }))
    expect(transportOnly?.[raft]).toBe(6)
  })
})

describe('interval mean latency', () => {
  it('is exact from two cumulative snapshots', () => {
    // 4 samples averaging 10, then 2 more of 40 and 60: the new ones average 50.
    expect(intervalMean(hist(4, 10), hist(6, (40 + 40 + 60) / 6))).toBeCloseTo(50, 9)
  })

  it('is null when nothing new was recorded, or the histogram is absent or empty', () => {
    expect(intervalMean(hist(6, 20), hist(6, 20))).toBeNull()
    expect(intervalMean(undefined, undefined)).toBeNull()
    expect(intervalMean(undefined, hist(0, 0))).toBeNull()
  })

  it('counts everything as new when the histogram first appears or was reset', () => {
    expect(intervalMean(undefined, hist(3, 12))).toBe(12)
    expect(intervalMean(hist(100, 80), hist(2, 5))).toBe(5)
  })

  it('never reports a negative latency from rounding', () => {
    const before = hist(3, 0.1 + 0.2)
    const after = hist(4, (3 * (0.1 + 0.2) + 0) / 4)
    expect(intervalMean(before, after)).toBeGreaterThanOrEqual(0)
  })

  it('summarises the whole window exactly, not as a mean of means', () => {
    const first = sample(0, {}, hist(10, 5))
    // 10 new samples of 5 and 30 new samples of 25 would average 20; a mean of the two interval means would say 15.
    const last = sample(60_000, {}, hist(50, (10 * 5 + 10 * 5 + 30 * 25) / 50))
    expect(latencySummary(first, last)).toBe('sync latency 20 ms mean over the last minute')
    expect(latencySummary(first, sample(30_000, {}, hist(10, 5)))).toBe('sync latency: no samples in the last 30 s')
  })
})

describe('PointRing', () => {
  it('keeps the last `capacity` points, oldest first, as uPlot columns', () => {
    const ring = new PointRing(3, 2)
    for (let i = 1; i <= 5; i++) ring.push(i, [i * 10, i % 2 === 0 ? null : i])
    expect(ring.length).toBe(3)
    expect(ring.columns()).toEqual([
      [3, 4, 5],
      [30, 40, 50],
      [3, null, 5],
    ])
  })

  it('returns copies, and rejects a point of the wrong width', () => {
    const ring = new PointRing(2, 1)
    ring.push(1, [1])
    const cols = ring.columns()
    cols[0]?.push(99)
    expect(ring.columns()[0]).toEqual([1])
    expect(() => ring.push(2, [1, 2])).toThrow(RangeError)
    expect(() => new PointRing(0, 1)).toThrow(RangeError)
  })
})

describe('topology texts', () => {
  const topology: Topology = {
    self: 'id-ada',
    nodes: [
      { id: 'id-ada', name: 'Ada-12', role: 'leader', state: 'alive', self: true, score: 0 },
      { id: 'id-bob', name: 'Bob-33', role: 'super', state: 'alive', self: false, score: 2 },
      { id: 'id-without-name-123456', name: '', role: 'peer', state: 'suspect', self: false, score: -1 },
    ],
    edges: [
      { a: 'id-ada', b: 'id-bob', via: 'direct' },
      { a: 'id-ada', b: 'id-without-name-123456', via: 'relayed' },
    ],
    relays: [],
  }
  const ordering: OrderingStats = {
    role: 'leader',
    term: 3,
    leader: 'id-ada',
    commitIndex: 41,
    appliedIndex: 41,
    superPeers: [
      { id: 'id-ada', role: 'leader', term: 3, match: 41, lag: 0 },
      { id: 'id-bob', role: 'voter', term: 3, match: 39, lag: 2 },
    ],
    health: null,
  }

  it('summarises the graph for its accessible name', () => {
    expect(topologySummary(topology)).toBe('3 peers, 1 direct link, 1 relayed link, leader Ada-12')
    const alone: Topology = { ...topology, nodes: topology.nodes.slice(0, 1).map((n) => ({ ...n, role: 'peer' })), edges: [] }
    expect(topologySummary(alone)).toBe('1 peer, 0 direct links, 0 relayed links, no leader')
    // The leader known only from the ordering stats (its heartbeat not yet in), named by a short id.
    expect(topologySummary(alone, { leader: 'id-unknown-abcdef' })).toContain('leader peer …abcdef')
  })

  it('writes the links summary and the Raft line', () => {
    expect(linksSummary(topology)).toBe('1 direct link · 1 relayed')
    expect(raftLine(ordering, topology)).toBe('Raft term 3 · commit index 41 · leader Ada-12 · you are the leader')
    expect(raftLine({ ...ordering, role: 'super', leader: null }, topology)).toBe(
      'Raft term 3 · commit index 41 · no leader yet · you are a super-peer',
    )
  })

  it('shows super-peer lag only where it is known (on the leader)', () => {
    expect(superPeerLines(ordering, topology)).toEqual(['Ada-12 (you) · leader', 'Bob-33 · voter · lag 2'])
    expect(superPeerLines({ ...ordering, role: 'super' }, topology)).toEqual(['Ada-12 (you) · leader', 'Bob-33 · voter'])
  })
})
