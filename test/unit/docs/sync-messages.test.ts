// The `/synod/sync/1` frames: exact round trips, chunking across the chunk boundary and for large frames, and hostile
// input, which must only ever surface as a DecodeError (matched by err.name, as callers do).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ChunkAssembler,
  decodeSyncFrame,
  encodeSyncFrame,
  SYNC_LIMITS,
  toWireFrames,
  type SyncFrame,
} from '../../../src/docs/sync-messages.js'
import { Writer } from '../../../src/transport/wire.js'

const CHUNK = SYNC_LIMITS.chunkBytes

/** Runs `fn` and returns the error's name, failing the test if nothing was thrown. */
function errorName(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as Error).name
  }
  throw new Error('expected an error, none was thrown')
}

/** Deterministic, non-repeating-looking bytes: a misplaced or reordered chunk shows up as a mismatch. */
function pattern(length: number, seed = 7): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed >>> 0
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

/** A raw chunk frame, written by hand so that values encodeSyncFrame would never produce can be sent. */
function rawChunk(index: number, count: number, data: Uint8Array): Uint8Array {
  return new Writer().u8(5).varuint(index).varuint(count).bytes(data).finish()
}

/** Pushes every wire frame; returns the frames the assembler completed. */
function assemble(wires: readonly Uint8Array[], assembler = new ChunkAssembler()): SyncFrame[] {
  const out: SyncFrame[] = []
  for (const wire of wires) {
    const frame = assembler.push(wire)
    if (frame !== undefined) out.push(frame)
  }
  return out
}

/** A sync frame whose encoding is exactly `size` bytes (doc 'd': 1 type + 1 + 1 name + varuint length + data). */
function syncFrameOfEncodedSize(size: number): SyncFrame {
  for (let dataLength = Math.max(0, size - 12); dataLength <= size; dataLength++) {
    const frame: SyncFrame = { type: 'sync', doc: 'd', data: pattern(dataLength, size) }
    if (encodeSyncFrame(frame).length === size) return frame
  }
  throw new Error(`no sync frame encodes to ${size} bytes`)
}

const docNameArb = fc.string({ minLength: 1, maxLength: SYNC_LIMITS.maxDocNameLength })
const bytesArb = fc.uint8Array({ maxLength: 512 })
const frameArb: fc.Arbitrary<SyncFrame> = fc.oneof(
  fc.record({ type: fc.constant('hello' as const), room: fc.string({ minLength: 1, maxLength: SYNC_LIMITS.maxRoomIdLength }) }),
  fc.record({ type: fc.constant('sync' as const), doc: docNameArb, data: bytesArb }),
  fc.record({ type: fc.constant('snapshot' as const), doc: docNameArb, data: bytesArb }),
  fc.record({ type: fc.constant('unknown' as const), doc: docNameArb }),
  fc
    .tuple(fc.integer({ min: 2, max: 4097 }), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 256 }))
    .map(([count, i, data]) => ({ type: 'chunk' as const, index: i % count, count, data })),
)

describe('round trip', () => {
  const examples: SyncFrame[] = [
    { type: 'hello', room: 'room-1' },
    { type: 'sync', doc: 'notes', data: new Uint8Array([0x42, 0, 255, 1]) },
    { type: 'sync', doc: 'empty-data', data: new Uint8Array(0) },
    { type: 'snapshot', doc: 'notes/ü/日本', data: pattern(1000) },
    { type: 'unknown', doc: 'x' },
    { type: 'chunk', index: 3, count: 4, data: pattern(CHUNK) },
  ]
  for (const frame of examples) {
    it(`decodes an encoded ${frame.type} frame to an equal frame`, () => {
      const bytes = encodeSyncFrame(frame)
      expect(decodeSyncFrame(bytes)).toEqual(frame)
      // Through the assembler too (chunks excepted: a lone last chunk is out of order there).
      if (frame.type !== 'chunk') expect(assemble([bytes])).toEqual([frame])
    })
  }

  it('gives every frame type a different first byte', () => {
    const codes = examples.map((f) => encodeSyncFrame(f)[0])
    expect(new Set(codes).size).toBe(new Set(examples.map((f) => f.type)).size)
  })

  it('accepts names and room ids exactly at their length limits', () => {
    const doc = 'd'.repeat(SYNC_LIMITS.maxDocNameLength)
    const room = 'r'.repeat(SYNC_LIMITS.maxRoomIdLength)
    expect(decodeSyncFrame(encodeSyncFrame({ type: 'unknown', doc }))).toEqual({ type: 'unknown', doc })
    expect(decodeSyncFrame(encodeSyncFrame({ type: 'hello', room }))).toEqual({ type: 'hello', room })
  })

  it('round-trips arbitrary frames (property)', () => {
    fc.assert(
      fc.property(frameArb, (frame) => {
        expect(decodeSyncFrame(encodeSyncFrame(frame))).toEqual(frame)
      }),
    )
  })

  it('returns a copy of the data, not a view of the input', () => {
    const bytes = encodeSyncFrame({ type: 'sync', doc: 'd', data: new Uint8Array([1, 2, 3]) })
    const frame = decodeSyncFrame(bytes)
    bytes.fill(0)
    expect(frame).toEqual({ type: 'sync', doc: 'd', data: new Uint8Array([1, 2, 3]) })
  })
})

describe('chunking', () => {
  const sizes = [4, 100, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK - 1, 2 * CHUNK, 2 * CHUNK + 1, 3 * CHUNK + 17]
  for (const size of sizes) {
    it(`reassembles a frame of ${size} bytes exactly`, () => {
      const frame = syncFrameOfEncodedSize(size)
      const encoded = encodeSyncFrame(frame)
      expect(encoded.length).toBe(size)
      const wires = toWireFrames(encoded)
      expect(wires.length).toBe(size <= CHUNK ? 1 : Math.ceil(size / CHUNK))
      if (size <= CHUNK) expect(wires[0]).toEqual(encoded)
      for (const wire of wires) expect(wire.length).toBeLessThanOrEqual(SYNC_LIMITS.maxFrameBytes)
      expect(assemble(wires)).toEqual([frame])
    })
  }

  it('reassembles a 1 MiB snapshot byte for byte, and nothing before its last chunk', () => {
    const frame: SyncFrame = { type: 'snapshot', doc: 'big', data: pattern(1024 * 1024, 99) }
    const wires = toWireFrames(encodeSyncFrame(frame))
    expect(wires.length).toBe(17)
    const assembler = new ChunkAssembler()
    for (const wire of wires.slice(0, -1)) expect(assembler.push(wire)).toBeUndefined()
    const last = wires.at(-1)
    if (last === undefined) throw new Error('no wire frames')
    const whole = assembler.push(last)
    expect(whole?.type).toBe('snapshot')
    expect(whole).toEqual(frame)
  })

  it('numbers chunks 0..count-1, each with the same count, all full but the last', () => {
    const wires = toWireFrames(encodeSyncFrame({ type: 'sync', doc: 'd', data: pattern(3 * CHUNK) }))
    const chunks = wires.map((w) => decodeSyncFrame(w))
    chunks.forEach((c, i) => {
      if (c.type !== 'chunk') throw new Error(`wire frame ${i} is not a chunk`)
      expect(c.index).toBe(i)
      expect(c.count).toBe(wires.length)
      if (i < wires.length - 1) expect(c.data.length).toBe(CHUNK)
    })
  })

  it('reassembles several chunked and plain frames in a row on one assembler', () => {
    const frames: SyncFrame[] = [
      { type: 'hello', room: 'r' },
      { type: 'snapshot', doc: 'a', data: pattern(2 * CHUNK + 5, 1) },
      { type: 'sync', doc: 'b', data: pattern(10, 2) },
      { type: 'sync', doc: 'c', data: pattern(CHUNK * 4, 3) },
      { type: 'unknown', doc: 'd' },
    ]
    expect(assemble(frames.flatMap((f) => toWireFrames(encodeSyncFrame(f))))).toEqual(frames)
  })

  it('accepts chunks smaller than the chunk size (only the order and count are fixed)', () => {
    const encoded = encodeSyncFrame({ type: 'sync', doc: 'd', data: pattern(40) })
    const wires = [rawChunk(0, 3, encoded.subarray(0, 10)), rawChunk(1, 3, encoded.subarray(10, 11)), rawChunk(2, 3, encoded.subarray(11))]
    expect(assemble(wires)).toEqual([decodeSyncFrame(encoded)])
  })
})

describe('malformed input is a DecodeError', () => {
  const valid = encodeSyncFrame({ type: 'sync', doc: 'notes', data: pattern(20) })

  it.each([0, 6, 7, 127, 255])('rejects unknown frame type %i', (type) => {
    expect(errorName(() => decodeSyncFrame(new Uint8Array([type, 1, 0x61, 0])))).toBe('DecodeError')
  })

  it('rejects an empty frame', () => {
    expect(errorName(() => decodeSyncFrame(new Uint8Array(0)))).toBe('DecodeError')
  })

  it('rejects every truncation of a valid frame', () => {
    for (let n = 0; n < valid.length; n++) {
      expect(errorName(() => decodeSyncFrame(valid.subarray(0, n)))).toBe('DecodeError')
    }
  })

  it('rejects trailing bytes after any frame type', () => {
    const frames: SyncFrame[] = [
      { type: 'hello', room: 'r' },
      { type: 'sync', doc: 'd', data: pattern(3) },
      { type: 'snapshot', doc: 'd', data: pattern(3) },
      { type: 'unknown', doc: 'd' },
      { type: 'chunk', index: 0, count: 2, data: pattern(3) },
    ]
    for (const frame of frames) {
      const bytes = encodeSyncFrame(frame)
      expect(errorName(() => decodeSyncFrame(new Uint8Array([...bytes, 0])))).toBe('DecodeError')
    }
  })

  it('rejects bad document names: empty, too long, not UTF-8', () => {
    const tooLong = 'n'.repeat(SYNC_LIMITS.maxDocNameLength + 1)
    for (const type of ['sync', 'snapshot'] as const) {
      expect(errorName(() => decodeSyncFrame(encodeSyncFrame({ type, doc: '', data: pattern(2) })))).toBe('DecodeError')
      expect(errorName(() => decodeSyncFrame(encodeSyncFrame({ type, doc: tooLong, data: pattern(2) })))).toBe('DecodeError')
    }
    expect(errorName(() => decodeSyncFrame(encodeSyncFrame({ type: 'unknown', doc: '' })))).toBe('DecodeError')
    expect(errorName(() => decodeSyncFrame(encodeSyncFrame({ type: 'unknown', doc: tooLong })))).toBe('DecodeError')
    const badUtf8 = new Writer().u8(4).bytes(new Uint8Array([0xc3, 0x28])).finish()
    expect(errorName(() => decodeSyncFrame(badUtf8))).toBe('DecodeError')
  })

  it('rejects bad room ids: empty and too long', () => {
    expect(errorName(() => decodeSyncFrame(encodeSyncFrame({ type: 'hello', room: '' })))).toBe('DecodeError')
    const tooLong = 'r'.repeat(SYNC_LIMITS.maxRoomIdLength + 1)
    expect(errorName(() => decodeSyncFrame(encodeSyncFrame({ type: 'hello', room: tooLong })))).toBe('DecodeError')
  })

  it('rejects nonsense chunk counts and indices', () => {
    const data = pattern(4)
    const maxCount = Math.floor((SYNC_LIMITS.maxMessageBytes + CHUNK) / CHUNK)
    // A count of 0 or 1 (a single chunk is just the frame), an index at or past the count, a count implying a
    // message over the limit, an index that is not a safe integer.
    for (const [index, count] of [[0, 0], [0, 1], [2, 2], [5, 3], [0, maxCount + 1], [0, 2 ** 40]]) {
      expect(errorName(() => decodeSyncFrame(rawChunk(index as number, count as number, data)))).toBe('DecodeError')
    }
    expect(decodeSyncFrame(rawChunk(maxCount - 1, maxCount, data))).toMatchObject({ index: maxCount - 1, count: maxCount })
    const unsafe = new Uint8Array([5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 2, 1, 0])
    expect(errorName(() => decodeSyncFrame(unsafe))).toBe('DecodeError')
  })

  it('rejects chunks that are empty or larger than the chunk size', () => {
    expect(errorName(() => decodeSyncFrame(rawChunk(0, 2, new Uint8Array(0))))).toBe('DecodeError')
    expect(errorName(() => decodeSyncFrame(rawChunk(0, 2, pattern(CHUNK + 1))))).toBe('DecodeError')
    expect(decodeSyncFrame(rawChunk(0, 2, pattern(CHUNK)))).toMatchObject({ type: 'chunk', index: 0, count: 2 })
  })

  it('rejects a frame longer than the limit it is decoded under', () => {
    const frame = encodeSyncFrame({ type: 'sync', doc: 'd', data: pattern(100) })
    expect(errorName(() => decodeSyncFrame(frame, frame.length - 1))).toBe('DecodeError')
    expect(decodeSyncFrame(frame, frame.length).type).toBe('sync')
  })

  it('rejects an unchunked wire frame over maxFrameBytes in the assembler', () => {
    const big = encodeSyncFrame({ type: 'sync', doc: 'd', data: pattern(SYNC_LIMITS.maxFrameBytes) })
    expect(errorName(() => new ChunkAssembler().push(big))).toBe('DecodeError')
    // The same frame is fine when chunked, so the limit is about one wire frame, not the message.
    expect(assemble(toWireFrames(big))).toHaveLength(1)
  })

  describe('in the assembler', () => {
    const encoded = encodeSyncFrame({ type: 'snapshot', doc: 'd', data: pattern(3 * CHUNK) })
    const wires = toWireFrames(encoded)

    it('rejects a chunk that is not the first of its message', () => {
      expect(errorName(() => new ChunkAssembler().push(wires[1] as Uint8Array))).toBe('DecodeError')
    })

    it('rejects a skipped, repeated or reordered chunk', () => {
      const orders = [
        [0, 2],
        [0, 0],
        [0, 1, 1],
        [0, 1, 0],
        [0, 1, 3],
      ]
      for (const order of orders) {
        const assembler = new ChunkAssembler()
        const pushes = order.map((i) => () => assembler.push(wires[i] as Uint8Array))
        for (const push of pushes.slice(0, -1)) expect(push()).toBeUndefined()
        expect(errorName(pushes.at(-1) as () => unknown)).toBe('DecodeError')
      }
    })

    it('rejects a chunk whose count differs from its message', () => {
      const assembler = new ChunkAssembler()
      expect(assembler.push(rawChunk(0, 3, pattern(5)))).toBeUndefined()
      expect(errorName(() => assembler.push(rawChunk(1, 4, pattern(5))))).toBe('DecodeError')
    })

    it('rejects a plain frame interleaved into an unfinished chunked message', () => {
      for (const plain of [
        encodeSyncFrame({ type: 'hello', room: 'r' }),
        encodeSyncFrame({ type: 'sync', doc: 'd', data: pattern(3) }),
        encodeSyncFrame({ type: 'unknown', doc: 'd' }),
      ]) {
        const assembler = new ChunkAssembler()
        expect(assembler.push(wires[0] as Uint8Array)).toBeUndefined()
        expect(errorName(() => assembler.push(plain))).toBe('DecodeError')
      }
    })

    it('rejects the chunks of a second message started before the first finished', () => {
      const other = toWireFrames(encodeSyncFrame({ type: 'sync', doc: 'e', data: pattern(2 * CHUNK) }))
      const assembler = new ChunkAssembler()
      expect(assembler.push(wires[0] as Uint8Array)).toBeUndefined()
      expect(errorName(() => assembler.push(other[0] as Uint8Array))).toBe('DecodeError')
    })

    it('rejects a chunked message whose content is itself a chunk', () => {
      const inner = encodeSyncFrame({ type: 'chunk', index: 0, count: 2, data: pattern(10) })
      const half = Math.floor(inner.length / 2)
      const assembler = new ChunkAssembler()
      expect(assembler.push(rawChunk(0, 2, inner.subarray(0, half)))).toBeUndefined()
      expect(errorName(() => assembler.push(rawChunk(1, 2, inner.subarray(half))))).toBe('DecodeError')
    })

    it('rejects a chunked message whose content is malformed', () => {
      const garbage = new Uint8Array([9, 9, 9, 9])
      const assembler = new ChunkAssembler()
      expect(assembler.push(rawChunk(0, 2, garbage.subarray(0, 2)))).toBeUndefined()
      expect(errorName(() => assembler.push(rawChunk(1, 2, garbage.subarray(2))))).toBe('DecodeError')
    })
  })

  it('only ever throws DecodeError on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const frame = decodeSyncFrame(bytes)
          // Whatever decodes must encode back to exactly the input: there is one encoding per frame.
          expect(encodeSyncFrame(frame)).toEqual(bytes)
        } catch (err) {
          expect((err as Error).name).toBe('DecodeError')
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('only ever throws DecodeError on random bytes starting with a valid type (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.uint8Array({ maxLength: 64 }), (type, rest) => {
        const bytes = new Uint8Array([type, ...rest])
        try {
          expect(encodeSyncFrame(decodeSyncFrame(bytes))).toEqual(bytes)
        } catch (err) {
          expect((err as Error).name).toBe('DecodeError')
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('only ever throws DecodeError when the assembler is fed random frames (property)', () => {
    const wireArb = fc.oneof(
      fc.uint8Array({ maxLength: 32 }),
      frameArb.map((f) => encodeSyncFrame(f)),
      fc
        .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 4 }), fc.uint8Array({ minLength: 1, maxLength: 8 }))
        .map(([i, c, d]) => rawChunk(i, c, d)),
    )
    fc.assert(
      fc.property(fc.array(wireArb, { maxLength: 12 }), (wires) => {
        const assembler = new ChunkAssembler()
        for (const wire of wires) {
          try {
            assembler.push(wire)
          } catch (err) {
            expect((err as Error).name).toBe('DecodeError')
            return
          }
        }
      }),
      { numRuns: 1000 },
    )
  })
})
