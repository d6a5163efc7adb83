/**
 * PN-Counter (increment and decrement): one Automerge `Counter`, which is already a PN-Counter. Its operations
 * are additions, which commute, so every replica that has applied the same changes holds the same value, whatever
 * the order they arrived in. Amounts are integers (Automerge counters are 64-bit integers); the value is exact
 * while it stays within ±(2^53 - 1).
 */
import type * as AM from '@automerge/automerge/slim'
import type { AutomergeModule } from '../automerge.js'
import { openGenesis, type OpenOptions } from './genesis.js'
import { assertSafeInteger, changeOptions, storedNumber, type CrdtChangeOptions } from './internal.js'

export interface PNCounterDoc {
  value: AM.Counter
}

/** The document's genesis root: the same on every peer. */
export function initialRoot(A: AutomergeModule): PNCounterDoc {
  return { value: new A.Counter(0) }
}

/** A replica of the PN-Counter `docName`, starting from its shared genesis (value 0). */
export function init(A: AutomergeModule, docName: string, options: OpenOptions = {}): AM.Doc<PNCounterDoc> {
  return openGenesis<PNCounterDoc>(A, docName, initialRoot(A), options)
}

/** Adds `n` (a safe integer, may be negative; 0 makes no change). Throws InvalidOptionError otherwise. */
export function increment(
  A: AutomergeModule,
  doc: AM.Doc<PNCounterDoc>,
  n: number,
  options: CrdtChangeOptions = {},
): AM.Doc<PNCounterDoc> {
  assertAmount(n)
  if (n === 0) return doc
  return A.change(doc, changeOptions(options), (d) => {
    d.value.increment(n)
  })
}

/** Subtracts `n` (a safe integer, may be negative; 0 makes no change). Throws InvalidOptionError otherwise. */
export function decrement(
  A: AutomergeModule,
  doc: AM.Doc<PNCounterDoc>,
  n: number,
  options: CrdtChangeOptions = {},
): AM.Doc<PNCounterDoc> {
  assertAmount(n)
  return increment(A, doc, -n, options)
}

/** Throws InvalidOptionError unless `n` is a valid amount (a safe integer). */
export function assertAmount(n: number): void {
  assertSafeInteger(n, 'n')
}

/** The counter's value: the sum of all increments minus all decrements applied so far. */
export function read(doc: AM.Doc<PNCounterDoc>): number {
  return storedNumber(doc.value.value) ?? 0
}
