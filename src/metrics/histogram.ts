/**
 * Latency distributions in bounded memory, plus the exact helpers (`quantile`, `summarize`) that benches use on raw
 * samples. The histogram approximates what `summarize` would report for the same values.
 */
import { InvalidOptionError } from '../errors.js'

/** A latency summary in milliseconds; plain JSON-able data. Every field is 0 when nothing was recorded. */
export interface HistogramSnapshot {
  readonly count: number
  readonly min: number
  readonly max: number
  readonly mean: number
  readonly p50: number
  readonly p95: number
  readonly p99: number
}

const EMPTY: HistogramSnapshot = { count: 0, min: 0, max: 0, mean: 0, p50: 0, p95: 0, p99: 0 }

/**
 * Bucket i holds values in (γ^(i−1), γ^i] and reports them as 2γ^i/(γ+1), which is within α of every value in the
 * bucket (the DDSketch construction). α is a little under 1% so that rounding in `Math.log` near a bucket edge
 * cannot push the error over the advertised 1%.
 */
const ALPHA = 0.0099
const GAMMA = (1 + ALPHA) / (1 - ALPHA)
const LOG_GAMMA = Math.log(GAMMA)
/** Below this (1 ns) values count as 0: the absolute error is under 1 ns, far below any timer's resolution. */
const MIN_TRACKED_MS = 1e-6
/** Above this (2^40 ms, about 35 years) values share the top bucket; min and max stay exact regardless. */
const MAX_TRACKED_MS = 2 ** 40
const MIN_INDEX = bucketIndex(MIN_TRACKED_MS)
const MAX_INDEX = bucketIndex(MAX_TRACKED_MS)

function bucketIndex(v: number): number {
  return Math.ceil(Math.log(v) / LOG_GAMMA)
}

function bucketValue(index: number): number {
  return (2 * GAMMA ** index) / (GAMMA + 1)
}

/**
 * Records non-negative values (milliseconds) in log-scaled buckets. Percentiles are within 1% (relative) of the exact
 * linearly interpolated ones that `summarize` gives, for values ≥ 1 ns; `count`, `min`, `max` and `mean` are exact.
 * Memory is bounded by the bucket range: at most ~2,100 buckets however many values are recorded, and in practice a
 * few hundred (each bucket spans ~2%, so 1 µs to 1 h is ~1,100 buckets), allocated only when used.
 */
export class Histogram {
  private readonly buckets = new Map<number, number>()
  private zeroCount = 0
  private total = 0
  private sum = 0
  private minValue = Infinity
  private maxValue = -Infinity

  get count(): number {
    return this.total
  }

  /** Records one value. A negative, NaN or infinite value is a programmer error (e.g. a skewed clock) and throws. */
  record(v: number): void {
    if (!Number.isFinite(v) || v < 0) {
      throw new InvalidOptionError(`histogram values must be finite numbers >= 0, got ${v}`)
    }
    this.total++
    this.sum += v
    if (v < this.minValue) this.minValue = v
    if (v > this.maxValue) this.maxValue = v
    if (v < MIN_TRACKED_MS) {
      this.zeroCount++
      return
    }
    const index = Math.min(Math.max(bucketIndex(v), MIN_INDEX), MAX_INDEX)
    this.buckets.set(index, (this.buckets.get(index) ?? 0) + 1)
  }

  snapshot(): HistogramSnapshot {
    if (this.total === 0) return EMPTY
    const ranks = new RankIndex(this.zeroCount, this.buckets)
    const at = (q: number): number => {
      const rank = q * (this.total - 1)
      const lo = Math.floor(rank)
      const a = ranks.valueAt(lo)
      const b = ranks.valueAt(Math.min(lo + 1, this.total - 1))
      // Interpolating between two values each within 1% keeps the result within 1% of the exact interpolation;
      // clamping to the exact [min, max] can only move it closer to the truth.
      return Math.min(Math.max(a + (b - a) * (rank - lo), this.minValue), this.maxValue)
    }
    return {
      count: this.total,
      min: this.minValue,
      max: this.maxValue,
      mean: this.sum / this.total,
      p50: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
    }
  }
}

/** Answers "what is the k-th smallest recorded value (approximately)" from the bucket counts. */
class RankIndex {
  private readonly indices: number[]
  /** cumulative[i] = how many values lie in the zero bucket and buckets indices[0..i]. */
  private readonly cumulative: number[] = []

  constructor(
    private readonly zeroCount: number,
    buckets: ReadonlyMap<number, number>,
  ) {
    this.indices = [...buckets.keys()].sort((a, b) => a - b)
    let running = zeroCount
    for (const index of this.indices) {
      running += buckets.get(index) ?? 0
      this.cumulative.push(running)
    }
  }

  valueAt(rank: number): number {
    if (rank < this.zeroCount) return 0
    // Binary search for the first bucket whose cumulative count exceeds rank.
    let lo = 0
    let hi = this.indices.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((this.cumulative[mid] ?? 0) > rank) hi = mid
      else lo = mid + 1
    }
    return bucketValue(this.indices[lo] ?? MAX_INDEX)
  }
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of values sorted ascending, interpolating linearly between the two closest ranks
 * (numpy's default, "type 7"): rank = q·(n−1). Returns 0 for an empty array, like an empty snapshot.
 */
export function quantile(sortedValues: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new InvalidOptionError(`quantile q must be in [0, 1], got ${q}`)
  const n = sortedValues.length
  if (n === 0) return 0
  const rank = q * (n - 1)
  const lo = Math.floor(rank)
  const a = sortedValues[lo] ?? 0
  const b = sortedValues[Math.min(lo + 1, n - 1)] ?? 0
  return a + (b - a) * (rank - lo)
}

/** The exact snapshot of raw values (finite numbers, in any order); the input array is not modified. */
export function summarize(values: readonly number[]): HistogramSnapshot {
  if (values.length === 0) return EMPTY
  const sorted = [...values].sort((a, b) => a - b)
  let sum = 0
  for (const v of sorted) sum += v
  return {
    count: sorted.length,
    min: sorted[0] ?? 0,
    max: sorted[sorted.length - 1] ?? 0,
    mean: sum / sorted.length,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
  }
}
