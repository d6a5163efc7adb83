/**
 * docs/crdt/: typed CRDT models on Automerge documents. Each model is a set of pure functions over one Automerge
 * document: `init` opens a replica from the genesis that every peer derives identically from the document's name
 * (see genesis.ts), operations return the changed document, and `read` returns the plain value. As with
 * `A.change`, an operation that makes a change leaves the document passed in outdated: keep the returned one.
 * Nothing here does I/O: the caller moves changes between peers (the sync engine, or a test). The Automerge module
 * is passed in (`await loadAutomerge()`), so that it is loaded lazily.
 *
 * May import: errors, docs/automerge (types). Used by: docs/ (handles, sync engine).
 *
 * Usage: `import { gCounter } from './crdt/index.js'`, then `doc = gCounter.increment(A, doc, 1)`.
 */
export { genesis, genesisActorId, openGenesis, type OpenOptions } from './genesis.js'
export { canonicalJson, type JsonValue } from './canonical-json.js'
export type { CrdtChangeOptions } from './internal.js'
export type { GCounterDoc } from './gcounter.js'
export type { PNCounterDoc } from './pncounter.js'
export type { ORSetDoc } from './orset.js'
export type { LWWEntry, LWWRegisterDoc, LWWSetOptions, LWWSlot } from './lww-register.js'
export type { TextDoc } from './text.js'
export * as gCounter from './gcounter.js'
export * as pnCounter from './pncounter.js'
export * as orSet from './orset.js'
export * as lwwRegister from './lww-register.js'
export * as text from './text.js'
