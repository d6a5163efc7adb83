/**
 * G-Counter (grow-only counter), the classic state-based design: each actor owns one entry, `counts[actor]`, that
 * only it writes and only ever raises; the value is the sum of all entries. Because an actor's changes reach every
 * replica in order (Automerge delivers causally), each entry, and so the sum, never decreases on any replica.
 *
 * We keep per-actor entries rather than an Automerge `Counter` so that the grow-only rule is visible in the
 * document: a `Counter` would accept a decrement from any peer. Entries that are not non-negative numbers (written
 * by a faulty peer) count as 0. The sum is exact up to 2^53 - 1; each entry is capped there.
 */
import type * as AM from '@automerge/automerge/slim'
import { InvalidOptionError } from '../../errors.js'
import type { AutomergeModule } from '../automerge.js'
import { openGenesis, type OpenOptions } from './genesis.js'
import { assertSafeInteger, changeOptions, storedNumber, type CrdtChangeOptions } from './internal.js'

export interface GCounterDoc {
  /** actor id → that actor's total increments. */
  counts: Record<string, number>
}

/** The document's genesis root: the same on every peer. */
export function initialRoot(_A: AutomergeModule): GCounterDoc {
  return { counts: {} }
}

/** A replica of the G-Counter `docName`, starting from its shared genesis (value 0). */
export function init(A: AutomergeModule, docName: string, options: OpenOptions = {}): AM.Doc<GCounterDoc> {
  return openGenesis<GCounterDoc>(A, docName, initialRoot(A), options)
}

/**
 * Adds `n` (a safe integer >= 0; 0 makes no change) to this replica's own entry. Throws InvalidOptionError for a
 * negative, fractional or unsafe `n`, or if the entry would pass 2^53 - 1.
 */
export function increment(
  A: AutomergeModule,
  doc: AM.Doc<GCounterDoc>,
  n: number,
  options: CrdtChangeOptions = {},
): AM.Doc<GCounterDoc> {
  assertSafeInteger(n, 'n', 0)
  if (n === 0) return doc
  const actor = A.getActorId(doc)
  const next = own(doc, actor) + n
  if (!Number.isSafeInteger(next)) {
    throw new InvalidOptionError(`incrementing by ${n} would take this replica's count past 2^53 - 1`)
  }
  return A.change(doc, changeOptions(options), (d) => {
    d.counts[actor] = next
  })
}

/** Throws InvalidOptionError unless `n` is a valid increment (a safe integer >= 0). */
export function assertIncrement(n: number): void {
  assertSafeInteger(n, 'n', 0)
}

/** The counter's value: the sum of every actor's entry. */
export function read(doc: AM.Doc<GCounterDoc>): number {
  let sum = 0
  for (const value of Object.values(doc.counts)) sum += entry(value)
  return sum
}

function own(doc: AM.Doc<GCounterDoc>, actor: string): number {
  return entry(doc.counts[actor])
}

function entry(value: unknown): number {
  const n = storedNumber(value)
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : 0
}
