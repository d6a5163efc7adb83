// Key validation and the flat string encoding both adapters store keys under.
//
// Parts are joined with U+0000, the lowest code unit. Because no part may contain it, comparing two encoded keys as
// plain strings gives exactly the part-by-part order StorageKey promises: where two keys first differ, either both
// have a part character (compared as usual) or one has the separator, which is lower than any character and so puts
// the key whose part ended first ahead. The same property makes a prefix one contiguous range (see prefixRange).
import { InvalidOptionError } from '../errors.js'
import type { StorageKey, StorageOp } from './adapter.js'

const SEPARATOR = '\u0000'
/** The code unit just above the separator: the exclusive upper end of every prefix range. */
const AFTER_SEPARATOR = '\u0001'

function describe(key: unknown): string {
  return Array.isArray(key) || typeof key === 'string' ? JSON.stringify(key) : typeof key
}

function checkParts(key: unknown, what: string, allowEmpty: boolean): asserts key is StorageKey {
  if (!Array.isArray(key)) {
    throw new InvalidOptionError(`storage ${what} must be an array of strings, got ${describe(key)}`)
  }
  if (!allowEmpty && key.length === 0) {
    throw new InvalidOptionError(`storage ${what} must have at least one part`)
  }
  for (const part of key as unknown[]) {
    if (typeof part !== 'string' || part === '' || part.includes(SEPARATOR)) {
      throw new InvalidOptionError(
        `storage ${what} ${describe(key)}: every part must be a non-empty string without U+0000`,
      )
    }
  }
}

/** Throws InvalidOptionError unless `key` is a valid StorageKey (at least one part). */
export function assertKey(key: unknown): asserts key is StorageKey {
  checkParts(key, 'key', false)
}

/** Throws InvalidOptionError unless `prefix` is a valid prefix (the empty prefix is allowed and matches all). */
export function assertPrefix(prefix: unknown): asserts prefix is StorageKey {
  checkParts(prefix, 'prefix', true)
}

/** Throws InvalidOptionError unless `data` is a Uint8Array. */
export function assertData(data: unknown, key: StorageKey): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new InvalidOptionError(`storage value for ${describe(key)} must be a Uint8Array, got ${typeof data}`)
  }
}

/** Validates every operation of a batch before any is applied, so an invalid one can never leave half a batch. */
export function assertOps(ops: unknown): asserts ops is ReadonlyArray<StorageOp> {
  if (!Array.isArray(ops)) throw new InvalidOptionError('storage batch must be an array of operations')
  for (const op of ops as unknown[]) {
    const o = op as Partial<Record<'type' | 'key' | 'prefix' | 'data', unknown>> | null
    switch (o?.type) {
      case 'save':
        assertKey(o.key)
        assertData(o.data, o.key)
        break
      case 'remove':
        assertKey(o.key)
        break
      case 'removeRange':
        assertPrefix(o.prefix)
        break
      default:
        throw new InvalidOptionError(
          `storage batch operation must be save, remove or removeRange, got ${describe(o?.type)}`,
        )
    }
  }
}

export function encodeKey(key: StorageKey): string {
  return key.join(SEPARATOR)
}

export function decodeKey(encoded: string): StorageKey {
  return encoded.split(SEPARATOR)
}

/**
 * The encoded keys a prefix matches are exactly those in [lower, upper): the prefix itself and everything that
 * continues it with the separator. Undefined for the empty prefix, which matches everything.
 */
export function prefixRange(prefix: StorageKey): { lower: string; upper: string } | undefined {
  if (prefix.length === 0) return undefined
  const lower = encodeKey(prefix)
  return { lower, upper: lower + AFTER_SEPARATOR }
}

/** Whether an encoded key lies in the range of `prefixRange(prefix)`. */
export function inRange(encoded: string, range: { lower: string; upper: string } | undefined): boolean {
  return range === undefined || (encoded >= range.lower && encoded < range.upper)
}

/** Orders encoded keys by code unit, which is StorageKey order (see the comment at the top). */
export function compareEncoded(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
