/**
 * A simulated Clock and Timer for tests and simulations: time moves only when `advance` or `runUntilIdle` is called,
 * so a test that depends on timeouts runs instantly and the same way every time.
 */
import { InvalidOptionError } from '../errors.js'
import type { Clock } from './clock.js'
import type { Timer } from './timer.js'

interface Scheduled {
  readonly dueMs: number
  /** Insertion order, so that timers due at the same instant fire in the order they were set, as in browsers. */
  readonly seq: number
  readonly fn: () => void
  cancelled: boolean
}

export class SimClock implements Clock, Timer {
  private nowMs: number
  private nextSeq = 0
  private live = 0
  /** A binary min-heap ordered by (dueMs, seq); cancelled entries are dropped lazily when they reach the top. */
  private readonly heap: Scheduled[] = []

  constructor(startMs = 0) {
    assertFinite('startMs', startMs)
    this.nowMs = startMs
  }

  now(): number {
    return this.nowMs
  }

  /** The number of timers set and not yet fired or cancelled. */
  get pending(): number {
    return this.live
  }

  setTimeout(fn: () => void, ms: number): () => void {
    // Browsers and Node treat a negative or NaN delay as 0; do the same so simulated code behaves like real code.
    const delay = Number.isNaN(ms) || ms < 0 ? 0 : ms
    const entry: Scheduled = { dueMs: this.nowMs + delay, seq: this.nextSeq++, fn, cancelled: false }
    this.push(entry)
    this.live++
    return () => {
      if (entry.cancelled) return
      entry.cancelled = true
      this.live--
    }
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way (including ones set by the callbacks
   * themselves), each with `now()` equal to its due time. If a callback throws, the error propagates and time stays
   * at that timer's due time; the remaining timers are still pending.
   */
  advance(ms: number): void {
    assertNonNegative('ms', ms)
    const targetMs = this.nowMs + ms
    for (let entry = this.popDue(targetMs); entry !== undefined; entry = this.popDue(targetMs)) {
      this.fire(entry)
    }
    // A callback may itself have advanced the clock past targetMs; time never goes backwards.
    this.nowMs = Math.max(this.nowMs, targetMs)
  }

  /**
   * Fires timers in time order until none are left, but never moves time more than `maxMs` forward, so a timer that
   * keeps re-arming itself cannot loop forever. Returns true if no timers are pending afterwards. When it returns
   * true, `now()` is the due time of the last timer fired; when false, it is the start time plus `maxMs`.
   */
  runUntilIdle(maxMs: number): boolean {
    assertNonNegative('maxMs', maxMs)
    const limitMs = this.nowMs + maxMs
    for (let entry = this.popDue(limitMs); entry !== undefined; entry = this.popDue(limitMs)) {
      this.fire(entry)
    }
    if (this.live === 0) return true
    this.nowMs = Math.max(this.nowMs, limitMs)
    return false
  }

  private fire(entry: Scheduled): void {
    entry.cancelled = true
    this.live--
    this.nowMs = Math.max(this.nowMs, entry.dueMs)
    entry.fn()
  }

  /** Removes and returns the earliest live timer due at or before `limitMs`, if any. */
  private popDue(limitMs: number): Scheduled | undefined {
    for (;;) {
      const top = this.heap[0]
      if (top === undefined || top.dueMs > limitMs) return undefined
      this.pop()
      if (!top.cancelled) return top
    }
  }

  private push(entry: Scheduled): void {
    const heap = this.heap
    heap.push(entry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(entry, at(heap, parent))) break
      heap[i] = at(heap, parent)
      i = parent
    }
    heap[i] = entry
  }

  private pop(): void {
    const heap = this.heap
    const last = heap.pop()
    if (last === undefined || heap.length === 0) return
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= heap.length) break
      const right = left + 1
      const child = right < heap.length && before(at(heap, right), at(heap, left)) ? right : left
      if (!before(at(heap, child), last)) break
      heap[i] = at(heap, child)
      i = child
    }
    heap[i] = last
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq)
}

/** Index access that the heap's own invariants guarantee is in range. */
function at(heap: readonly Scheduled[], i: number): Scheduled {
  const entry = heap[i]
  if (entry === undefined) throw new RangeError(`heap index ${i} out of range ${heap.length}`)
  return entry
}

function assertFinite(name: string, value: number): void {
  if (!Number.isFinite(value)) throw new InvalidOptionError(`${name} must be a finite number, got ${value}`)
}

function assertNonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new InvalidOptionError(`${name} must be a finite number >= 0, got ${value}`)
  }
}
