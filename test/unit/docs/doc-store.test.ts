// DocStore: documents kept as a snapshot plus increments in a StorageAdapter, compacted after a threshold; several
// writers (tabs) sharing one database never lose each other's data; a write that fails (quota) loses nothing.
import type * as AM from '@automerge/automerge/slim'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadAutomerge, type AutomergeModule } from '../../../src/docs/automerge.js'
import { gCounter, type GCounterDoc } from '../../../src/docs/crdt/index.js'
import { DocStore, type DocStoreOptions } from '../../../src/docs/doc-store.js'
import type { AnyDoc } from '../../../src/docs/sync-engine.js'
import { StorageQuotaError } from '../../../src/errors.js'
import type { StorageAdapter, StorageEntry, StorageKey, StorageOp } from '../../../src/storage/adapter.js'
import { MemoryStorageAdapter } from '../../../src/storage/memory.js'

let A: AutomergeModule
beforeAll(async () => {
  A = await loadAutomerge()
})

const ROOM = 'room-1'
type Counter = AM.Doc<GCounterDoc>

function actor(n: number): string {
  return n.toString(16).padStart(2, '0').repeat(16)
}

/** A G-Counter replica 'c' with its own actor. */
function replica(n: number, name = 'c'): Counter {
  return gCounter.init(A, name, { actor: actor(n) })
}

function inc(doc: Counter, n = 1): Counter {
  return gCounter.increment(A, doc, n)
}

function asAny(doc: Counter): AnyDoc {
  return doc
}

function value(doc: AnyDoc | undefined): number | undefined {
  return doc === undefined ? undefined : gCounter.read(doc as unknown as Counter)
}

function store(storage: StorageAdapter, writer: string, options: DocStoreOptions = {}): DocStore {
  return new DocStore(A, storage, ROOM, writer, options)
}

/** What a brand-new session finds in storage. */
async function freshLoad(storage: StorageAdapter, name = 'c'): Promise<AnyDoc | undefined> {
  return store(storage, 'fresh-reader').load(name)
}

/**
 * The stored keys of document `name`, as 'snap/<writer>' and 'incr/<writer>/<seq>'. Snapshot keys carry a version
 * too (every key is written once); there is at most one live snapshot per writer, so the version is left out here.
 */
async function keys(storage: StorageAdapter, name = 'c'): Promise<string[]> {
  const entries = await storage.loadRange(['room', ROOM, 'doc', name])
  return entries.map((e) => (e.key[4] === 'snap' ? e.key.slice(4, 6) : e.key.slice(4)).join('/'))
}

async function usage(storage: MemoryStorageAdapter): Promise<number> {
  return (await storage.estimate()).usage
}

async function errorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    return (err as Error).name
  }
  throw new Error('expected a rejection, the promise resolved')
}

/** Passes everything through to `inner`, except that the next `failures` writes reject with StorageQuotaError. */
class FailingAdapter implements StorageAdapter {
  readonly kind = 'failing'
  failures = 0
  writes = 0

  constructor(private readonly inner: StorageAdapter) {}

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.inner.load(key)
  }
  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    return this.write(async () => this.inner.save(key, data))
  }
  async remove(key: StorageKey): Promise<void> {
    return this.write(async () => this.inner.remove(key))
  }
  async loadRange(prefix: StorageKey): Promise<StorageEntry[]> {
    return this.inner.loadRange(prefix)
  }
  async removeRange(prefix: StorageKey): Promise<void> {
    return this.write(async () => this.inner.removeRange(prefix))
  }
  async batch(ops: ReadonlyArray<StorageOp>): Promise<void> {
    return this.write(async () => this.inner.batch(ops))
  }
  async close(): Promise<void> {
    return this.inner.close()
  }

  private async write(fn: () => Promise<void>): Promise<void> {
    this.writes++
    if (this.failures > 0) {
      this.failures--
      throw new StorageQuotaError('injected: quota exceeded')
    }
    return fn()
  }
}

describe('save and load', () => {
  it('load of a document never saved resolves undefined', async () => {
    expect(await store(new MemoryStorageAdapter(), 'w').load('c')).toBeUndefined()
  })

  it('round-trips a document: same value, same heads', async () => {
    const storage = new MemoryStorageAdapter()
    const s = store(storage, 'w')
    let doc = replica(1)
    doc = inc(inc(doc, 3), 4)
    await s.save('c', () => asAny(doc))
    const loaded = await freshLoad(storage)
    expect(value(loaded)).toBe(7)
    expect(A.getHeads(loaded as AnyDoc)).toEqual(A.getHeads(asAny(doc)))
  })

  it('keeps documents apart by name and by room', async () => {
    const storage = new MemoryStorageAdapter()
    await store(storage, 'w').save('c', () => asAny(inc(replica(1), 1)))
    await store(storage, 'w').save('d', () => asAny(inc(replica(1, 'd'), 2)))
    await new DocStore(A, storage, 'other-room', 'w').save('c', () => asAny(inc(replica(1), 5)))
    expect(value(await freshLoad(storage, 'c'))).toBe(1)
    expect(value(await freshLoad(storage, 'd'))).toBe(2)
    expect(value(await new DocStore(A, storage, 'other-room', 'x').load('c'))).toBe(5)
  })

  it('saving a document with nothing new writes nothing', async () => {
    const storage = new MemoryStorageAdapter()
    const s = store(storage, 'w')
    const doc = inc(replica(1), 1)
    await s.save('c', () => asAny(doc))
    const [k, u] = [await keys(storage), await usage(storage)]
    await s.save('c', () => asAny(doc))
    await s.save('c', () => asAny(doc))
    expect(await keys(storage)).toEqual(k)
    expect(await usage(storage)).toBe(u)
  })

  it('saves issued without awaiting are serialised, and all are durable after flushed()', async () => {
    const storage = new MemoryStorageAdapter()
    const s = store(storage, 'w', { compactAfterIncrements: 5 })
    let doc = replica(1)
    const saves: Array<Promise<void>> = []
    for (let i = 1; i <= 23; i++) {
      doc = inc(doc, i)
      saves.push(s.save('c', () => asAny(doc)))
    }
    await s.flushed('c')
    await Promise.all(saves)
    expect(value(await freshLoad(storage))).toBe((23 * 24) / 2)
  })
})

describe('the same writer in a later session (a reload keeps its peer id)', () => {
  it('continues after the keys it wrote before, never overwriting them', async () => {
    const storage = new MemoryStorageAdapter()
    const first = store(storage, 'w1', { compactAfterIncrements: 100 })
    let doc = replica(1)
    for (let i = 0; i < 3; i++) {
      doc = inc(doc, 1)
      await first.save('c', () => asAny(doc))
    }
    const second = store(storage, 'w1', { compactAfterIncrements: 100 })
    let loaded = (await second.load('c')) as unknown as Counter
    loaded = inc(loaded, 10)
    await second.save('c', () => asAny(loaded))
    expect(await keys(storage)).toEqual(['incr/w1/00000000', 'incr/w1/00000001', 'incr/w1/00000002', 'incr/w1/00000003'])
    expect(value(await freshLoad(storage))).toBe(13)
  })

  it('continues after its snapshot too', async () => {
    const storage = new MemoryStorageAdapter()
    const first = store(storage, 'w1', { compactAfterIncrements: 2 })
    let doc = replica(1)
    for (let i = 0; i < 3; i++) {
      doc = inc(doc, 1)
      await first.save('c', () => asAny(doc))
    }
    const second = store(storage, 'w1', { compactAfterIncrements: 100 })
    let loaded = (await second.load('c')) as unknown as Counter
    loaded = inc(loaded, 10)
    await second.save('c', () => asAny(loaded))
    expect(await keys(storage)).toEqual(['incr/w1/00000003', 'snap/w1'])
    expect(value(await freshLoad(storage))).toBe(13)
    const third = store(storage, 'w1', { compactAfterIncrements: 100 })
    expect(value(await third.load('c'))).toBe(13)
  })
})

describe('increments and compaction', () => {
  it('stores one increment per save, then compacts into one snapshot after compactAfterIncrements', async () => {
    const storage = new MemoryStorageAdapter()
    const s = store(storage, 'w', { compactAfterIncrements: 4 })
    let doc = replica(1)
    for (let i = 1; i <= 3; i++) {
      doc = inc(doc, 1)
      await s.save('c', () => asAny(doc))
      expect(await keys(storage)).toHaveLength(i)
      expect((await keys(storage)).every((k) => k.startsWith('incr/w/'))).toBe(true)
      expect(value(await freshLoad(storage))).toBe(i)
    }
    doc = inc(doc, 1)
    await s.save('c', () => asAny(doc))
    expect(await keys(storage)).toEqual(['snap/w'])
    expect(value(await freshLoad(storage))).toBe(4)
  })

  it('increment keys sort in save order', async () => {
    const storage = new MemoryStorageAdapter()
    const s = store(storage, 'w', { compactAfterIncrements: 1000 })
    let doc = replica(1)
    for (let i = 0; i < 40; i++) {
      doc = inc(doc, 1)
      await s.save('c', () => asAny(doc))
    }
    const stored = await keys(storage)
    expect(stored).toHaveLength(40)
    expect(stored).toEqual([...stored].sort())
  })

  it('storage stops growing without edits, and stays bounded under many edits', async () => {
    const storage = new MemoryStorageAdapter()
    const s = store(storage, 'w', { compactAfterIncrements: 8 })
    let doc = replica(1)
    for (let i = 0; i < 100; i++) {
      doc = inc(doc, 1)
      await s.save('c', () => asAny(doc))
      expect((await keys(storage)).length).toBeLessThanOrEqual(8)
    }
    const settled = await usage(storage)
    const settledKeys = await keys(storage)
    for (let i = 0; i < 20; i++) await s.save('c', () => asAny(doc))
    expect(await usage(storage)).toBe(settled)
    expect(await keys(storage)).toEqual(settledKeys)
    expect(value(await freshLoad(storage))).toBe(100)
  })

  it('compacts once the increments exceed compactAfterBytes', async () => {
    const storage = new MemoryStorageAdapter()
    const s = store(storage, 'w', { compactAfterBytes: 1, compactAfterIncrements: 1000 })
    let doc = inc(replica(1), 1)
    await s.save('c', () => asAny(doc))
    expect(await keys(storage)).toEqual(['incr/w/00000000'])
    doc = inc(doc, 1)
    await s.save('c', () => asAny(doc))
    expect(await keys(storage)).toEqual(['snap/w'])
    expect(value(await freshLoad(storage))).toBe(2)
  })

  it('a session that loads and compacts replaces everything it loaded with its own snapshot', async () => {
    const storage = new MemoryStorageAdapter()
    const first = store(storage, 'w1', { compactAfterIncrements: 100 })
    let doc = replica(1)
    for (let i = 0; i < 5; i++) {
      doc = inc(doc, 2)
      await first.save('c', () => asAny(doc))
    }
    const second = store(storage, 'w2', { compactAfterIncrements: 7 })
    let loaded = (await second.load('c')) as unknown as Counter
    expect(gCounter.read(loaded)).toBe(10)
    loaded = inc(A.clone(loaded, { actor: actor(2) }), 1)
    await second.save('c', () => asAny(loaded)) // 5 loaded + 1 = 6 keys
    loaded = inc(loaded, 1)
    await second.save('c', () => asAny(loaded)) // 6 + 1 reaches 7: compaction
    expect(await keys(storage)).toEqual(['snap/w2'])
    expect(value(await freshLoad(storage))).toBe(12)
  })
  it('rewrite() makes the next save a compact snapshot replacing the increments', async () => {
    const storage = new MemoryStorageAdapter()
    const s = store(storage, 'w', { compactAfterIncrements: 100 })
    let doc = replica(1)
    for (let i = 0; i < 3; i++) {
      doc = inc(doc, 1)
      await s.save('c', () => asAny(doc))
    }
    expect(await keys(storage)).toHaveLength(3)
    // The document object was replaced by one loaded from a peer's snapshot.
    let replaced = A.load<GCounterDoc>(A.save(asAny(doc)), { actor: actor(9) })
    replaced = inc(replaced, 10)
    s.rewrite('c')
    await s.save('c', () => asAny(replaced))
    expect(await keys(storage)).toEqual(['snap/w'])
    expect(value(await freshLoad(storage))).toBe(13)
    // And afterwards it is back to increments.
    replaced = inc(replaced, 100)
    await s.save('c', () => asAny(replaced))
    const after = await keys(storage)
    expect(after).toHaveLength(2)
    expect(after[0]).toMatch(/^incr\/w\/\w{8}$/)
    expect(after[1]).toBe('snap/w')
    expect(value(await freshLoad(storage))).toBe(113)
  })
})

describe('two writers on one database (two tabs)', () => {
  it('concurrent saves never overwrite each other, and a fresh load merges both', async () => {
    const storage = new MemoryStorageAdapter()
    const tab1 = store(storage, 'tab-1', { compactAfterIncrements: 5 })
    const tab2 = store(storage, 'tab-2', { compactAfterIncrements: 5 })
    let d1 = replica(1)
    let d2 = replica(2)
    for (let i = 0; i < 17; i++) {
      d1 = inc(d1, 1)
      d2 = inc(d2, 100)
      // Both tabs write at once: their writes interleave at the adapter.
      await Promise.all([tab1.save('c', () => asAny(d1)), tab2.save('c', () => asAny(d2))])
    }
    const stored = await keys(storage)
    expect(stored.some((k) => k.includes('tab-1'))).toBe(true)
    expect(stored.some((k) => k.includes('tab-2'))).toBe(true)
    const loaded = await freshLoad(storage)
    expect(value(loaded)).toBe(17 + 1700)
    const merged = A.merge(A.clone(asAny(d1)), asAny(d2))
    expect([...A.getHeads(loaded as AnyDoc)].sort()).toEqual([...A.getHeads(merged)].sort())
  })

  it('each writer compacts into its own snapshot key', async () => {
    const storage = new MemoryStorageAdapter()
    const tab1 = store(storage, 'tab-1', { compactAfterIncrements: 2 })
    const tab2 = store(storage, 'tab-2', { compactAfterIncrements: 2 })
    let d1 = replica(1)
    let d2 = replica(2)
    for (let i = 0; i < 2; i++) {
      d1 = inc(d1, 1)
      d2 = inc(d2, 10)
      await Promise.all([tab1.save('c', () => asAny(d1)), tab2.save('c', () => asAny(d2))])
    }
    expect(await keys(storage)).toEqual(['snap/tab-1', 'snap/tab-2'])
    expect(value(await freshLoad(storage))).toBe(22)
  })

  it('compaction by one writer keeps the keys the other wrote after it loaded', async () => {
    const storage = new MemoryStorageAdapter()
    const tab1 = store(storage, 'tab-1', { compactAfterIncrements: 100 })
    let d1 = inc(replica(1), 1)
    await tab1.save('c', () => asAny(d1))
    // tab 2 opens: it loads tab 1's increment.
    const tab2 = store(storage, 'tab-2', { compactAfterIncrements: 3 })
    let d2 = A.clone((await tab2.load('c')) as unknown as Counter, { actor: actor(2) })
    expect(gCounter.read(d2)).toBe(1)
    // tab 1 goes on writing: increments tab 2 has not seen.
    for (let i = 0; i < 3; i++) {
      d1 = inc(d1, 10)
      await tab1.save('c', () => asAny(d1))
    }
    // tab 2 compacts (1 loaded + 2 own reaches 3).
    d2 = inc(d2, 100)
    await tab2.save('c', () => asAny(d2))
    d2 = inc(d2, 100)
    await tab2.save('c', () => asAny(d2))
    const stored = await keys(storage)
    expect(stored).toContain('snap/tab-2')
    expect(stored).not.toContain('incr/tab-1/00000000') // loaded by tab 2: its content is in tab 2's snapshot
    expect(stored.filter((k) => k.startsWith('incr/tab-1/'))).toHaveLength(3)
    expect(value(await freshLoad(storage))).toBe(1 + 30 + 200)
  })

  it('compaction never deletes a newer snapshot the other writer wrote after we loaded its older one', async () => {
    // compact() removes every key seen at load(). If a writer rewrote its snapshot under one fixed key at each of its
    // compactions, the key tab 2 loaded could by now hold changes tab 2 never saw, and tab 2's compaction would delete
    // them from storage (lost for good once tab 1 is closed). Hence snapshot keys are versioned, written once.
    const storage = new MemoryStorageAdapter()
    const tab1 = store(storage, 'tab-1', { compactAfterIncrements: 2 })
    let d1 = replica(1)
    for (let i = 0; i < 2; i++) {
      d1 = inc(d1, 1)
      await tab1.save('c', () => asAny(d1))
    }
    expect(await keys(storage)).toEqual(['snap/tab-1'])
    const tab2 = store(storage, 'tab-2', { compactAfterIncrements: 2 })
    let d2 = A.clone((await tab2.load('c')) as unknown as Counter, { actor: actor(2) })
    expect(gCounter.read(d2)).toBe(2)
    // tab 1 edits and compacts again: 'snap/tab-1' now also holds +20.
    for (let i = 0; i < 2; i++) {
      d1 = inc(d1, 10)
      await tab1.save('c', () => asAny(d1))
    }
    expect(await keys(storage)).toEqual(['snap/tab-1'])
    expect(value(await freshLoad(storage))).toBe(22)
    // tab 1 is closed. tab 2 edits; its save compacts (1 loaded key + 1 reaches 2).
    d2 = inc(d2, 100)
    await tab2.save('c', () => asAny(d2))
    expect(value(await freshLoad(storage))).toBe(122)
  })
})

describe('quota and failed writes', () => {
  it('a save over the quota rejects with StorageQuotaError, and what was stored before still loads', async () => {
    const storage = new MemoryStorageAdapter({ quotaBytes: 2000 })
    const s = store(storage, 'w', { compactAfterIncrements: 100 })
    let doc = inc(replica(1), 1)
    await s.save('c', () => asAny(doc))
    doc = inc(doc, 2)
    await s.save('c', () => asAny(doc))
    const before = await keys(storage)
    // A change far bigger than the quota: random bytes do not compress.
    const big = A.change(asAny(doc), (d) => {
      d.blob = new Uint8Array(Array.from({ length: 4000 }, (_, i) => (i * 7919) % 251))
    }) as unknown as Counter
    expect(await errorName(s.save('c', () => asAny(big)))).toBe('StorageQuotaError')
    expect(await keys(storage)).toEqual(before)
    const loaded = await freshLoad(storage)
    expect(value(loaded)).toBe(3)
    expect((loaded as Record<string, unknown>).blob).toBeUndefined()
  })

  it('the first save failing leaves nothing stored, and a fresh load finds nothing', async () => {
    const storage = new MemoryStorageAdapter({ quotaBytes: 10 })
    const s = store(storage, 'w')
    expect(await errorName(s.save('c', () => asAny(inc(replica(1), 1))))).toBe('StorageQuotaError')
    expect(await freshLoad(storage)).toBeUndefined()
  })

  it('after a failed incremental save, the next save stores everything, including the failed changes', async () => {
    const inner = new MemoryStorageAdapter()
    const storage = new FailingAdapter(inner)
    const s = store(storage, 'w', { compactAfterIncrements: 100 })
    let doc = inc(replica(1), 1)
    await s.save('c', () => asAny(doc))
    doc = inc(doc, 10) // the change whose write fails
    storage.failures = 1
    expect(await errorName(s.save('c', () => asAny(doc)))).toBe('StorageQuotaError')
    expect(value(await freshLoad(inner))).toBe(1)
    doc = inc(doc, 100)
    await s.save('c', () => asAny(doc))
    const loaded = await freshLoad(inner)
    expect(value(loaded)).toBe(111)
    expect(A.getHeads(loaded as AnyDoc)).toEqual(A.getHeads(asAny(doc)))
  })

  it('after a failed save, saving the same document again (no new edit) stores the failed changes', async () => {
    const inner = new MemoryStorageAdapter()
    const storage = new FailingAdapter(inner)
    const s = store(storage, 'w', { compactAfterIncrements: 100 })
    let doc = inc(replica(1), 1)
    await s.save('c', () => asAny(doc))
    doc = inc(doc, 10)
    storage.failures = 1
    expect(await errorName(s.save('c', () => asAny(doc)))).toBe('StorageQuotaError')
    await s.save('c', () => asAny(doc))
    expect(value(await freshLoad(inner))).toBe(11)
  })

  it('a failed compaction loses nothing: the old keys stay loadable and the next save compacts with everything', async () => {
    const inner = new MemoryStorageAdapter()
    const storage = new FailingAdapter(inner)
    const s = store(storage, 'w', { compactAfterIncrements: 3 })
    let doc = replica(1)
    for (let i = 0; i < 2; i++) {
      doc = inc(doc, 1)
      await s.save('c', () => asAny(doc))
    }
    doc = inc(doc, 10)
    storage.failures = 1 // the compacting batch
    expect(await errorName(s.save('c', () => asAny(doc)))).toBe('StorageQuotaError')
    expect(await keys(inner)).toEqual(['incr/w/00000000', 'incr/w/00000001'])
    expect(value(await freshLoad(inner))).toBe(2)
    doc = inc(doc, 100)
    await s.save('c', () => asAny(doc))
    expect(await keys(inner)).toEqual(['snap/w'])
    expect(value(await freshLoad(inner))).toBe(112)
  })

  it('several failures in a row, then success: nothing is lost', async () => {
    const inner = new MemoryStorageAdapter()
    const storage = new FailingAdapter(inner)
    const s = store(storage, 'w', { compactAfterIncrements: 4 })
    let doc = replica(1)
    let expected = 0
    const outcomes: string[] = []
    for (let i = 1; i <= 30; i++) {
      doc = inc(doc, i)
      expected += i
      if (i % 7 === 0) storage.failures = 2
      try {
        await s.save('c', () => asAny(doc))
        outcomes.push('ok')
        expect(value(await freshLoad(inner))).toBe(expected)
      } catch (err) {
        expect((err as Error).name).toBe('StorageQuotaError')
        outcomes.push('failed')
      }
    }
    expect(outcomes.filter((o) => o === 'failed').length).toBeGreaterThan(4)
    expect(outcomes.at(-1)).toBe('ok')
    expect(value(await freshLoad(inner))).toBe(expected)
  })

  it('a save queued behind a failing one still runs', async () => {
    const inner = new MemoryStorageAdapter()
    const storage = new FailingAdapter(inner)
    const s = store(storage, 'w')
    let doc = inc(replica(1), 1)
    storage.failures = 1
    const failing = s.save('c', () => asAny(doc))
    doc = inc(doc, 2)
    const next = s.save('c', () => asAny(doc))
    expect(await errorName(failing)).toBe('StorageQuotaError')
    await next
    await s.flushed('c')
    expect(value(await freshLoad(inner))).toBe(3)
  })
})
