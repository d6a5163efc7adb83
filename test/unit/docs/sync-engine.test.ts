// The sync engine of one room: convergence of two and three engines (through the real wire encoding of
// test/support/sync-net.ts, and by hand), delta sync, snapshots for peers that have nothing, the document bound, and
// hostile input, which is counted against the peer and leaves our documents exactly as they were.
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadAutomerge, type AutomergeModule } from '../../../src/docs/automerge.js'
import { gCounter, genesis, text } from '../../../src/docs/crdt/index.js'
import { SyncEngine, type AnyDoc, type SyncEngineEvents, type SyncEngineOptions } from '../../../src/docs/sync-engine.js'
import type { SyncFrame } from '../../../src/docs/sync-messages.js'
import { MetricsRegistry } from '../../../src/metrics/index.js'
import { createSyncNet, type SyncNet } from '../../support/sync-net.js'

let A: AutomergeModule
beforeAll(async () => {
  A = await loadAutomerge()
})

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** A G-Counter replica of `name` from its shared genesis, as the engine's untyped document. */
function counter(name: string): AnyDoc {
  return gCounter.init(A, name)
}

function counterGenesisHeads(name: string): string[] {
  return A.getHeads(A.load(genesis(A, name, gCounter.initialRoot(A))))
}

function counterValue(engine: SyncEngine, name: string): number {
  const doc = engine.doc(name)
  if (doc === undefined) throw new Error(`document '${name}' is not open`)
  return gCounter.read(doc as unknown as Parameters<typeof gCounter.read>[0])
}

/** Increments `engine`'s replica of counter `name` by `n`, as one local change. */
function increment(engine: SyncEngine, name: string, n = 1): void {
  const doc = engine.doc(name)
  if (doc === undefined) throw new Error(`document '${name}' is not open`)
  engine.update(name, gCounter.increment(A, doc as never, n))
}

/** A local change of any document. */
function edit(engine: SyncEngine, name: string, fn: (d: Record<string, unknown>) => void): void {
  const doc = engine.doc(name)
  if (doc === undefined) throw new Error(`document '${name}' is not open`)
  engine.update(name, A.change(doc, fn))
}

function heads(engine: SyncEngine, name: string): string[] {
  const doc = engine.doc(name)
  if (doc === undefined) throw new Error(`document '${name}' is not open`)
  return [...A.getHeads(doc)].sort()
}

function counterOf(net: SyncNet, id: string, name: string): number {
  return net.metrics.get(id)?.snapshot().counters[name] ?? 0
}

function totalBytes(net: SyncNet): number {
  let sum = 0
  for (const n of net.bytesSent.values()) sum += n
  return sum
}

/** A text document of `name` holding `content`, built in `changes` changes. */
function textDoc(name: string, content: string, changes = 1): AnyDoc {
  let doc = text.init(A, name)
  const step = Math.ceil(content.length / changes)
  for (let i = 0; i < content.length; i += step) doc = text.insert(A, doc, i, content.slice(i, i + step))
  return doc
}

/** An engine driven by hand: its frames collect in `outbox`, tagged with the peer they are for. */
interface Manual {
  readonly id: string
  readonly engine: SyncEngine
  readonly metrics: MetricsRegistry
  readonly outbox: Array<{ readonly to: string; readonly frame: SyncFrame }>
  readonly rejected: Array<SyncEngineEvents['sync:rejected']>
}

function manual(id: string, options: Partial<Pick<SyncEngineOptions, 'maxDocs' | 'snapshotMinChanges' | 'now'>> = {}): Manual {
  const metrics = new MetricsRegistry()
  const outbox: Manual['outbox'] = []
  const engine = new SyncEngine({ automerge: A, metrics, send: (to, frame) => outbox.push({ to, frame }), ...options })
  const rejected: Manual['rejected'] = []
  engine.on('sync:rejected', (e) => rejected.push(e))
  return { id, engine, metrics, outbox, rejected }
}

/** Delivers every queued frame (in order per sender) to its addressee until nobody has anything left to send. */
function pump(nodes: readonly Manual[], maxFrames = 100_000): number {
  const byId = new Map(nodes.map((n) => [n.id, n]))
  let delivered = 0
  for (let progress = true; progress; ) {
    progress = false
    for (const node of nodes) {
      const next = node.outbox.shift()
      if (next === undefined) continue
      progress = true
      if (++delivered > maxFrames) throw new Error('the engines never went quiet')
      byId.get(next.to)?.engine.receive(node.id, next.frame)
    }
  }
  return delivered
}

/** Delivers the frames `from` has queued right now (not the answers they cause) to their addressees. */
function deliverQueued(from: Manual, nodes: readonly Manual[]): number {
  const frames = from.outbox.splice(0)
  for (const f of frames) nodes.find((n) => n.id === f.to)?.engine.receive(from.id, f.frame)
  return frames.length
}

function link(a: Manual, b: Manual): void {
  a.engine.addPeer(b.id)
  b.engine.addPeer(a.id)
}

function metric(m: Manual, name: string): number {
  return m.metrics.snapshot().counters[name] ?? 0
}

/** Bytes that are certainly not an Automerge sync message or saved document. */
const GARBAGE = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8])

// ---------------------------------------------------------------------------------------------------------------

describe('convergence', () => {
  it('two engines converge on concurrent edits', () => {
    const net = createSyncNet(A)
    const a = net.add('a')
    const b = net.add('b')
    a.open('c', counter('c'))
    b.open('c', counter('c'))
    net.connect('a', 'b')
    net.settle()
    increment(a, 'c', 3)
    increment(b, 'c', 4)
    increment(a, 'c', 10)
    net.settle()
    expect(heads(a, 'c')).toEqual(heads(b, 'c'))
    expect(counterValue(a, 'c')).toBe(17)
    expect(counterValue(b, 'c')).toBe(17)
  })

  it('edits made before connecting are exchanged on connect', () => {
    const net = createSyncNet(A)
    const a = net.add('a')
    const b = net.add('b')
    a.open('c', counter('c'))
    b.open('c', counter('c'))
    increment(a, 'c', 2)
    increment(b, 'c', 5)
    net.connect('a', 'b')
    net.settle()
    expect(counterValue(a, 'c')).toBe(7)
    expect(counterValue(b, 'c')).toBe(7)
    expect(heads(a, 'c')).toEqual(heads(b, 'c'))
  })

  it('three engines in a line converge: the middle one passes changes on', () => {
    const net = createSyncNet(A)
    const engines = ['a', 'b', 'c'].map((id) => net.add(id))
    for (const e of engines) e.open('c', counter('c'))
    net.connect('a', 'b')
    net.connect('b', 'c')
    net.settle()
    engines.forEach((e, i) => increment(e, 'c', i + 1))
    net.settle()
    for (const e of engines) {
      expect(counterValue(e, 'c')).toBe(6)
      expect(heads(e, 'c')).toEqual(heads(engines[0] as SyncEngine, 'c'))
    }
  })

  it('three engines converge under random interleavings of edits and partial delivery (property)', () => {
    type Step = { kind: 'edit'; who: number; n: number } | { kind: 'deliver'; frames: number }
    const stepArb: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant('edit' as const), who: fc.integer({ min: 0, max: 2 }), n: fc.integer({ min: 1, max: 9 }) }),
      fc.record({ kind: fc.constant('deliver' as const), frames: fc.integer({ min: 0, max: 6 }) }),
    )
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 25 }), fc.boolean(), (steps, mesh) => {
        const net = createSyncNet(A)
        const engines = ['a', 'b', 'c'].map((id) => net.add(id))
        for (const e of engines) e.open('c', counter('c'))
        net.connect('a', 'b')
        net.connect('b', 'c')
        if (mesh) net.connect('a', 'c')
        let expected = 0
        for (const step of steps) {
          if (step.kind === 'edit') {
            increment(engines[step.who] as SyncEngine, 'c', step.n)
            expected += step.n
          } else {
            net.settle(step.frames)
          }
        }
        net.settle()
        for (const e of engines) {
          expect(counterValue(e, 'c')).toBe(expected)
          expect(heads(e, 'c')).toEqual(heads(engines[0] as SyncEngine, 'c'))
        }
      }),
      { numRuns: 25 },
    )
  })

  it('engines driven by hand converge on several documents at once', () => {
    const [a, b, c] = ['a', 'b', 'c'].map((id) => manual(id)) as [Manual, Manual, Manual]
    for (const m of [a, b, c]) {
      m.engine.open('x', counter('x'))
      m.engine.open('y', counter('y'))
    }
    link(a, b)
    link(b, c)
    link(a, c)
    increment(a.engine, 'x', 1)
    increment(b.engine, 'y', 2)
    increment(c.engine, 'x', 4)
    pump([a, b, c])
    for (const m of [a, b, c]) {
      expect(counterValue(m.engine, 'x')).toBe(5)
      expect(counterValue(m.engine, 'y')).toBe(2)
      expect(m.rejected).toEqual([])
    }
    expect(heads(a.engine, 'x')).toEqual(heads(c.engine, 'x'))
  })

  it('emits doc:change for local and remote changes, naming the sender', () => {
    const net = createSyncNet(A)
    const a = net.add('a')
    const b = net.add('b')
    a.open('c', counter('c'))
    b.open('c', counter('c'))
    net.connect('a', 'b')
    net.settle()
    const seenA: SyncEngineEvents['doc:change'][] = []
    const seenB: SyncEngineEvents['doc:change'][] = []
    a.on('doc:change', (e) => seenA.push(e))
    b.on('doc:change', (e) => seenB.push(e))
    increment(a, 'c')
    net.settle()
    expect(seenA).toEqual([{ doc: 'c', local: true }])
    expect(seenB).toEqual([{ doc: 'c', local: false, from: 'a' }])
  })

  it('opening a document that is already open merges both versions', () => {
    const m = manual('a')
    m.engine.open('c', counter('c'))
    increment(m.engine, 'c', 2)
    let other = counter('c')
    other = gCounter.increment(A, other as never, 5)
    const merged = m.engine.open('c', other)
    expect(gCounter.read(merged as never)).toBe(7)
    expect(counterValue(m.engine, 'c')).toBe(7)
  })

  it('update() of a document that is not open throws', () => {
    const m = manual('a')
    expect(() => m.engine.update('nope', counter('nope'))).toThrow(/not open/)
  })
})

describe('delta sync', () => {
  it('after a first sync, one small change costs a small fraction of the document', () => {
    const net = createSyncNet(A)
    const a = net.add('a')
    const b = net.add('b')
    // Incompressible-looking text, so that the saved document is about as large as the text.
    const letters = 'abcdefghijklmnopqrstuvwxyz ,.'
    let seed = 12345
    const content = Array.from({ length: 60_000 }, () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return letters[(seed >>> 16) % letters.length]
    }).join('')
    a.open('t', textDoc('t', content, 20))
    net.connect('a', 'b')
    net.settle()
    expect(b.has('t')).toBe(true)
    expect((b.doc('t') as unknown as { text: string }).text).toBe(content)
    const docBytes = A.save(a.doc('t') as AnyDoc).length
    const before = totalBytes(net)
    // The first sync carried the document, so it cost at least its compressed size.
    expect(before).toBeGreaterThan(docBytes / 2)

    const doc = a.doc('t') as never
    a.update('t', text.insert(A, doc, 5, 'X'))
    net.settle()
    const delta = totalBytes(net) - before
    expect((b.doc('t') as unknown as { text: string }).text).toBe(content.slice(0, 5) + 'X' + content.slice(5))
    expect(delta).toBeGreaterThan(0)
    expect(delta).toBeLessThan(1000)
    expect(delta * 50).toBeLessThan(docBytes)
  })

  it('a change reaches an in-sync peer in a few small frames, and a quiet network sends nothing', () => {
    const net = createSyncNet(A)
    const a = net.add('a')
    const b = net.add('b')
    a.open('c', counter('c'))
    b.open('c', counter('c'))
    net.connect('a', 'b')
    net.settle()
    expect(net.settle()).toBe(0)
    increment(a, 'c')
    const frames = net.settle()
    expect(frames).toBeGreaterThan(0)
    expect(frames).toBeLessThanOrEqual(6)
    expect(net.settle()).toBe(0)
  })
})

describe('snapshots for peers that have nothing', () => {
  /** `a` holds counter 'c' with `changes` changes in all (genesis included); `b` has `bHas` of it. */
  function scenario(changes: number, bHas: 'nothing' | 'genesis' | 'content'): { net: SyncNet; a: SyncEngine; b: SyncEngine } {
    const net = createSyncNet(A)
    const a = net.add('a')
    const b = net.add('b')
    const g = counterGenesisHeads('c')
    a.open('c', counter('c'), g)
    for (let i = 1; i < changes; i++) increment(a, 'c')
    expect(A.getAllChanges(a.doc('c') as AnyDoc)).toHaveLength(changes)
    if (bHas !== 'nothing') b.open('c', counter('c'), g)
    if (bHas === 'content') increment(b, 'c', 1000)
    net.connect('a', 'b')
    net.settle()
    return { net, a, b }
  }

  it.each(['nothing', 'genesis'] as const)('a peer with %s gets one snapshot above snapshotMinChanges (32)', (bHas) => {
    const { net, a, b } = scenario(40, bHas)
    expect(counterOf(net, 'a', 'sync.snapshots_sent')).toBe(1)
    expect(counterOf(net, 'b', 'sync.snapshots_received')).toBe(1)
    expect(b.has('c')).toBe(true)
    expect(counterValue(b, 'c')).toBe(39)
    expect(heads(b, 'c')).toEqual(heads(a, 'c'))
    expect(a.inSyncWith('c', 'b')).toBe(true)
    expect(b.inSyncWith('c', 'a')).toBe(true)
    // Only once: later changes go as deltas.
    increment(a, 'c')
    net.settle()
    expect(counterOf(net, 'a', 'sync.snapshots_sent')).toBe(1)
    expect(counterValue(b, 'c')).toBe(40)
  })

  it.each(['nothing', 'genesis'] as const)('a peer with %s gets changes, not a snapshot, at 32 changes', (bHas) => {
    const { net, a, b } = scenario(32, bHas)
    expect(counterOf(net, 'a', 'sync.snapshots_sent')).toBe(0)
    expect(counterValue(b, 'c')).toBe(31)
    expect(heads(b, 'c')).toEqual(heads(a, 'c'))
  })

  it('a peer with content of its own gets no snapshot however long the history', () => {
    const { net, a, b } = scenario(60, 'content')
    expect(counterOf(net, 'a', 'sync.snapshots_sent')).toBe(0)
    expect(counterOf(net, 'b', 'sync.snapshots_sent')).toBe(0)
    expect(counterValue(a, 'c')).toBe(1059)
    expect(heads(b, 'c')).toEqual(heads(a, 'c'))
  })

  it('no snapshot is sent when we ourselves have only the genesis', () => {
    const { net, b } = scenario(1, 'genesis')
    expect(counterOf(net, 'a', 'sync.snapshots_sent')).toBe(0)
    expect(b.has('c')).toBe(true)
  })

  it('honours a custom snapshotMinChanges', () => {
    const a = manual('a', { snapshotMinChanges: 3 })
    const b = manual('b')
    a.engine.open('c', counter('c'), counterGenesisHeads('c'))
    for (let i = 0; i < 3; i++) increment(a.engine, 'c')
    link(a, b)
    pump([a, b])
    expect(metric(a, 'sync.snapshots_sent')).toBe(1)
    expect(a.outbox).toEqual([])
    expect(counterValue(b.engine, 'c')).toBe(3)
  })
})

describe('documents offered by peers', () => {
  it('a document opened by one peer only appears on the other', () => {
    const net = createSyncNet(A)
    const a = net.add('a')
    const b = net.add('b')
    net.connect('a', 'b')
    a.open('only-a', counter('only-a'))
    increment(a, 'only-a', 9)
    expect(b.has('only-a')).toBe(false)
    net.settle()
    expect(b.has('only-a')).toBe(true)
    expect(b.docNames()).toEqual(['only-a'])
    expect(counterValue(b, 'only-a')).toBe(9)
    // And b can edit it and send the edit back.
    increment(b, 'only-a', 1)
    net.settle()
    expect(counterValue(a, 'only-a')).toBe(10)
  })

  it('a peer that offered a document passes it on to a third peer', () => {
    const net = createSyncNet(A)
    const [a, , c] = ['a', 'b', 'c'].map((id) => net.add(id)) as [SyncEngine, SyncEngine, SyncEngine]
    net.connect('a', 'b')
    net.connect('b', 'c')
    a.open('doc', counter('doc'))
    increment(a, 'doc', 4)
    net.settle()
    expect(c.has('doc')).toBe(true)
    expect(counterValue(c, 'doc')).toBe(4)
  })

  it('maxDocs bounds opened documents: one more throws SyncRejectedError', () => {
    const m = manual('a', { maxDocs: 2 })
    m.engine.open('one', counter('one'))
    m.engine.open('two', counter('two'))
    let name = ''
    try {
      m.engine.open('three', counter('three'))
    } catch (err) {
      name = (err as Error).name
    }
    expect(name).toBe('SyncRejectedError')
    expect(m.engine.docNames()).toEqual(['one', 'two'])
    // Re-opening one that is open is a merge, not a new document.
    expect(() => m.engine.open('two', counter('two'))).not.toThrow()
  })

  it('maxDocs bounds documents offered by a peer: the extra one is rejected, counted, and not kept', () => {
    const a = manual('a')
    const b = manual('b', { maxDocs: 1 })
    a.engine.open('one', counter('one'))
    a.engine.open('two', counter('two'))
    increment(a.engine, 'two')
    link(a, b)
    pump([a, b])
    expect(b.engine.docNames()).toEqual(['one'])
    expect(b.engine.rejections().get('a')).toBeGreaterThan(0)
    expect(metric(b, 'sync.rejected')).toBeGreaterThan(0)
    expect(b.rejected.every((r) => r.peer === 'a' && r.doc === 'two' && r.error.name === 'SyncRejectedError')).toBe(true)
    // The document it kept is in sync.
    expect(heads(b.engine, 'one')).toEqual(heads(a.engine, 'one'))
  })
})

describe('malformed input', () => {
  /** a and b in sync on counter 'c' (with some history), via the net; returns a's heads. */
  function synced(): { net: SyncNet; a: SyncEngine; b: SyncEngine; rejected: Array<SyncEngineEvents['sync:rejected']> } {
    const net = createSyncNet(A)
    const a = net.add('a')
    const b = net.add('b')
    a.open('c', counter('c'))
    b.open('c', counter('c'))
    net.connect('a', 'b')
    increment(a, 'c', 2)
    increment(b, 'c', 3)
    net.settle()
    const rejected: Array<SyncEngineEvents['sync:rejected']> = []
    a.on('sync:rejected', (e) => rejected.push(e))
    return { net, a, b, rejected }
  }

  /** After the bad frame: counted once, reported, nothing changed, and honest syncing still works. */
  function expectRejectedHarmlessly(
    s: ReturnType<typeof synced>,
    before: { heads: string[]; names: string[]; value: number },
    doc: string,
  ): void {
    const { net, a, b, rejected } = s
    expect(a.rejections().get('b')).toBe(1)
    expect(counterOf(net, 'a', 'sync.rejected')).toBe(1)
    expect(rejected).toHaveLength(1)
    expect(rejected[0]?.peer).toBe('b')
    expect(rejected[0]?.doc).toBe(doc)
    expect(rejected[0]?.error).toBeInstanceOf(Error)
    expect(heads(a, 'c')).toEqual(before.heads)
    expect(a.docNames()).toEqual(before.names)
    expect(counterValue(a, 'c')).toBe(before.value)
    // Honest syncing afterwards, in both directions.
    increment(a, 'c', 10)
    increment(b, 'c', 20)
    net.settle()
    expect(counterValue(a, 'c')).toBe(before.value + 30)
    expect(counterValue(b, 'c')).toBe(before.value + 30)
    expect(heads(a, 'c')).toEqual(heads(b, 'c'))
    expect(a.rejections().get('b')).toBe(1)
  }

  function snapshotOf(a: SyncEngine): { heads: string[]; names: string[]; value: number } {
    return { heads: heads(a, 'c'), names: a.docNames(), value: counterValue(a, 'c') }
  }

  it('a sync frame with garbage bytes is rejected and changes nothing', () => {
    const s = synced()
    const before = snapshotOf(s.a)
    s.a.receive('b', { type: 'sync', doc: 'c', data: GARBAGE })
    expect(s.rejected[0]?.error.name).toBe('DecodeError')
    expectRejectedHarmlessly(s, before, 'c')
  })

  it('a snapshot frame with garbage bytes is rejected and changes nothing', () => {
    const s = synced()
    const before = snapshotOf(s.a)
    s.a.receive('b', { type: 'snapshot', doc: 'c', data: GARBAGE })
    expectRejectedHarmlessly(s, before, 'c')
  })

  it('an empty sync payload is rejected and changes nothing', () => {
    const s = synced()
    const before = snapshotOf(s.a)
    s.a.receive('b', { type: 'sync', doc: 'c', data: new Uint8Array(0) })
    expectRejectedHarmlessly(s, before, 'c')
  })

  it('an empty snapshot payload changes nothing (Automerge loads it as an empty document)', () => {
    const s = synced()
    const before = snapshotOf(s.a)
    s.a.receive('b', { type: 'snapshot', doc: 'c', data: new Uint8Array(0) })
    expect(heads(s.a, 'c')).toEqual(before.heads)
    increment(s.b, 'c', 1)
    s.net.settle()
    expect(counterValue(s.a, 'c')).toBe(before.value + 1)
    expect(heads(s.a, 'c')).toEqual(heads(s.b, 'c'))
  })

  it('a chunk frame reaching the engine is rejected and changes nothing', () => {
    const s = synced()
    const before = snapshotOf(s.a)
    s.a.receive('b', { type: 'chunk', index: 0, count: 2, data: GARBAGE })
    expect(s.rejected[0]?.error.name).toBe('DecodeError')
    expectRejectedHarmlessly(s, before, '')
  })

  it('a hello in the middle of the stream changes nothing and syncing goes on', () => {
    // The engine ignores a repeated hello rather than counting it (sync-engine.ts receive(): `frame.type !== 'hello'`).
    const s = synced()
    const before = snapshotOf(s.a)
    s.a.receive('b', { type: 'hello', room: 'another-room' })
    expect(heads(s.a, 'c')).toEqual(before.heads)
    expect(s.a.docNames()).toEqual(before.names)
    increment(s.b, 'c', 1)
    s.net.settle()
    expect(counterValue(s.a, 'c')).toBe(before.value + 1)
  })

  it('a change that conflicts with history we hold (same actor and seq, other content) is rejected harmlessly', () => {
    // b's replica reuses the actor of a change a already has, with different content: Automerge refuses it.
    const a = manual('a')
    const b = manual('b')
    const c = manual('c')
    const base = counter('c')
    const baseBytes = A.save(base)
    let honest = A.load<Record<string, unknown>>(baseBytes, { actor: 'aaaa' })
    honest = A.change(honest, (d) => (d.x = 'honest'))
    let evil = A.load<Record<string, unknown>>(baseBytes, { actor: 'bbbb' })
    evil = A.change(evil, (d) => (d.benign = 'from another actor'))
    evil = A.load<Record<string, unknown>>(A.save(evil), { actor: 'aaaa' })
    evil = A.change(evil, (d) => (d.x = 'evil'))
    a.engine.open('c', honest)
    b.engine.open('c', evil)
    const before = heads(a.engine, 'c')
    link(a, b)
    pump([a, b])
    expect(a.engine.rejections().get('b')).toBeGreaterThan(0)
    expect(a.rejected.every((r) => r.peer === 'b' && r.doc === 'c')).toBe(true)
    expect(heads(a.engine, 'c')).toEqual(before)
    expect(a.engine.doc('c')).toEqual({ counts: {}, x: 'honest' })
    // a's document is still usable, and syncs with an honest peer.
    edit(a.engine, 'c', (d) => (d.after = 1))
    link(a, c)
    pump([a, c])
    expect(c.engine.doc('c')).toEqual({ counts: {}, x: 'honest', after: 1 })
    expect(heads(c.engine, 'c')).toEqual(heads(a.engine, 'c'))
  })

  it('a corrupted copy of a real sync message never throws out of receive() and is all-or-nothing (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(3),
        fc.boolean(),
        (flips, which, truncate) => {
          const a = manual('a')
          const b = manual('b')
          a.engine.open('c', counter('c'))
          b.engine.open('c', counter('c'))
          increment(b.engine, 'c', 5)
          link(a, b)
          // Collect b's first messages (heads, then the one carrying its change) and corrupt one of them.
          const fromB: Uint8Array[] = []
          for (let round = 0; round < 3; round++) {
            for (const { frame } of a.outbox.splice(0)) b.engine.receive('a', frame)
            for (const { frame } of b.outbox.splice(0)) if (frame.type === 'sync') fromB.push(frame.data)
          }
          const original = fromB[which % fromB.length]
          if (original === undefined) throw new Error('b sent no sync message')
          const data = original.slice(0, truncate ? Math.max(1, original.length - 3) : undefined)
          for (const [at, value] of flips) data[at % data.length] = value
          const before = heads(a.engine, 'c')
          expect(() => a.engine.receive('b', { type: 'sync', doc: 'c', data })).not.toThrow()
          // Rejected input changed nothing; accepted input left a readable document with either nothing or b's change.
          if ((a.engine.rejections().get('b') ?? 0) > 0) expect(heads(a.engine, 'c')).toEqual(before)
          expect([0, 5]).toContain(counterValue(a.engine, 'c'))
          expect(a.engine.docNames()).toEqual(['c'])
          // Whatever happened, a still syncs with an honest peer, and both go quiet.
          a.engine.removePeer('b')
          a.outbox.length = 0
          const reference = manual('ref')
          reference.engine.open('c', counter('c'))
          increment(reference.engine, 'c', 100)
          link(a, reference)
          increment(a.engine, 'c', 1)
          pump([a, reference], 200)
          expect(heads(reference.engine, 'c')).toEqual(heads(a.engine, 'c'))
          expect([101, 106]).toContain(counterValue(reference.engine, 'c'))
        },
      ),
      { numRuns: 100 },
    )
  })

  it('one sync frame is never answered with a burst of identical messages', () => {
    // A sync message whose have.lastSync names a change we do not hold makes Automerge's generateSyncMessage return
    // its "reset" message on every call without recording it as sent. A flush that called it in a loop sent that
    // message several times in reply to ONE frame; between two engines each copy is answered again, so a single
    // corrupted frame grew into an exponential message storm.
    const a = manual('a')
    a.engine.open('c', counter('c'))
    a.engine.addPeer('b')
    a.outbox.length = 0
    const unknown = 'ab'.repeat(32)
    const message = A.encodeSyncMessage({
      heads: [],
      need: [],
      have: [{ lastSync: [unknown], bloom: new Uint8Array(0) }],
      changes: [],
    })
    a.engine.receive('b', { type: 'sync', doc: 'c', data: message })
    const replies = a.outbox.map(({ frame }) => (frame.type === 'sync' ? Array.from(frame.data).join(',') : frame.type))
    expect(replies.length).toBeGreaterThan(0)
    expect(new Set(replies).size).toBe(replies.length)
    expect(replies.length).toBeLessThanOrEqual(1)
  })

  it('a garbage sync frame for a document we do not hold does not create that document', () => {
    // The message must be decoded before entryFor(name) creates and stores an empty entry for it.
    const s = synced()
    s.a.receive('b', { type: 'sync', doc: 'ghost', data: GARBAGE })
    expect(s.a.rejections().get('b')).toBe(1)
    expect(s.a.has('ghost')).toBe(false)
    expect(s.a.docNames()).toEqual(['c'])
  })

  it('a garbage snapshot for a document we do not hold does not create that document', () => {
    const s = synced()
    s.a.receive('b', { type: 'snapshot', doc: 'ghost', data: GARBAGE })
    expect(s.a.rejections().get('b')).toBe(1)
    expect(s.a.has('ghost')).toBe(false)
  })

  it('garbage frames do not use up the maxDocs bound', () => {
    // Otherwise a peer sending garbage under fresh names would fill the room's document slots, and the application
    // could no longer open its own documents.
    const a = manual('a', { maxDocs: 3 })
    a.engine.addPeer('b')
    a.engine.open('mine', counter('mine'))
    a.engine.receive('b', { type: 'sync', doc: 'g1', data: GARBAGE })
    a.engine.receive('b', { type: 'snapshot', doc: 'g2', data: GARBAGE })
    expect(a.engine.rejections().get('b')).toBe(2)
    expect(() => a.engine.open('also-mine', counter('also-mine'))).not.toThrow()
  })

  it('frames from a peer that was never added are ignored entirely', () => {
    const a = manual('a')
    const b = manual('b')
    a.engine.open('c', counter('c'))
    b.engine.open('c', counter('c'))
    increment(b.engine, 'c', 7)
    b.engine.addPeer('a') // b talks to a, but a never added b
    const before = heads(a.engine, 'c')
    for (let i = 0; i < 4; i++) {
      for (const { frame } of b.outbox.splice(0)) a.engine.receive('b', frame)
    }
    a.engine.receive('b', { type: 'sync', doc: 'c', data: GARBAGE })
    a.engine.receive('b', { type: 'sync', doc: 'new-doc', data: GARBAGE })
    a.engine.receive('b', { type: 'chunk', index: 0, count: 2, data: GARBAGE })
    expect(heads(a.engine, 'c')).toEqual(before)
    expect(a.engine.docNames()).toEqual(['c'])
    expect(a.engine.rejections().size).toBe(0)
    expect(a.rejected).toEqual([])
    expect(a.outbox).toEqual([])
    expect(metric(a, 'sync.received')).toBe(0)
  })
})

describe('peers', () => {
  it('removePeer then addPeer resyncs what changed in between', () => {
    const net = createSyncNet(A)
    const a = net.add('a')
    const b = net.add('b')
    a.open('c', counter('c'))
    b.open('c', counter('c'))
    net.connect('a', 'b')
    increment(a, 'c', 1)
    net.settle()
    expect(counterValue(b, 'c')).toBe(1)
    net.disconnect('a', 'b')
    expect(a.peerList()).toEqual([])
    expect(a.inSyncWith('c', 'b')).toBe(false)
    expect(a.peerHasContent('c', 'b')).toBeUndefined()
    increment(a, 'c', 10)
    increment(b, 'c', 100)
    expect(net.settle()).toBe(0)
    expect(counterValue(b, 'c')).toBe(101)
    net.connect('a', 'b')
    expect(a.peerList()).toEqual(['b'])
    net.settle()
    expect(counterValue(a, 'c')).toBe(111)
    expect(counterValue(b, 'c')).toBe(111)
    expect(heads(a, 'c')).toEqual(heads(b, 'c'))
  })

  it('resyncs a peer that lost everything (a new session with the same id)', () => {
    const a = manual('a')
    let b = manual('b')
    a.engine.open('c', counter('c'))
    link(a, b)
    increment(a.engine, 'c', 3)
    pump([a, b])
    expect(counterValue(b.engine, 'c')).toBe(3)
    a.engine.removePeer('b')
    b = manual('b')
    link(a, b)
    pump([a, b])
    expect(counterValue(b.engine, 'c')).toBe(3)
  })

  it('addPeer is idempotent: a second call sends nothing more', () => {
    const a = manual('a')
    a.engine.open('c', counter('c'))
    a.engine.addPeer('b')
    const sent = a.outbox.length
    expect(sent).toBeGreaterThan(0)
    a.engine.addPeer('b')
    expect(a.outbox.length).toBe(sent)
    expect(a.engine.peerList()).toEqual(['b'])
  })

  it('inSyncWith and peerHasContent follow the exchange', () => {
    const a = manual('a')
    const b = manual('b')
    const g = counterGenesisHeads('c')
    a.engine.open('c', counter('c'), g)
    b.engine.open('c', counter('c'), g)
    // Not a peer yet, and an unknown document.
    expect(a.engine.inSyncWith('c', 'b')).toBe(false)
    expect(a.engine.peerHasContent('c', 'b')).toBeUndefined()
    expect(a.engine.inSyncWith('nope', 'b')).toBe(false)
    expect(a.engine.peerHasContent('nope', 'b')).toBeUndefined()
    link(a, b)
    // Added, but nothing heard yet.
    expect(a.engine.inSyncWith('c', 'b')).toBe(false)
    expect(a.engine.peerHasContent('c', 'b')).toBeUndefined()
    pump([a, b])
    // Both have only the genesis.
    expect(a.engine.inSyncWith('c', 'b')).toBe(true)
    expect(b.engine.inSyncWith('c', 'a')).toBe(true)
    expect(a.engine.peerHasContent('c', 'b')).toBe(false)
    // A local change: we are ahead until b has confirmed it.
    increment(b.engine, 'c', 2)
    expect(b.engine.inSyncWith('c', 'a')).toBe(false)
    pump([a, b])
    expect(b.engine.inSyncWith('c', 'a')).toBe(true)
    expect(a.engine.inSyncWith('c', 'b')).toBe(true)
    expect(a.engine.peerHasContent('c', 'b')).toBe(true)
    expect(b.engine.peerHasContent('c', 'a')).toBe(true)
  })

  it('emits doc:peer-state when a peer tells us about a document', () => {
    const a = manual('a')
    const b = manual('b')
    a.engine.open('c', counter('c'))
    b.engine.open('c', counter('c'))
    const states: Array<SyncEngineEvents['doc:peer-state']> = []
    a.engine.on('doc:peer-state', (e) => states.push(e))
    link(a, b)
    pump([a, b])
    expect(states.length).toBeGreaterThan(0)
    expect(states.every((s) => s.doc === 'c' && s.peer === 'b')).toBe(true)
  })
})

describe('sync latency (sync.latency_ms)', () => {
  /** Two engines on one fake clock, with the document synced and the engines quiet. */
  function pair(): { a: Manual; b: Manual; clock: { t: number } } {
    const clock = { t: 1_000 }
    const now = (): number => clock.t
    const a = manual('a', { now })
    const b = manual('b', { now })
    a.engine.open('c', counter('c'))
    b.engine.open('c', counter('c'))
    link(a, b)
    pump([a, b])
    return { a, b, clock }
  }

  const latency = (m: Manual): { count: number; max: number } => {
    const h = m.metrics.snapshot().histograms['sync.latency_ms']
    return { count: h?.count ?? 0, max: h?.max ?? 0 }
  }

  it('times a local change until the peer reports heads that contain it', () => {
    const { a, b, clock } = pair()
    increment(a.engine, 'c', 1)
    clock.t += 25
    expect(deliverQueued(a, [b])).toBeGreaterThan(0)
    expect(latency(a).count).toBe(0)
    clock.t += 15
    expect(deliverQueued(b, [a])).toBeGreaterThan(0)
    expect(latency(a)).toEqual({ count: 1, max: 40 })
    // Nothing more to time: the rest of the exchange records nothing, and b made no change of its own.
    clock.t += 100
    pump([a, b])
    expect(latency(a).count).toBe(1)
    expect(latency(b).count).toBe(0)
  })

  it('keeps one sample per peer: a burst of edits is timed from its first edit', () => {
    const { a, b, clock } = pair()
    increment(a.engine, 'c', 1)
    clock.t += 5
    increment(a.engine, 'c', 1)
    clock.t += 5
    pump([a, b])
    expect(latency(a)).toEqual({ count: 1, max: 10 })
  })

  it('counts heads that descend from the change (the peer edited after receiving it)', () => {
    const { a, b, clock } = pair()
    increment(a.engine, 'c', 1)
    clock.t += 10
    deliverQueued(a, [b])
    // b's answer naming exactly our change is lost; b edits on top of it and says so in its next message.
    b.outbox.splice(0)
    increment(b.engine, 'c', 5)
    expect(b.outbox.length).toBeGreaterThan(0)
    // a edits again meanwhile (its frame still in flight), so b's heads are neither our change nor our current heads:
    // only ancestry tells.
    increment(a.engine, 'c', 1)
    clock.t += 20
    deliverQueued(b, [a])
    expect(latency(a)).toEqual({ count: 1, max: 30 })
    expect(counterValue(a.engine, 'c')).toBe(7)
  })

  it('does not count heads of a peer that has not seen the change (concurrent edits)', () => {
    const { a, b, clock } = pair()
    // a's frame stays in flight while b's concurrent change reaches a.
    increment(a.engine, 'c', 1)
    increment(b.engine, 'c', 2)
    clock.t += 10
    deliverQueued(b, [a])
    expect(counterValue(a.engine, 'c')).toBe(3)
    expect(latency(a).count).toBe(0)
    clock.t += 10
    pump([a, b])
    expect(latency(a)).toEqual({ count: 1, max: 20 })
    expect(latency(b)).toEqual({ count: 1, max: 20 })
  })

  it('drops a sample nobody answered within 60 s, and the next change is timed afresh', () => {
    const { a, b, clock } = pair()
    // An answer that comes later than 60 s is not recorded at all.
    increment(a.engine, 'c', 1)
    clock.t += 60_001
    pump([a, b])
    expect(counterValue(b.engine, 'c')).toBe(1)
    expect(latency(a).count).toBe(0)
    // A change made once the old sample is over 60 s old replaces it, unanswered as it is.
    increment(a.engine, 'c', 1)
    clock.t += 60_001
    increment(a.engine, 'c', 1)
    clock.t += 7
    pump([a, b])
    expect(latency(a)).toEqual({ count: 1, max: 7 })
    expect(counterValue(b.engine, 'c')).toBe(3)
  })

  it('forgets the samples of a removed peer', () => {
    const { a, b, clock } = pair()
    increment(a.engine, 'c', 1)
    a.outbox.splice(0) // the connection dropped with the frame in it
    a.engine.removePeer('b')
    b.engine.removePeer('a')
    clock.t += 10
    link(a, b)
    pump([a, b])
    expect(counterValue(b.engine, 'c')).toBe(1)
    expect(latency(a).count).toBe(0)
  })
})
