/**
 * The linearizability check: Wing and Gong's search with Lowe's memoization, per key as Porcupine does it
 * (Horn and Kroening's P-compositionality: a history is linearizable iff each key's sub-history is).
 *
 * The search walks a doubly linked list of call and return entries in time order. Taking a call entry means
 * "linearize this operation next": if the model allows it, the operation's call and return are unlinked ("lifted")
 * and the walk restarts from the head. Reaching a return entry means that operation had to be linearized by now and
 * none of the candidates worked, so the last choice is undone ("unlifted") and the next candidate tried. A cache of
 * (set of linearized operations, model state) pairs already explored prunes repeats. Everything is iterative.
 *
 * Equal timestamps: calls sort before returns, so operations that merely touch (one returns at the instant another
 * is invoked) count as concurrent. A recorded timestamp cannot prove one came strictly first, and treating them as
 * concurrent can only turn an "illegal" into "ok", never report a violation that is not there. Parsed histories
 * use event positions as times, so they never tie.
 *
 * Unknown outcomes (`ret: Infinity`, status `info`): the return entry sorts last, so the operation can be
 * linearized anywhere after its call; the model step gets `output: undefined`, and the checker adds the
 * possibility that it had no effect at all (see NoEffect). A nondeterministic step (several next states) is handled
 * by searching over the SET of possible states, which makes the step deterministic and keeps the search one stack.
 *
 * This is a test tool, not a pure core: it reads `performance.now()` for its timeout and nothing else. (Over 400
 * lines because the search's parts, the entry list, the state sets and the cache, only make sense together.)
 */
import { InvalidOptionError } from '../../errors.js'
import type { Operation } from './history.js'
import type { Model } from './models.js'

export interface CheckOptions {
  /** Give up and answer `unknown` after this long (for all keys together). Default 10_000; Infinity allowed. */
  readonly timeoutMs?: number
  /** Check each key on its own. Default true; false checks the whole history at once (slower, for comparison). */
  readonly partition?: boolean
  /**
   * Per key, at most this many explored states are remembered (each takes about ops / 8 + 8 bytes, and all of them
   * together at most MAX_CACHE_BYTES); beyond it the answer is `unknown`. Default 2_000_000.
   */
  readonly maxCacheEntries?: number
}

export type CheckVerdict = 'ok' | 'illegal' | 'unknown'

export interface CheckResult {
  readonly result: CheckVerdict
  /** How many sub-histories (keys) the history was split into. */
  readonly partitions: number
  /** How many of them were fully checked before the verdict. */
  readonly checked: number
  readonly operations: number
  readonly elapsedMs: number
  /** Why the result is `unknown`. */
  readonly reason?: 'timeout' | 'cache-limit'
  /** Present when the result is `illegal`. */
  readonly counterexample?: Counterexample
}

export interface Counterexample {
  /** The key whose sub-history is not linearizable; null when the history was checked whole (`partition: false`). */
  readonly key: string | null
  /** The longest linearizable prefix the search found, in linearization order. */
  readonly linearized: readonly Operation[]
  /** The operation that returned before any remaining operation could be linearized after that prefix. */
  readonly stuck: Operation
  /** The possible model states (their keys) after the prefix. */
  readonly states: readonly string[]
  readonly message: string
}

export const DEFAULT_TIMEOUT_MS = 10_000
export const DEFAULT_MAX_CACHE_ENTRIES = 2_000_000
/** What the explored-state cache of one key may take, whatever maxCacheEntries says. */
export const MAX_CACHE_BYTES = 256 * 1024 * 1024

export function checkLinearizability<S, I, O>(
  model: Model<S, I, O>,
  operations: readonly Operation[],
  options: CheckOptions = {},
): CheckResult {
  const started = performance.now()
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  if (!(timeoutMs > 0)) throw new InvalidOptionError(`timeoutMs must be a positive number, got ${timeoutMs}`)
  const maxCacheEntries = options.maxCacheEntries ?? DEFAULT_MAX_CACHE_ENTRIES
  if (!Number.isSafeInteger(maxCacheEntries) || maxCacheEntries < 1) {
    throw new InvalidOptionError(`maxCacheEntries must be a positive safe integer, got ${maxCacheEntries}`)
  }
  operations.forEach(checkOperation)
  const deadline = started + timeoutMs
  const partition = options.partition ?? true
  // The search is generic; erasing the state type here saves threading two model types through it.
  const lifted = (partition ? model : wholeHistory(model)) as unknown as Model<unknown, unknown, unknown>
  // Decode everything first, so that a bad operation is reported whatever the verdict on the keys before it.
  const decoded = operations.map((op) => decode(lifted, op))

  const groups = partition ? groupByKey(operations) : operations.length === 0 ? [] : [operations.map((_, i) => i)]
  const finish = (fields: Pick<CheckResult, 'result' | 'checked'> & Partial<CheckResult>): CheckResult => ({
    partitions: groups.length,
    operations: operations.length,
    elapsedMs: performance.now() - started,
    ...fields,
  })
  let checked = 0
  for (const indices of groups) {
    const ops = indices.map((i) => operations[i] as Operation)
    const group = indices.map((i) => decoded[i] as DecodedOp<unknown, unknown>)
    const outcome = search(lifted, ops, group, deadline, maxCacheEntries)
    if (outcome.kind === 'unknown') return finish({ result: 'unknown', checked, reason: outcome.reason })
    if (outcome.kind === 'illegal') {
      const key = partition ? (ops[0] as Operation).key : null
      return finish({ result: 'illegal', checked, counterexample: counterexample(model, key, outcome) })
    }
    checked++
  }
  return finish({ result: 'ok', checked })
}

function checkOperation(op: Operation, i: number): void {
  const okTimes = Number.isFinite(op.call) && op.ret >= op.call && (op.status === 'info' || Number.isFinite(op.ret))
  if (!okTimes) {
    throw new InvalidOptionError(`operations[${i}]: needs a finite call <= ret (ret finite unless status is info)`)
  }
}

/** Indices of the operations of each key, smallest sub-history first (its violation is the easiest to read). */
function groupByKey(operations: readonly Operation[]): number[][] {
  const byKey = new Map<string, number[]>()
  operations.forEach((op, i) => {
    const list = byKey.get(op.key)
    if (list === undefined) byKey.set(op.key, [i])
    else list.push(i)
  })
  return [...byKey.entries()]
    .sort(([ka, a], [kb, b]) => a.length - b.length || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .map(([, indices]) => indices)
}

type SearchOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'unknown'; readonly reason: 'timeout' | 'cache-limit' }
  | {
      readonly kind: 'illegal'
      readonly linearized: readonly Operation[]
      readonly stuck: Operation
      readonly states: readonly string[]
    }

/** Checks one sub-history. Entry 2i is operation i's call, 2i + 1 its return. */
function search<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation[],
  decoded: readonly DecodedOp<I, O>[],
  deadline: number,
  maxCacheEntries: number,
): SearchOutcome {
  const sets = new StateSets(model, decoded)
  const list = entryList(ops)
  const linearized = new Bitset(ops.length)
  const explored = new ExploredCache(linearized.words.length)
  const cacheLimit = Math.min(maxCacheEntries, Math.floor(MAX_CACHE_BYTES / (4 * linearized.words.length + 8)))
  let set = sets.initial()
  const chosen: number[] = []
  const before: StateSet<S>[] = []
  let best: { ops: number[]; stuck: number; set: StateSet<S> } | null = null
  let entry = list.first()
  let iterations = 0
  while (!list.isEmpty()) {
    if ((++iterations & 1023) === 0 && performance.now() > deadline) return { kind: 'unknown', reason: 'timeout' }
    const i = entry >> 1
    if ((entry & 1) === 0) {
      // A call: try linearizing operation i next.
      const next = sets.step(set, i)
      if (next !== null) {
        linearized.flip(i)
        if (explored.add(linearized, next.id)) {
          if (explored.size > cacheLimit) return { kind: 'unknown', reason: 'cache-limit' }
          chosen.push(i)
          before.push(set)
          set = next
          list.lift(i)
          entry = list.first()
          continue
        }
        linearized.flip(i)
      }
      entry = list.next(entry)
      continue
    }
    // A return: operation i had to be linearized by now and no candidate worked. Undo the last choice.
    if (best === null || chosen.length > best.ops.length) best = { ops: [...chosen], stuck: i, set }
    const last = chosen.pop()
    if (last === undefined) {
      const linearizedOps = best.ops.map((j) => ops[j] as Operation)
      return { kind: 'illegal', linearized: linearizedOps, stuck: ops[best.stuck] as Operation, states: best.set.keys }
    }
    set = before.pop() as StateSet<S>
    linearized.flip(last)
    list.unlift(last)
    entry = list.next(2 * last)
  }
  return { kind: 'ok' }
}

/** A set of possible model states (a sorted list of distinct states), numbered by StateSets. */
interface StateSet<S> {
  readonly id: number
  readonly states: readonly S[]
  readonly keys: readonly string[]
}

/**
 * When the checker adds "had no effect" to an operation's possible outcomes. An `info` operation may never have
 * taken effect. If it is pending forever (ret Infinity), that only needs adding where the model cannot run it: a run
 * in which it had no effect can be rearranged to linearize it after every operation that returned, where no one sees
 * its effect. (Porcupine adds nothing and assumes every unknown-outcome step is enabled.) Keeps the state sets small.
 */
type NoEffect = 'never' | 'if-disabled' | 'always'

interface DecodedOp<I, O> {
  readonly input: I
  readonly output: O | undefined
  readonly noEffect: NoEffect
}

function decode<S, I, O>(model: Model<S, I, O>, op: Operation): DecodedOp<I, O> {
  const d = model.decode(op)
  if (op.status === 'ok') return { input: d.input, output: d.output, noEffect: 'never' }
  return { input: d.input, output: undefined, noEffect: op.ret === Infinity ? 'if-disabled' : 'always' }
}

/**
 * The model lifted to sets of states, which makes a nondeterministic step (several possible next states, as for an
 * operation whose outcome is unknown) deterministic, so the search needs no extra branching. Each distinct set gets
 * a small integer id for the cache; there are at most as many sets as steps taken.
 */
class StateSets<S, I, O> {
  private readonly ids = new Map<string, number>()

  constructor(
    private readonly model: Model<S, I, O>,
    private readonly decoded: readonly DecodedOp<I, O>[],
  ) {}

  initial(): StateSet<S> {
    const init = this.model.init()
    return this.make([init], [this.model.key(init)])
  }

  /** The set after operation i, or null if no state in `set` allows it. */
  step(set: StateSet<S>, i: number): StateSet<S> | null {
    const { input, output, noEffect } = this.decoded[i] as DecodedOp<I, O>
    if (set.states.length === 1 && noEffect !== 'always') {
      // The common case, without building a map: one state in, at most one out.
      const after = this.model.step(set.states[0] as S, input, output)
      if (after.length === 0) return noEffect === 'if-disabled' ? set : null
      if (after.length === 1) {
        const key = this.model.key(after[0] as S)
        return key === set.keys[0] ? set : this.make(after, [key])
      }
    }
    const next = new Map<string, S>()
    set.states.forEach((s, j) => {
      const after = this.model.step(s, input, output)
      for (const t of after) next.set(this.model.key(t), t)
      if (noEffect === 'always' || (noEffect === 'if-disabled' && after.length === 0)) {
        next.set(set.keys[j] as string, s)
      }
    })
    if (next.size === 0) return null
    const keys = [...next.keys()].sort()
    return this.make(keys.map((k) => next.get(k) as S), keys)
  }

  private make(states: readonly S[], keys: readonly string[]): StateSet<S> {
    // `s` + the key of a single state, `m` + the JSON of several sorted keys: distinct prefixes keep it injective.
    const setKey = keys.length === 1 ? `s${keys[0] as string}` : `m${JSON.stringify(keys)}`
    let id = this.ids.get(setKey)
    if (id === undefined) {
      id = this.ids.size
      this.ids.set(setKey, id)
    }
    return { id, states, keys }
  }
}

/**
 * The (linearized set, state set) pairs already explored, as a chained hash table over flat typed arrays: entry e's
 * bitset is `bits[e * width ..]`, its state-set id `stateIds[e]`, the next entry in its chain `chain[e]`. Typed
 * arrays instead of one object per entry keep the memory near width * 4 + 8 bytes per entry and the GC idle.
 */
class ExploredCache {
  size = 0
  private bits: Uint32Array
  private stateIds: Int32Array
  private chain: Int32Array
  private readonly heads = new Map<number, number>()

  constructor(private readonly width: number) {
    this.bits = new Uint32Array(1024 * width)
    this.stateIds = new Int32Array(1024)
    this.chain = new Int32Array(1024)
  }

  /** Adds the pair unless it is there; true if it was new. */
  add(linearized: Bitset, stateId: number): boolean {
    const slot = (linearized.hash ^ Math.imul(stateId + 1, 0x9e3779b1)) & 0x3fffffff
    const head = this.heads.get(slot) ?? -1
    for (let e = head; e !== -1; e = this.chain[e] as number) {
      if (this.stateIds[e] === stateId && linearized.equalsAt(this.bits, e * this.width)) return false
    }
    if (this.size === this.stateIds.length) this.grow()
    const e = this.size++
    this.bits.set(linearized.words, e * this.width)
    this.stateIds[e] = stateId
    this.chain[e] = head
    this.heads.set(slot, e)
    return true
  }

  private grow(): void {
    const capacity = this.stateIds.length * 2
    const bits = new Uint32Array(capacity * this.width)
    bits.set(this.bits)
    this.bits = bits
    const stateIds = new Int32Array(capacity)
    stateIds.set(this.stateIds)
    this.stateIds = stateIds
    const chain = new Int32Array(capacity)
    chain.set(this.chain)
    this.chain = chain
  }
}

/**
 * The call and return entries of `ops` in time order, as a doubly linked list that can unlink an operation (both its
 * entries) and put it back, dancing-links style: unlifting in reverse order of lifting restores the list exactly.
 */
function entryList(ops: readonly Operation[]) {
  const n = ops.length
  const head = 2 * n
  const time = (e: number): number => {
    const op = ops[e >> 1] as Operation
    return (e & 1) === 0 ? op.call : op.ret
  }
  const order = Array.from({ length: 2 * n }, (_, e) => e).sort(
    // By time; at equal times calls (even) before returns (odd); then by operation, for determinism.
    (a, b) => (time(a) < time(b) ? -1 : time(a) > time(b) ? 1 : (a & 1) - (b & 1) || a - b),
  )
  const next = new Int32Array(2 * n + 1).fill(-1)
  const prev = new Int32Array(2 * n + 1).fill(-1)
  let p = head
  for (const e of order) {
    next[p] = e
    prev[e] = p
    p = e
  }
  const unlink = (e: number): void => {
    const a = prev[e] as number
    const b = next[e] as number
    next[a] = b
    if (b !== -1) prev[b] = a
  }
  const relink = (e: number): void => {
    const a = prev[e] as number
    const b = next[e] as number
    next[a] = e
    if (b !== -1) prev[b] = e
  }
  return {
    isEmpty: () => next[head] === -1,
    first: () => next[head] as number,
    next: (e: number) => next[e] as number,
    lift: (i: number) => {
      unlink(2 * i)
      unlink(2 * i + 1)
    },
    unlift: (i: number) => {
      relink(2 * i + 1)
      relink(2 * i)
    },
  }
}

/**
 * The set of linearized operations, with an incrementally maintained Zobrist hash (each operation XORs in a fixed
 * pseudo-random word) so that a cache lookup does not have to read the whole set.
 */
class Bitset {
  readonly words: Uint32Array
  hash = 0

  constructor(size: number) {
    this.words = new Uint32Array(Math.max(1, Math.ceil(size / 32)))
  }

  flip(i: number): void {
    const w = i >>> 5
    this.words[w] = (this.words[w] as number) ^ (1 << (i & 31))
    this.hash ^= mix32(i + 1)
  }

  equalsAt(arena: Uint32Array, offset: number): boolean {
    for (let w = 0; w < this.words.length; w++) if (this.words[w] !== arena[offset + w]) return false
    return true
  }
}

/** A 32-bit integer hash (a finalizer in the style of MurmurHash3): spreads consecutive inputs over all bits. */
function mix32(x: number): number {
  let h = Math.imul(x ^ (x >>> 16), 0x7feb352d)
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b)
  return (h ^ (h >>> 16)) | 0
}

/** Lifts a per-key model to the whole history: the state maps each key touched so far to its state. */
function wholeHistory<S, I, O>(model: Model<S, I, O>): Model<ReadonlyMap<string, S>, { key: string; input: I }, O> {
  return {
    name: `${model.name} (all keys)`,
    init: () => new Map(),
    decode: (op) => {
      const d = model.decode(op)
      return { input: { key: op.key, input: d.input }, output: d.output }
    },
    step: (state, { key, input }, output) =>
      model.step(state.get(key) ?? model.init(), input, output).map((s) => new Map(state).set(key, s)),
    key: (state) =>
      JSON.stringify(
        [...state.entries()].map(([k, s]): [string, string] => [k, model.key(s)]).sort(([a], [b]) => (a < b ? -1 : 1)),
      ),
    describe: (op) => model.describe(op),
  }
}

function counterexample<S, I, O>(
  model: Model<S, I, O>,
  key: string | null,
  found: Extract<SearchOutcome, { kind: 'illegal' }>,
): Counterexample {
  const tail = found.linearized.slice(-5).map((op) => model.describe(op))
  const where = key === null ? 'the history' : `key ${JSON.stringify(key)}`
  const message =
    `${where} is not linearizable under the ${model.name} model: after the longest linearizable prefix ` +
    `(${found.linearized.length} operations${tail.length > 0 ? `, ending ${tail.join('; ')}` : ''}) in state(s) ` +
    `${JSON.stringify(found.states)}, ${model.describe(found.stuck)} returned and no pending operation could be ` +
    'linearized before it'
  return { key, linearized: found.linearized, stuck: found.stuck, states: found.states, message }
}
