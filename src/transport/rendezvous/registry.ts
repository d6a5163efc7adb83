/**
 * The relay's table of who is in which room. Pure bookkeeping: it decides which messages go to which session and
 * leaves sending to the caller, so it can be tested without streams. Every map is bounded.
 */
import type { RendezvousMessage, RendezvousPeer } from './messages.js'
import { RENDEZVOUS_LIMITS } from './messages.js'

const utf8 = new TextEncoder()

/** Upper bound of a peer's encoded size in a `peers` frame (each string: a varint length of ≤ 4 bytes, then UTF-8). */
function encodedSize(peer: RendezvousPeer): number {
  let size = 4 + utf8.encode(peer.id).length + 4
  for (const a of peer.addrs) size += 4 + utf8.encode(a).length
  return size
}

/**
 * Splits a member list into `peers` frames that respect both the count and the byte limit the decoder enforces.
 * Always yields at least one (possibly empty) frame.
 */
export function chunkPeers(peers: readonly RendezvousPeer[]): RendezvousPeer[][] {
  const budget = RENDEZVOUS_LIMITS.maxFrameBytes - 16 // type byte and count varint, with room to spare
  const chunks: RendezvousPeer[][] = [[]]
  let size = 0
  for (const peer of peers) {
    const cost = encodedSize(peer)
    const current = chunks[chunks.length - 1] ?? []
    if (current.length >= RENDEZVOUS_LIMITS.maxPeersPerFrame || (current.length > 0 && size + cost > budget)) {
      chunks.push([peer])
      size = cost
    } else {
      current.push(peer)
      size += cost
    }
  }
  return chunks
}

export interface RegistryLimits {
  /** Rooms the relay tracks at once. */
  readonly maxRooms: number
  /** Members one room may have on this relay. */
  readonly maxMembersPerRoom: number
}

export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = { maxRooms: 10_000, maxMembersPerRoom: 1_024 }

/** One registration: a stream on which one peer registered for one room. */
export interface Session {
  readonly peerId: string
  send(msg: RendezvousMessage): void
}

export type RegisterResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'too-many-rooms' | 'room-full' }

interface Entry {
  readonly session: Session
  addrs: readonly string[]
}

export class RendezvousRegistry {
  private readonly rooms = new Map<string, Map<string, Entry>>()
  private readonly roomOf = new Map<Session, string>()

  constructor(private readonly limits: RegistryLimits = DEFAULT_REGISTRY_LIMITS) {}

  get roomCount(): number {
    return this.rooms.size
  }

  members(room: string): RendezvousPeer[] {
    return [...(this.rooms.get(room)?.values() ?? [])].map((e) => ({ id: e.session.peerId, addrs: e.addrs }))
  }

  /**
   * Registers (or re-registers, with new addresses) a session in a room: the session receives the room's other
   * members, and they receive a `joined` for it. A peer registered through another session (a reconnect) is replaced.
   */
  register(session: Session, room: string, addrs: readonly string[]): RegisterResult {
    const previousRoom = this.roomOf.get(session)
    if (previousRoom !== undefined && previousRoom !== room) this.unregister(session)
    let members = this.rooms.get(room)
    if (members === undefined) {
      if (this.rooms.size >= this.limits.maxRooms) return { ok: false, reason: 'too-many-rooms' }
      members = new Map()
      this.rooms.set(room, members)
    }
    const existing = members.get(session.peerId)
    if (existing === undefined && members.size >= this.limits.maxMembersPerRoom) {
      if (members.size === 0) this.rooms.delete(room)
      return { ok: false, reason: 'room-full' }
    }
    if (existing !== undefined && existing.session !== session) this.roomOf.delete(existing.session)
    members.set(session.peerId, { session, addrs })
    this.roomOf.set(session, room)

    const others = [...members.values()].filter((e) => e.session.peerId !== session.peerId)
    if (existing?.session !== session) {
      // The first answer to a registration, even when the room is empty, so the client knows it is registered.
      const peers = others.map((e) => ({ id: e.session.peerId, addrs: e.addrs }))
      for (const chunk of chunkPeers(peers)) session.send({ type: 'peers', peers: chunk })
    }
    for (const other of others) other.session.send({ type: 'joined', peer: { id: session.peerId, addrs } })
    return { ok: true }
  }

  /** Removes the session (its stream closed); the room's other members receive a `left`. Idempotent. */
  unregister(session: Session): void {
    const room = this.roomOf.get(session)
    if (room === undefined) return
    this.roomOf.delete(session)
    const members = this.rooms.get(room)
    if (members?.get(session.peerId)?.session !== session) return
    members.delete(session.peerId)
    if (members.size === 0) this.rooms.delete(room)
    for (const other of members?.values() ?? []) other.session.send({ type: 'left', id: session.peerId })
  }
}
