/**
 * Helpers shared by the CRDT models: argument checks, the change metadata every operation accepts, and reading
 * numbers back out of Automerge (which hands integers from 2^53 - 1 upwards back as bigints).
 */
import type * as AM from '@automerge/automerge/slim'
import { InvalidOptionError } from '../../errors.js'

/** Options every operation accepts. */
export interface CrdtChangeOptions {
  /**
   * Unix time in seconds recorded in the Automerge change. Advisory only: no model merges by it. Default: the
   * current time, as Automerge does. Pass a fixed value (simulations) to make change hashes reproducible.
   */
  readonly time?: number
}

export function changeOptions<T>(options: CrdtChangeOptions): AM.ChangeOptions<T> {
  return options.time === undefined ? {} : { time: options.time }
}

/** Throws InvalidOptionError unless `n` is a safe integer of at least `min`. */
export function assertSafeInteger(n: number, name: string, min = Number.MIN_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(n) || n < min) {
    const range = min === Number.MIN_SAFE_INTEGER ? 'a safe integer' : `a safe integer >= ${min}`
    throw new InvalidOptionError(`${name} must be ${range}, got ${String(n)}`)
  }
}

/** A number stored by Automerge as a JS number, or `undefined` if it is not a number (written by a faulty peer). */
export function storedNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value
  if (typeof value === 'bigint') return Number(value)
  return undefined
}

/** A string stored as an Automerge `ImmutableString` (or as text), or `undefined` for anything else. */
export function storedString(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'object' && value !== null && typeof (value as { val?: unknown }).val === 'string') {
    return (value as { val: string }).val
  }
  return undefined
}
