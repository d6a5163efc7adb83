// demo/consensus/: the consensus panel, a live picture of one Synod room (topology, Raft, message rates, sync
// latency). It imports only the public API (src/index.ts) and uPlot. This file: the panel's pure maths and texts,
// with no DOM and no clock, so that the unit tests can pin them down.
import type { HistogramSnapshot, MetricsSnapshot, OrderingStats, Topology } from '../../src/index.js'
import { displayName, roleLabel } from '../dom.js'

/** One reading of the room's cumulative metrics, and when it was taken (ms on any monotonic clock). */
export interface MetricsSample {
  readonly atMs: number
  readonly metrics: MetricsSnapshot
}

/**
 * One line of the message-rate chart. `sources` are alternatives, best first: the first whose counters exist in the
 * newer snapshot is summed. Raft needs this: the driver counts `raft.messages_in/out` only on super-peers, while the
 * transport's `raft.received/sent` exist wherever a Raft group is followed.
 */
export interface RateSeries {
  readonly key: string
  readonly label: string
  readonly sources: readonly (readonly string[])[]
}

export const RATE_SERIES: readonly RateSeries[] = [
  { key: 'syncIn', label: 'sync in', sources: [['sync.received']] },
  { key: 'syncOut', label: 'sync out', sources: [['sync.sent']] },
  { key: 'membership', label: 'membership', sources: [['swim.received', 'swim.sent']] },
  { key: 'raft', label: 'Raft', sources: [['raft.messages_in', 'raft.messages_out'], ['raft.received', 'raft.sent']] },
  { key: 'presence', label: 'presence in', sources: [['presence.received']] },
]

export const LATENCY_HISTOGRAM = 'sync.latency_ms'

/**
 * How much a counter grew between two readings. A counter that went down was reset (a new registry starts at 0), so
 * what it holds now is all that happened since, as Prometheus' `rate()` assumes; a rate is never negative.
 */
export function counterDelta(before: number | undefined, after: number | undefined): number {
  const a = after ?? 0
  const b = before ?? 0
  return a >= b ? a - b : a
}

/** Per-second rates of each series between two readings, in RATE_SERIES order; null when no time has passed. */
export function ratesBetween(
  prev: MetricsSample,
  next: MetricsSample,
  series: readonly RateSeries[] = RATE_SERIES,
): number[] | null {
  const seconds = (next.atMs - prev.atMs) / 1000
  if (!(seconds > 0)) return null
  return series.map((s) => {
    const names = s.sources.find((names) => names.some((n) => n in next.metrics.counters)) ?? []
    let total = 0
    for (const n of names) total += counterDelta(prev.metrics.counters[n], next.metrics.counters[n])
    return total / seconds
  })
}

/**
 * The exact mean of the values a histogram recorded between two cumulative snapshots: the sums are mean × count, so
 * their difference over the count difference. Null when nothing new was recorded (no point, rather than a fake 0).
 * A count that went down means the histogram was reset, and everything it holds is then new.
 */
export function intervalMean(prev: HistogramSnapshot | undefined, next: HistogramSnapshot | undefined): number | null {
  if (next === undefined || next.count === 0) return null
  const base = prev === undefined || prev.count > next.count ? { count: 0, mean: 0 } : prev
  const added = next.count - base.count
  if (added <= 0) return null
  // Recorded values are ≥ 0; floating-point cancellation in the subtraction must not show a negative latency.
  return Math.max(0, (next.mean * next.count - base.mean * base.count) / added)
}

/** The last `capacity` points of a chart, one x and a fixed number of y columns, kept in a ring (bounded memory). */
export class PointRing {
  private readonly xs: number[] = []
  private readonly ys: (number | null)[][] = []
  private start = 0

  constructor(
    readonly capacity: number,
    readonly width: number,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be ≥ 1, got ${capacity}`)
    if (!Number.isSafeInteger(width) || width < 1) throw new RangeError(`width must be ≥ 1, got ${width}`)
  }

  get length(): number {
    return this.xs.length
  }

  push(x: number, ys: readonly (number | null)[]): void {
    if (ys.length !== this.width) throw new RangeError(`expected ${this.width} values, got ${ys.length}`)
    if (this.xs.length < this.capacity) {
      this.xs.push(x)
      this.ys.push([...ys])
      return
    }
    this.xs[this.start] = x
    this.ys[this.start] = [...ys]
    this.start = (this.start + 1) % this.capacity
  }

  /** Oldest first, as uPlot wants it: `[xs, ys of series 0, ys of series 1, …]`, fresh arrays each time. */
  columns(): [number[], ...(number | null)[][]] {
    const order = (i: number): number => (this.start + i) % this.xs.length
    const xs = this.xs.map((_, i) => this.xs[order(i)] ?? 0)
    const cols: (number | null)[][] = []
    for (let s = 0; s < this.width; s++) cols.push(this.xs.map((_, i) => this.ys[order(i)]?.[s] ?? null))
    return [xs, ...cols]
  }
}

export type TopologyNode = Topology['nodes'][number]

/** A peer's name in the room, or a short form of its id while its heartbeat (which carries the name) is missing. */
export function nameIn(topology: Topology, id: string): string {
  return displayName(topology.nodes.find((n) => n.id === id)?.name, id)
}

export interface LinkCount {
  readonly direct: number
  readonly relayed: number
}

/** Links of one peer (`id` given) or of the whole graph. */
export function countLinks(topology: Topology, id?: string): LinkCount {
  let direct = 0
  let relayed = 0
  for (const e of topology.edges) {
    if (id !== undefined && e.a !== id && e.b !== id) continue
    if (e.via === 'direct') direct++
    else relayed++
  }
  return { direct, relayed }
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

/** "3 direct links · 0 relayed" */
export function linksSummary(topology: Topology): string {
  const { direct, relayed } = countLinks(topology)
  return `${plural(direct, 'direct link')} · ${relayed} relayed`
}

/**
 * The leader's name: the member the topology shows as leader, else the one this peer's ordering stats name (heard
 * from the group before the leader's heartbeat arrived); null when there is none.
 */
export function leaderName(topology: Topology, ordering?: Pick<OrderingStats, 'leader'>): string | null {
  const node = topology.nodes.find((n) => n.role === 'leader')
  if (node !== undefined) return nameIn(topology, node.id)
  const id = ordering?.leader ?? null
  return id === null ? null : nameIn(topology, id)
}

/** The SVG's accessible name: "3 peers, 3 direct links, 0 relayed links, leader Ada-12". */
export function topologySummary(topology: Topology, ordering?: Pick<OrderingStats, 'leader'>): string {
  const { direct, relayed } = countLinks(topology)
  const leader = leaderName(topology, ordering)
  return [
    plural(topology.nodes.length, 'peer'),
    plural(direct, 'direct link'),
    plural(relayed, 'relayed link'),
    leader === null ? 'no leader' : `leader ${leader}`,
  ].join(', ')
}

/** "Raft term 3 · commit index 41 · leader Ada-12 · you are a super-peer" */
export function raftLine(ordering: OrderingStats, topology: Topology): string {
  const leader = ordering.leader === null ? 'no leader yet' : `leader ${nameIn(topology, ordering.leader)}`
  const you = ordering.role === 'leader' ? 'you are the leader' : `you are a ${roleLabel(ordering.role)}`
  return `Raft term ${ordering.term} · commit index ${ordering.commitIndex} · ${leader} · ${you}`
}

/** One line per super-peer: "Ada-12 (you) · leader", "Bob-33 · voter · lag 2". Lag is only known on the leader. */
export function superPeerLines(ordering: OrderingStats, topology: Topology): string[] {
  const lagKnown = ordering.role === 'leader'
  return ordering.superPeers.map((s) => {
    const you = s.id === topology.self ? ' (you)' : ''
    const lag = lagKnown && s.role !== 'leader' ? ` · lag ${s.lag}` : ''
    return `${nameIn(topology, s.id)}${you} · ${s.role}${lag}`
  })
}

/** "quorum: 3 voters, 3 live, tolerates 1 failure" (+ " · degraded (reason)") or null before a group exists. */
export function quorumLine(health: OrderingStats['health']): string | null {
  if (health === null) return null
  const tolerates = health.tolerates < 0 ? 'cannot commit' : `tolerates ${plural(health.tolerates, 'failure')}`
  const degraded = health.degraded ? ` · degraded${health.reason === undefined ? '' : ` (${health.reason})`}` : ''
  return `quorum: ${plural(health.voters, 'voter')}, ${health.liveVoters} live, ${tolerates}${degraded}`
}

export function formatMs(ms: number): string {
  return ms < 10 ? ms.toFixed(1) : String(Math.round(ms))
}

/** "the last 45 s" or "the last minute": how much history a chart window covers. */
export function windowText(seconds: number): string {
  const s = Math.round(seconds)
  return s >= 59 && s <= 61 ? 'the last minute' : `the last ${s} s`
}

/** "p50 12 ms · p95 30 ms (240 samples since start)", from the cumulative histogram. */
export function percentilesText(h: HistogramSnapshot | undefined): string {
  if (h === undefined || h.count === 0) return 'no confirmed syncs yet'
  return `p50 ${formatMs(h.p50)} ms · p95 ${formatMs(h.p95)} ms (${plural(h.count, 'sample')} since start)`
}

/** "sync latency 12 ms mean over the last minute", exact over the window from its first and last snapshots. */
export function latencySummary(first: MetricsSample | undefined, last: MetricsSample | undefined): string {
  if (first === undefined || last === undefined || last.atMs <= first.atMs) return 'sync latency: waiting for data'
  const window = windowText((last.atMs - first.atMs) / 1000)
  const mean = intervalMean(first.metrics.histograms[LATENCY_HISTOGRAM], last.metrics.histograms[LATENCY_HISTOGRAM])
  return mean === null ? `sync latency: no samples in ${window}` : `sync latency ${formatMs(mean)} ms mean over ${window}`
}

/** "messages per second: sync in 3.0, sync out 2.0, …", from the latest rates (RATE_SERIES order). */
export function ratesSummary(rates: readonly number[] | null, series: readonly RateSeries[] = RATE_SERIES): string {
  if (rates === null) return 'message rates: waiting for data'
  return `messages per second: ${series.map((s, i) => `${s.label} ${(rates[i] ?? 0).toFixed(1)}`).join(', ')}`
}
