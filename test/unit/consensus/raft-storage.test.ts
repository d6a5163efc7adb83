/**
 * RaftStorage on the in-memory adapter (IndexedDB passes the same adapter contract in the storage compliance suite):
 * what load() returns after any sequence of writes equals the reference model in persisted.ts, suffixes and received
 * snapshots replace exactly the stored entries they should, every write is one batch, and corrupt or inconsistent
 * records fail load() with a typed error that names the problem.
 */
import { describe, expect, it } from 'vitest'
import { encodeEntry, encodeHardState } from '../../../src/consensus/raft/codec.js'
import {
  EMPTY_PERSISTED,
  persistCompaction,
  persistReady,
  type PersistedRaft,
} from '../../../src/consensus/raft/persisted.js'
import { RaftStorage, type RaftWrite } from '../../../src/consensus/raft/raft-storage.js'
import type { Entry, HardState, Snapshot } from '../../../src/consensus/raft/types.js'
import type { Ready } from '../../../src/consensus/raft/core.js'
import { seededRandom } from '../../../src/runtime/random.js'
import type { StorageAdapter, StorageOp } from '../../../src/storage/adapter.js'
import { MemoryStorageAdapter } from '../../../src/storage/memory.js'

const PREFIX = ['raft', 'g1']
const enc = new TextEncoder()

function normal(index: number, term: number, value = `v${index}`): Entry {
  return { index, term, kind: 'normal', data: enc.encode(value) }
}

function run(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = []
  for (let i = from; i <= to; i++) out.push(normal(i, term))
  return out
}

function write(parts: Partial<RaftWrite>): RaftWrite {
  return { hardState: null, snapshot: null, entries: [], ...parts }
}

function snapshot(index: number, term: number, data = `state@${index}`): Snapshot {
  return { meta: { index, term, config: { voters: ['a', 'b', 'c'], learners: [] } }, data: enc.encode(data) }
}

function entryKey(index: number): string[] {
  return [...PREFIX, 'e', String(index).padStart(16, '0')]
}

/** An adapter that counts batches and can be told to fail the next one. */
class CountingAdapter extends MemoryStorageAdapter {
  batches: StorageOp[][] = []
  failNext = false

  override async batch(ops: ReadonlyArray<StorageOp>): Promise<void> {
    if (this.failNext) {
      this.failNext = false
      throw new Error('disk on fire')
    }
    this.batches.push([...ops])
    return super.batch(ops)
  }
}

async function opened(adapter: StorageAdapter = new MemoryStorageAdapter()): Promise<RaftStorage> {
  const s = new RaftStorage(adapter, { prefix: PREFIX })
  await s.load()
  return s
}

async function reload(adapter: StorageAdapter): Promise<Awaited<ReturnType<RaftStorage['load']>>> {
  return new RaftStorage(adapter, { prefix: PREFIX }).load()
}

function expected(model: PersistedRaft): unknown {
  const { hardState, snapshot: snap, entries } = model
  return snap === undefined ? { hardState, entries } : { hardState, snapshot: snap, entries }
}

describe('RaftStorage round trips', () => {
  it('loads an empty state from an empty adapter', async () => {
    const adapter = new MemoryStorageAdapter()
    const s = new RaftStorage(adapter, { prefix: PREFIX })
    expect(await s.load()).toEqual({ hardState: { term: 0, vote: null, commit: 0 }, entries: [] })
    expect(s.stored).toEqual({ snapshotIndex: 0, first: 1, last: 0 })
  })

  it('loads what was persisted: hard state and entries of every kind, in index order past 9 → 10', async () => {
    const adapter = new MemoryStorageAdapter()
    const s = await opened(adapter)
    const entries: Entry[] = [
      { index: 1, term: 1, kind: 'noop' },
      { index: 2, term: 1, kind: 'config', config: { voters: ['a', 'b'], learners: ['c'] } },
      ...run(3, 12, 2),
    ]
    const hardState: HardState = { term: 2, vote: 'a', commit: 11 }
    await s.persist(write({ hardState, entries: entries.slice(0, 5) }))
    await s.persist(write({ entries: entries.slice(5) }))
    expect(await reload(adapter)).toEqual({ hardState, entries })
    expect(s.stored).toEqual({ snapshotIndex: 0, first: 1, last: 12 })
  })

  it('overwrites a stored suffix from entries[0].index and deletes what lay past the new entries', async () => {
    const adapter = new MemoryStorageAdapter()
    const s = await opened(adapter)
    await s.persist(write({ hardState: { term: 1, vote: 'a', commit: 3 }, entries: run(1, 10, 1) }))
    const replacement = [normal(5, 2, 'new5'), normal(6, 2, 'new6')]
    await s.persist(write({ hardState: { term: 2, vote: 'b', commit: 3 }, entries: replacement }))
    const loaded = await reload(adapter)
    expect(loaded.entries).toEqual([...run(1, 4, 1), ...replacement])
    expect(await adapter.loadRange([...PREFIX, 'e'])).toHaveLength(6)
    expect(await adapter.load(entryKey(7))).toBeUndefined()
  })

  it('a received snapshot replaces every stored entry; entries in the same write follow it', async () => {
    const adapter = new MemoryStorageAdapter()
    const s = await opened(adapter)
    await s.persist(write({ hardState: { term: 1, vote: 'a', commit: 2 }, entries: run(1, 5, 1) }))
    const snap = snapshot(8, 2)
    await s.persist(write({ hardState: { term: 2, vote: null, commit: 8 }, snapshot: snap, entries: run(9, 10, 2) }))
    const hardState = { term: 2, vote: null, commit: 8 }
    expect(await reload(adapter)).toEqual({ hardState, snapshot: snap, entries: run(9, 10, 2) })
    expect((await adapter.loadRange([...PREFIX, 'e'])).map((r) => r.key.at(-1))).toEqual([
      '0000000000000009',
      '0000000000000010',
    ])
  })

  it('saveCompaction stores the snapshot and deletes exactly the covered entries; an older one is ignored', async () => {
    const adapter = new CountingAdapter()
    const s = await opened(adapter)
    await s.persist(write({ hardState: { term: 1, vote: 'a', commit: 10 }, entries: run(1, 10, 1) }))
    await s.saveCompaction(snapshot(6, 1))
    const hardState = { term: 1, vote: 'a', commit: 10 }
    expect(await reload(adapter)).toEqual({ hardState, snapshot: snapshot(6, 1), entries: run(7, 10, 1) })
    const batches = adapter.batches.length
    await s.saveCompaction(snapshot(4, 1))
    expect(adapter.batches).toHaveLength(batches)
    expect(s.stored).toEqual({ snapshotIndex: 6, first: 7, last: 10 })
    // The compaction deleted keys one by one (no scan): exactly entries 1..6.
    const removed = adapter.batches[batches - 1]?.filter((op) => op.type === 'remove').length
    expect(removed).toBe(6)
  })

  it('keeps groups under different prefixes apart', async () => {
    const adapter = new MemoryStorageAdapter()
    const g1 = await opened(adapter)
    const g2 = new RaftStorage(adapter, { prefix: ['raft', 'g2'] })
    await g2.load()
    await g1.persist(write({ hardState: { term: 3, vote: 'a', commit: 0 }, entries: run(1, 3, 3) }))
    await g2.persist(write({ hardState: { term: 1, vote: 'b', commit: 0 } }))
    expect((await new RaftStorage(adapter, { prefix: ['raft', 'g2'] }).load()).entries).toEqual([])
    expect((await reload(adapter)).entries).toEqual(run(1, 3, 3))
  })

  it('matches the reference model (persisted.ts) after every write of a seeded random history', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = seededRandom(seed)
      const adapter = new MemoryStorageAdapter()
      const s = await opened(adapter)
      let model: PersistedRaft = EMPTY_PERSISTED
      let term = 1
      for (let step = 0; step < 40; step++) {
        const base = model.snapshot?.meta.index ?? 0
        const last = base + model.entries.length
        const commit = model.hardState.commit
        const choice = rnd.int(10)
        if (choice < 2 && last > commit) {
          // A new leader overwrites the uncommitted suffix from some index on.
          term += 1
          const from = commit + 1 + rnd.int(last - commit)
          const rd = write({ hardState: { term, vote: null, commit }, entries: run(from, from + rnd.int(4), term) })
          model = persistReady(model, rd as Ready)
          await s.persist(rd)
        } else if (choice < 3) {
          term += 1
          const snap = snapshot(last + 1 + rnd.int(5), term)
          const rd = write({ hardState: { term, vote: null, commit: snap.meta.index }, snapshot: snap })
          model = persistReady(model, rd as Ready)
          await s.persist(rd)
        } else if (choice < 4 && commit > base) {
          const index = base + 1 + rnd.int(commit - base)
          const e = model.entries[index - base - 1] as Entry
          const snap = snapshot(index, e.term)
          model = persistCompaction(model, snap)
          await s.saveCompaction(snap)
        } else {
          const entries = run(last + 1, last + rnd.int(5), term)
          const newCommit = Math.min(last + entries.length, commit + rnd.int(4))
          const rd = write({ hardState: { term, vote: rnd.int(2) === 0 ? 'a' : null, commit: newCommit }, entries })
          model = persistReady(model, rd as Ready)
          await s.persist(rd)
        }
        expect(await reload(adapter), `seed ${seed} step ${step}`).toEqual(expected(model))
        expect((await adapter.loadRange([...PREFIX, 'e'])).length, `seed ${seed} step ${step}`).toBe(model.entries.length)
      }
    }
  })
})

describe('RaftStorage writes', () => {
  it('persists each Ready as one atomic batch, and writes nothing for a Ready with nothing to persist', async () => {
    const adapter = new CountingAdapter()
    const s = await opened(adapter)
    await s.persist(write({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: run(1, 3, 1), snapshot: null }))
    await s.persist(write({}))
    expect(adapter.batches).toHaveLength(1)
    expect(adapter.batches[0]?.filter((op) => op.type === 'save')).toHaveLength(4)
  })

  it('a failed batch changes neither the disk nor what the storage believes is stored', async () => {
    const adapter = new CountingAdapter()
    const s = await opened(adapter)
    await s.persist(write({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: run(1, 5, 1) }))
    adapter.failNext = true
    await expect(s.persist(write({ entries: run(3, 3, 2), hardState: { term: 2, vote: null, commit: 0 } }))).rejects.toThrow(
      'disk on fire',
    )
    expect(s.stored).toEqual({ snapshotIndex: 0, first: 1, last: 5 })
    // The next write is computed against what is really stored: 4 and 5 are deleted.
    await s.persist(write({ entries: run(3, 3, 2), hardState: { term: 2, vote: null, commit: 0 } }))
    expect((await reload(adapter)).entries).toEqual([...run(1, 2, 1), ...run(3, 3, 2)])
  })

  it('queues writes: calls made without awaiting reach the adapter one at a time, in order', async () => {
    const adapter = new MemoryStorageAdapter()
    const s = await opened(adapter)
    const a = s.persist(write({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: run(1, 4, 1) }))
    const b = s.persist(write({ hardState: { term: 2, vote: 'b', commit: 0 }, entries: run(2, 2, 2) }))
    await Promise.all([a, b])
    expect((await reload(adapter)).entries).toEqual([normal(1, 1), normal(2, 2)])
  })

  it('refuses a write before load() and one that would leave a gap, writing nothing', async () => {
    const adapter = new CountingAdapter()
    const s = new RaftStorage(adapter, { prefix: PREFIX })
    await expect(s.persist(write({ entries: run(1, 1, 1) }))).rejects.toThrow(/load\(\) must complete/)
    await s.load()
    await s.persist(write({ hardState: { term: 1, vote: null, commit: 0 }, entries: run(1, 2, 1) }))
    await expect(s.persist(write({ entries: run(4, 5, 1) }))).rejects.toThrow(/do not fit the stored log 1..2/)
    expect(adapter.batches).toHaveLength(1)
    expect(() => new RaftStorage(adapter, { prefix: [] })).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
  })
})

describe('RaftStorage.load refuses corrupt or inconsistent data, saying what is wrong', () => {
  async function stored(): Promise<MemoryStorageAdapter> {
    const adapter = new MemoryStorageAdapter()
    const s = await opened(adapter)
    await s.persist(write({ hardState: { term: 2, vote: 'a', commit: 4 }, entries: run(1, 6, 2) }))
    return adapter
  }

  async function failsWith(adapter: StorageAdapter, name: string, message: RegExp): Promise<void> {
    await expect(reload(adapter)).rejects.toMatchObject({ name, message: expect.stringMatching(message) })
  }

  it('an entry record that does not decode: DecodeError naming the entry', async () => {
    const adapter = await stored()
    await adapter.save(entryKey(3), Uint8Array.from([1, 99, 3]))
    await failsWith(adapter, 'DecodeError', /entry 3 is corrupt/)
  })

  it('a hard state of an unknown record version: DecodeError', async () => {
    const adapter = await stored()
    const bytes = encodeHardState({ term: 2, vote: 'a', commit: 4 })
    bytes[0] = 7
    await adapter.save([...PREFIX, 'hard'], bytes)
    await failsWith(adapter, 'DecodeError', /hard is corrupt.*version 7/)
  })

  it('a missing entry in the middle: StorageError naming it (never a shorter log)', async () => {
    const adapter = await stored()
    await adapter.remove(entryKey(4))
    await failsWith(adapter, 'StorageError', /entry 4 is missing/)
  })

  it('an entry under another index key, a stray key, and a snapshot without its data: StorageError', async () => {
    const a = await stored()
    await a.save(entryKey(5), encodeEntry(normal(6, 2)))
    await failsWith(a, 'StorageError', /index 5 holds entry 6/)

    const b = await stored()
    await b.save([...PREFIX, 'e', 'x'], new Uint8Array(1))
    await failsWith(b, 'StorageError', /unexpected key/)

    const c = await stored()
    await c.save([...PREFIX, 'snap', 'data'], new Uint8Array(1))
    await failsWith(c, 'StorageError', /snapshot metadata is missing/)
  })

  it('a commit past the stored log, or entries of a term past the hard state: StorageError', async () => {
    const a = await stored()
    await a.save([...PREFIX, 'hard'], encodeHardState({ term: 2, vote: 'a', commit: 9 }))
    await failsWith(a, 'StorageError', /commits 9 but the log ends at 6/)

    const b = await stored()
    await b.save([...PREFIX, 'hard'], encodeHardState({ term: 1, vote: 'a', commit: 4 }))
    await failsWith(b, 'StorageError', /term 2, past the hard state's term 1/)
  })
})
