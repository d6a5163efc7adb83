/**
 * metrics/: counters and latency histograms that every layer reports into, and snapshots of them as plain JSON-able
 * data (for `room.stats()`, the relay's status and benches). Memory is bounded: histograms keep bucket counts, not
 * samples, and a registry caps how many names it holds.
 *
 * This folder imports nothing from other layers (only `src/errors.ts`).
 */
export { Counter } from './counter.js'
export { Histogram, type HistogramSnapshot, quantile, summarize } from './histogram.js'
export { MetricsRegistry, type MetricsRegistryOptions, type MetricsScope, type MetricsSnapshot } from './registry.js'
