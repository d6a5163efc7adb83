/**
 * Frames of `/synod/sync/1`. Each peer opens one stream to each other peer of a room and sends: a `hello` naming the
 * room, then `sync` frames (an Automerge sync message for one document) and `snapshot` frames (a whole saved document,
 * for a peer that has nothing yet). A frame larger than the chunk size travels as consecutive `chunk` frames, so no
 * single write comes near WebRTC's message limits and a large document never needs one huge buffer on the wire.
 */
import { DecodeError } from '../errors.js'
import { Reader, Writer } from '../transport/wire.js'

export const SYNC_PROTOCOL = '/synod/sync/1'

export const SYNC_LIMITS = {
  /** Chunks are at most this big: well under the 256 KiB SCTP message limit, and WebRTC's 16 KiB sweet spot × 4. */
  chunkBytes: 64 * 1024,
  /** Largest frame on the wire (a chunk plus its header). */
  maxFrameBytes: 64 * 1024 + 256,
  /** Largest reassembled message: a saved document this big is refused. */
  maxMessageBytes: 256 * 1024 * 1024,
  maxDocNameLength: 256,
  maxRoomIdLength: 128,
} as const

export type SyncFrame =
  | { readonly type: 'hello'; readonly room: string }
  | { readonly type: 'sync'; readonly doc: string; readonly data: Uint8Array }
  | { readonly type: 'snapshot'; readonly doc: string; readonly data: Uint8Array }
  /** Ask the peer for a document it may have (it answers with sync or an `unknown`). */
  | { readonly type: 'unknown'; readonly doc: string }
  | { readonly type: 'chunk'; readonly index: number; readonly count: number; readonly data: Uint8Array }

const CODES = { hello: 1, sync: 2, snapshot: 3, unknown: 4, chunk: 5 } as const

export function encodeSyncFrame(frame: SyncFrame): Uint8Array {
  const w = new Writer()
  w.u8(CODES[frame.type])
  switch (frame.type) {
    case 'hello':
      w.string(frame.room)
      break
    case 'sync':
    case 'snapshot':
      w.string(frame.doc)
      w.bytes(frame.data)
      break
    case 'unknown':
      w.string(frame.doc)
      break
    case 'chunk':
      w.varuint(frame.index)
      w.varuint(frame.count)
      w.bytes(frame.data)
      break
  }
  return w.finish()
}

function docName(r: Reader): string {
  const name = r.string()
  if (name.length === 0 || name.length > SYNC_LIMITS.maxDocNameLength) {
    throw new DecodeError(`document name must be 1 to ${SYNC_LIMITS.maxDocNameLength} characters`)
  }
  return name
}

export function decodeSyncFrame(bytes: Uint8Array, maxBytes: number = SYNC_LIMITS.maxMessageBytes): SyncFrame {
  if (bytes.length > maxBytes) throw new DecodeError(`sync frame of ${bytes.length} bytes exceeds ${maxBytes}`)
  const r = new Reader(bytes, { maxBytes })
  const type = r.u8()
  let frame: SyncFrame
  switch (type) {
    case CODES.hello: {
      const room = r.string()
      if (room.length === 0 || room.length > SYNC_LIMITS.maxRoomIdLength) throw new DecodeError('bad room id in hello')
      frame = { type: 'hello', room }
      break
    }
    case CODES.sync:
      frame = { type: 'sync', doc: docName(r), data: r.bytes() }
      break
    case CODES.snapshot:
      frame = { type: 'snapshot', doc: docName(r), data: r.bytes() }
      break
    case CODES.unknown:
      frame = { type: 'unknown', doc: docName(r) }
      break
    case CODES.chunk: {
      const index = r.varuint()
      const count = r.varuint()
      if (count < 2 || index >= count || count * SYNC_LIMITS.chunkBytes > SYNC_LIMITS.maxMessageBytes + SYNC_LIMITS.chunkBytes) {
        throw new DecodeError(`bad chunk ${index} of ${count}`)
      }
      const data = r.bytes()
      if (data.length === 0 || data.length > SYNC_LIMITS.chunkBytes) throw new DecodeError('bad chunk size')
      frame = { type: 'chunk', index, count, data }
      break
    }
    default:
      throw new DecodeError(`unknown sync frame type ${type}`)
  }
  r.expectEnd()
  return frame
}

/** Splits an encoded frame into wire frames: itself if small, else `chunk` frames. */
export function toWireFrames(encoded: Uint8Array): Uint8Array[] {
  if (encoded.length <= SYNC_LIMITS.chunkBytes) return [encoded]
  const count = Math.ceil(encoded.length / SYNC_LIMITS.chunkBytes)
  const frames: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const data = encoded.subarray(i * SYNC_LIMITS.chunkBytes, (i + 1) * SYNC_LIMITS.chunkBytes)
    frames.push(encodeSyncFrame({ type: 'chunk', index: i, count, data }))
  }
  return frames
}

/**
 * Reassembles chunked frames from one ordered stream. Chunks of one message arrive consecutively (a sender writes
 * them in one go), so one assembly at a time suffices; anything out of order is a protocol error.
 */
export class ChunkAssembler {
  private parts: Uint8Array[] = []
  private expected = 0

  /** The chunked message being received: its document (read from the first chunk) and how far along it is. */
  progress(): { readonly doc: string | undefined; readonly received: number; readonly total: number } | undefined {
    if (this.parts.length === 0) return undefined
    return { doc: this.docName, received: this.parts.length * SYNC_LIMITS.chunkBytes, total: this.expected * SYNC_LIMITS.chunkBytes }
  }

  private docName: string | undefined

  /** Returns the whole frame once its last chunk arrived, the frame itself if it was not chunked, else undefined. */
  push(wire: Uint8Array): SyncFrame | undefined {
    const frame = decodeSyncFrame(wire, SYNC_LIMITS.maxFrameBytes)
    if (frame.type !== 'chunk') {
      if (this.parts.length > 0) throw new DecodeError('frame interleaved with an unfinished chunked message')
      return frame
    }
    if (frame.index !== this.parts.length || (this.parts.length > 0 && frame.count !== this.expected)) {
      throw new DecodeError(`chunk ${frame.index}/${frame.count} out of order`)
    }
    this.expected = frame.count
    if (frame.index === 0) this.docName = peekDocName(frame.data)
    this.parts.push(frame.data)
    if (this.parts.length < frame.count) return undefined
    const total = this.parts.reduce((n, p) => n + p.length, 0)
    const whole = new Uint8Array(total)
    let offset = 0
    for (const p of this.parts) {
      whole.set(p, offset)
      offset += p.length
    }
    this.parts = []
    const inner = decodeSyncFrame(whole)
    if (inner.type === 'chunk') throw new DecodeError('nested chunk')
    return inner
  }
}

/** The document a chunked `sync` or `snapshot` frame is about, read from the start of its first chunk. */
function peekDocName(firstChunk: Uint8Array): string | undefined {
  try {
    const r = new Reader(firstChunk, { maxBytes: SYNC_LIMITS.maxDocNameLength * 4 })
    const type = r.u8()
    return type === CODES.sync || type === CODES.snapshot ? r.string() : undefined
  } catch {
    return undefined
  }
}
