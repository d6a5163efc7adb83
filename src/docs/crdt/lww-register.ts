/**
 * LWW-Register (last writer wins) under a total order of (timestamp, peer id).
 *
 * Each peer writes only its own slot, `writes[peerId] = { json, ts }`, replacing the whole slot so that value and
 * timestamp always travel together. The register's value is the slot with the greatest (ts, peerId), peer ids
 * compared as strings by UTF-16 code units. Every replica holding the same slots picks the same winner, and no two
 * writes tie, since a peer's later write replaces its earlier one.
 *
 * A write takes `ts = max(now, highest ts in the document + 1)`: a write made after seeing another one (causally
 * later) always beats it, even if the writer's clock is behind. Concurrent writes are ordered by their clocks, so
 * a peer whose clock runs ahead wins those; that is the usual LWW trade-off.
 *
 * The value is stored as canonical JSON in an `ImmutableString`: a register's value is atomic, and a plain object
 * or string would become mergeable Automerge structure. If two replicas share a peer id and write concurrently,
 * Automerge keeps one of their slots, the same one everywhere, so the register still converges.
 */
import type * as AM from '@automerge/automerge/slim'
import { InvalidOptionError } from '../../errors.js'
import type { AutomergeModule } from '../automerge.js'
import { canonicalJson, type JsonValue } from './canonical-json.js'
import { openGenesis, type OpenOptions } from './genesis.js'
import { assertSafeInteger, changeOptions, storedNumber, storedString, type CrdtChangeOptions } from './internal.js'

export interface LWWSlot {
  /** Canonical JSON of the value written. */
  json: AM.ImmutableString
  /** The write's timestamp. */
  ts: number
}

export interface LWWRegisterDoc {
  /** peer id → that peer's latest write. */
  writes: Record<string, LWWSlot>
}

export interface LWWSetOptions extends CrdtChangeOptions {
  /** The writer's clock, a safe integer (milliseconds since the epoch, or a logical clock in simulations). */
  readonly now: number
  /** The writing peer's id (non-empty): names its slot and breaks timestamp ties. */
  readonly peerId: string
}

/** The winning write. */
export interface LWWEntry {
  readonly value: JsonValue
  readonly ts: number
  readonly peerId: string
}

/** The document's genesis root: the same on every peer. */
export function initialRoot(_A: AutomergeModule): LWWRegisterDoc {
  return { writes: {} }
}

/** A replica of the LWW-Register `docName`, starting from its shared genesis (no value). */
export function init(A: AutomergeModule, docName: string, options: OpenOptions = {}): AM.Doc<LWWRegisterDoc> {
  return openGenesis<LWWRegisterDoc>(A, docName, initialRoot(A), options)
}

/**
 * Writes `value` into `options.peerId`'s slot with `ts = max(now, highest ts seen + 1)`. Throws
 * InvalidOptionError if `value` is not JSON, `now` is not a safe integer, `peerId` is empty, or ts would pass
 * 2^53 - 1.
 */
export function set(
  A: AutomergeModule,
  doc: AM.Doc<LWWRegisterDoc>,
  value: JsonValue,
  options: LWWSetOptions,
): AM.Doc<LWWRegisterDoc> {
  const json = canonicalJson(value)
  assertSafeInteger(options.now, 'now')
  if (typeof options.peerId !== 'string' || options.peerId === '') {
    throw new InvalidOptionError('peerId must be a non-empty string')
  }
  let ts = options.now
  for (const slot of slots(doc)) ts = Math.max(ts, slot.ts + 1)
  if (!Number.isSafeInteger(ts)) throw new InvalidOptionError('the register timestamp would pass 2^53 - 1')
  const { peerId } = options
  return A.change(doc, changeOptions(options), (d) => {
    d.writes[peerId] = { json: new A.ImmutableString(json), ts }
  })
}

/** The winning write, the one with the greatest (ts, peerId), or `undefined` if nobody has written. */
export function latest(doc: AM.Doc<LWWRegisterDoc>): LWWEntry | undefined {
  let best: { json: string; ts: number; peerId: string } | undefined
  for (const slot of slots(doc)) {
    if (best === undefined || slot.ts > best.ts || (slot.ts === best.ts && slot.peerId > best.peerId)) best = slot
  }
  return best && { value: JSON.parse(best.json) as JsonValue, ts: best.ts, peerId: best.peerId }
}

/** The register's value: the winning write's value, or `undefined` if nobody has written. */
export function read(doc: AM.Doc<LWWRegisterDoc>): JsonValue | undefined {
  return latest(doc)?.value
}

/** The well-formed slots; one written by a faulty peer (bad ts, or a value that is not JSON) is ignored. */
function* slots(doc: AM.Doc<LWWRegisterDoc>): Generator<{ json: string; ts: number; peerId: string }> {
  for (const [peerId, slot] of Object.entries(doc.writes)) {
    const ts = storedNumber((slot as Partial<LWWSlot> | undefined)?.ts)
    const json = storedString((slot as Partial<LWWSlot> | undefined)?.json)
    if (ts === undefined || !Number.isSafeInteger(ts) || json === undefined || !isJson(json)) continue
    yield { json, ts, peerId }
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}
