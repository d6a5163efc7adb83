/** Time as the rest of Synod sees it: injected, so pure cores and tests never read the wall clock themselves. */

/** A monotonic clock in milliseconds. Only differences between readings mean anything; the origin is arbitrary. */
export interface Clock {
  now(): number
}

/**
 * `performance.now()` rather than `Date.now()`: it never jumps backwards when the system clock is adjusted, so
 * timeouts and latencies measured with it stay meaningful.
 */
export const realClock: Clock = {
  now: () => performance.now(),
}
