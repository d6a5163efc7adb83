// demo/consensus/: the consensus panel, a live picture of one Synod room: who is in it and how they are linked, the
// Raft group's term, commit index and leader, message rates and sync latency. It uses the public API only (as an app
// would import 'synod') plus uPlot for the charts. This file mounts the panel and drives its refreshes; the drawing
// is in topology-view.ts and charts.ts, the maths in series.ts (pure, unit-tested).
import 'uplot/dist/uPlot.min.css'
import './panel.css'
import { InvalidOptionError, type Room, type RoomStats } from '../../src/index.js'
import { LiveChart } from './charts.js'
import { h } from '../dom.js'
import {
  formatMs,
  intervalMean,
  LATENCY_HISTOGRAM,
  latencySummary,
  linksSummary,
  percentilesText,
  PointRing,
  quorumLine,
  raftLine,
  RATE_SERIES,
  ratesBetween,
  ratesSummary,
  superPeerLines,
  type MetricsSample,
} from './series.js'
import { createTopologyView } from './topology-view.js'

export interface ConsensusPanelOptions {
  /** How often the panel samples `room.stats()` and adds a chart point, in ms. Default 1000. */
  readonly intervalMs?: number
}

/** Points each chart keeps: a minute at the default interval. */
const POINTS = 60
/** Member events come in bursts (a join updates several rows); redraw at most this often for them. */
const MIN_RENDER_GAP_MS = 250

/**
 * Fills `root` (an empty element the caller owns) with the panel and keeps it live. Returns the unmount function,
 * which stops every timer, listener and observer the panel started and empties `root`; calling it twice is harmless.
 */
export function mountConsensusPanel(root: HTMLElement, room: Room, options: ConsensusPanelOptions = {}): () => void {
  const intervalMs = options.intervalMs ?? 1000
  if (!Number.isFinite(intervalMs) || intervalMs < 50) {
    throw new InvalidOptionError(`intervalMs must be a number ≥ 50, got ${intervalMs}`)
  }

  const topology = createTopologyView()
  const raft = h('p', { class: 'cp-raft', 'data-testid': 'raft-line' })
  const quorum = h('p', { class: 'cp-quorum', 'data-testid': 'quorum-line' })
  const superPeers = h('ul', { class: 'cp-supers', 'aria-label': 'Super-peers', 'data-testid': 'super-peers' })
  const links = h('p', { class: 'cp-links', 'data-testid': 'links-summary' })
  const latency = new LiveChart({
    title: 'Sync latency (ms)',
    testId: 'latency-chart',
    lines: [{ label: 'mean', colorVar: '--cp-series-1' }],
    format: formatMs,
    // Intervals without a confirmed sync are gaps: dots keep isolated points visible.
    points: true,
  })
  const rates = new LiveChart({
    title: 'Messages per second',
    testId: 'rates-chart',
    lines: RATE_SERIES.map((s, i) => ({ label: s.label, colorVar: `--cp-series-${i + 1}` })),
    format: (v) => (v < 10 ? v.toFixed(1) : String(Math.round(v))),
  })

  root.classList.add('consensus-panel')
  root.replaceChildren(
    h(
      'div',
      { class: 'cp-layout' },
      h('div', { class: 'cp-col' }, topology.graph, links),
      h('div', { class: 'cp-col' }, raft, quorum, superPeers, topology.table),
      h('div', { class: 'cp-col cp-charts' }, latency.element, rates.element),
    ),
  )

  /** The readings of the chart window, oldest first: one more than the points, as each point spans two readings. */
  const samples: MetricsSample[] = []
  const latencyPoints = new PointRing(POINTS, 1)
  const ratePoints = new PointRing(POINTS, RATE_SERIES.length)
  let lastRates: number[] | null = null

  let lastRenderAt = -Infinity
  let pendingRender: ReturnType<typeof setTimeout> | undefined

  function renderRoom(stats: RoomStats = room.stats()): void {
    lastRenderAt = performance.now()
    const t = room.topology()
    topology.update(t, stats.ordering)
    links.textContent = linksSummary(t)
    raft.textContent = raftLine(stats.ordering, t)
    const q = quorumLine(stats.ordering.health)
    quorum.textContent = q ?? ''
    quorum.hidden = q === null
    const lines = superPeerLines(stats.ordering, t)
    superPeers.replaceChildren(...lines.map((line) => h('li', {}, line)))
    superPeers.hidden = lines.length === 0
  }

  function sample(): void {
    const stats = room.stats()
    const next: MetricsSample = { atMs: performance.now(), metrics: stats.metrics }
    const prev = samples[samples.length - 1]
    samples.push(next)
    if (samples.length > POINTS + 1) samples.shift()
    renderRoom(stats)
    if (prev !== undefined) {
      // Unix seconds, as uPlot's time axis wants; elapsed time comes from the monotonic clock above.
      const x = Date.now() / 1000
      const h = LATENCY_HISTOGRAM
      latencyPoints.push(x, [intervalMean(prev.metrics.histograms[h], next.metrics.histograms[h])])
      lastRates = ratesBetween(prev, next)
      ratePoints.push(x, lastRates ?? RATE_SERIES.map(() => null))
    }
    latency.update(
      latencyPoints.columns(),
      latencySummary(samples[0], samples[samples.length - 1]),
      percentilesText(stats.metrics.histograms[LATENCY_HISTOGRAM]),
    )
    rates.update(ratePoints.columns(), ratesSummary(lastRates))
  }

  /** A member changed: redraw the room soon, at most once per MIN_RENDER_GAP_MS, and never twice for one burst. */
  function requestRender(): void {
    if (pendingRender !== undefined) return
    const wait = Math.max(0, lastRenderAt + MIN_RENDER_GAP_MS - performance.now())
    pendingRender = setTimeout(() => {
      pendingRender = undefined
      renderRoom()
    }, wait)
  }

  const unsubscribe = [
    room.on('member:join', requestRender),
    room.on('member:leave', requestRender),
    room.on('member:update', requestRender),
  ]
  sample()
  const interval = setInterval(sample, intervalMs)

  let mounted = true
  return () => {
    if (!mounted) return
    mounted = false
    clearInterval(interval)
    clearTimeout(pendingRender)
    for (const off of unsubscribe) off()
    latency.destroy()
    rates.destroy()
    root.replaceChildren()
    root.classList.remove('consensus-panel')
  }
}
