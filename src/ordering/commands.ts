/**
 * The commands of a room's ordered state machine, as they travel in Raft entries: appends to named logs, lock
 * operations, and the leader's clock readings that give locks their notion of time. Encoded as bounded JSON with a
 * version byte; a malformed command is rejected with DecodeError (and, if one were ever committed, skipped the same
 * way by every peer, so it cannot make replicas diverge).
 */
import { DecodeError, InvalidOptionError } from '../errors.js'

export const ORDERING_LIMITS = {
  /** Largest encoded command (an appended value is most of it). */
  maxCommandBytes: 256 * 1024,
  maxNameLength: 256,
  maxPeerIdLength: 128,
  /** Longest lock lease. */
  maxTtlMs: 24 * 60 * 60 * 1000,
} as const

export type OrderingCommand =
  /** Append `value` to the log `log`; (`client`, `seq`) makes retries idempotent. */
  | { readonly type: 'append'; readonly log: string; readonly client: string; readonly seq: number; readonly value: unknown }
  | {
      readonly type: 'acquire'
      readonly lock: string
      readonly client: string
      readonly seq: number
      readonly ttlMs: number
    }
  | { readonly type: 'release'; readonly lock: string; readonly client: string; readonly seq: number; readonly token: number }
  /** The leader's wall clock when it proposed the entry (ms since epoch); the log's time never goes backwards. */
  | { readonly type: 'clock'; readonly nowMs: number }

/** What a leader actually proposes: the command stamped with its clock, so every entry advances log time. */
export interface StampedCommand {
  readonly atMs: number
  readonly command: OrderingCommand
}

const VERSION = 1
const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function encodeStamped(s: StampedCommand): Uint8Array {
  validate(s.command, (m) => new InvalidOptionError(m))
  if (!Number.isFinite(s.atMs) || s.atMs < 0) throw new InvalidOptionError(`atMs must be a finite number >= 0`)
  let json: string
  try {
    json = JSON.stringify({ t: s.atMs, c: s.command })
  } catch (err) {
    throw new InvalidOptionError(`command cannot be encoded as JSON: ${String(err)}`, { cause: err })
  }
  const body = enc.encode(json)
  if (body.length + 1 > ORDERING_LIMITS.maxCommandBytes) {
    throw new InvalidOptionError(`command is ${body.length + 1} bytes, over ${ORDERING_LIMITS.maxCommandBytes}`)
  }
  const out = new Uint8Array(body.length + 1)
  out[0] = VERSION
  out.set(body, 1)
  return out
}

export function decodeStamped(bytes: Uint8Array): StampedCommand {
  if (bytes.length > ORDERING_LIMITS.maxCommandBytes) {
    throw new DecodeError(`command of ${bytes.length} bytes exceeds ${ORDERING_LIMITS.maxCommandBytes}`)
  }
  if (bytes[0] !== VERSION) throw new DecodeError(`unknown ordering command version ${String(bytes[0])}`)
  let parsed: unknown
  try {
    parsed = JSON.parse(dec.decode(bytes.subarray(1)))
  } catch (err) {
    throw new DecodeError('ordering command is not valid JSON', { cause: err })
  }
  if (typeof parsed !== 'object' || parsed === null) throw new DecodeError('ordering command must be an object')
  const { t, c } = parsed as { t?: unknown; c?: unknown }
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) throw new DecodeError('ordering command has a bad time')
  validate(c, (m) => new DecodeError(m))
  return { atMs: t, command: c }
}

function validate(c: unknown, fail: (message: string) => Error): asserts c is OrderingCommand {
  if (typeof c !== 'object' || c === null) throw fail('command must be an object')
  const o = c as Record<string, unknown>
  const name = (key: string, max: number): void => {
    const v = o[key]
    if (typeof v !== 'string' || v.length === 0 || v.length > max) throw fail(`${key} must be 1 to ${max} characters`)
  }
  const count = (key: string): void => {
    const v = o[key]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw fail(`${key} must be an integer >= 0`)
  }
  switch (o.type) {
    case 'append':
      name('log', ORDERING_LIMITS.maxNameLength)
      name('client', ORDERING_LIMITS.maxPeerIdLength)
      count('seq')
      if (!('value' in o) || o.value === undefined) throw fail('append needs a value')
      return
    case 'acquire':
      name('lock', ORDERING_LIMITS.maxNameLength)
      name('client', ORDERING_LIMITS.maxPeerIdLength)
      count('seq')
      count('ttlMs')
      if ((o.ttlMs as number) < 1 || (o.ttlMs as number) > ORDERING_LIMITS.maxTtlMs) {
        throw fail(`ttlMs must be 1 to ${ORDERING_LIMITS.maxTtlMs}`)
      }
      return
    case 'release':
      name('lock', ORDERING_LIMITS.maxNameLength)
      name('client', ORDERING_LIMITS.maxPeerIdLength)
      count('seq')
      count('token')
      return
    case 'clock':
      if (typeof o.nowMs !== 'number' || !Number.isFinite(o.nowMs) || o.nowMs < 0) throw fail('nowMs must be >= 0')
      return
    default:
      throw fail(`unknown ordering command type ${JSON.stringify(o.type)}`)
  }
}
