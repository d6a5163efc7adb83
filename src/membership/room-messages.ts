/**
 * Messages gossiped on a room's control topic (`synod/<room>/room/1`): heartbeats that say who is here, presence
 * updates, and goodbyes. `[type][payload]`; the topic name carries the version. The sender is not in the payload:
 * gossipsub signs every message, so the author is the message's authenticated `from`.
 */
import { DecodeError } from '../errors.js'
import { Reader, Writer } from '../transport/wire.js'

export const ROOM_LIMITS = {
  /** Largest room control message accepted from the wire. */
  maxMessageBytes: 64 * 1024,
  maxNameLength: 128,
  /** Most members a heartbeat's configuration may list (the ordering group is 1 to 5 voters plus learners). */
  maxConfigMembers: 32,
  maxPeerIdLength: 128,
  /** Most links a heartbeat lists (the topology view shows at most this many per member). */
  maxLinks: 64,
  /** Default limit for one presence value, as UTF-8 JSON. */
  defaultMaxPresenceBytes: 8 * 1024,
} as const

/** What a heartbeat says about the sender's part in the room's ordering group (super-peer election reads it). */
export interface OrderingInfo {
  /** Whether it may serve as a super-peer: `createPeer({ superPeer })`. */
  readonly capability: 'never' | 'auto' | 'prefer'
  /** Its part in the Raft group now. */
  readonly role: 'peer' | 'super' | 'leader'
  /** Its Raft term (0 when it is not in the group). */
  readonly term: number
  /** How many members of the room it holds direct connections to. */
  readonly directPeers: number
  /** The Raft group it is in or follows (`''` for none). */
  readonly group: string
  /**
   * A leader's committed configuration: the index of its latest config entry and the group's members (voters and
   * learners). A member that holds an older configuration naming itself learns from this that it was removed (Raft
   * never tells a removed follower). Absent on other roles, and while the leader's latest configuration is uncommitted.
   */
  readonly config?: { readonly index: number; readonly members: readonly string[] }
}

/** One of the sender's connections to another member, for `room.topology()`. */
export interface LinkInfo {
  readonly peer: string
  /** `direct`: a WebRTC connection; `relayed`: only through a relay's circuit. */
  readonly via: 'direct' | 'relayed'
}

const VIAS = ['direct', 'relayed'] as const
const CAPABILITIES = ['never', 'auto', 'prefer'] as const
const ROLES = ['peer', 'super', 'leader'] as const

export type RoomMessage =
  | {
      readonly type: 'heartbeat'
      /** Start time of the sender's session: a reloaded page is a new incarnation whose counters restart. */
      readonly incarnation: number
      readonly name: string
      /** Version of the sender's current presence (0: none yet), so a receiver can tell it has missed one. */
      readonly presenceVersion: number
      readonly ordering: OrderingInfo
      /** Its connections to other members of the room (at most ROOM_LIMITS.maxLinks). */
      readonly links: readonly LinkInfo[]
    }
  | {
      readonly type: 'presence'
      readonly incarnation: number
      readonly version: number
      /** UTF-8 JSON of the presence value; `null` clears it. */
      readonly json: string
    }
  | { readonly type: 'leave'; readonly incarnation: number }

const CODES = { heartbeat: 1, presence: 2, leave: 3 } as const

export function encodeRoomMessage(msg: RoomMessage): Uint8Array {
  const w = new Writer()
  w.u8(CODES[msg.type])
  w.varuint(msg.incarnation)
  switch (msg.type) {
    case 'heartbeat':
      w.string(msg.name)
      w.varuint(msg.presenceVersion)
      w.u8(CAPABILITIES.indexOf(msg.ordering.capability))
      w.u8(ROLES.indexOf(msg.ordering.role))
      w.varuint(msg.ordering.term)
      w.varuint(msg.ordering.directPeers)
      w.string(msg.ordering.group)
      w.varuint(msg.ordering.config?.index ?? 0)
      if (msg.ordering.config !== undefined) {
        w.varuint(msg.ordering.config.members.length)
        for (const id of msg.ordering.config.members) w.string(id)
      }
      w.varuint(msg.links.length)
      for (const link of msg.links) {
        w.string(link.peer)
        w.u8(VIAS.indexOf(link.via))
      }
      break
    case 'presence':
      w.varuint(msg.version)
      w.string(msg.json)
      break
    case 'leave':
      break
  }
  return w.finish()
}

/**
 * Decodes and validates a room message. `maxPresenceBytes` is this room's limit; a larger presence value is rejected
 * here, before it is parsed.
 */
export function decodeRoomMessage(
  bytes: Uint8Array,
  maxPresenceBytes: number = ROOM_LIMITS.defaultMaxPresenceBytes,
): RoomMessage {
  if (bytes.length > ROOM_LIMITS.maxMessageBytes) {
    throw new DecodeError(`room message of ${bytes.length} bytes exceeds ${ROOM_LIMITS.maxMessageBytes}`)
  }
  const r = new Reader(bytes, { maxBytes: ROOM_LIMITS.maxMessageBytes })
  const type = r.u8()
  const incarnation = r.varuint()
  let msg: RoomMessage
  switch (type) {
    case CODES.heartbeat: {
      const name = r.string()
      if (name.length > ROOM_LIMITS.maxNameLength) {
        throw new DecodeError(`member name of ${name.length} characters exceeds ${ROOM_LIMITS.maxNameLength}`)
      }
      const presenceVersion = r.varuint()
      const capability = CAPABILITIES[r.u8()]
      const role = ROLES[r.u8()]
      if (capability === undefined || role === undefined) throw new DecodeError('unknown super-peer capability or role')
      const term = r.varuint()
      const directPeers = r.varuint()
      const group = r.string()
      if (group.length > 256) throw new DecodeError('group name over 256 characters')
      const config = decodeConfig(r)
      const ordering: OrderingInfo = { capability, role, term, directPeers, group, ...(config === undefined ? {} : { config }) }
      msg = { type: 'heartbeat', incarnation, name, presenceVersion, ordering, links: decodeLinks(r) }
      break
    }
    case CODES.presence: {
      const version = r.varuint()
      const json = r.string()
      const size = new TextEncoder().encode(json).length
      if (size > maxPresenceBytes) {
        throw new DecodeError(`presence value of ${size} bytes exceeds the room's limit of ${maxPresenceBytes}`)
      }
      try {
        JSON.parse(json)
      } catch (err) {
        throw new DecodeError('presence value is not valid JSON', { cause: err })
      }
      msg = { type: 'presence', incarnation, version, json }
      break
    }
    case CODES.leave:
      msg = { type: 'leave', incarnation }
      break
    default:
      throw new DecodeError(`unknown room message type ${type}`)
  }
  r.expectEnd()
  return msg
}

function decodeConfig(r: Reader): OrderingInfo['config'] {
  const index = r.varuint()
  if (index === 0) return undefined
  const count = r.varuint()
  if (count > ROOM_LIMITS.maxConfigMembers) {
    throw new DecodeError(`configuration of ${count} members exceeds ${ROOM_LIMITS.maxConfigMembers}`)
  }
  const members: string[] = []
  for (let i = 0; i < count; i++) members.push(readPeerId(r, 'configuration member id'))
  return { index, members }
}

function decodeLinks(r: Reader): LinkInfo[] {
  const count = r.varuint()
  if (count > ROOM_LIMITS.maxLinks) throw new DecodeError(`heartbeat of ${count} links exceeds ${ROOM_LIMITS.maxLinks}`)
  const links: LinkInfo[] = []
  for (let i = 0; i < count; i++) {
    const peer = readPeerId(r, 'link peer id')
    const via = VIAS[r.u8()]
    if (via === undefined) throw new DecodeError('unknown link kind')
    links.push({ peer, via })
  }
  return links
}

function readPeerId(r: Reader, what: string): string {
  const id = r.string()
  if (id.length === 0 || id.length > ROOM_LIMITS.maxPeerIdLength) throw new DecodeError(`${what} is empty or too long`)
  return id
}
