/** Timers as the rest of Synod sees them: injected, so tests drive time with a SimClock instead of waiting. */

export interface Timer {
  /**
   * Calls `fn` once, after `ms` milliseconds (negative or NaN count as 0). Returns a function that cancels the call;
   * calling it after the timer fired, or twice, does nothing.
   */
  setTimeout(fn: () => void, ms: number): () => void
}

/** The platform's timers (browser or Node). */
export const realTimer: Timer = {
  setTimeout: (fn, ms) => {
    const handle = globalThis.setTimeout(fn, ms)
    return () => globalThis.clearTimeout(handle)
  },
}
