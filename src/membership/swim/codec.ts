/**
 * The bytes of `/synod/swim/1` messages: the only place SWIM values become bytes. Pure functions over the
 * Writer/Reader of transport/wire (which is all this file imports besides errors and the SWIM types).
 *
 * Message: `[type u8][fields]`.
 *   ping, ack: `[seq][updates]`   nack: `[seq]`   pingReq: `[seq][target][updates]`   join: `[updates]`
 *   sync: `[members]`
 * A list is `[count varuint][update…]`; an update is `[id][state u8][incarnation varuint][from]`. Numbers are
 * varuints, ids length-prefixed UTF-8, a state one u8 (STATE_CODES). Every value has exactly one encoding.
 *
 * One rule set (`*Problem` below) says what may be sent. The encoder refuses the rest with InvalidOptionError and the
 * decoder with DecodeError, so the encoder never writes bytes the decoder rejects.
 */
import { DecodeError, InvalidOptionError } from '../../errors.js'
import { Reader, Writer } from '../../transport/wire.js'
import type { MemberId, SwimMessage, SwimState, SwimUpdate } from './types.js'

export const SWIM_PROTOCOL = '/synod/swim/1'

export const SWIM_LIMITS = {
  /** Largest encoded message; the decoder checks it before reading anything. */
  maxMessageBytes: 64 * 1024,
  /** Updates piggybacked on one ping, ack or pingReq (the core sends at most maxPiggyback + 1). */
  maxUpdates: 64,
  /**
   * Entries of a whole view: the members of a `sync`, and the updates of a `join`. A join is not bounded by
   * maxUpdates because the core's join and push-pull send `snapshot()`, up to `maxMembers` (default 1024) entries,
   * as types.ts documents; a smaller bound would make every push-pull unencodable past 64 members.
   */
  maxSyncMembers: 1024,
  /** Member ids, in UTF-16 code units (String#length); at least 1. */
  maxIdLength: 128,
} as const

const TYPE_CODES = {
  ping: 1,
  ack: 2,
  nack: 3,
  pingReq: 4,
  join: 5,
  sync: 6,
} as const satisfies Record<SwimMessage['type'], number>

const MESSAGE_TYPES = new Map<number, SwimMessage['type']>(
  Object.entries(TYPE_CODES).map(([type, code]) => [code, type as SwimMessage['type']]),
)

/** Codes are part of the wire: add new states with new codes, never renumber. */
const STATE_CODES = { alive: 0, suspect: 1, dead: 2, left: 3 } as const satisfies Record<SwimState, number>

const STATES = new Map<number, SwimState>(
  Object.entries(STATE_CODES).map(([state, code]) => [code, state as SwimState]),
)

/** One UTF-16 code unit is at most 3 UTF-8 bytes (a surrogate pair is 4 for 2 units). */
const MAX_UTF8_PER_UNIT = 3
/** The smallest update: two one-byte ids with their length bytes, a state byte and a one-byte incarnation. */
const MIN_UPDATE_BYTES = 6
const LONE_SURROGATE = /\p{Cs}/u

// ---- the rules ------------------------------------------------------------------------------------------------------

type Problem = string | undefined

function natProblem(n: number, what: string): Problem {
  return Number.isSafeInteger(n) && n >= 0 ? undefined : `${what} must be a safe integer >= 0, got ${n}`
}

function idProblem(id: MemberId, what: string): Problem {
  if (typeof id !== 'string') return `${what} must be a string`
  if (id.length === 0) return `${what} is empty`
  if (id.length > SWIM_LIMITS.maxIdLength) {
    return `${what} is ${id.length} characters, over the limit of ${SWIM_LIMITS.maxIdLength}`
  }
  // TextEncoder would turn a lone surrogate into U+FFFD, and the peer would read another id.
  if (LONE_SURROGATE.test(id)) return `${what} contains a lone surrogate, which UTF-8 cannot carry`
  return undefined
}

function updateProblem(u: SwimUpdate): Problem {
  return (
    idProblem(u.id, 'update id') ??
    (Object.hasOwn(STATE_CODES, u.state) ? undefined : `unknown state ${String(u.state)}`) ??
    natProblem(u.incarnation, `incarnation of ${u.id}`) ??
    idProblem(u.from, `from of ${u.id}`)
  )
}

function listProblem(list: readonly SwimUpdate[], max: number, what: string): Problem {
  if (list.length > max) return `${list.length} ${what}, over the limit of ${max}`
  for (const u of list) {
    const p = updateProblem(u)
    if (p !== undefined) return p
  }
  return undefined
}

function messageProblem(m: SwimMessage): Problem {
  const { maxUpdates, maxSyncMembers } = SWIM_LIMITS
  switch (m.type) {
    case 'ping':
    case 'ack':
      return natProblem(m.seq, 'seq') ?? listProblem(m.updates, maxUpdates, 'updates')
    case 'nack':
      return natProblem(m.seq, 'seq')
    case 'pingReq':
      return natProblem(m.seq, 'seq') ?? idProblem(m.target, 'target') ?? listProblem(m.updates, maxUpdates, 'updates')
    case 'join':
      return listProblem(m.updates, maxSyncMembers, 'updates')
    case 'sync':
      return listProblem(m.members, maxSyncMembers, 'members')
    default:
      return `unknown message type ${String((m as { type: unknown }).type)}`
  }
}

// ---- writing --------------------------------------------------------------------------------------------------------

function writeList(w: Writer, list: readonly SwimUpdate[]): void {
  w.varuint(list.length)
  for (const u of list) w.string(u.id).u8(STATE_CODES[u.state]).varuint(u.incarnation).string(u.from)
}

/**
 * Encodes `msg` for `/synod/swim/1`. InvalidOptionError (naming the rule) for a value outside the rules or limits,
 * including an encoding over `maxMessageBytes`: send fewer updates.
 */
export function encodeSwimMessage(msg: SwimMessage): Uint8Array {
  const problem = messageProblem(msg)
  if (problem !== undefined) throw new InvalidOptionError(`cannot encode swim ${String(msg.type)} message: ${problem}`)
  const w = new Writer().u8(TYPE_CODES[msg.type])
  switch (msg.type) {
    case 'ping':
    case 'ack':
      w.varuint(msg.seq)
      writeList(w, msg.updates)
      break
    case 'nack':
      w.varuint(msg.seq)
      break
    case 'pingReq':
      w.varuint(msg.seq).string(msg.target)
      writeList(w, msg.updates)
      break
    case 'join':
      writeList(w, msg.updates)
      break
    case 'sync':
      writeList(w, msg.members)
      break
  }
  const bytes = w.finish()
  if (bytes.length > SWIM_LIMITS.maxMessageBytes) {
    throw new InvalidOptionError(
      `cannot encode swim ${msg.type} message: ${bytes.length} bytes, over the limit of ${SWIM_LIMITS.maxMessageBytes}`,
    )
  }
  return bytes
}

// ---- reading --------------------------------------------------------------------------------------------------------

/** The Reader has already bounded the byte length (maxIdLength × 3) before decoding; this checks code units. */
function readId(r: Reader, what: string): MemberId {
  const id = r.string()
  if (id.length === 0 || id.length > SWIM_LIMITS.maxIdLength) {
    throw new DecodeError(`${what} of ${id.length} characters is outside 1..${SWIM_LIMITS.maxIdLength}`)
  }
  return id
}

/** A list's count is checked against its limit and against the bytes left before any update is read. */
function readList(r: Reader, max: number, what: string): SwimUpdate[] {
  const count = r.varuint()
  if (count > max) throw new DecodeError(`${count} ${what} exceed the limit of ${max}`)
  if (count * MIN_UPDATE_BYTES > r.remaining) {
    throw new DecodeError(`${count} ${what} cannot fit in the remaining ${r.remaining} bytes`)
  }
  const list: SwimUpdate[] = []
  for (let i = 0; i < count; i++) {
    const id = readId(r, 'update id')
    const code = r.u8()
    const state = STATES.get(code)
    if (state === undefined) throw new DecodeError(`unknown swim state ${code} for ${id}`)
    const incarnation = r.varuint()
    list.push({ id, state, incarnation, from: readId(r, 'update from') })
  }
  return list
}

function readBody(r: Reader, type: SwimMessage['type']): SwimMessage {
  const { maxUpdates, maxSyncMembers } = SWIM_LIMITS
  switch (type) {
    case 'ping':
    case 'ack': {
      const seq = r.varuint()
      return { type, seq, updates: readList(r, maxUpdates, 'updates') }
    }
    case 'nack':
      return { type, seq: r.varuint() }
    case 'pingReq': {
      const seq = r.varuint()
      const target = readId(r, 'target')
      return { type, seq, target, updates: readList(r, maxUpdates, 'updates') }
    }
    case 'join':
      return { type, updates: readList(r, maxSyncMembers, 'updates') }
    case 'sync':
      return { type, members: readList(r, maxSyncMembers, 'members') }
  }
}

/** Decodes one `/synod/swim/1` message; DecodeError (and nothing else) for anything malformed or over a limit. */
export function decodeSwimMessage(bytes: Uint8Array): SwimMessage {
  if (bytes.length > SWIM_LIMITS.maxMessageBytes) {
    throw new DecodeError(`swim message of ${bytes.length} bytes exceeds the limit of ${SWIM_LIMITS.maxMessageBytes}`)
  }
  // Every string field is an id, so the Reader's per-field cap is an id's largest UTF-8 size.
  const r = new Reader(bytes, { maxBytes: SWIM_LIMITS.maxIdLength * MAX_UTF8_PER_UNIT })
  const code = r.u8()
  const type = MESSAGE_TYPES.get(code)
  if (type === undefined) throw new DecodeError(`unknown swim message type ${code}`)
  const msg = readBody(r, type)
  r.expectEnd()
  return msg
}
