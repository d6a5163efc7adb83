/**
 * Deterministic genesis: the first change of a named document, made identically by every peer.
 *
 * Why: if two peers each create `{ items: [] }` with their own actor, they create two different list objects at the
 * same root key. Automerge keeps both as a conflict and shows one; every edit made inside the other is silently
 * hidden. So the first change must be the SAME change everywhere: same actor (derived from the document's name),
 * same sequence number, timestamp 0, same operations in the same order. Its bytes, and so its hash, are then equal
 * on every peer, Automerge deduplicates it, and all later edits land in one shared set of objects.
 *
 * The genesis actor must never make a second change: two peers doing so would produce two different changes with
 * the same (actor, seq), which Automerge rejects. So every peer continues with its OWN actor, via `openGenesis`.
 *
 * The actor id is a 128-bit FNV-1a-style hash of the name. It is not cryptographic: it only has to be the same
 * everywhere and not collide by accident with the random actors that peers use.
 */
import type * as AM from '@automerge/automerge/slim'
import { InvalidOptionError } from '../../errors.js'
import type { AutomergeModule } from '../automerge.js'

/** Options for opening a replica of a document. */
export interface OpenOptions {
  /**
   * This replica's Automerge actor id (hex, even length). It must be unique to this replica: two replicas sharing
   * an actor corrupt the document. Default: a random actor chosen by Automerge.
   */
  readonly actor?: string
}

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193
const GOLDEN = 0x9e3779b9

/** The 32-hex-digit (16-byte) actor id of `docName`'s genesis change. The same on every peer and every run. */
export function genesisActorId(docName: string): string {
  assertDocName(docName)
  // The prefix keeps these ids apart from any other use of the same hash; the version lets us change the scheme.
  const bytes = new TextEncoder().encode(`synod/genesis/v1\u0000${docName}`)
  let hex = ''
  for (let lane = 1; lane <= 4; lane++) {
    let h = (FNV_OFFSET ^ Math.imul(lane, GOLDEN)) >>> 0
    for (const byte of bytes) h = Math.imul(h ^ byte, FNV_PRIME)
    hex += fmix32(h ^ lane).toString(16).padStart(8, '0')
  }
  return hex
}

/**
 * The saved bytes of `docName`'s genesis document: a single change, by `genesisActorId(docName)` at time 0, that
 * sets the root to `initial`. Byte-identical on every peer for the same name and the same `initial` (object keys
 * are written in sorted order, so the order in which `initial` was built does not matter). `initial` must be a
 * plain object; its values may be anything Automerge stores (strings become collaborative text, `Counter`s stay
 * counters).
 */
export function genesis<T extends object>(A: AutomergeModule, docName: string, initial: T): Uint8Array {
  const actor = genesisActorId(docName)
  if (!isPlainObject(initial)) throw new InvalidOptionError('initial must be a plain object (the document root)')
  const root = sortKeys(initial) as Record<string, unknown>
  const doc = A.change(A.init<Record<string, unknown>>({ actor }), { time: 0 }, (d) => {
    for (const key of Object.keys(root)) d[key] = root[key]
  })
  const bytes = A.save(doc)
  A.free(doc)
  return bytes
}

/**
 * A replica of `docName` that starts from its genesis and makes its own edits under its own actor
 * (`options.actor`, default random). Throws InvalidOptionError if `options.actor` is the genesis actor.
 */
export function openGenesis<T extends object>(
  A: AutomergeModule,
  docName: string,
  initial: T,
  options: OpenOptions = {},
): AM.Doc<T> {
  const bytes = genesis(A, docName, initial)
  if (options.actor === undefined) return A.load<T>(bytes)
  if (options.actor === genesisActorId(docName)) {
    throw new InvalidOptionError(`actor must not be the genesis actor of "${docName}"; each replica needs its own`)
  }
  return A.load<T>(bytes, { actor: options.actor })
}

function assertDocName(docName: string): void {
  if (typeof docName !== 'string' || docName === '') {
    throw new InvalidOptionError('docName must be a non-empty string')
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** A copy with plain objects' keys in sorted order; arrays keep their order; other values (Counter, Date) as-is. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (!isPlainObject(value)) return value
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key])
  return out
}

/** MurmurHash3's finaliser: spreads FNV's weak high bits over the whole word. */
function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
