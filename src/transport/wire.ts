/**
 * Compact binary encoding primitives (lib0 / y-protocols style): a Writer that appends fields to a growing buffer
 * and a Reader that takes them back out. No I/O. The Reader treats its input as hostile: every length is checked
 * against what remains and against a per-field limit before anything is allocated or sliced, and every failure is a
 * DecodeError that says what was wrong and where.
 */
import { DecodeError, InvalidOptionError } from '../errors.js'

/** A varuint of 8 bytes carries 56 bits, enough for every safe integer (53 bits); longer ones are malformed. */
const MAX_VARUINT_BYTES = 8
const DEFAULT_MAX_FIELD_BYTES = 1024 * 1024
const INITIAL_CAPACITY = 64

const encoder = new TextEncoder()
// fatal: malformed UTF-8 must be rejected, not silently turned into U+FFFD. ignoreBOM: a leading U+FEFF is part of
// the string, not a byte-order mark to drop (else "\uFEFFa" would decode as "a" and two ids could collide).
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export class Writer {
  private buf = new Uint8Array(INITIAL_CAPACITY)
  private length = 0

  /** One byte; `n` must be an integer in [0, 255]. */
  u8(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xff) {
      throw new InvalidOptionError(`u8 must be an integer in [0, 255], got ${n}`)
    }
    this.reserve(1)
    this.buf[this.length++] = n
    return this
  }

  /** Unsigned LEB128; `n` must be a safe integer >= 0 (so at most 8 bytes). */
  varuint(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new InvalidOptionError(`varuint must be a safe integer >= 0, got ${n}`)
    }
    this.reserve(MAX_VARUINT_BYTES)
    // Division rather than bit shifts: JavaScript's bitwise operators truncate to 32 bits.
    let rest = n
    while (rest >= 0x80) {
      this.buf[this.length++] = (rest % 0x80) | 0x80
      rest = Math.floor(rest / 0x80)
    }
    this.buf[this.length++] = rest
    return this
  }

  /** A varuint length, then the bytes. */
  bytes(b: Uint8Array): this {
    this.varuint(b.length)
    this.reserve(b.length)
    this.buf.set(b, this.length)
    this.length += b.length
    return this
  }

  /** UTF-8, length-prefixed. Lone surrogates become U+FFFD, as with every TextEncoder. */
  string(s: string): this {
    return this.bytes(encoder.encode(s))
  }

  /** JSON text as a string field; InvalidOptionError for what JSON cannot represent (undefined, BigInt, cycles). */
  json(v: unknown): this {
    let text: string | undefined
    try {
      text = JSON.stringify(v)
    } catch (err) {
      throw new InvalidOptionError(`value cannot be encoded as JSON: ${String(err)}`, { cause: err })
    }
    if (text === undefined) throw new InvalidOptionError(`value cannot be encoded as JSON: ${typeof v}`)
    return this.string(text)
  }

  /** The bytes written so far, as a fresh array the Writer no longer touches. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.length)
  }

  private reserve(n: number): void {
    const needed = this.length + n
    if (needed <= this.buf.length) return
    // Doubling keeps appends amortised O(1).
    const grown = new Uint8Array(Math.max(needed, this.buf.length * 2))
    grown.set(this.buf.subarray(0, this.length))
    this.buf = grown
  }
}

export interface ReaderLimits {
  /** The largest bytes() / string() / json() field accepted, in bytes; default 1 MiB. */
  readonly maxBytes?: number
}

export class Reader {
  private offset = 0
  private readonly maxBytes: number

  constructor(
    private readonly input: Uint8Array,
    limits: ReaderLimits = {},
  ) {
    const maxBytes = limits.maxBytes ?? DEFAULT_MAX_FIELD_BYTES
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new InvalidOptionError(`maxBytes must be an integer >= 0, got ${maxBytes}`)
    }
    this.maxBytes = maxBytes
  }

  /** How many bytes are left to read. */
  get remaining(): number {
    return this.input.length - this.offset
  }

  u8(): number {
    const byte = this.input[this.offset]
    if (byte === undefined) throw new DecodeError(`u8 needs 1 byte at offset ${this.offset}, 0 remain`)
    this.offset++
    return byte
  }

  /** Unsigned LEB128, rejecting encodings that are truncated, over 8 bytes, over MAX_SAFE_INTEGER or not minimal. */
  varuint(): number {
    const start = this.offset
    let value = 0
    let scale = 1
    for (let i = 0; i < MAX_VARUINT_BYTES; i++) {
      const byte = this.input[this.offset]
      if (byte === undefined) throw new DecodeError(`varuint at offset ${start} is truncated after ${i} bytes`)
      this.offset++
      value += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) {
        // A final zero byte after the first adds nothing: accepting it would give one value two encodings.
        if (byte === 0 && i > 0) throw new DecodeError(`varuint at offset ${start} is not minimally encoded`)
        if (value > Number.MAX_SAFE_INTEGER) {
          throw new DecodeError(`varuint at offset ${start} exceeds Number.MAX_SAFE_INTEGER`)
        }
        return value
      }
      scale *= 0x80
    }
    throw new DecodeError(`varuint at offset ${start} is longer than ${MAX_VARUINT_BYTES} bytes`)
  }

  /** A length-prefixed byte field, as a copy (so it stays valid if the caller reuses the input buffer). */
  bytes(): Uint8Array {
    return this.input.slice(...this.field('bytes'))
  }

  string(): string {
    return this.decodeUtf8('string')
  }

  json(): unknown {
    const text = this.decodeUtf8('json')
    try {
      return JSON.parse(text) as unknown
    } catch (err) {
      throw new DecodeError(`json field is not valid JSON: ${String(err)}`, { cause: err })
    }
  }

  /** True when every byte has been read. */
  done(): boolean {
    return this.offset === this.input.length
  }

  /** Throws DecodeError if bytes are left over: a message with trailing data is malformed, not "extra". */
  expectEnd(): void {
    if (!this.done()) {
      throw new DecodeError(`${this.remaining} trailing bytes after offset ${this.offset}`)
    }
  }

  private decodeUtf8(what: string): string {
    const [start, end] = this.field(what)
    try {
      return decoder.decode(this.input.subarray(start, end))
    } catch (err) {
      throw new DecodeError(`${what} field at offset ${start} is not valid UTF-8`, { cause: err })
    }
  }

  /** Reads a length prefix, checks it, and returns the [start, end) of the field, advancing past it. */
  private field(what: string): [number, number] {
    const length = this.varuint()
    if (length > this.remaining) {
      throw new DecodeError(`${what} length ${length} exceeds remaining ${this.remaining} bytes`)
    }
    if (length > this.maxBytes) {
      throw new DecodeError(`${what} length ${length} exceeds the field limit of ${this.maxBytes} bytes`)
    }
    const start = this.offset
    this.offset += length
    return [start, this.offset]
  }
}
