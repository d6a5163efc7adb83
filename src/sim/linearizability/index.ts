/**
 * sim/linearizability/: a linearizability checker for the histories our simulations record (and for Jepsen's): the
 * history formats, sequential models of the objects we test, and a Wing-Gong-Lowe search per key as in Porcupine.
 * A test tool, not part of the SDK's runtime: nothing in src/ outside sim/ may import it.
 *
 * This folder imports nothing from other layers (only `src/errors.ts`).
 */
export {
  type EventType,
  type HistoryEvent,
  type Operation,
  type EdnKeyword,
  type HistoryValue,
  type ParseOptions,
  DEFAULT_MAX_LINES,
  MAX_LINE_LENGTH,
  MAX_VALUE_DEPTH,
  keyword,
  parseJepsenEtcdLog,
  parseEdnHistory,
  parseHistory,
  formatHistory,
  formatValue,
  toOperations,
} from './history.js'
export {
  type Model,
  type Decoded,
  type RegisterInput,
  type RegisterOutput,
  type KvInput,
  type MutexState,
  type MutexInput,
  registerModel,
  kvRegisterModel,
  kvModel,
  mutexModel,
  describeOperation,
} from './models.js'
export {
  type CheckOptions,
  type CheckResult,
  type CheckVerdict,
  type Counterexample,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_MAX_CACHE_ENTRIES,
  MAX_CACHE_BYTES,
  checkLinearizability,
} from './checker.js'
