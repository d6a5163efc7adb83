/**
 * The typed CRDT handles (`room.gcounter`, `counter`, `set`, `register`, `text`). They are usable at once, before
 * their document has loaded: an operation updates the handle's value immediately (an overlay of pending operations
 * on the last committed value) and is committed, together with the other operations of the same batch window, as
 * ONE Automerge change, which is then stored and synced. Semantics are those of the models in ./crdt/.
 */
import type * as AM from '@automerge/automerge/slim'
import { RoomClosedError } from '../errors.js'
import { Emitter } from '../events.js'
import type { AutomergeModule } from './automerge.js'
import { applyBatch } from './crdt/batch.js'
import { canonicalJson, type JsonValue } from './crdt/canonical-json.js'
import { gCounter, lwwRegister, orSet, pnCounter, text as textModel } from './crdt/index.js'
import type { DocHandle } from './doc-handle.js'

type Op<D> = (module: AutomergeModule, draft: AM.Doc<D>) => unknown

export interface ValueChange<V> {
  readonly value: V
  readonly local: boolean
}

interface Loaded<D> {
  readonly A: AutomergeModule
  readonly handle: DocHandle<D>
}

/** What every typed handle shares: pending operations, the batch window, loading, change events. */
abstract class TypedHandle<D, V, P> {
  private readonly events = new Emitter<{ change: ValueChange<V> }>()
  private loaded: Loaded<D> | undefined
  private pending: Array<{ op: Op<D> | undefined; overlay: P }> = []
  /** The committed value the pending operations were made against (to rebase them when a remote change lands). */
  private base: V | undefined
  private cancelFlush: (() => void) | undefined
  private closed = false
  private loadError: Error | undefined
  private readonly loading: Promise<void>

  constructor(
    readonly name: string,
    load: Promise<Loaded<D>>,
    private readonly batchWindowMs: number,
  ) {
    this.loading = load.then(
      (loaded) => {
        this.loaded = loaded
        loaded.handle.on('change', ({ local }) => {
          if (local) return
          const committed = this.read(loaded.handle.value())
          if (this.pending.length > 0 && this.base !== undefined) {
            const rebased = this.rebase(
              this.pending.map((p) => p.overlay),
              this.base,
              committed,
            )
            if (rebased !== undefined) this.pending = rebased.map((overlay) => ({ op: undefined, overlay }))
          }
          this.base = committed
          this.events.emit('change', { value: this.value(), local: false })
        })
        this.events.emit('change', { value: this.value(), local: false })
        if (this.pending.length > 0) this.flush()
      },
      (err: unknown) => {
        this.loadError = err instanceof Error ? err : new Error(String(err))
      },
    )
  }

  /** The current value, including this peer's operations not yet committed. */
  value(): V {
    let value = this.loaded === undefined ? this.empty() : this.read(this.loaded.handle.value())
    for (const p of this.pending) value = this.overlay(value, p.overlay)
    return value
  }

  on(event: 'change', listener: (change: ValueChange<V>) => void): () => void {
    return this.events.on(event, listener)
  }

  /** Whether the document has loaded (operations made before that are kept and committed then). */
  get isReady(): boolean {
    return this.loaded !== undefined
  }

  /** Resolves once the document has loaded from storage (or its genesis); rejects if it could not be. */
  async whenReady(): Promise<void> {
    await this.loading
    if (this.loadError !== undefined) throw this.loadError
  }

  /** Commits pending operations now instead of at the end of the batch window. */
  flush(): void {
    this.cancelFlush?.()
    this.cancelFlush = undefined
    if (this.loaded === undefined || this.pending.length === 0) return
    const { A, handle } = this.loaded
    const ops = this.pending.map((p) => p.op ?? this.toOp(p.overlay))
    const doc = handle.value()
    const next = applyBatch(A, doc, ops)
    this.pending = []
    this.base = undefined
    if (next !== doc) handle.commitDoc(next)
  }

  /** @internal */
  close(): void {
    this.flush()
    this.closed = true
    this.cancelFlush?.()
    this.events.clear()
  }

  protected enqueue(op: Op<D> | undefined, overlay: P): void {
    if (this.closed) throw new RoomClosedError(`the room of '${this.name}' was left`)
    if (this.loadError !== undefined) throw this.loadError
    if (this.pending.length === 0 && this.loaded !== undefined) this.base = this.read(this.loaded.handle.value())
    this.pending.push({ op, overlay })
    this.events.emit('change', { value: this.value(), local: true })
    if (this.cancelFlush === undefined && this.loaded !== undefined) {
      const timer = setTimeout(() => {
        this.cancelFlush = undefined
        this.flush()
      }, this.batchWindowMs)
      this.cancelFlush = () => clearTimeout(timer)
    }
  }

  /** The Automerge module, once loaded. */
  protected automerge(): AutomergeModule {
    if (this.loaded === undefined) throw new Error('not loaded')
    return this.loaded.A
  }

  /** The committed document, once loaded. */
  protected committed(): AM.Doc<D> | undefined {
    return this.loaded?.handle.value()
  }

  /** The operations waiting for the end of the batch window, oldest first. */
  protected pendingOperations(): P[] {
    return this.pending.map((p) => p.overlay)
  }

  protected abstract empty(): V
  protected abstract read(doc: AM.Doc<D>): V
  protected abstract overlay(value: V, pending: P): V

  /**
   * A remote change moved the committed value from `before` to `after` while operations were pending: returns them
   * adjusted to `after` (positions shifted), or undefined when they need no adjustment.
   */
  protected rebase(_pending: P[], _before: V, _after: V): P[] | undefined {
    return undefined
  }

  /** The model operation for a pending (possibly rebased) operation, for handles whose operations can move. */
  protected toOp(_pending: P): Op<D> {
    throw new Error('this handle does not rebase its operations')
  }
}

/** Grow-only counter: `increment(n ≥ 0)`; the value never decreases. */
export class GCounterHandle extends TypedHandle<gCounter.GCounterDoc, number, number> {
  increment(n = 1): void {
    gCounter.assertIncrement(n)
    if (n === 0) return
    this.enqueue((m, d) => gCounter.increment(m, d, n), n)
  }

  protected empty(): number {
    return 0
  }
  protected read(doc: AM.Doc<gCounter.GCounterDoc>): number {
    return gCounter.read(doc)
  }
  protected overlay(value: number, n: number): number {
    return value + n
  }
}

/** PN-Counter: `increment(n)` and `decrement(n)`; concurrent operations add up. */
export class CounterHandle extends TypedHandle<pnCounter.PNCounterDoc, number, number> {
  increment(n = 1): void {
    pnCounter.assertAmount(n)
    if (n !== 0) this.enqueue((m, d) => pnCounter.increment(m, d, n), n)
  }

  decrement(n = 1): void {
    pnCounter.assertAmount(n)
    if (n !== 0) this.enqueue((m, d) => pnCounter.decrement(m, d, n), -n)
  }

  protected empty(): number {
    return 0
  }
  protected read(doc: AM.Doc<pnCounter.PNCounterDoc>): number {
    return pnCounter.read(doc)
  }
  protected overlay(value: number, n: number): number {
    return value + n
  }
}

type SetOp = { readonly kind: 'add' | 'delete'; readonly key: string; readonly value: JsonValue }

/** OR-Set, add-wins: an add concurrent with a delete of the same value survives it. Values are JSON. */
export class SetHandle<T extends JsonValue> extends TypedHandle<orSet.ORSetDoc, T[], SetOp> {
  private actorOf(doc: AM.Doc<orSet.ORSetDoc>): string {
    return this.automerge().getActorId(doc)
  }

  add(value: T): void {
    const key = canonicalJson(value)
    this.enqueue((m, d) => orSet.add(m, d, value), { kind: 'add', key, value })
  }

  /**
   * Deletes `value` as this peer sees it now: the adds observed at this call (committed, or made here earlier in the
   * batch window) are removed; an add from another peer that lands before the batch is committed survives (add-wins).
   */
  delete(value: T): void {
    const key = canonicalJson(value)
    const doc = this.committed()
    if (doc === undefined) {
      // Not loaded yet: nothing remote can have been merged; delete what is there when the batch commits.
      this.enqueue((m, d) => orSet.delete(m, d, value), { kind: 'delete', key, value })
      return
    }
    const observed = orSet.observedTags(doc, value)
    const actor = this.actorOf(doc)
    // Our own adds earlier in this window will get the next sequence numbers; they are observed too.
    const first = orSet.lastSeq(doc, actor)
    const addsBefore = this.pendingOperations().filter((p) => p.kind === 'add').length
    for (let n = first + 1; n <= first + addsBefore; n++) observed.push(`${actor}:${n}`)
    this.enqueue((m, d) => orSet.deleteTags(m, d, value, observed), { kind: 'delete', key, value })
  }

  has(value: T): boolean {
    const key = canonicalJson(value)
    return this.value().some((v) => canonicalJson(v) === key)
  }

  values(): T[] {
    return this.value()
  }

  protected empty(): T[] {
    return []
  }
  protected read(doc: AM.Doc<orSet.ORSetDoc>): T[] {
    return orSet.read(doc) as T[]
  }
  protected overlay(value: T[], op: SetOp): T[] {
    const rest = value.filter((v) => canonicalJson(v) !== op.key)
    return op.kind === 'add' ? [...rest, op.value as T] : rest
  }
}

/** Last-writer-wins register, ordered by (timestamp, peer id); a write made after seeing another always beats it. */
export class RegisterHandle<T extends JsonValue> extends TypedHandle<lwwRegister.LWWRegisterDoc, T | undefined, T> {
  constructor(
    name: string,
    load: Promise<Loaded<lwwRegister.LWWRegisterDoc>>,
    batchWindowMs: number,
    private readonly peerId: string,
  ) {
    super(name, load, batchWindowMs)
  }

  set(value: T): void {
    canonicalJson(value)
    const now = Date.now()
    this.enqueue((m, d) => lwwRegister.set(m, d, value, { now, peerId: this.peerId }), value)
  }

  get(): T | undefined {
    return this.value()
  }

  protected empty(): T | undefined {
    return undefined
  }
  protected read(doc: AM.Doc<lwwRegister.LWWRegisterDoc>): T | undefined {
    return lwwRegister.read(doc) as T | undefined
  }
  protected overlay(_value: T | undefined, next: T): T | undefined {
    return next
  }
}

type TextOp = { readonly pos: number; readonly del: number; readonly ins: string }

/** Collaborative text (Automerge text: concurrent typing interleaves by character, never garbles). */
export class TextHandle extends TypedHandle<textModel.TextDoc, string, TextOp> {
  /** Inserts at UTF-16 index `pos` (0 ≤ pos ≤ length). Throws InvalidOptionError for a bad position. */
  insert(pos: number, text: string): void {
    textModel.assertEdit(this.value(), pos, 0, text)
    if (text !== '') this.enqueue(undefined, { pos, del: 0, ins: text })
  }

  /** Deletes `count` UTF-16 code units from `pos`. Throws InvalidOptionError for a bad range. */
  delete(pos: number, count: number): void {
    textModel.assertEdit(this.value(), pos, count, '')
    if (count > 0) this.enqueue(undefined, { pos, del: count, ins: '' })
  }

  /**
   * Keeps a textarea (or input) and this text in step: typing in it edits the text, remote edits update it while
   * keeping the caret and selection where they were relative to the surrounding text. Returns an unbind function.
   */
  bind(element: HTMLTextAreaElement | HTMLInputElement): () => void {
    let shown = this.value()
    element.value = shown
    const onInput = (): void => {
      const { pos, del, ins } = diff(shown, element.value)
      if (del > 0) this.delete(pos, del)
      if (ins !== '') this.insert(pos, ins)
      shown = element.value
    }
    element.addEventListener('input', onInput)
    const off = this.on('change', ({ value, local }) => {
      if (local || value === shown) return
      const { pos, del, ins } = diff(shown, value)
      const shift = (i: number | null): number => {
        if (i === null || i <= pos) return i ?? 0
        return i >= pos + del ? i - del + ins.length : pos + ins.length
      }
      const [start, end] = [shift(element.selectionStart), shift(element.selectionEnd)]
      element.value = value
      shown = value
      element.setSelectionRange(start, end)
    })
    return () => {
      element.removeEventListener('input', onInput)
      off()
    }
  }

  protected empty(): string {
    return ''
  }
  protected read(doc: AM.Doc<textModel.TextDoc>): string {
    return textModel.read(doc)
  }
  protected overlay(value: string, op: TextOp): string {
    return value.slice(0, op.pos) + op.ins + value.slice(op.pos + op.del)
  }

  protected override toOp(op: TextOp): Op<textModel.TextDoc> {
    return (m, d) => {
      // Positions were valid against the value this peer saw; a concurrent remote edit may have shortened the text.
      const length = d.text.length
      const pos = Math.min(op.pos, length)
      const del = Math.min(op.del, length - pos)
      let next = d
      if (del > 0) next = textModel.delete(m, next, pos, del)
      if (op.ins !== '') next = textModel.insert(m, next, pos, op.ins)
      return next
    }
  }

  /** Shifts pending edits past the one contiguous edit that turns `before` into `after`. */
  protected override rebase(pending: TextOp[], before: string, after: string): TextOp[] {
    const remote = diff(before, after)
    const end = remote.pos + remote.del
    const shift = remote.ins.length - remote.del
    const moved: TextOp[] = []
    // Each pending edit is relative to the text after the ones before it; so is the remote edit's position as we
    // carry it forward through them.
    let r = { pos: remote.pos, end, shift }
    for (const op of pending) {
      let pos = op.pos
      let del = op.del
      if (pos >= r.end) pos += r.shift
      else if (pos > r.pos) {
        // Inside the remotely edited range: land just after what replaced it; drop what the remote edit removed.
        del = Math.max(0, del - (r.end - pos))
        pos = r.pos + remote.ins.length
      } else if (pos + del > r.pos) del = Math.max(0, r.pos - pos)
      moved.push({ pos, del, ins: op.ins })
      const opShift = op.ins.length - del
      if (pos <= r.pos) r = { pos: r.pos + opShift, end: r.end + opShift, shift: r.shift }
    }
    return moved.filter((op) => op.del > 0 || op.ins !== '')
  }
}

/** The single edit (common prefix and suffix kept) that turns `a` into `b`. */
export function diff(a: string, b: string): TextOp {
  let start = 0
  while (start < a.length && start < b.length && a[start] === b[start]) start++
  // Never cut a surrogate pair: back off to the start of the character.
  if (start > 0 && isHighSurrogate(a.charCodeAt(start - 1))) start--
  let endA = a.length
  let endB = b.length
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--
    endB--
  }
  // Likewise at the end: the shared suffix must not begin with the second half of a pair.
  if (endA < a.length && isLowSurrogate(a.charCodeAt(endA))) {
    endA++
    endB++
  }
  return { pos: start, del: endA - start, ins: b.slice(start, endB) }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff
}

export type { Loaded as TypedHandleSource }
