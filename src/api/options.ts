/**
 * The options of createPeer and join, with their defaults, and their validation: a wrong option fails at once with
 * an InvalidOptionError that names it, rather than later with something obscure.
 */
import { InvalidOptionError } from '../errors.js'
import type { SuperPeerCapability } from '../ordering/election.js'
import { DEFAULT_ORDERING_OPTIONS, type RoomOrderingOptions } from '../room/room-ordering.js'
import { DEFAULT_MEMBERSHIP_OPTIONS, DEFAULT_ROOM_OPTIONS, type MembershipOptions, type RoomOptions } from '../room/room-session.js'

export type { StorageOption } from '../storage/index.js'
import type { StorageOption } from '../storage/index.js'

export interface PeerOptions {
  /** Relay multiaddrs, each ending in `/p2p/<relay id>`. Default none: the peer works alone until given one. */
  readonly bootstrap?: readonly string[]
  /** Name shown to the other members. Default `''`. At most 128 characters. */
  readonly name?: string
  /**
   * STUN/TURN servers for WebRTC. Default none: host candidates only, which connect browsers on one machine or one
   * LAN. Peers behind different NATs need at least a STUN server, and a TURN server for symmetric NATs.
   */
  readonly iceServers?: readonly RTCIceServer[]
  /** Where documents and consensus state are kept. Default `'indexeddb'` in browsers, `'memory'` elsewhere. */
  readonly storage?: StorageOption
  /**
   * Allow dialling loopback and private-range addresses and plain `ws://`. Browsers refuse them by default. Default:
   * true when a bootstrap address is itself such an address (you pointed the peer at a local relay), else false.
   */
  readonly allowPrivateAddresses?: boolean
  /** A WebRTC or relay dial that takes longer than this is abandoned and retried, in ms. Default 5000. */
  readonly dialTimeoutMs?: number
  /**
   * Whether this peer may be elected one of its rooms' super-peers (the few peers that run the room's Raft group for
   * `room.log` and `room.lock`): `'prefer'` (chosen first: a desktop tab that stays open), `'auto'` (default) or
   * `'never'` (a phone, a short-lived tab). Super-peers store the group's log in their storage.
   */
  readonly superPeer?: SuperPeerCapability
  /** Aborting it closes the peer (and rejects createPeer if it is still starting). */
  readonly signal?: AbortSignal
}

export interface JoinOptions extends Partial<Omit<RoomOptions, 'ordering' | 'membership'>> {
  /**
   * The room's ordering group: `tickMs` (default 100), `bootstrapDelayMs` (3000: how long a peer in a new room waits
   * before it may found the group; it also waits, up to 5 times that, until it has heard every peer a relay lists),
   * `quorumIntervalMs` (1000).
   */
  readonly ordering?: Partial<RoomOrderingOptions>
  /**
   * The failure detector: `periodMs` (one probe per period, default 1000), `suspicionMult` (4: the shortest suspicion
   * lasts this many periods, scaled by log10 of the room size), `indirectChecks` (3), `deadRetentionMs` (10000: how
   * long a dead member stays listed as `dead`), `adaptive` (true: gossip parameters follow the room's size and loss).
   */
  readonly membership?: Partial<MembershipOptions>
  readonly signal?: AbortSignal
}

const ROOM_ID = /^[\w.:~-]{1,128}$/u

export function validateRoomId(roomId: unknown): string {
  if (typeof roomId !== 'string' || !ROOM_ID.test(roomId)) {
    throw new InvalidOptionError(
      `room id must be 1 to 128 characters of letters, digits, '_', '.', ':', '~' or '-', got ${JSON.stringify(roomId)}`,
    )
  }
  return roomId
}

function positive(name: string, value: unknown, fallback: number, { min = 1, max = 3_600_000 } = {}): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidOptionError(`${name} must be a number from ${min} to ${max}, got ${JSON.stringify(value)}`)
  }
  return value
}

export function resolveRoomOptions(options: JoinOptions): RoomOptions {
  const d = DEFAULT_ROOM_OPTIONS
  const heartbeatIntervalMs = positive('heartbeatIntervalMs', options.heartbeatIntervalMs, d.heartbeatIntervalMs, {
    min: 50,
  })
  const memberTimeoutMs = positive('memberTimeoutMs', options.memberTimeoutMs, d.memberTimeoutMs, { min: 100 })
  if (memberTimeoutMs <= heartbeatIntervalMs * 2) {
    throw new InvalidOptionError(
      `memberTimeoutMs (${memberTimeoutMs}) must exceed twice heartbeatIntervalMs (${heartbeatIntervalMs})`,
    )
  }
  return {
    heartbeatIntervalMs,
    memberTimeoutMs,
    presenceThrottleMs: positive('presenceThrottleMs', options.presenceThrottleMs, d.presenceThrottleMs, { min: 0 }),
    maxPresenceBytes: positive('maxPresenceBytes', options.maxPresenceBytes, d.maxPresenceBytes, { max: 60 * 1024 }),
    inboundRatePerSecond: positive('inboundRatePerSecond', options.inboundRatePerSecond, d.inboundRatePerSecond, {
      max: 100_000,
    }),
    batchWindowMs: positive('batchWindowMs', options.batchWindowMs, d.batchWindowMs, { min: 0, max: 10_000 }),
    ordering: resolveOrderingOptions(options.ordering ?? {}),
    membership: resolveMembershipOptions(options.membership ?? {}),
  }
}

function resolveMembershipOptions(o: Partial<MembershipOptions>): MembershipOptions {
  const d = DEFAULT_MEMBERSHIP_OPTIONS
  if (o.adaptive !== undefined && typeof o.adaptive !== 'boolean') {
    throw new InvalidOptionError(`membership.adaptive must be a boolean, got ${JSON.stringify(o.adaptive)}`)
  }
  const integer = (name: string, value: number | undefined, fallback: number, max: number): number => {
    const v = positive(`membership.${name}`, value, fallback, { min: 1, max })
    if (!Number.isInteger(v)) throw new InvalidOptionError(`membership.${name} must be an integer, got ${v}`)
    return v
  }
  return {
    periodMs: positive('membership.periodMs', o.periodMs, d.periodMs, { min: 50, max: 60_000 }),
    suspicionMult: integer('suspicionMult', o.suspicionMult, d.suspicionMult, 100),
    indirectChecks: integer('indirectChecks', o.indirectChecks, d.indirectChecks, 16),
    deadRetentionMs: positive('membership.deadRetentionMs', o.deadRetentionMs, d.deadRetentionMs, { min: 0 }),
    adaptive: o.adaptive ?? d.adaptive,
  }
}

function resolveOrderingOptions(o: Partial<RoomOrderingOptions>): RoomOrderingOptions {
  const d = DEFAULT_ORDERING_OPTIONS
  return {
    tickMs: positive('ordering.tickMs', o.tickMs, d.tickMs, { min: 5, max: 10_000 }),
    bootstrapDelayMs: positive('ordering.bootstrapDelayMs', o.bootstrapDelayMs, d.bootstrapDelayMs, { min: 0 }),
    quorumIntervalMs: positive('ordering.quorumIntervalMs', o.quorumIntervalMs, d.quorumIntervalMs, { min: 10 }),
  }
}

export function validatePeerOptions(options: PeerOptions): void {
  if (
    options.bootstrap !== undefined &&
    (!Array.isArray(options.bootstrap) || !options.bootstrap.every((a) => typeof a === 'string'))
  ) {
    throw new InvalidOptionError('bootstrap must be an array of multiaddr strings')
  }
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name.length > 128)) {
    throw new InvalidOptionError('name must be a string of at most 128 characters')
  }
  const storage = options.storage
  if (
    storage !== undefined &&
    storage !== 'indexeddb' &&
    storage !== 'memory' &&
    (typeof storage !== 'object' || storage === null)
  ) {
    throw new InvalidOptionError(`storage must be 'indexeddb', 'memory' or a StorageAdapter, got ${JSON.stringify(storage)}`)
  }
  positive('dialTimeoutMs', options.dialTimeoutMs, 5000, { min: 100, max: 120_000 })
  if (options.superPeer !== undefined && !['never', 'auto', 'prefer'].includes(options.superPeer)) {
    throw new InvalidOptionError(`superPeer must be 'never', 'auto' or 'prefer', got ${JSON.stringify(options.superPeer)}`)
  }
}
