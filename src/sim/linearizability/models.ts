/**
 * Sequential specifications for the checker. A model describes ONE key (the checker splits a history by key); its
 * functions are pure. Values are compared through their canonical EDN text (formatValue), so states are plain
 * strings or small records and `key(state)` is cheap.
 */
import { DecodeError } from '../../errors.js'
import { formatValue, type Operation } from './history.js'

/** What `decode` makes of an operation; `output` is `undefined` when the outcome is unknown. */
export interface Decoded<Input, Output> {
  readonly input: Input
  readonly output: Output | undefined
}

export interface Model<State, Input, Output> {
  readonly name: string
  /** The state of a key nobody has touched yet. */
  init(): State
  /**
   * Checks and converts a recorded operation once, before the search (a DecodeError for an operation the model does
   * not know). The checker passes `output: undefined` for operations with status `info`, whatever this returns.
   */
  decode(op: Operation): Decoded<Input, Output>
  /**
   * Every state the key can be in after the operation ran in `state` and returned `output`; empty when that output
   * is impossible there. With `output === undefined` (outcome unknown) it must allow every possible output. The
   * possibility that an `info` operation never took effect is added by the checker, so models need not.
   */
  step(state: State, input: Input, output: Output | undefined): readonly State[]
  /** Equal states have equal keys and different states different keys; used to memoize the search. */
  key(state: State): string
  /** One line for messages, such as `p3 cas [1 4] -> [1 4]`. */
  describe(op: Operation): string
}

// ---------------------------------------------------------------------------------------------------------------
// Registers. State and values are EDN text ('nil' = unset), so equality is string equality.

export type RegisterInput =
  | { readonly f: 'read' }
  | { readonly f: 'write'; readonly value: string }
  | { readonly f: 'cas'; readonly from: string; readonly to: string }

/** read: the value read (EDN text); write: true; cas: whether it applied. */
export type RegisterOutput = string | boolean

function registerStep(state: string, input: RegisterInput, output: RegisterOutput | undefined): readonly string[] {
  switch (input.f) {
    case 'read':
      return output === undefined || output === state ? [state] : []
    case 'write':
      return [input.value]
    case 'cas': {
      const matches = input.from === state
      // Unknown outcome: it applied exactly when the value matched at its linearization point.
      if (output === undefined) return [matches ? input.to : state]
      if (output === true) return matches ? [input.to] : []
      return matches ? [] : [state]
    }
  }
}

function decodeRegister(op: Operation, casApplied: (op: Operation) => boolean): Decoded<RegisterInput, RegisterOutput> {
  switch (op.f) {
    case 'read':
      return { input: { f: 'read' }, output: op.status === 'ok' ? valueText(op, op.output) : undefined }
    case 'write':
      return { input: { f: 'write', value: valueText(op, op.input) }, output: true }
    case 'cas': {
      const pair = op.input
      if (!Array.isArray(pair) || pair.length < 2) throw bad(op, 'cas input must be [expected new]')
      const input: RegisterInput = { f: 'cas', from: valueText(op, pair[0]), to: valueText(op, pair[1]) }
      return { input, output: op.status === 'ok' ? casApplied(op) : undefined }
    }
    default:
      throw bad(op, 'expected read, write or cas')
  }
}

/**
 * A single register as in Jepsen's etcd test: `read` (output: the value, nil when unset; the register starts
 * unset), `write v`, `cas [from to]`. A cas that completed `ok` succeeded (one that failed was dropped with the
 * other `fail` operations), whatever its output says.
 */
export const registerModel: Model<string, RegisterInput, RegisterOutput> = {
  name: 'register',
  init: () => 'nil',
  decode: (op) => decodeRegister(op, () => true),
  step: registerStep,
  key: (state) => state,
  describe: describeOperation,
}

/**
 * The registers of the Raft simulation's key-value store: like registerModel, but a cas completes `ok` in both
 * cases and says whether it applied. Its output is `true`/`false`, or `[expected new applied]` (the echo Jepsen
 * clients write, plus the result).
 */
export const kvRegisterModel: Model<string, RegisterInput, RegisterOutput> = {
  name: 'kv-register',
  init: () => 'nil',
  decode: (op) =>
    decodeRegister(op, () => {
      const out: unknown = Array.isArray(op.output) ? (op.output as readonly unknown[])[2] : op.output
      if (typeof out !== 'boolean') throw bad(op, 'cas output must be true, false or [expected new applied]')
      return out
    }),
  step: registerStep,
  key: (state) => state,
  describe: describeOperation,
}

// ---------------------------------------------------------------------------------------------------------------
// Key-value strings (Porcupine's kv histories).

export type KvInput = { readonly f: 'get' } | { readonly f: 'put' | 'append'; readonly value: string }

/**
 * A string per key, initially `''` (the kv histories read `""` for a missing key; a nil read counts as `""` too):
 * `get` (output: the value), `put v`, `append suffix`.
 */
export const kvModel: Model<string, KvInput, string> = {
  name: 'kv',
  init: () => '',
  decode: (op) => {
    switch (op.f) {
      case 'get': {
        if (op.status !== 'ok') return { input: { f: 'get' }, output: undefined }
        const out = op.output ?? ''
        if (typeof out !== 'string') throw bad(op, 'get output must be a string')
        return { input: { f: 'get' }, output: out }
      }
      case 'put':
      case 'append':
        if (typeof op.input !== 'string') throw bad(op, `${op.f} input must be a string`)
        return { input: { f: op.f, value: op.input }, output: '' }
      default:
        throw bad(op, 'expected get, put or append')
    }
  },
  step: (state, input, output) => {
    switch (input.f) {
      case 'get':
        return output === undefined || output === state ? [state] : []
      case 'put':
        return [input.value]
      case 'append':
        return [state + input.value]
    }
  },
  key: (state) => state,
  describe: describeOperation,
}

// ---------------------------------------------------------------------------------------------------------------
// Mutex with fencing tokens.

export interface MutexState {
  /** The process holding the lock, or null when it is free. */
  readonly holder: number | null
  /** The fencing token of the last successful acquire that reported one. */
  readonly lastToken: number | null
}

export interface MutexInput {
  readonly f: 'acquire' | 'release'
  readonly process: number
}

/**
 * A lock per key: `acquire` succeeds only when the lock is free and returns a fencing token (an integer, or nil for
 * none), which must be greater than every token returned before; `release` only by the process holding it. An
 * `info` acquire's token is unknown, so it does not raise the bar for later tokens (no false alarms).
 */
export const mutexModel: Model<MutexState, MutexInput, number | null> = {
  name: 'mutex',
  init: () => ({ holder: null, lastToken: null }),
  decode: (op) => {
    if (op.f !== 'acquire' && op.f !== 'release') throw bad(op, 'expected acquire or release')
    const input: MutexInput = { f: op.f, process: op.process }
    if (op.status !== 'ok' || op.f === 'release') return { input, output: null }
    const token = op.output
    if (token !== null && !Number.isSafeInteger(token)) throw bad(op, 'acquire output must be an integer or nil')
    return { input, output: token as number | null }
  },
  step: (state, input, output) => {
    if (input.f === 'release') {
      return state.holder === input.process ? [{ holder: null, lastToken: state.lastToken }] : []
    }
    if (state.holder !== null) return []
    if (output === undefined || output === null) return [{ holder: input.process, lastToken: state.lastToken }]
    if (state.lastToken !== null && output <= state.lastToken) return []
    return [{ holder: input.process, lastToken: output }]
  },
  key: (state) => `${state.holder ?? '-'}/${state.lastToken ?? '-'}`,
  describe: describeOperation,
}

// ---------------------------------------------------------------------------------------------------------------

/** `p3 cas "k" [1 4] -> [1 4]`: process, operation, key (if any), input, and output (`?` when unknown). */
export function describeOperation(op: Operation): string {
  const key = op.key === '' ? '' : ` ${show(op.key)}`
  const output = op.status === 'info' ? '?' : show(op.output)
  return `p${op.process} ${op.f}${key} ${show(op.input)} -> ${output}`
}

function show(v: unknown): string {
  try {
    return formatValue(v)
  } catch (_) {
    // Not a HistoryValue (an operation built by hand): a message should still say something.
    return String(v)
  }
}

function valueText(op: Operation, v: unknown): string {
  try {
    return formatValue(v)
  } catch (err) {
    throw bad(op, 'values must be nil, booleans, integers, strings, keywords or vectors', err)
  }
}

function bad(op: Operation, msg: string, cause?: unknown): DecodeError {
  return new DecodeError(`${describeOperation(op)}: ${msg}`, cause === undefined ? {} : { cause })
}
