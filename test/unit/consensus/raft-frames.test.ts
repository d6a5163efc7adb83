// The frames that carry `/synod/raft/1` messages over a libp2p stream: the hello, whole messages, chunking at and
// around the chunk size up to the codec's largest message, reassembly that refuses anything out of place, and hostile
// input that only ever surfaces as a DecodeError (matched by err.name, as the transport does).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeRaftMessage, encodeRaftMessage, RAFT_LIMITS } from '../../../src/consensus/raft/codec.js'
import { createRaftTransport } from '../../../src/consensus/raft/libp2p-transport.js'
import {
  decodeRaftFrame,
  encodeRaftFrame,
  RAFT_FRAME_LIMITS,
  RaftFrameAssembler,
  toRaftWireFrames,
  type RaftFrame,
} from '../../../src/consensus/raft/raft-frames.js'
import type { AppendMessage } from '../../../src/consensus/raft/types.js'
import type { SynodLibp2p } from '../../../src/transport/create-node.js'
import { Writer } from '../../../src/transport/wire.js'

const CHUNK = RAFT_FRAME_LIMITS.chunkBytes
const MAX = RAFT_FRAME_LIMITS.maxMessageBytes

function errorName(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as Error).name
  }
  throw new Error('expected an error, none was thrown')
}

/** Bytes from a small LCG: a chunk put back in the wrong place shows up as a mismatch. */
function pattern(length: number, seed = 11): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed >>> 0
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    out[i] = x >>> 24
  }
  return out
}

/** Frames written by hand, so that values the encoder refuses can reach the decoder. */
const raw = {
  hello: (group: Uint8Array): Uint8Array => new Writer().u8(1).bytes(group).finish(),
  message: (data: Uint8Array): Uint8Array => new Writer().u8(2).bytes(data).finish(),
  chunk: (index: number, count: number, data: Uint8Array): Uint8Array =>
    new Writer().u8(3).varuint(index).varuint(count).bytes(data).finish(),
}

/** Byte equality that stays fast for megabytes (toEqual walks them element by element). */
function expectSameMessages(actual: readonly Uint8Array[], expected: readonly Uint8Array[]): void {
  expect(actual.map((m) => m.length)).toEqual(expected.map((m) => m.length))
  actual.forEach((m, i) => expect(Buffer.from(m).equals(expected[i] as Uint8Array)).toBe(true))
}

function assemble(wires: readonly Uint8Array[], assembler = new RaftFrameAssembler()): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const wire of wires) {
    const message = assembler.push(wire)
    if (message !== undefined) out.push(message)
  }
  return out
}

describe('hello', () => {
  it('round-trips group names up to the limit, including non-ASCII ones', () => {
    for (const group of ['g', 'room-1/log', 'ü/日本/🎲', 'x'.repeat(RAFT_FRAME_LIMITS.maxGroupLength)]) {
      expect(decodeRaftFrame(encodeRaftFrame({ type: 'hello', group }))).toEqual({ type: 'hello', group })
    }
  })

  it('refuses empty, overlong and unencodable names on both sides', () => {
    const long = 'x'.repeat(RAFT_FRAME_LIMITS.maxGroupLength + 1)
    for (const group of ['', long, 'a\uD800b']) {
      expect(errorName(() => encodeRaftFrame({ type: 'hello', group }))).toBe('InvalidOptionError')
    }
    const enc = new TextEncoder()
    expect(errorName(() => decodeRaftFrame(raw.hello(new Uint8Array())))).toBe('DecodeError')
    expect(errorName(() => decodeRaftFrame(raw.hello(enc.encode(long))))).toBe('DecodeError')
    expect(errorName(() => decodeRaftFrame(raw.hello(new Uint8Array([0x61, 0xc3]))))).toBe('DecodeError') // bad UTF-8
  })

  it('is refused after the start of a stream', () => {
    const assembler = new RaftFrameAssembler()
    expect(errorName(() => assembler.push(encodeRaftFrame({ type: 'hello', group: 'g' })))).toBe('DecodeError')
  })
})

describe('chunking', () => {
  it('sends a message of up to one chunk as one frame, and a larger one as full chunks plus a remainder', () => {
    for (const [size, frames] of [
      [1, 1],
      [CHUNK - 1, 1],
      [CHUNK, 1],
      [CHUNK + 1, 2],
      [2 * CHUNK, 2],
      [1024 * 1024, 16],
      [MAX, Math.ceil(MAX / CHUNK)],
    ] as const) {
      const message = pattern(size, size)
      const wires = toRaftWireFrames(message)
      expect(wires).toHaveLength(frames)
      for (const wire of wires) expect(wire.length).toBeLessThanOrEqual(RAFT_FRAME_LIMITS.maxFrameBytes)
      expectSameMessages(assemble(wires), [message])
    }
  })

  it('refuses to send an empty message or one over the codec limit', () => {
    expect(errorName(() => toRaftWireFrames(new Uint8Array()))).toBe('InvalidOptionError')
    expect(errorName(() => toRaftWireFrames(new Uint8Array(MAX + 1)))).toBe('MessageTooLargeError')
    expect(RAFT_FRAME_LIMITS.maxMessageBytes).toBe(RAFT_LIMITS.maxMessageBytes)
  })

  it('carries a 1 MiB append from the codec intact, interleaved with small messages', () => {
    const append: AppendMessage = {
      type: 'append',
      from: 'a',
      to: 'b',
      term: 3,
      prevIndex: 9,
      prevTerm: 2,
      commit: 9,
      entries: [{ index: 10, term: 3, kind: 'normal', data: pattern(RAFT_LIMITS.maxEntryDataBytes, 5) }],
    }
    const big = encodeRaftMessage(append)
    const small = encodeRaftMessage({ type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 9, ctx: null })
    const out = assemble([small, big, small, big].flatMap((m) => toRaftWireFrames(m)))
    expectSameMessages(out, [small, big, small, big])
    expect(decodeRaftMessage(out[1] as Uint8Array)).toEqual(append)
    expect(decodeRaftMessage(out[3] as Uint8Array)).toEqual(append)
  })

  it('round-trips random message sequences', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3 * CHUNK + 7 }), { minLength: 1, maxLength: 6 }), (sizes) => {
        const messages = sizes.map((size, i) => pattern(size, i + 1))
        expectSameMessages(assemble(messages.flatMap((m) => toRaftWireFrames(m))), messages)
      }),
      { numRuns: 30 },
    )
  })
})

describe('reassembly limits', () => {
  const full = pattern(CHUNK)

  it('refuses chunks out of order, restarted, or changing their count', () => {
    const cases: Uint8Array[][] = [
      [raw.chunk(1, 2, full)], // does not start at 0
      [raw.chunk(0, 3, full), raw.chunk(2, 3, full)], // skips one
      [raw.chunk(0, 3, full), raw.chunk(0, 3, full)], // restarts
      [raw.chunk(0, 3, full), raw.chunk(1, 4, full)], // count changes
      [raw.chunk(0, 2, full), raw.message(pattern(5))], // a message inside a chunked one
      [raw.chunk(0, 2, full), encodeRaftFrame({ type: 'hello', group: 'g' })],
    ]
    for (const wires of cases) {
      expect(errorName(() => assemble(wires))).toBe('DecodeError')
    }
  })

  it('refuses chunk sizes and counts no sender produces', () => {
    const cases: Uint8Array[] = [
      raw.chunk(0, 1, pattern(10)), // a single chunk is a message
      raw.chunk(2, 2, pattern(10)), // index past the count
      raw.chunk(0, 2, pattern(CHUNK - 1)), // a short chunk before the last
      raw.chunk(1, 2, new Uint8Array()), // an empty last chunk
      raw.chunk(0, Math.ceil(MAX / CHUNK) + 1, full), // more chunks than the largest message needs
      raw.message(new Uint8Array()), // an empty message
      raw.message(pattern(CHUNK + 1)), // a message that should have been chunked
    ]
    for (const wire of cases) {
      expect(errorName(() => decodeRaftFrame(wire))).toBe('DecodeError')
    }
    // The encoder keeps to the same rules.
    expect(errorName(() => encodeRaftFrame({ type: 'chunk', index: 0, count: 2, data: pattern(9) }))).toBe('InvalidOptionError')
    expect(errorName(() => encodeRaftFrame({ type: 'message', data: pattern(CHUNK + 1) }))).toBe('InvalidOptionError')
  })

  it('accepts exactly the largest message, and nothing that would add up to more', () => {
    const count = Math.ceil(MAX / CHUNK)
    const lastBytes = MAX - (count - 1) * CHUNK
    const wires = Array.from({ length: count }, (_, i) => raw.chunk(i, count, i < count - 1 ? full : pattern(lastBytes)))
    expect(assemble(wires)[0]?.length).toBe(MAX)
    // One chunk more than the limit allows is refused at its first frame, before anything is buffered.
    expect(errorName(() => new RaftFrameAssembler().push(raw.chunk(0, count + 1, full)))).toBe('DecodeError')
  })
})

describe('garbage', () => {
  it('refuses unknown types, trailing bytes, truncation and oversized frames with DecodeError', () => {
    const good = encodeRaftFrame({ type: 'message', data: pattern(20) })
    const cases: Uint8Array[] = [
      new Uint8Array(),
      new Uint8Array([0]),
      new Uint8Array([4, 1, 1]),
      new Uint8Array([...good, 0]),
      good.subarray(0, good.length - 1),
      new Uint8Array(RAFT_FRAME_LIMITS.maxFrameBytes + 1),
      new Uint8Array([3, 0x80]), // a truncated varuint
    ]
    for (const wire of cases) {
      expect(errorName(() => decodeRaftFrame(wire))).toBe('DecodeError')
    }
  })

  it('surfaces random bytes only as DecodeError, from the decoder and the assembler', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 8 }), (wires) => {
        const assembler = new RaftFrameAssembler()
        for (const wire of wires) {
          for (const run of [() => decodeRaftFrame(wire), () => assembler.push(wire)]) {
            try {
              run()
            } catch (err) {
              expect((err as Error).name).toBe('DecodeError')
            }
          }
        }
      }),
      { numRuns: 500 },
    )
  })

  it('decodes every frame the encoder writes back to itself', () => {
    const frames: RaftFrame[] = [
      { type: 'hello', group: 'room/log' },
      { type: 'message', data: pattern(CHUNK) },
      { type: 'chunk', index: 0, count: 2, data: pattern(CHUNK) },
      { type: 'chunk', index: 1, count: 2, data: pattern(1) },
    ]
    for (const frame of frames) expect(decodeRaftFrame(encodeRaftFrame(frame))).toEqual(frame)
  })
})

describe('transport options', () => {
  it('are checked before the node is touched', () => {
    const node = {} as SynodLibp2p // any use of it would throw a TypeError instead
    for (const options of [{ group: '' }, { group: 'x'.repeat(257) }, { group: 'g', maxQueuedFrames: 0 }, { group: 'g', maxQueuedFrames: 1.5 }]) {
      expect(errorName(() => createRaftTransport({ node, ...options }))).toBe('InvalidOptionError')
    }
  })
})
