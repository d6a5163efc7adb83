/**
 * The frames of `/synod/raft/1` streams: a `hello` naming the group first, then each Raft message whole (up to
 * 64 KiB) or as consecutive chunks. Pure encoding and reassembly, bounded before anything is buffered; the stream
 * handling lives in libp2p-transport.ts.
 */
import { DecodeError, InvalidOptionError, MessageTooLargeError } from '../../errors.js'
import { Reader, Writer } from '../../transport/wire.js'
import { RAFT_LIMITS } from './codec.js'

const KiB = 1024

export const RAFT_FRAME_LIMITS = {
  /** A message larger than this travels in chunks of this size: WebRTC's 16 KiB sweet spot × 4, as in sync. */
  chunkBytes: 64 * KiB,
  /** Largest frame on the wire: a chunk, its type, index, count and length (four varuints fit in 32 bytes). */
  maxFrameBytes: 64 * KiB + 32,
  /** Largest reassembled message: the codec's own limit, so any message the codec writes fits. */
  maxMessageBytes: RAFT_LIMITS.maxMessageBytes,
  /** Group names, in UTF-16 code units: room ids are at most 128, plus a name. */
  maxGroupLength: 256,
} as const

/** How many chunks the largest message takes; more is refused before anything is buffered. */
const MAX_CHUNKS = Math.ceil(RAFT_FRAME_LIMITS.maxMessageBytes / RAFT_FRAME_LIMITS.chunkBytes)
const LONE_SURROGATE = /\p{Cs}/u

export type RaftFrame =
  /** First frame of every stream: which group the stream carries messages for. */
  | { readonly type: 'hello'; readonly group: string }
  /** One whole message of at most `chunkBytes`. */
  | { readonly type: 'message'; readonly data: Uint8Array }
  /** Part `index` of `count` of a larger message; every part but the last is exactly `chunkBytes`. */
  | { readonly type: 'chunk'; readonly index: number; readonly count: number; readonly data: Uint8Array }

const CODES = { hello: 1, message: 2, chunk: 3 } as const

// ---- frames: pure functions ----------------------------------------------------------------------------------------

/** Why `group` cannot name a group on the wire, or undefined if it can. */
export function groupProblem(group: string): string | undefined {
  if (typeof group !== 'string' || group.length === 0) return 'group must be a non-empty string'
  if (group.length > RAFT_FRAME_LIMITS.maxGroupLength) {
    return `group is ${group.length} characters, over the limit of ${RAFT_FRAME_LIMITS.maxGroupLength}`
  }
  // TextEncoder would send U+FFFD instead, and the peer would read another group's name.
  if (LONE_SURROGATE.test(group)) return 'group contains a lone surrogate, which UTF-8 cannot carry'
  return undefined
}

/** Why `frame` breaks the rules of the wire, or undefined; shared by the encoder and the decoder. */
function frameProblem(frame: RaftFrame): string | undefined {
  const { chunkBytes } = RAFT_FRAME_LIMITS
  switch (frame.type) {
    case 'hello':
      return groupProblem(frame.group)
    case 'message':
      return frame.data.length >= 1 && frame.data.length <= chunkBytes
        ? undefined
        : `message of ${frame.data.length} bytes is not within 1..${chunkBytes} (larger ones are chunked)`
    case 'chunk': {
      const { index, count, data } = frame
      if (!Number.isSafeInteger(count) || count < 2 || count > MAX_CHUNKS) return `chunk count ${count} is not within 2..${MAX_CHUNKS}`
      if (!Number.isSafeInteger(index) || index < 0 || index >= count) return `chunk index ${index} is not below its count ${count}`
      if (index < count - 1) return data.length === chunkBytes ? undefined : `chunk ${index} is ${data.length} bytes, not ${chunkBytes}`
      if (data.length < 1 || data.length > chunkBytes) return `last chunk of ${data.length} bytes is not within 1..${chunkBytes}`
      const total = (count - 1) * chunkBytes + data.length
      return total <= RAFT_FRAME_LIMITS.maxMessageBytes ? undefined : `chunked message of ${total} bytes is over the limit`
    }
    default:
      return `unknown frame type ${String((frame as { type: unknown }).type)}`
  }
}

/** Encodes one frame; InvalidOptionError for a frame the decoder would refuse. */
export function encodeRaftFrame(frame: RaftFrame): Uint8Array {
  const problem = frameProblem(frame)
  if (problem !== undefined) throw new InvalidOptionError(`cannot encode raft frame: ${problem}`)
  const w = new Writer().u8(CODES[frame.type])
  if (frame.type === 'hello') w.string(frame.group)
  else if (frame.type === 'message') w.bytes(frame.data)
  else w.varuint(frame.index).varuint(frame.count).bytes(frame.data)
  return w.finish()
}

/** Decodes one wire frame; DecodeError for anything oversized, malformed, unknown or against the rules. */
export function decodeRaftFrame(bytes: Uint8Array): RaftFrame {
  if (bytes.length > RAFT_FRAME_LIMITS.maxFrameBytes) {
    throw new DecodeError(`raft frame of ${bytes.length} bytes exceeds ${RAFT_FRAME_LIMITS.maxFrameBytes}`)
  }
  const r = new Reader(bytes, { maxBytes: RAFT_FRAME_LIMITS.chunkBytes })
  const code = r.u8()
  let frame: RaftFrame
  switch (code) {
    case CODES.hello:
      frame = { type: 'hello', group: r.string() }
      break
    case CODES.message:
      frame = { type: 'message', data: r.bytes() }
      break
    case CODES.chunk: {
      const index = r.varuint()
      const count = r.varuint()
      frame = { type: 'chunk', index, count, data: r.bytes() }
      break
    }
    default:
      throw new DecodeError(`unknown raft frame type ${code}`)
  }
  r.expectEnd()
  const problem = frameProblem(frame)
  if (problem !== undefined) throw new DecodeError(`raft ${frame.type} frame: ${problem}`)
  return frame
}

/** The wire frames that carry one message: a `message` frame, or `chunk` frames for a large one. */
export function toRaftWireFrames(message: Uint8Array): Uint8Array[] {
  const { chunkBytes, maxMessageBytes } = RAFT_FRAME_LIMITS
  if (message.length > maxMessageBytes) throw new MessageTooLargeError(message.length, maxMessageBytes, 'raft message')
  if (message.length <= chunkBytes) return [encodeRaftFrame({ type: 'message', data: message })]
  const count = Math.ceil(message.length / chunkBytes)
  const frames: Uint8Array[] = []
  for (let index = 0; index < count; index++) {
    const data = message.subarray(index * chunkBytes, (index + 1) * chunkBytes)
    frames.push(encodeRaftFrame({ type: 'chunk', index, count, data }))
  }
  return frames
}

/**
 * Turns the frames after the hello of one inbound stream back into messages. A sender writes the chunks of a message
 * one after the other, so one assembly at a time suffices and anything out of order is a protocol error. Memory is
 * bounded by the chunks received: at most maxMessageBytes.
 */
export class RaftFrameAssembler {
  private parts: Uint8Array[] = []
  private count = 0

  /** True while a chunked message is partly received. */
  get pending(): boolean {
    return this.parts.length > 0
  }

  /** The whole message once its last frame arrived, else undefined. DecodeError for a frame out of place. */
  push(wire: Uint8Array): Uint8Array | undefined {
    const frame = decodeRaftFrame(wire)
    if (frame.type === 'hello') throw new DecodeError('hello in the middle of a raft stream')
    if (frame.type === 'message') {
      if (this.pending) throw new DecodeError('message interleaved with an unfinished chunked message')
      return frame.data
    }
    if (frame.index !== this.parts.length || (this.pending && frame.count !== this.count)) {
      throw new DecodeError(`raft chunk ${frame.index}/${frame.count} out of order`)
    }
    this.count = frame.count
    this.parts.push(frame.data)
    if (this.parts.length < this.count) return undefined
    const whole = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0))
    let offset = 0
    for (const p of this.parts) {
      whole.set(p, offset)
      offset += p.length
    }
    this.parts = []
    return whole
  }
}

// ---- the per-node registry -----------------------------------------------------------------------------------------

