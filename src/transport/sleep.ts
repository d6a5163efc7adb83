/** An abortable delay for retry loops: aborting wakes the loop at once instead of after the delay. */
import { AbortError } from '../errors.js'
import { realTimer, type Timer } from '../runtime/index.js'

/**
 * Resolves after `ms` milliseconds. Rejects with AbortError (its `cause` is the signal's reason) if `signal` is
 * already aborted or aborts first; the timer and the abort listener are removed either way, so a long-lived signal
 * does not collect listeners. `timer` lets tests drive it with a SimClock.
 */
export function sleep(ms: number, signal?: AbortSignal, timer: Timer = realTimer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new AbortError('sleep was aborted', { cause: signal.reason }))
      return
    }
    const onAbort = (): void => {
      cancel()
      reject(new AbortError('sleep was aborted', { cause: signal?.reason }))
    }
    const cancel = timer.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
