/**
 * Wire format of `/synod/rendezvous/1`, the small discovery protocol the relay serves: a peer registers in a room
 * (named by a hash, so the relay never learns room names) and the relay answers with the room's other members, then
 * pushes joins and leaves for as long as the stream stays open. Each frame is `[type][payload]`, length-prefixed by
 * the stream.
 */
import { DecodeError } from '../../errors.js'
import { Reader, Writer } from '../wire.js'

export const RENDEZVOUS_PROTOCOL = '/synod/rendezvous/1'

/** Bounds every decoder checks before allocating. */
export const RENDEZVOUS_LIMITS = {
  maxFrameBytes: 256 * 1024,
  maxRoomKeyLength: 128,
  maxAddrs: 16,
  maxAddrLength: 512,
  maxPeerIdLength: 128,
  /** Most members one PEERS frame lists; larger rooms are listed in several frames. */
  maxPeersPerFrame: 256,
} as const

export interface RendezvousPeer {
  readonly id: string
  readonly addrs: readonly string[]
}

export type RendezvousMessage =
  | { readonly type: 'register'; readonly room: string; readonly addrs: readonly string[] }
  | { readonly type: 'peers'; readonly peers: readonly RendezvousPeer[] }
  | { readonly type: 'joined'; readonly peer: RendezvousPeer }
  | { readonly type: 'left'; readonly id: string }

const TYPE_CODES = { register: 1, peers: 2, joined: 3, left: 4 } as const

function writeAddrs(w: Writer, addrs: readonly string[]): void {
  w.varuint(addrs.length)
  for (const a of addrs) w.string(a)
}

function readBoundedString(r: Reader, max: number, what: string): string {
  const s = r.string()
  if (s.length === 0 || s.length > max) throw new DecodeError(`${what} must be 1 to ${max} characters, got ${s.length}`)
  return s
}

function readAddrs(r: Reader): string[] {
  const n = r.varuint()
  if (n > RENDEZVOUS_LIMITS.maxAddrs) {
    throw new DecodeError(`too many addresses: ${n} > ${RENDEZVOUS_LIMITS.maxAddrs}`)
  }
  const addrs: string[] = []
  for (let i = 0; i < n; i++) {
    const a = readBoundedString(r, RENDEZVOUS_LIMITS.maxAddrLength, 'address')
    if (!a.startsWith('/')) throw new DecodeError(`address must be a multiaddr, got '${a.slice(0, 40)}'`)
    addrs.push(a)
  }
  return addrs
}

function readPeer(r: Reader): RendezvousPeer {
  const id = readBoundedString(r, RENDEZVOUS_LIMITS.maxPeerIdLength, 'peer id')
  return { id, addrs: readAddrs(r) }
}

export function encodeRendezvous(msg: RendezvousMessage): Uint8Array {
  const w = new Writer()
  w.u8(TYPE_CODES[msg.type])
  switch (msg.type) {
    case 'register':
      w.string(msg.room)
      writeAddrs(w, msg.addrs)
      break
    case 'peers':
      w.varuint(msg.peers.length)
      for (const p of msg.peers) {
        w.string(p.id)
        writeAddrs(w, p.addrs)
      }
      break
    case 'joined':
      w.string(msg.peer.id)
      writeAddrs(w, msg.peer.addrs)
      break
    case 'left':
      w.string(msg.id)
      break
  }
  return w.finish()
}

export function decodeRendezvous(bytes: Uint8Array): RendezvousMessage {
  if (bytes.length > RENDEZVOUS_LIMITS.maxFrameBytes) {
    throw new DecodeError(`rendezvous frame of ${bytes.length} bytes exceeds ${RENDEZVOUS_LIMITS.maxFrameBytes}`)
  }
  const r = new Reader(bytes, { maxBytes: RENDEZVOUS_LIMITS.maxFrameBytes })
  const type = r.u8()
  let msg: RendezvousMessage
  switch (type) {
    case TYPE_CODES.register:
      msg = {
        type: 'register',
        room: readBoundedString(r, RENDEZVOUS_LIMITS.maxRoomKeyLength, 'room key'),
        addrs: readAddrs(r),
      }
      break
    case TYPE_CODES.peers: {
      const n = r.varuint()
      if (n > RENDEZVOUS_LIMITS.maxPeersPerFrame) {
        throw new DecodeError(`too many peers in one frame: ${n} > ${RENDEZVOUS_LIMITS.maxPeersPerFrame}`)
      }
      const peers: RendezvousPeer[] = []
      for (let i = 0; i < n; i++) peers.push(readPeer(r))
      msg = { type: 'peers', peers }
      break
    }
    case TYPE_CODES.joined:
      msg = { type: 'joined', peer: readPeer(r) }
      break
    case TYPE_CODES.left:
      msg = { type: 'left', id: readBoundedString(r, RENDEZVOUS_LIMITS.maxPeerIdLength, 'peer id') }
      break
    default:
      throw new DecodeError(`unknown rendezvous message type ${type}`)
  }
  r.expectEnd()
  return msg
}

/** Hash of a room id, so the relay can group members without learning what the room is called. */
export async function roomKey(roomId: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`synod-room:${roomId}`))
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
}
