// Typed CRDT handles, built directly over a real DocHandle whose host keeps one Automerge document: the overlay of
// pending operations, one Automerge change per batch window, synchronous validation, remote changes during a window,
// text diffing and binding to a (fake) textarea.
import type * as AM from '@automerge/automerge/slim'
import fc from 'fast-check'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { loadAutomerge, type AutomergeModule } from '../../../src/docs/automerge.js'
import { gCounter, lwwRegister, orSet, pnCounter, text as textModel } from '../../../src/docs/crdt/index.js'
import { DocHandle } from '../../../src/docs/doc-handle.js'
import {
  CounterHandle,
  diff,
  GCounterHandle,
  RegisterHandle,
  SetHandle,
  TextHandle,
  type TypedHandleSource,
  type ValueChange,
} from '../../../src/docs/typed-handles.js'

let A: AutomergeModule
beforeAll(async () => {
  A = await loadAutomerge()
})

const WINDOW = 50

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

/**
 * The room's side of one document: holds it, commits local changes (as the room does: store the new document, then
 * tell the handle), and can merge in a change made on another replica (a remote change).
 */
class Host<T> {
  doc: AM.Doc<T>
  commits = 0
  readonly handle: DocHandle<T>

  constructor(
    readonly name: string,
    initial: AM.Doc<T>,
  ) {
    this.doc = initial
    this.handle = new DocHandle<T>(name, {
      automerge: A,
      current: () => this.doc,
      commit: (next) => {
        this.doc = next
        this.commits++
        this.handle.notifyChange(true)
      },
      isClosed: () => false,
    })
  }

  /** What the typed handle's load promise resolves to. */
  source(): TypedHandleSource<T> {
    return { A, handle: this.handle }
  }

  changes(): number {
    return A.getAllChanges(this.doc).length
  }

  /** A replica on another peer that has everything we have now. */
  fork(actorByte: string): AM.Doc<T> {
    return A.clone(this.doc, { actor: actorByte.repeat(16) })
  }

  /** A change from another peer arrives. */
  receive(remote: AM.Doc<T>): void {
    this.doc = A.merge(this.doc, A.clone(remote))
    this.handle.notifyChange(false)
  }
}

/** A promise resolved by hand, to hold a handle in its "loading" state. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

function errorName(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as Error).name
  }
  throw new Error('expected an error, none was thrown')
}

async function loadedGCounter(name = 'g'): Promise<{ host: Host<gCounter.GCounterDoc>; h: GCounterHandle }> {
  const host = new Host(name, gCounter.init(A, name))
  const h = new GCounterHandle(name, Promise.resolve(host.source()), WINDOW)
  await h.whenReady()
  return { host, h }
}

async function loadedText(initial = '', name = 't'): Promise<{ host: Host<textModel.TextDoc>; h: TextHandle }> {
  let doc = textModel.init(A, name)
  if (initial !== '') doc = textModel.insert(A, doc, 0, initial)
  const host = new Host(name, doc)
  const h = new TextHandle(name, Promise.resolve(host.source()), WINDOW)
  await h.whenReady()
  return { host, h }
}

describe('loading and the overlay', () => {
  it('operations made before the document loads show at once and are committed after load', async () => {
    const host = new Host('g', gCounter.init(A, 'g'))
    const load = deferred<TypedHandleSource<gCounter.GCounterDoc>>()
    const h = new GCounterHandle('g', load.promise, WINDOW)
    const seen: Array<ValueChange<number>> = []
    h.on('change', (c) => seen.push(c))
    expect(h.isReady).toBe(false)
    expect(h.value()).toBe(0)
    h.increment(2)
    h.increment(3)
    expect(h.value()).toBe(5)
    expect(seen).toEqual([
      { value: 2, local: true },
      { value: 5, local: true },
    ])
    // No timer runs before load: nothing can be committed yet.
    vi.advanceTimersByTime(10 * WINDOW)
    expect(host.commits).toBe(0)
    const before = host.changes()
    load.resolve(host.source())
    await h.whenReady()
    expect(h.isReady).toBe(true)
    expect(host.commits).toBe(1)
    expect(host.changes()).toBe(before + 1)
    expect(gCounter.read(host.doc)).toBe(5)
    expect(h.value()).toBe(5)
  })

  it('the value after load includes what the loaded document already had', async () => {
    let doc = gCounter.init(A, 'g')
    doc = gCounter.increment(A, doc, 40)
    const host = new Host('g', doc)
    const load = deferred<TypedHandleSource<gCounter.GCounterDoc>>()
    const h = new GCounterHandle('g', load.promise, WINDOW)
    h.increment(2)
    expect(h.value()).toBe(2)
    load.resolve(host.source())
    await h.whenReady()
    expect(h.value()).toBe(42)
    expect(gCounter.read(host.doc)).toBe(42)
  })

  it('a failed load makes whenReady reject and later operations throw that error', async () => {
    const h = new GCounterHandle('g', Promise.reject(new Error('storage broke')), WINDOW)
    await expect(h.whenReady()).rejects.toThrow('storage broke')
    expect(() => h.increment(1)).toThrow('storage broke')
  })
})

describe('batching', () => {
  it('many operations within the batch window become ONE Automerge change', async () => {
    const { host, h } = await loadedGCounter()
    const before = host.changes()
    for (let i = 0; i < 100; i++) h.increment(1)
    expect(h.value()).toBe(100)
    expect(host.commits).toBe(0)
    vi.advanceTimersByTime(WINDOW - 1)
    expect(host.commits).toBe(0)
    vi.advanceTimersByTime(1)
    expect(host.commits).toBe(1)
    expect(host.changes()).toBe(before + 1)
    expect(gCounter.read(host.doc)).toBe(100)
    expect(h.value()).toBe(100)
  })

  it('each window is its own change; flush() commits at once', async () => {
    const { host, h } = await loadedGCounter()
    const before = host.changes()
    h.increment(1)
    vi.advanceTimersByTime(WINDOW)
    h.increment(2)
    h.increment(3)
    h.flush()
    expect(host.changes()).toBe(before + 2)
    expect(gCounter.read(host.doc)).toBe(6)
    // The flushed window's timer does not commit again.
    vi.advanceTimersByTime(10 * WINDOW)
    expect(host.commits).toBe(2)
    h.flush()
    expect(host.commits).toBe(2)
  })

  it('the counter handle batches increments and decrements into one change', async () => {
    const host = new Host('p', pnCounter.init(A, 'p'))
    const h = new CounterHandle('p', Promise.resolve(host.source()), WINDOW)
    await h.whenReady()
    const before = host.changes()
    h.increment(10)
    h.decrement(3)
    h.decrement()
    h.increment()
    expect(h.value()).toBe(7)
    vi.advanceTimersByTime(WINDOW)
    expect(host.changes()).toBe(before + 1)
    expect(pnCounter.read(host.doc)).toBe(7)
  })

  it('close() commits what is pending, and operations after it throw', async () => {
    const { host, h } = await loadedGCounter()
    h.increment(4)
    h.close()
    expect(gCounter.read(host.doc)).toBe(4)
    expect(errorName(() => h.increment(1))).toBe('RoomClosedError')
  })
})

describe('validation', () => {
  it('an invalid G-Counter increment throws InvalidOptionError synchronously and changes nothing', async () => {
    const { host, h } = await loadedGCounter()
    h.increment(5)
    const events: Array<ValueChange<number>> = []
    h.on('change', (c) => events.push(c))
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(errorName(() => h.increment(bad))).toBe('InvalidOptionError')
    }
    h.increment(0) // valid, but no operation
    expect(h.value()).toBe(5)
    expect(events).toEqual([])
    vi.advanceTimersByTime(WINDOW)
    expect(gCounter.read(host.doc)).toBe(5)
  })

  it('invalid counter amounts throw InvalidOptionError', async () => {
    const host = new Host('p', pnCounter.init(A, 'p'))
    const h = new CounterHandle('p', Promise.resolve(host.source()), WINDOW)
    expect(errorName(() => h.increment(0.5))).toBe('InvalidOptionError')
    expect(errorName(() => h.decrement(Number.NaN))).toBe('InvalidOptionError')
    expect(h.value()).toBe(0)
  })

  it('text edits out of range, inside a surrogate pair or with lone surrogates throw and change nothing', async () => {
    const { host, h } = await loadedText('ab😀c')
    const changes = host.changes()
    const bad: Array<() => void> = [
      () => h.insert(6, 'x'),
      () => h.insert(-1, 'x'),
      () => h.insert(1.5, 'x'),
      () => h.insert(3, 'x'), // between the halves of 😀
      () => h.insert(0, '\uD800'),
      () => h.delete(4, 2),
      () => h.delete(0, -1),
      () => h.delete(2, 1), // would split 😀
      () => h.delete(6, 0),
    ]
    for (const fn of bad) expect(errorName(fn)).toBe('InvalidOptionError')
    expect(h.value()).toBe('ab😀c')
    vi.advanceTimersByTime(WINDOW)
    expect(host.commits).toBe(0)
    expect(host.changes()).toBe(changes)
  })

  it('text positions are validated against the value with pending edits', async () => {
    const { h } = await loadedText('abc')
    h.insert(3, 'def')
    // Valid only because of the pending insert.
    expect(() => h.insert(6, 'g')).not.toThrow()
    expect(() => h.delete(5, 2)).not.toThrow()
    expect(h.value()).toBe('abcde')
    expect(errorName(() => h.insert(6, 'x'))).toBe('InvalidOptionError')
  })

  it('a register value that is not JSON throws InvalidOptionError', async () => {
    const host = new Host('r', lwwRegister.init(A, 'r'))
    const h = new RegisterHandle<number>('r', Promise.resolve(host.source()), WINDOW, 'peer-1')
    expect(errorName(() => h.set(Number.NaN))).toBe('InvalidOptionError')
    expect(h.get()).toBeUndefined()
  })
})

describe('remote changes', () => {
  it('a remote change during the batch window shows under the pending operations, and both are kept', async () => {
    const { host, h } = await loadedGCounter()
    const seen: Array<ValueChange<number>> = []
    h.on('change', (c) => seen.push(c))
    h.increment(5)
    let remote = host.fork('aa')
    remote = gCounter.increment(A, remote, 10)
    host.receive(remote)
    expect(h.value()).toBe(15)
    expect(seen.at(-1)).toEqual({ value: 15, local: false })
    vi.advanceTimersByTime(WINDOW)
    expect(gCounter.read(host.doc)).toBe(15)
    // The local commit does not echo back as a remote change.
    expect(seen.filter((c) => !c.local)).toHaveLength(1)
  })

  it('regression: a remote text edit during the batch window must not move a pending local insert', async () => {
    // typed-handles.ts: a pending text op keeps the index it had when it was made, and flush() applies it to the
    // document as it is at the END of the window. A remote insert before that index, arriving within the window,
    // shifts the text, so the local insert lands inside other text.
    const { host, h } = await loadedText('hello')
    h.insert(5, '!') // "hello!"
    let remote = host.fork('bb')
    remote = textModel.insert(A, remote, 0, '>> ') // the other peer prefixes the line
    host.receive(remote)
    h.flush()
    expect(textModel.read(host.doc)).toBe('>> hello!')
    expect(h.value()).toBe('>> hello!')
  })

  it('regression: a remote delete during the batch window must not make the handle throw and lose every later edit', async () => {
    // typed-handles.ts flush(): applyBatch() re-validates each pending op against the current document; a remote
    // delete that shortened the text makes the pending insert's position invalid, so flush() throws
    // InvalidOptionError (from a setTimeout callback in real use), and `this.pending = []` is never reached: every
    // later flush throws again, so nothing typed afterwards is ever committed.
    const { host, h } = await loadedText('hello')
    h.insert(5, '!')
    let remote = host.fork('cc')
    remote = textModel.delete(A, remote, 0, 5)
    host.receive(remote)
    expect(() => h.flush()).not.toThrow()
    h.insert(0, 'x')
    expect(() => h.flush()).not.toThrow()
    expect(textModel.read(host.doc)).toContain('x')
  })
})

describe('SetHandle', () => {
  async function loadedSet(): Promise<{ host: Host<orSet.ORSetDoc>; h: SetHandle<string | { id: number }> }> {
    const host = new Host('s', orSet.init(A, 's'))
    const h = new SetHandle<string | { id: number }>('s', Promise.resolve(host.source()), WINDOW)
    await h.whenReady()
    return { host, h }
  }

  it('pending add then delete: absent; delete then add: present; the committed set agrees', async () => {
    const { host, h } = await loadedSet()
    h.add('a')
    h.delete('a')
    expect(h.has('a')).toBe(false)
    h.add('b')
    h.add('b')
    h.delete('b')
    h.add('b')
    expect(h.has('b')).toBe(true)
    h.add({ id: 1 })
    expect(h.has({ id: 1 })).toBe(true)
    expect(h.values()).toHaveLength(2)
    vi.advanceTimersByTime(WINDOW)
    expect(orSet.has(host.doc, 'a')).toBe(false)
    expect(orSet.has(host.doc, 'b')).toBe(true)
    expect([...h.values()].map((v) => JSON.stringify(v)).sort()).toEqual(
      orSet.values(host.doc).map((v) => JSON.stringify(v)).sort(),
    )
  })

  it('add wins over a concurrent delete on another replica', async () => {
    const { host, h } = await loadedSet()
    h.add('x')
    h.flush()
    // Another replica deletes x (it saw our add) while we add x again: our new add was not observed there.
    let remote = host.fork('dd')
    remote = orSet.delete(A, remote, 'x')
    h.add('x')
    h.flush()
    host.receive(remote)
    expect(h.has('x')).toBe(true)
    expect(orSet.has(host.doc, 'x')).toBe(true)
  })

  it('regression: a local delete pending in the batch window does not remove a concurrent remote add (add wins)', async () => {
    // typed-handles.ts SetHandle.delete() queues `orSet.delete(m, d, value)`, which flush() runs against the document
    // as it is at the END of the window: it then removes the tags of every add that arrived meanwhile too, including
    // a remote add this peer had not observed when delete() was called. Under OR-Set semantics that add is concurrent
    // with the delete and must survive it; the other peer sees its own add vanish.
    const { host, h } = await loadedSet()
    h.add('x')
    h.flush()
    let remote = host.fork('ee')
    h.delete('x') // observes only our tag
    remote = orSet.add(A, remote, 'x') // the other peer adds x again, concurrently
    host.receive(remote) // ...and its change lands within our batch window
    h.flush()
    const converged = A.merge(A.clone(remote), A.clone(host.doc))
    expect(orSet.has(converged, 'x')).toBe(true)
    expect(orSet.has(host.doc, 'x')).toBe(true)
  })

  it('matches a plain-set model under random local operations (property)', async () => {
    const { host, h } = await loadedSet()
    const model = new Set<string>()
    const opArb = fc.oneof(
      fc.record({ kind: fc.constantFrom('add' as const, 'delete' as const), v: fc.constantFrom('a', 'b', 'c', 'd') }),
      fc.record({ kind: fc.constant('flush' as const) }),
    )
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), (ops) => {
        for (const op of ops) {
          if (op.kind === 'flush') h.flush()
          else if (op.kind === 'add') {
            h.add(op.v)
            model.add(op.v)
          } else {
            h.delete(op.v)
            model.delete(op.v)
          }
          expect([...h.values()].sort()).toEqual([...model].sort())
        }
        h.flush()
        expect(orSet.values(host.doc)).toEqual([...model].sort())
      }),
      { numRuns: 30 },
    )
  })
})

describe('RegisterHandle', () => {
  it('get() returns what set() wrote at once, the last set of a window wins, and it is committed', async () => {
    const host = new Host('r', lwwRegister.init(A, 'r'))
    const load = deferred<TypedHandleSource<lwwRegister.LWWRegisterDoc>>()
    const h = new RegisterHandle<string | { n: number }>('r', load.promise, WINDOW, 'peer-1')
    expect(h.get()).toBeUndefined()
    h.set('first')
    expect(h.get()).toBe('first')
    load.resolve(host.source())
    await h.whenReady()
    expect(lwwRegister.read(host.doc)).toBe('first')
    h.set({ n: 1 })
    h.set({ n: 2 })
    expect(h.get()).toEqual({ n: 2 })
    vi.advanceTimersByTime(WINDOW)
    expect(lwwRegister.read(host.doc)).toEqual({ n: 2 })
    expect(lwwRegister.latest(host.doc)?.peerId).toBe('peer-1')
  })

  it('a local set after seeing a remote write wins over it, even with a clock behind', async () => {
    const host = new Host('r', lwwRegister.init(A, 'r'))
    const h = new RegisterHandle<string>('r', Promise.resolve(host.source()), WINDOW, 'peer-1')
    await h.whenReady()
    let remote = host.fork('ee')
    remote = lwwRegister.set(A, remote, 'from the future', { now: Date.now() + 1e9, peerId: 'peer-2' })
    host.receive(remote)
    expect(h.get()).toBe('from the future')
    h.set('mine')
    vi.advanceTimersByTime(WINDOW)
    expect(h.get()).toBe('mine')
    expect(lwwRegister.read(host.doc)).toBe('mine')
  })
})

describe('TextHandle', () => {
  type Edit = { kind: 'insert'; at: number; s: string } | { kind: 'delete'; at: number; n: number } | { kind: 'flush' }
  const editArb: fc.Arbitrary<Edit> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), s: fc.string({ minLength: 1, maxLength: 5 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('flush' as const) }) },
  )

  it('insert/delete overlay equals a plain string model, and the committed text too (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(editArb, { maxLength: 40 }), async (edits) => {
        const { host, h } = await loadedText()
        let model = ''
        let windows = 0
        let pending = false
        const before = host.changes()
        for (const e of edits) {
          if (e.kind === 'flush') {
            h.flush()
            if (pending) windows++
            pending = false
          } else if (e.kind === 'insert') {
            const at = e.at % (model.length + 1)
            h.insert(at, e.s)
            model = model.slice(0, at) + e.s + model.slice(at)
            pending = true
          } else if (model.length > 0) {
            const at = e.at % model.length
            const n = Math.min(e.n, model.length - at)
            h.delete(at, n)
            model = model.slice(0, at) + model.slice(at + n)
            pending = true
          }
          expect(h.value()).toBe(model)
        }
        h.flush()
        if (pending) windows++
        expect(textModel.read(host.doc)).toBe(model)
        // One Automerge change per window that had operations (a window whose edits cancel out may make none).
        expect(host.changes() - before).toBeLessThanOrEqual(windows)
      }),
      { numRuns: 60 },
    )
  })

  it('diff(a, b) is one edit that turns a into b, keeping the longest common prefix (property)', () => {
    const stringArb = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: fc.constantFrom('a', 'b', 'ab'), maxLength: 12 }))
    fc.assert(
      fc.property(stringArb, stringArb, (a, b) => {
        const { pos, del, ins } = diff(a, b)
        expect(a.slice(0, pos) + ins + a.slice(pos + del)).toBe(b)
        expect(pos + del).toBeLessThanOrEqual(a.length)
        // Nothing shared at the edges is touched.
        let prefix = 0
        while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++
        expect(pos).toBe(prefix)
        if (a === b) expect({ del, ins }).toEqual({ del: 0, ins: '' })
      }),
      { numRuns: 500 },
    )
  })

  it('diff of strings sharing neither end replaces everything', () => {
    expect(diff('abc', 'xyz')).toEqual({ pos: 0, del: 3, ins: 'xyz' })
    expect(diff('', 'new')).toEqual({ pos: 0, del: 0, ins: 'new' })
    expect(diff('old', '')).toEqual({ pos: 0, del: 3, ins: '' })
    expect(diff('aXb', 'ab')).toEqual({ pos: 1, del: 1, ins: '' })
  })
})

/** Just enough of a textarea for bind(): value, selection, and 'input' listeners the test fires by hand. */
class FakeTextarea {
  value = ''
  selectionStart: number | null = 0
  selectionEnd: number | null = 0
  private readonly listeners = new Set<() => void>()

  setSelectionRange(start: number, end: number): void {
    this.selectionStart = start
    this.selectionEnd = end
  }
  addEventListener(type: string, listener: () => void): void {
    if (type === 'input') this.listeners.add(listener)
  }
  removeEventListener(type: string, listener: () => void): void {
    if (type === 'input') this.listeners.delete(listener)
  }
  get listenerCount(): number {
    return this.listeners.size
  }

  /** The user types: replace the selection with `s`, caret after it, then fire 'input'. */
  type(s: string): void {
    const start = this.selectionStart ?? this.value.length
    const end = this.selectionEnd ?? start
    this.value = this.value.slice(0, start) + s + this.value.slice(end)
    this.setSelectionRange(start + s.length, start + s.length)
    for (const l of [...this.listeners]) l()
  }

  /** The user presses backspace. */
  backspace(): void {
    const start = this.selectionStart ?? 0
    const end = this.selectionEnd ?? start
    const from = start === end ? Math.max(0, start - 1) : start
    this.value = this.value.slice(0, from) + this.value.slice(end)
    this.setSelectionRange(from, from)
    for (const l of [...this.listeners]) l()
  }
}

describe('TextHandle.bind', () => {
  function bound(h: TextHandle): { el: FakeTextarea; unbind: () => void } {
    const el = new FakeTextarea()
    const unbind = h.bind(el as unknown as HTMLTextAreaElement)
    return { el, unbind }
  }

  it('shows the current text and applies local typing', async () => {
    const { host, h } = await loadedText('hi')
    const { el } = bound(h)
    expect(el.value).toBe('hi')
    el.setSelectionRange(2, 2)
    el.type(' there')
    expect(h.value()).toBe('hi there')
    el.setSelectionRange(0, 2)
    el.type('Hello')
    expect(h.value()).toBe('Hello there')
    el.setSelectionRange(5, 5)
    el.backspace()
    expect(h.value()).toBe('Hell there')
    vi.advanceTimersByTime(WINDOW)
    expect(textModel.read(host.doc)).toBe('Hell there')
    expect(el.value).toBe('Hell there')
  })

  it('applies remote changes and keeps the caret after the same text', async () => {
    const { host, h } = await loadedText('hello world')
    const { el } = bound(h)
    el.setSelectionRange(6, 6) // before "world"
    // Remote insert before the caret: the caret moves with its text.
    let remote = host.fork('aa')
    remote = textModel.insert(A, remote, 0, '>> ')
    host.receive(remote)
    expect(el.value).toBe('>> hello world')
    expect([el.selectionStart, el.selectionEnd]).toEqual([9, 9])
    expect(el.value.slice(el.selectionStart ?? 0)).toBe('world')
    // Remote insert after the caret: it stays.
    remote = A.merge(remote, A.clone(host.doc))
    remote = textModel.insert(A, remote, 14, '!')
    host.receive(remote)
    expect(el.value).toBe('>> hello world!')
    expect([el.selectionStart, el.selectionEnd]).toEqual([9, 9])
    // Remote delete before the caret.
    remote = A.merge(remote, A.clone(host.doc))
    remote = textModel.delete(A, remote, 0, 3)
    host.receive(remote)
    expect(el.value).toBe('hello world!')
    expect([el.selectionStart, el.selectionEnd]).toEqual([6, 6])
  })

  it('shifts both ends of a selection, and collapses it onto a remote edit that covers it', async () => {
    const { host, h } = await loadedText('abcdefgh')
    const { el } = bound(h)
    el.setSelectionRange(2, 6) // "cdef"
    let remote = host.fork('bb')
    remote = textModel.insert(A, remote, 1, 'XY')
    host.receive(remote)
    expect(el.value).toBe('aXYbcdefgh')
    expect([el.selectionStart, el.selectionEnd]).toEqual([4, 8])
    expect(el.value.slice(4, 8)).toBe('cdef')
    // A remote delete around the caret puts it where the deleted text was.
    el.setSelectionRange(5, 5) // inside "cdef"
    remote = A.merge(remote, A.clone(host.doc))
    remote = textModel.delete(A, remote, 3, 5) // removes "bcdef"
    host.receive(remote)
    expect(el.value).toBe('aXYgh')
    expect([el.selectionStart, el.selectionEnd]).toEqual([3, 3])
  })

  it('local typing keeps working after remote changes', async () => {
    const { host, h } = await loadedText('one')
    const { el } = bound(h)
    let remote = host.fork('cc')
    remote = textModel.insert(A, remote, 3, ' two')
    host.receive(remote)
    el.setSelectionRange(el.value.length, el.value.length)
    el.type(' three')
    expect(h.value()).toBe('one two three')
    vi.advanceTimersByTime(WINDOW)
    expect(textModel.read(host.doc)).toBe('one two three')
  })

  it('unbind stops both directions', async () => {
    const { host, h } = await loadedText('abc')
    const { el, unbind } = bound(h)
    unbind()
    expect(el.listenerCount).toBe(0)
    let remote = host.fork('dd')
    remote = textModel.insert(A, remote, 0, 'z')
    host.receive(remote)
    expect(el.value).toBe('abc')
    expect(h.value()).toBe('zabc')
  })

  it('regression: typing an emoji in front of another emoji is applied (diff must not split surrogate pairs)', async () => {
    // diff() (typed-handles.ts) compares UTF-16 code units, so for '😃' -> '😀😃' (both emoji start with the high
    // surrogate \uD83D) it returns pos 1, inside the pair, with ins '\uDE00\uD83D'. bind()'s input listener then
    // calls insert(1, …), which throws InvalidOptionError: the typed emoji is not applied to the document.
    const { host, h } = await loadedText('😃')
    const { el } = bound(h)
    el.setSelectionRange(0, 0)
    expect(() => el.type('😀')).not.toThrow()
    expect(h.value()).toBe('😀😃')
    vi.advanceTimersByTime(WINDOW)
    expect(textModel.read(host.doc)).toBe('😀😃')
  })

  it('regression: diff() never splits a surrogate pair (property)', () => {
    const emoji = fc.constantFrom('😀', '😃', '😄', '👍', 'a', 'é')
    fc.assert(
      fc.property(fc.array(emoji, { maxLength: 6 }), fc.array(emoji, { maxLength: 6 }), (as, bs) => {
        const a = as.join('')
        const b = bs.join('')
        const { pos, del, ins } = diff(a, b)
        const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff
        expect(isLow(a.charCodeAt(pos))).toBe(false)
        expect(isLow(a.charCodeAt(pos + del))).toBe(false)
        expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(ins)).toBe(false)
      }),
    )
  })
})
