/**
 * Messages of a room's ordering service between peers (carried by a RaftTransport-style group transport, group
 * `<room>/order`): a peer asks a super-peer to submit a command, the super-peer answers with the result or points at
 * the leader; any peer fetches committed commands it missed (or a snapshot of the ordered state when they were
 * compacted away); the leader pushes newly committed commands to every member.
 *
 * `[type u8][fields]`, bounded: a decoder never allocates more than the limits allow, and rejects anything malformed
 * with DecodeError.
 */
import { DecodeError, InvalidOptionError } from '../errors.js'
import { Reader, Writer } from '../transport/wire.js'
import { ORDERING_LIMITS } from './commands.js'

export const ORDER_LIMITS = {
  maxMessageBytes: 4 * 1024 * 1024,
  /** Committed commands per `entries` message. */
  maxBatch: 1024,
  maxReason: 256,
  maxGroup: 256,
} as const

/** A committed command at its Raft index (the data is an encoded StampedCommand, or empty for noop/config). */
export interface CommittedItem {
  readonly index: number
  readonly data: Uint8Array
}

export type OrderMessage =
  /** Submit an encoded StampedCommand's command part (the super-peer stamps it). */
  | { readonly type: 'submit'; readonly id: number; readonly command: Uint8Array }
  /** The command was committed at `index` and applied with result `result` (JSON of a CommandResult). */
  | { readonly type: 'submitted'; readonly id: number; readonly index: number; readonly result: string }
  /** Not taken: ask `leader` (or another super-peer). `mayHaveCommitted` when the outcome is unknown. */
  | { readonly type: 'refused'; readonly id: number; readonly leader: string | null; readonly mayHaveCommitted: boolean; readonly reason: string }
  /** Ask for committed commands from Raft index `from` on. */
  | { readonly type: 'fetch'; readonly id: number; readonly from: number }
  /**
   * Committed commands of the Raft group `group`, contiguous, starting at items[0].index; `commit` is the sender's
   * commit index. Indexes only mean something within one group, so a peer takes them only from the group it follows.
   */
  | { readonly type: 'entries'; readonly id: number; readonly group: string; readonly commit: number; readonly items: readonly CommittedItem[] }
  /** The requested commands were compacted: the ordered state (JSON) as of Raft index `index` instead. */
  | { readonly type: 'snapshot'; readonly id: number; readonly group: string; readonly index: number; readonly state: Uint8Array }

const CODES = { submit: 1, submitted: 2, refused: 3, fetch: 4, entries: 5, snapshot: 6 } as const

/** Encodes `m`; InvalidOptionError for a value the decoder would refuse (a zero index, an oversized batch). */
export function encodeOrderMessage(m: OrderMessage): Uint8Array {
  if ((m.type === 'fetch' && m.from < 1) || ((m.type === 'submitted' || m.type === 'snapshot') && m.index < 1)) {
    throw new InvalidOptionError(`${m.type} needs an index >= 1`)
  }
  if (m.type === 'entries' && m.items.length > ORDER_LIMITS.maxBatch) {
    throw new InvalidOptionError(`entries carry at most ${ORDER_LIMITS.maxBatch} items`)
  }
  const w = new Writer()
  w.u8(CODES[m.type])
  w.varuint(m.id)
  switch (m.type) {
    case 'submit':
      w.bytes(m.command)
      break
    case 'submitted':
      w.varuint(m.index)
      w.string(m.result)
      break
    case 'refused':
      w.string(m.leader ?? '')
      w.u8(m.mayHaveCommitted ? 1 : 0)
      w.string(m.reason.slice(0, ORDER_LIMITS.maxReason))
      break
    case 'fetch':
      w.varuint(m.from)
      break
    case 'entries':
      w.string(m.group)
      w.varuint(m.commit)
      w.varuint(m.items.length)
      for (const it of m.items) {
        w.varuint(it.index)
        w.bytes(it.data)
      }
      break
    case 'snapshot':
      w.string(m.group)
      w.varuint(m.index)
      w.bytes(m.state)
      break
  }
  return w.finish()
}

export function decodeOrderMessage(bytes: Uint8Array): OrderMessage {
  if (bytes.length > ORDER_LIMITS.maxMessageBytes) {
    throw new DecodeError(`order message of ${bytes.length} bytes exceeds ${ORDER_LIMITS.maxMessageBytes}`)
  }
  const r = new Reader(bytes, { maxBytes: ORDER_LIMITS.maxMessageBytes })
  const type = r.u8()
  const id = r.varuint()
  let m: OrderMessage
  switch (type) {
    case CODES.submit: {
      const command = r.bytes()
      if (command.length === 0 || command.length > ORDERING_LIMITS.maxCommandBytes) throw new DecodeError('bad command size')
      m = { type: 'submit', id, command }
      break
    }
    case CODES.submitted:
      m = { type: 'submitted', id, index: positive(r.varuint(), 'index'), result: bounded(r.string(), 1024, 'result') }
      break
    case CODES.refused: {
      const leader = bounded(r.string(), ORDERING_LIMITS.maxPeerIdLength, 'leader')
      const flag = r.u8()
      if (flag > 1) throw new DecodeError('bad mayHaveCommitted flag')
      const reason = bounded(r.string(), ORDER_LIMITS.maxReason, 'reason')
      m = { type: 'refused', id, leader: leader === '' ? null : leader, mayHaveCommitted: flag === 1, reason }
      break
    }
    case CODES.fetch:
      m = { type: 'fetch', id, from: positive(r.varuint(), 'from') }
      break
    case CODES.entries:
      m = decodeEntries(r, id)
      break
    case CODES.snapshot: {
      const group = groupName(r)
      m = { type: 'snapshot', id, group, index: positive(r.varuint(), 'index'), state: r.bytes() }
      break
    }
      break
    default:
      throw new DecodeError(`unknown order message type ${type}`)
  }
  r.expectEnd()
  return m
}

function decodeEntries(r: Reader, id: number): OrderMessage {
  const group = groupName(r)
  const commit = r.varuint()
  const count = r.varuint()
  // Each item takes at least two bytes: refuse a count the remaining bytes cannot hold before allocating.
  if (count > ORDER_LIMITS.maxBatch || count * 2 > r.remaining) throw new DecodeError(`bad entries count ${count}`)
  const items: CommittedItem[] = []
  for (let i = 0; i < count; i++) {
    const index = positive(r.varuint(), 'entry index')
    const prev = items[items.length - 1]
    if (prev !== undefined && index !== prev.index + 1) throw new DecodeError('entries are not contiguous')
    if (index > commit) throw new DecodeError(`entry ${index} is past the commit index ${commit}`)
    const data = r.bytes()
    if (data.length > ORDERING_LIMITS.maxCommandBytes) throw new DecodeError('entry data too large')
    items.push({ index, data })
  }
  return { type: 'entries', id, group, commit, items }
}

function groupName(r: Reader): string {
  return bounded(r.string(), ORDER_LIMITS.maxGroup, 'group')
}

function positive(n: number, what: string): number {
  if (n < 1) throw new DecodeError(`${what} must be >= 1`)
  return n
}

function bounded(s: string, max: number, what: string): string {
  if (s.length > max) throw new DecodeError(`${what} is over ${max} characters`)
  return s
}
