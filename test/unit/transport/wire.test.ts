import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Reader, Writer } from '../../../src/transport/wire.js'

const decodeError = (message: RegExp): unknown =>
  expect.objectContaining({ name: 'DecodeError', message: expect.stringMatching(message) })

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values)
}

describe('Writer', () => {
  it('encodes varuints as unsigned LEB128', () => {
    const enc = (n: number): number[] => [...new Writer().varuint(n).finish()]
    expect(enc(0)).toEqual([0])
    expect(enc(127)).toEqual([0x7f])
    expect(enc(128)).toEqual([0x80, 0x01])
    expect(enc(300)).toEqual([0xac, 0x02])
    expect(enc(2 ** 32)).toEqual([0x80, 0x80, 0x80, 0x80, 0x10])
    expect(enc(Number.MAX_SAFE_INTEGER)).toHaveLength(8)
  })

  it('length-prefixes bytes and UTF-8 strings', () => {
    const out = new Writer().bytes(bytes(9, 8)).string('é').finish()
    expect([...out]).toEqual([2, 9, 8, 2, 0xc3, 0xa9])
  })

  it('grows its buffer past the initial capacity', () => {
    const w = new Writer()
    const big = new Uint8Array(10_000).fill(7)
    for (let i = 0; i < 100; i++) w.u8(i)
    w.bytes(big)
    const r = new Reader(w.finish())
    for (let i = 0; i < 100; i++) expect(r.u8()).toBe(i)
    expect(r.bytes()).toEqual(big)
    r.expectEnd()
  })

  it('finish() returns a copy that later writes do not change', () => {
    const w = new Writer().u8(1)
    const first = w.finish()
    w.u8(2)
    expect([...first]).toEqual([1])
    expect([...w.finish()]).toEqual([1, 2])
  })

  it.each([
    ['u8 256', (w: Writer) => w.u8(256)],
    ['u8 -1', (w: Writer) => w.u8(-1)],
    ['u8 1.5', (w: Writer) => w.u8(1.5)],
    ['varuint -1', (w: Writer) => w.varuint(-1)],
    ['varuint 2^53', (w: Writer) => w.varuint(2 ** 53)],
    ['varuint NaN', (w: Writer) => w.varuint(Number.NaN)],
    ['json undefined', (w: Writer) => w.json(undefined)],
    ['json BigInt', (w: Writer) => w.json(1n)],
  ])('rejects %s with InvalidOptionError', (_, write) => {
    expect(() => write(new Writer())).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
  })
})

describe('Reader on malformed input', () => {
  it('rejects reading past the end', () => {
    expect(() => new Reader(bytes()).u8()).toThrow(decodeError(/u8 needs 1 byte at offset 0/))
    expect(() => new Reader(bytes()).varuint()).toThrow(decodeError(/truncated/))
    expect(() => new Reader(bytes(0x80, 0x80)).varuint()).toThrow(decodeError(/truncated after 2 bytes/))
  })

  it('rejects varuints over 8 bytes or beyond MAX_SAFE_INTEGER', () => {
    expect(() => new Reader(new Uint8Array(9).fill(0x80)).varuint()).toThrow(decodeError(/longer than 8 bytes/))
    // 2^53 needs 8 bytes: seven 0x80 then 0x10.
    const twoPow53 = bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10)
    expect(() => new Reader(twoPow53).varuint()).toThrow(decodeError(/MAX_SAFE_INTEGER/))
    const maxSafe = new Writer().varuint(Number.MAX_SAFE_INTEGER).finish()
    expect(new Reader(maxSafe).varuint()).toBe(Number.MAX_SAFE_INTEGER)
  })

  it('rejects non-minimal varuints, so each value has one encoding', () => {
    expect(() => new Reader(bytes(0x80, 0x00)).varuint()).toThrow(decodeError(/not minimally encoded/))
    expect(() => new Reader(bytes(0x81, 0x80, 0x00)).varuint()).toThrow(decodeError(/not minimally encoded/))
  })

  it('rejects a declared length larger than what remains, before allocating', () => {
    const huge = new Writer().varuint(5_000_000).finish()
    const input = new Uint8Array([...huge, ...new Uint8Array(12)])
    expect(() => new Reader(input).string()).toThrow(decodeError(/^string length 5000000 exceeds remaining 12 bytes$/))
    expect(() => new Reader(input).bytes()).toThrow(decodeError(/^bytes length 5000000 exceeds remaining 12 bytes$/))
    expect(() => new Reader(bytes(3, 1, 2)).bytes()).toThrow(decodeError(/length 3 exceeds remaining 2/))
  })

  it('rejects a field over the per-field limit even when the bytes are there', () => {
    const input = new Writer().string('x'.repeat(100)).finish()
    expect(() => new Reader(input, { maxBytes: 99 }).string()).toThrow(
      decodeError(/^string length 100 exceeds the field limit of 99 bytes$/),
    )
    expect(new Reader(input, { maxBytes: 100 }).string()).toBe('x'.repeat(100))
    // The default limit is 1 MiB.
    const big = new Writer().bytes(new Uint8Array(1024 * 1024 + 1)).finish()
    expect(() => new Reader(big).bytes()).toThrow(decodeError(/exceeds the field limit of 1048576 bytes/))
  })

  it('rejects invalid UTF-8', () => {
    for (const bad of [bytes(1, 0xff), bytes(2, 0xc3, 0x28), bytes(1, 0xc3), bytes(3, 0xed, 0xa0, 0x80)]) {
      expect(() => new Reader(bad).string()).toThrow(decodeError(/not valid UTF-8/))
    }
  })

  it('rejects invalid JSON', () => {
    const input = new Writer().string('{"a":').finish()
    expect(() => new Reader(input).json()).toThrow(decodeError(/not valid JSON/))
  })

  it('rejects trailing bytes in expectEnd()', () => {
    const r = new Reader(bytes(1, 2, 3))
    r.u8()
    expect(r.done()).toBe(false)
    expect(r.remaining).toBe(2)
    expect(() => r.expectEnd()).toThrow(decodeError(/2 trailing bytes after offset 1/))
    r.u8()
    r.u8()
    expect(r.done()).toBe(true)
    expect(() => r.expectEnd()).not.toThrow()
  })

  it('rejects a bad maxBytes option', () => {
    expect(() => new Reader(bytes(), { maxBytes: -1 })).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
  })

  it('never throws anything but DecodeError on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.nat({ max: 4 }), { maxLength: 10 }), (input, ops) => {
        const r = new Reader(input, { maxBytes: 32 })
        try {
          for (const op of ops) {
            if (op === 0) r.u8()
            else if (op === 1) r.varuint()
            else if (op === 2) r.bytes()
            else if (op === 3) r.string()
            else r.json()
          }
          r.expectEnd()
        } catch (err) {
          expect((err as Error).name).toBe('DecodeError')
        }
      }),
      { numRuns: 2000 },
    )
  })
})

type Field =
  | { readonly kind: 'u8'; readonly value: number }
  | { readonly kind: 'varuint'; readonly value: number }
  | { readonly kind: 'bytes'; readonly value: Uint8Array }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'json'; readonly value: unknown }

const field: fc.Arbitrary<Field> = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map((value) => ({ kind: 'u8' as const, value })),
  fc.oneof(fc.nat(), fc.maxSafeNat()).map((value) => ({ kind: 'varuint' as const, value })),
  fc.uint8Array({ maxLength: 300 }).map((value) => ({ kind: 'bytes' as const, value })),
  fc.string({ unit: 'binary', maxLength: 100 }).map((value) => ({ kind: 'string' as const, value })),
  // JSON cannot tell -0 from 0 (at any depth), so the value expected back is the one JSON itself round-trips.
  fc.jsonValue().map((value) => ({ kind: 'json' as const, value: JSON.parse(JSON.stringify(value)) as unknown })),
)

describe('round trip', () => {
  it('reads back exactly what was written (property)', () => {
    fc.assert(
      fc.property(fc.array(field, { maxLength: 20 }), (fields) => {
        const w = new Writer()
        for (const f of fields) {
          if (f.kind === 'u8') w.u8(f.value)
          else if (f.kind === 'varuint') w.varuint(f.value)
          else if (f.kind === 'bytes') w.bytes(f.value)
          else if (f.kind === 'string') w.string(f.value)
          else w.json(f.value)
        }
        const r = new Reader(w.finish())
        for (const f of fields) {
          if (f.kind === 'u8') expect(r.u8()).toBe(f.value)
          else if (f.kind === 'varuint') expect(r.varuint()).toBe(f.value)
          else if (f.kind === 'bytes') expect(r.bytes()).toEqual(f.value)
          else if (f.kind === 'string') expect(r.string()).toBe(f.value)
          else expect(r.json()).toEqual(f.value)
        }
        expect(r.done()).toBe(true)
        r.expectEnd()
      }),
      { numRuns: 500 },
    )
  })

  it('truncating a valid encoding anywhere gives a DecodeError, never a wrong value (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), fc.maxSafeNat(), (s, n) => {
        const encoded = new Writer().string(s).varuint(n).finish()
        for (let cut = 0; cut < encoded.length; cut++) {
          const r = new Reader(encoded.subarray(0, cut))
          expect(() => {
            r.string()
            r.varuint()
          }).toThrow(expect.objectContaining({ name: 'DecodeError' }))
        }
      }),
    )
  })
})

describe('strings keep a leading U+FEFF', () => {
  it('round-trips "\\uFEFFa" exactly', () => {
    const bytes = new Writer().string('\uFEFFa').finish()
    expect(new Reader(bytes).string()).toBe('\uFEFFa')
  })
})
