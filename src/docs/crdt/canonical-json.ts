/**
 * Canonical JSON: one encoding per JSON value, so that equal values written by different peers become the same
 * string (an OR-Set element key, an LWW register's stored value). Object keys are sorted by UTF-16 code units, as
 * `Array.prototype.sort` does by default, never by locale, which could differ between peers.
 */
import { InvalidOptionError } from '../../errors.js'

/** A value that survives a JSON round trip unchanged. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue }

/**
 * Encodes `value` canonically. Throws InvalidOptionError, naming `what`, for anything JSON would silently change or
 * drop: `undefined`, functions, symbols, bigints, non-finite numbers, sparse arrays, objects that are not plain
 * (Date, Map, class instances) and cycles.
 */
export function canonicalJson(value: unknown, what = 'value'): string {
  return encode(value, what, new Set<object>())
}

function encode(value: unknown, what: string, ancestors: Set<object>): string {
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidOptionError(`${what} contains the non-finite number ${value}`)
      return JSON.stringify(value)
    case 'object':
      if (value === null) return 'null'
      return encodeObject(value, what, ancestors)
    default:
      throw new InvalidOptionError(`${what} contains a ${typeof value}, which is not JSON`)
  }
}

function encodeObject(value: object, what: string, ancestors: Set<object>): string {
  if (ancestors.has(value)) throw new InvalidOptionError(`${what} contains a cycle`)
  ancestors.add(value)
  let out: string
  if (Array.isArray(value)) {
    const items: string[] = []
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new InvalidOptionError(`${what} is a sparse array (index ${i} is a hole)`)
      items.push(encode(value[i], what, ancestors))
    }
    out = `[${items.join(',')}]`
  } else {
    const proto: unknown = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) {
      throw new InvalidOptionError(`${what} contains an object that is not a plain object (${describe(value)})`)
    }
    const record = value as Record<string, unknown>
    const fields = Object.keys(record)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${encode(record[key], what, ancestors)}`)
    out = `{${fields.join(',')}}`
  }
  ancestors.delete(value)
  return out
}

function describe(value: object): string {
  const name: unknown = (value.constructor as { name?: unknown } | undefined)?.name
  return typeof name === 'string' && name !== '' ? name : 'unknown class'
}
