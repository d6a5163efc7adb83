/**
 * The bytes of `/synod/raft/1` messages and of the records a Raft driver persists. The only place Raft values become
 * bytes; pure functions over the Writer/Reader of transport/wire (which is all this file imports besides errors and
 * the Raft types).
 *
 * Message: `[type u8][from string][to string][term varuint][fields]`. Persisted record: `[version u8][body]`, so the
 * stored format can evolve while old records stay readable. Numbers are varuints, ids and ctx are UTF-8 strings,
 * flags are one u8 whose unknown bits are rejected. Every value has exactly one encoding.
 *
 * One rule set (`*Problem` below) says which values are possible in a correct cluster. The encoder refuses the rest
 * with InvalidOptionError and the decoder with DecodeError, so the encoder never writes bytes the decoder rejects.
 * (That shared rule set is why messages and records live in one file, past the usual ~400 lines.)
 */
import { DecodeError, InvalidOptionError, MessageTooLargeError } from '../../errors.js'
import { Reader, Writer } from '../../transport/wire.js'
import type { ClusterConfig, Entry, HardState, Message, MessageType, NodeId, SnapshotMeta } from './types.js'

export const RAFT_PROTOCOL = '/synod/raft/1'

const KiB = 1024
const MiB = 1024 * KiB

export const RAFT_LIMITS = {
  /**
   * Largest encoded message: 4 MiB of entry data plus 128 KiB of headers. A full append carries at most 4096 × 21
   * bytes of per-entry overhead (kind, index, term, length), about 84 KiB, so 4 MiB of data always fits.
   */
  maxMessageBytes: 4 * MiB + 128 * KiB,
  /** Entries in one append. */
  maxEntriesPerAppend: 4096,
  /** Payload of one `normal` entry; larger proposals must be split (or stored elsewhere) by the application. */
  maxEntryDataBytes: MiB,
  /** Node ids, in UTF-16 code units (String#length). */
  maxNodeIdLength: 128,
  /** Voters plus learners of one configuration. */
  maxConfigMembers: 64,
  /** ReadIndex ctx, in UTF-16 code units. */
  maxReadCtxLength: 128,
  /** Data in one snapshot message. */
  maxSnapshotChunkBytes: MiB,
  /** Size of a whole snapshot (the `total` of its chunks). */
  maxSnapshotTotalBytes: 256 * MiB,
} as const

/** Every limit of RAFT_LIMITS; codec functions take any subset as overrides. */
export type RaftLimits = { readonly [K in keyof typeof RAFT_LIMITS]: number }

/** Version of the persisted records; a reader refuses versions it does not know rather than guessing. */
const RECORD_VERSION = 1

const MESSAGE_CODES = {
  append: 1,
  appendResponse: 2,
  vote: 3,
  voteResponse: 4,
  heartbeat: 5,
  heartbeatResponse: 6,
  snapshot: 7,
  snapshotResponse: 8,
  timeoutNow: 9,
  readIndex: 10,
  readIndexResponse: 11,
} as const satisfies Record<MessageType, number>

const MESSAGE_TYPES = new Map<number, MessageType>(
  Object.entries(MESSAGE_CODES).map(([type, code]) => [code, type as MessageType]),
)

const ENTRY_KINDS = { normal: 1, config: 2, noop: 3 } as const satisfies Record<Entry['kind'], number>

/** The smallest encodings: an entry is kind + index + term; a member id is a length byte and one UTF-8 byte. */
const MIN_ENTRY_BYTES = 3
const MIN_ID_BYTES = 2

/** One UTF-16 code unit is at most 3 UTF-8 bytes (a surrogate pair is 4 for 2 units). */
const MAX_UTF8_PER_UNIT = 3

// ignoreBOM: a leading U+FEFF is part of an id, not a byte-order mark; the default would drop it, so "\uFEFFa" would
// decode as "a" and alias another node. fatal: malformed UTF-8 is an error, not U+FFFD.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const LONE_SURROGATE = /\p{Cs}/u

// ---- limits ---------------------------------------------------------------------------------------------------------

function resolveLimits(overrides: Partial<RaftLimits>): RaftLimits {
  const limits: RaftLimits = { ...RAFT_LIMITS, ...overrides }
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidOptionError(`raft codec limit ${name} must be an integer >= 0, got ${String(value)}`)
    }
  }
  return limits
}

/** The Reader's per-field cap: the largest field any rule allows; each field's own limit is checked on top. */
function fieldLimit(L: RaftLimits): number {
  return Math.max(
    L.maxEntryDataBytes,
    L.maxSnapshotChunkBytes,
    L.maxNodeIdLength * MAX_UTF8_PER_UNIT,
    L.maxReadCtxLength * MAX_UTF8_PER_UNIT,
  )
}

// ---- the rules ------------------------------------------------------------------------------------------------------

type Problem = string | undefined

function natProblem(n: number, what: string): Problem {
  return Number.isSafeInteger(n) && n >= 0 ? undefined : `${what} must be a safe integer >= 0, got ${n}`
}

function textProblem(s: string, what: string, maxLength: number, allowEmpty: boolean): Problem {
  if (typeof s !== 'string') return `${what} must be a string`
  if (!allowEmpty && s.length === 0) return `${what} is empty`
  if (s.length > maxLength) return `${what} is ${s.length} characters, over the limit of ${maxLength}`
  // Only reachable when encoding: TextEncoder would turn the surrogate into U+FFFD and the peer would read another id.
  if (LONE_SURROGATE.test(s)) return `${what} contains a lone surrogate, which UTF-8 cannot carry`
  return undefined
}

function idProblem(id: NodeId, what: string, L: RaftLimits): Problem {
  return textProblem(id, what, L.maxNodeIdLength, false)
}

function ctxProblem(ctx: string | null, L: RaftLimits): Problem {
  return ctx === null ? undefined : textProblem(ctx, 'ctx', L.maxReadCtxLength, true)
}

/** Index 0 is "before the log" and always has term 0; every real entry has a term >= 1 (no leader exists in term 0). */
function positionProblem(index: number, term: number, what: string): Problem {
  const p = natProblem(index, `${what} index`) ?? natProblem(term, `${what} term`)
  if (p !== undefined) return p
  if ((index === 0) !== (term === 0)) return `${what} index ${index} with term ${term}: only index 0 has term 0`
  return undefined
}

function configProblem(c: ClusterConfig, L: RaftLimits): Problem {
  const size = c.voters.length + c.learners.length
  if (size > L.maxConfigMembers) return `config has ${size} members, over the limit of ${L.maxConfigMembers}`
  const voters = new Set<NodeId>()
  for (const id of c.voters) {
    const p = idProblem(id, 'voter id', L)
    if (p !== undefined) return p
    if (voters.has(id)) return `voter ${id} is listed twice`
    voters.add(id)
  }
  const learners = new Set<NodeId>()
  for (const id of c.learners) {
    const p = idProblem(id, 'learner id', L)
    if (p !== undefined) return p
    if (voters.has(id)) return `${id} is both a voter and a learner`
    if (learners.has(id)) return `learner ${id} is listed twice`
    learners.add(id)
  }
  return undefined
}

function entryProblem(e: Entry, L: RaftLimits): Problem {
  const p = positionProblem(e.index, e.term, 'entry')
  if (p !== undefined) return p
  if (e.index === 0) return 'entry index 0 does not exist (the log starts at 1)'
  switch (e.kind) {
    case 'normal':
      if (e.data.length > L.maxEntryDataBytes) {
        return `entry ${e.index} data is ${e.data.length} bytes, over the limit of ${L.maxEntryDataBytes}`
      }
      return undefined
    case 'config':
      return configProblem(e.config, L)
    case 'noop':
      return undefined
    default:
      return `unknown entry kind ${String((e as { kind: unknown }).kind)}`
  }
}

function hardStateProblem(h: HardState, L: RaftLimits): Problem {
  const p = natProblem(h.term, 'term') ?? natProblem(h.commit, 'commit')
  if (p !== undefined || h.vote === null) return p
  // Votes are cast by candidates of term >= 1 (an election increments the term first).
  return idProblem(h.vote, 'vote', L) ?? (h.term === 0 ? 'a vote cannot be cast in term 0' : undefined)
}

function snapshotMetaProblem(meta: SnapshotMeta, L: RaftLimits): Problem {
  return positionProblem(meta.index, meta.term, 'snapshot') ?? configProblem(meta.config, L)
}

/** §5.3: the entries follow prevIndex without a gap, and terms never decrease along a log nor pass the leader's. */
function appendProblem(m: Extract<Message, { type: 'append' }>, L: RaftLimits): Problem {
  const p = positionProblem(m.prevIndex, m.prevTerm, 'prev') ?? natProblem(m.commit, 'commit')
  if (p !== undefined) return p
  if (m.prevTerm > m.term) return `prevTerm ${m.prevTerm} is above the message term ${m.term}`
  if (m.entries.length > L.maxEntriesPerAppend) {
    return `${m.entries.length} entries, over the limit of ${L.maxEntriesPerAppend}`
  }
  let lastTerm = m.prevTerm
  for (const [i, e] of m.entries.entries()) {
    const q = entryProblem(e, L)
    if (q !== undefined) return q
    if (e.index !== m.prevIndex + 1 + i) {
      return `entry ${i} has index ${e.index}, expected ${m.prevIndex + 1 + i} (contiguous from prevIndex + 1)`
    }
    if (e.term < lastTerm) return `entry ${e.index} has term ${e.term}, below the term ${lastTerm} before it`
    if (e.term > m.term) return `entry ${e.index} has term ${e.term}, above the message term ${m.term}`
    lastTerm = e.term
  }
  return undefined
}

/** The rules every message of `type` obeys beyond its envelope. */
function bodyProblem(m: Message, L: RaftLimits): Problem {
  switch (m.type) {
    case 'append':
      return appendProblem(m, L)
    case 'appendResponse': {
      const p = natProblem(m.index, 'index') ?? natProblem(m.hintIndex, 'hintIndex') ?? natProblem(m.hintTerm, 'hintTerm')
      if (p !== undefined) return p
      if (!m.reject) return m.hintIndex === 0 && m.hintTerm === 0 ? undefined : 'an accepting response carries a hint'
      if (m.hintIndex > m.index) return `hintIndex ${m.hintIndex} is past the rejected index ${m.index}`
      if (m.hintTerm > m.term) return `hintTerm ${m.hintTerm} is above the message term ${m.term}`
      return m.hintIndex === 0 && m.hintTerm !== 0 ? `hint index 0 with term ${m.hintTerm}` : undefined
    }
    case 'vote': {
      const p = positionProblem(m.lastIndex, m.lastTerm, 'last')
      if (p !== undefined) return p
      if (m.lastTerm > m.term) return `lastTerm ${m.lastTerm} is above the campaign term ${m.term}`
      // Dissertation §3.10: a transfer campaigns at once, never through PreVote.
      return m.pre && m.transfer ? 'a leadership transfer vote cannot be a PreVote' : undefined
    }
    case 'voteResponse':
      return m.granted && m.term === 0 ? 'a vote granted in term 0' : undefined
    case 'heartbeat':
      return natProblem(m.commit, 'commit') ?? ctxProblem(m.ctx, L)
    case 'heartbeatResponse':
      return ctxProblem(m.ctx, L)
    case 'snapshot':
      return snapshotMessageProblem(m, L)
    case 'snapshotResponse': {
      const p = natProblem(m.index, 'index') ?? natProblem(m.offset, 'offset')
      if (p !== undefined) return p
      if (m.index === 0) return 'snapshot index 0 (a snapshot covers at least one entry)'
      if (m.offset > L.maxSnapshotTotalBytes) return `offset ${m.offset} is past the largest snapshot`
      return undefined
    }
    case 'timeoutNow':
      return undefined
    case 'readIndex':
      return ctxProblem(m.ctx, L)
    case 'readIndexResponse': {
      const p = ctxProblem(m.ctx, L)
      if (p !== undefined) return p
      // Sent as index + 1, so -1 (refused) is 0 on the wire.
      return Number.isSafeInteger(m.index + 1) && m.index >= -1 ? undefined : `index must be -1 or a safe integer >= 0, got ${m.index}`
    }
    default:
      return `unknown message type ${String((m as { type: unknown }).type)}`
  }
}

function snapshotMessageProblem(m: Extract<Message, { type: 'snapshot' }>, L: RaftLimits): Problem {
  const p = snapshotMetaProblem(m.meta, L) ?? natProblem(m.offset, 'offset') ?? natProblem(m.total, 'total')
  if (p !== undefined) return p
  // A leader sends a snapshot only for entries it compacted away, so it covers at least one.
  if (m.meta.index === 0) return 'snapshot index 0 (a snapshot covers at least one entry)'
  if (m.meta.term > m.term) return `snapshot term ${m.meta.term} is above the message term ${m.term}`
  if (m.total > L.maxSnapshotTotalBytes) return `total ${m.total} is over the limit of ${L.maxSnapshotTotalBytes} bytes`
  if (m.chunk.length > L.maxSnapshotChunkBytes) {
    return `chunk of ${m.chunk.length} bytes is over the limit of ${L.maxSnapshotChunkBytes}`
  }
  if (m.offset + m.chunk.length > m.total) {
    return `chunk at ${m.offset} of ${m.chunk.length} bytes ends past the total of ${m.total}`
  }
  return undefined
}

/** Leaders (append, heartbeat, snapshot, timeoutNow) and candidates (vote) have a term of at least 1. */
const NEEDS_TERM = new Set<MessageType>(['append', 'heartbeat', 'snapshot', 'timeoutNow', 'vote'])

function messageProblem(m: Message, L: RaftLimits): Problem {
  const p = idProblem(m.from, 'from', L) ?? idProblem(m.to, 'to', L) ?? natProblem(m.term, 'term')
  if (p !== undefined) return p
  if (m.from === m.to) return `from and to are both ${m.from}`
  if (m.term === 0 && NEEDS_TERM.has(m.type)) return `${m.type} in term 0`
  return bodyProblem(m, L)
}

// ---- writing --------------------------------------------------------------------------------------------------------

function writeConfig(w: Writer, c: ClusterConfig): void {
  w.varuint(c.voters.length)
  for (const id of c.voters) w.string(id)
  w.varuint(c.learners.length)
  for (const id of c.learners) w.string(id)
}

function writeEntry(w: Writer, e: Entry): void {
  w.u8(ENTRY_KINDS[e.kind]).varuint(e.index).varuint(e.term)
  if (e.kind === 'normal') w.bytes(e.data)
  else if (e.kind === 'config') writeConfig(w, e.config)
}

function writeMeta(w: Writer, meta: SnapshotMeta): void {
  w.varuint(meta.index).varuint(meta.term)
  writeConfig(w, meta.config)
}

function writeOptionalText(w: Writer, s: string | null): void {
  if (s === null) w.u8(0)
  else w.u8(1).string(s)
}

function writeBody(w: Writer, m: Message): void {
  switch (m.type) {
    case 'append':
      w.varuint(m.prevIndex).varuint(m.prevTerm).varuint(m.commit).varuint(m.entries.length)
      for (const e of m.entries) writeEntry(w, e)
      break
    case 'appendResponse':
      w.u8(m.reject ? 1 : 0).varuint(m.index).varuint(m.hintIndex).varuint(m.hintTerm)
      break
    case 'vote':
      w.u8((m.pre ? 1 : 0) | (m.transfer ? 2 : 0)).varuint(m.lastIndex).varuint(m.lastTerm)
      break
    case 'voteResponse':
      w.u8((m.pre ? 1 : 0) | (m.granted ? 2 : 0))
      break
    case 'heartbeat':
      w.varuint(m.commit)
      writeOptionalText(w, m.ctx)
      break
    case 'heartbeatResponse':
      writeOptionalText(w, m.ctx)
      break
    case 'snapshot':
      writeMeta(w, m.meta)
      w.varuint(m.offset).varuint(m.total).bytes(m.chunk)
      break
    case 'snapshotResponse':
      w.varuint(m.index).varuint(m.offset)
      break
    case 'timeoutNow':
      break
    case 'readIndex':
      w.string(m.ctx)
      break
    case 'readIndexResponse':
      w.string(m.ctx).varuint(m.index + 1)
      break
  }
}

/** The payload bytes a message carries, so that a hopeless one is refused before the Writer allocates for it. */
function payloadBytes(m: Message): number {
  if (m.type === 'snapshot') return m.chunk.length
  if (m.type !== 'append') return 0
  return m.entries.reduce((n, e) => n + (e.kind === 'normal' ? e.data.length : 0), 0)
}

/**
 * Encodes `m` for `/synod/raft/1`. InvalidOptionError for a value no correct node sends (the message names the rule);
 * MessageTooLargeError when the encoding would exceed `maxMessageBytes`, so the caller can send fewer entries.
 */
export function encodeRaftMessage(m: Message, limits: Partial<RaftLimits> = {}): Uint8Array {
  const L = resolveLimits(limits)
  const problem = messageProblem(m, L)
  if (problem !== undefined) throw new InvalidOptionError(`cannot encode raft ${String(m.type)} message: ${problem}`)
  const payload = payloadBytes(m)
  if (payload > L.maxMessageBytes) throw new MessageTooLargeError(payload, L.maxMessageBytes, `raft ${m.type} message`)
  const w = new Writer().u8(MESSAGE_CODES[m.type]).string(m.from).string(m.to).varuint(m.term)
  writeBody(w, m)
  const bytes = w.finish()
  if (bytes.length > L.maxMessageBytes) {
    throw new MessageTooLargeError(bytes.length, L.maxMessageBytes, `raft ${m.type} message`)
  }
  return bytes
}

// ---- reading --------------------------------------------------------------------------------------------------------

/** A UTF-8 string of at most `maxLength` code units; its byte length is checked before it is decoded. */
function readText(r: Reader, what: string, maxLength: number): string {
  const bytes = r.bytes()
  if (bytes.length > maxLength * MAX_UTF8_PER_UNIT) {
    throw new DecodeError(`${what} of ${bytes.length} bytes cannot be within ${maxLength} characters`)
  }
  try {
    return utf8.decode(bytes)
  } catch (err) {
    throw new DecodeError(`${what} is not valid UTF-8`, { cause: err })
  }
}

/** A count of items that each take at least `minBytes`, checked against the limit and the input before any loop. */
function readCount(r: Reader, what: string, max: number, minBytes: number): number {
  const n = r.varuint()
  if (n > max) throw new DecodeError(`${n} ${what} exceed the limit of ${max}`)
  if (n * minBytes > r.remaining) throw new DecodeError(`${n} ${what} cannot fit in the remaining ${r.remaining} bytes`)
  return n
}

function readFlags(r: Reader, known: number): number {
  const flags = r.u8()
  if ((flags & ~known) !== 0) throw new DecodeError(`unknown flags 0x${flags.toString(16)}`)
  return flags
}

function readOptionalText(r: Reader, what: string, maxLength: number): string | null {
  const present = r.u8()
  if (present > 1) throw new DecodeError(`${what} presence byte must be 0 or 1, got ${present}`)
  return present === 1 ? readText(r, what, maxLength) : null
}

function readConfig(r: Reader, L: RaftLimits): ClusterConfig {
  const voterCount = readCount(r, 'voters', L.maxConfigMembers, MIN_ID_BYTES)
  const voters: NodeId[] = []
  for (let i = 0; i < voterCount; i++) voters.push(readText(r, 'voter id', L.maxNodeIdLength))
  const learnerCount = readCount(r, 'learners', L.maxConfigMembers - voterCount, MIN_ID_BYTES)
  const learners: NodeId[] = []
  for (let i = 0; i < learnerCount; i++) learners.push(readText(r, 'learner id', L.maxNodeIdLength))
  return { voters, learners }
}

function readEntry(r: Reader, L: RaftLimits): Entry {
  const kind = r.u8()
  const index = r.varuint()
  const term = r.varuint()
  switch (kind) {
    case ENTRY_KINDS.normal:
      return { index, term, kind: 'normal', data: r.bytes() }
    case ENTRY_KINDS.config:
      return { index, term, kind: 'config', config: readConfig(r, L) }
    case ENTRY_KINDS.noop:
      return { index, term, kind: 'noop' }
    default:
      throw new DecodeError(`unknown entry kind ${kind}`)
  }
}

function readMeta(r: Reader, L: RaftLimits): SnapshotMeta {
  const index = r.varuint()
  const term = r.varuint()
  return { index, term, config: readConfig(r, L) }
}

function readMessage(r: Reader, type: MessageType, L: RaftLimits): Message {
  const from = readText(r, 'from', L.maxNodeIdLength)
  const to = readText(r, 'to', L.maxNodeIdLength)
  const env = { from, to, term: r.varuint() }
  switch (type) {
    case 'append': {
      const prevIndex = r.varuint()
      const prevTerm = r.varuint()
      const commit = r.varuint()
      const count = readCount(r, 'entries', L.maxEntriesPerAppend, MIN_ENTRY_BYTES)
      const entries: Entry[] = []
      for (let i = 0; i < count; i++) entries.push(readEntry(r, L))
      return { type, ...env, prevIndex, prevTerm, entries, commit }
    }
    case 'appendResponse': {
      const reject = readFlags(r, 1) === 1
      return { type, ...env, reject, index: r.varuint(), hintIndex: r.varuint(), hintTerm: r.varuint() }
    }
    case 'vote': {
      const flags = readFlags(r, 3)
      const pre = (flags & 1) !== 0
      const transfer = (flags & 2) !== 0
      return { type, ...env, pre, lastIndex: r.varuint(), lastTerm: r.varuint(), transfer }
    }
    case 'voteResponse': {
      const flags = readFlags(r, 3)
      return { type, ...env, pre: (flags & 1) !== 0, granted: (flags & 2) !== 0 }
    }
    case 'heartbeat': {
      const commit = r.varuint()
      return { type, ...env, commit, ctx: readOptionalText(r, 'ctx', L.maxReadCtxLength) }
    }
    case 'heartbeatResponse':
      return { type, ...env, ctx: readOptionalText(r, 'ctx', L.maxReadCtxLength) }
    case 'snapshot': {
      const meta = readMeta(r, L)
      return { type, ...env, meta, offset: r.varuint(), total: r.varuint(), chunk: r.bytes() }
    }
    case 'snapshotResponse':
      return { type, ...env, index: r.varuint(), offset: r.varuint() }
    case 'timeoutNow':
      return { type, ...env }
    case 'readIndex':
      return { type, ...env, ctx: readText(r, 'ctx', L.maxReadCtxLength) }
    case 'readIndexResponse': {
      const ctx = readText(r, 'ctx', L.maxReadCtxLength)
      return { type, ...env, ctx, index: r.varuint() - 1 }
    }
  }
}

/** Decodes one `/synod/raft/1` message; DecodeError for anything malformed, over a limit or impossible. */
export function decodeRaftMessage(bytes: Uint8Array, limits: Partial<RaftLimits> = {}): Message {
  const L = resolveLimits(limits)
  if (bytes.length > L.maxMessageBytes) {
    throw new DecodeError(`raft message of ${bytes.length} bytes exceeds the limit of ${L.maxMessageBytes}`)
  }
  const r = new Reader(bytes, { maxBytes: fieldLimit(L) })
  const code = r.u8()
  const type = MESSAGE_TYPES.get(code)
  if (type === undefined) throw new DecodeError(`unknown raft message type ${code}`)
  const m = readMessage(r, type, L)
  r.expectEnd()
  const problem = messageProblem(m, L)
  if (problem !== undefined) throw new DecodeError(`raft ${type} message: ${problem}`)
  return m
}

// ---- persisted records ----------------------------------------------------------------------------------------------

function encodeRecord<T>(
  what: string,
  value: T,
  limits: Partial<RaftLimits>,
  problem: (v: T, L: RaftLimits) => Problem,
  write: (w: Writer, v: T) => void,
): Uint8Array {
  const L = resolveLimits(limits)
  const p = problem(value, L)
  if (p !== undefined) throw new InvalidOptionError(`cannot encode raft ${what} record: ${p}`)
  const w = new Writer().u8(RECORD_VERSION)
  write(w, value)
  return w.finish()
}

function decodeRecord<T>(
  what: string,
  bytes: Uint8Array,
  limits: Partial<RaftLimits>,
  problem: (v: T, L: RaftLimits) => Problem,
  read: (r: Reader, L: RaftLimits) => T,
): T {
  const L = resolveLimits(limits)
  const r = new Reader(bytes, { maxBytes: fieldLimit(L) })
  const version = r.u8()
  if (version !== RECORD_VERSION) throw new DecodeError(`raft ${what} record has unknown version ${version}`)
  const value = read(r, L)
  r.expectEnd()
  const p = problem(value, L)
  if (p !== undefined) throw new DecodeError(`raft ${what} record: ${p}`)
  return value
}

export function encodeEntry(e: Entry, limits: Partial<RaftLimits> = {}): Uint8Array {
  return encodeRecord('entry', e, limits, entryProblem, writeEntry)
}

export function decodeEntry(bytes: Uint8Array, limits: Partial<RaftLimits> = {}): Entry {
  return decodeRecord('entry', bytes, limits, entryProblem, readEntry)
}

export function encodeHardState(h: HardState, limits: Partial<RaftLimits> = {}): Uint8Array {
  return encodeRecord('hard state', h, limits, hardStateProblem, (w, v) => {
    w.varuint(v.term).varuint(v.commit)
    writeOptionalText(w, v.vote)
  })
}

export function decodeHardState(bytes: Uint8Array, limits: Partial<RaftLimits> = {}): HardState {
  return decodeRecord('hard state', bytes, limits, hardStateProblem, (r, L) => {
    const term = r.varuint()
    const commit = r.varuint()
    return { term, vote: readOptionalText(r, 'vote', L.maxNodeIdLength), commit }
  })
}

export function encodeSnapshotMeta(meta: SnapshotMeta, limits: Partial<RaftLimits> = {}): Uint8Array {
  return encodeRecord('snapshot meta', meta, limits, snapshotMetaProblem, writeMeta)
}

export function decodeSnapshotMeta(bytes: Uint8Array, limits: Partial<RaftLimits> = {}): SnapshotMeta {
  return decodeRecord('snapshot meta', bytes, limits, snapshotMetaProblem, readMeta)
}

export function encodeConfig(config: ClusterConfig, limits: Partial<RaftLimits> = {}): Uint8Array {
  return encodeRecord('config', config, limits, configProblem, writeConfig)
}

export function decodeConfig(bytes: Uint8Array, limits: Partial<RaftLimits> = {}): ClusterConfig {
  return decodeRecord('config', bytes, limits, configProblem, readConfig)
}
