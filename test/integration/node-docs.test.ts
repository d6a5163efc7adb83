// Documents between Node peers through a real relay: concurrent first use keeps everyone's edits (shared genesis),
// edits sync both ways, a late joiner catches up, and a peer restarted on the same storage has its edits before
// any network is there.
import { describe, expect, it } from 'vitest'
import { createPeer, type DocHandle, type Peer } from '../../src/index.js'
import type { Relay } from '../../src/node/relay.js'
import { useCleanups } from '../support/cleanups.js'
import type { StorageAdapter } from '../../src/storage/adapter.js'
import { MemoryStorageAdapter } from '../../src/storage/memory.js'

const cleanups = useCleanups()
const relay = async (): Promise<Relay> => cleanups.relay()

/** Storage that survives the peer closing it, as IndexedDB survives a reload. */
function durable(inner: StorageAdapter = new MemoryStorageAdapter()): StorageAdapter {
  return {
    kind: 'durable-memory',
    load: async (key) => inner.load(key),
    save: async (key, data) => inner.save(key, data),
    remove: async (key) => inner.remove(key),
    loadRange: async (prefix) => inner.loadRange(prefix),
    removeRange: async (prefix) => inner.removeRange(prefix),
    batch: async (ops) => inner.batch(ops),
    close: async () => {},
  }
}

async function peer(bootstrap: string[], name: string, storage: StorageAdapter = durable()): Promise<Peer> {
  const p = await createPeer({ bootstrap, name, storage })
  cleanups.add(async () => p.close())
  return p
}

/** Resolves once `check()` holds, re-checking on every change of the document. */
async function until<T>(doc: DocHandle<T>, check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  if (check()) return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`timed out waiting for ${what}`))
    }, timeoutMs)
    const off = doc.on('change', () => {
      if (!check()) return
      clearTimeout(timer)
      off()
      resolve()
    })
  })
}

type Board = { items: string[] }

describe('documents between Node peers', () => {
  it('keep concurrent first edits, sync both ways, and catch up a late joiner', async () => {
    const r = await relay()
    const [a, b] = await Promise.all([peer(r.multiaddrs, 'a'), peer(r.multiaddrs, 'b')])
    const [ra, rb] = await Promise.all([a.join('docs'), b.join('docs')])
    // Both open and edit before they have met: the shared genesis keeps both edits.
    const [da, db] = await Promise.all([
      ra.doc<Board>('board', { initial: { items: [] } }),
      rb.doc<Board>('board', { initial: { items: [] } }),
    ])
    da.change((d) => void d.items.push('from a'))
    db.change((d) => void d.items.push('from b'))
    await until(da, () => da.value().items.length === 2, 'a to get b’s item')
    await until(db, () => db.value().items.length === 2, 'b to get a’s item')
    expect([...da.value().items].sort()).toEqual(['from a', 'from b'])
    expect(da.heads().sort()).toEqual(db.heads().sort())

    for (let i = 0; i < 50; i++) da.change((d) => void d.items.push(`a${i}`))
    const c = await peer(r.multiaddrs, 'c')
    const dc = await (await c.join('docs')).doc<Board>('board', { initial: { items: [] } })
    await until(dc, () => dc.value().items.length === 52, 'the late joiner to catch up')
    await until(dc, () => dc.status === 'synced' || dc.value().items.length === 52, 'status')
    expect(dc.availableRemotely).toBe(true)
  })

  it('reports progress while a newcomer receives a large document', async () => {
    const r = await relay()
    const seeder = await peer(r.multiaddrs, 'seeder')
    const big = await (await seeder.join('big')).doc<{ lines: string[] }>('log', { initial: { lines: [] } })
    // ~400 KB of incompressible text in 40 changes: sent to the newcomer as a saved document, in several chunks.
    const noise = (n: number): string => Array.from({ length: n }, () => Math.random().toString(36).slice(2, 12)).join('')
    for (let i = 0; i < 40; i++) big.change((d) => void d.lines.push(noise(1000)))
    const storage = durable()
    const newcomer = await peer(r.multiaddrs, 'newcomer', storage)
    const newcomerRoom = await newcomer.join('big')
    const doc = await newcomerRoom.doc<{ lines: string[] }>('log', { initial: { lines: [] } })
    const seen: Array<{ receivedBytes: number; totalBytes: number }> = []
    doc.on('progress', (p) => {
      if (p.totalBytes > 0) seen.push({ receivedBytes: p.receivedBytes, totalBytes: p.totalBytes })
    })
    await until(doc, () => doc.value().lines.length === 40, 'the newcomer to catch up')
    expect(seen.length).toBeGreaterThan(0)
    for (const p of seen) expect(p.receivedBytes).toBeLessThanOrEqual(p.totalBytes)
    expect(Math.max(...seen.map((p) => p.totalBytes))).toBeGreaterThanOrEqual(64 * 1024)

    // What arrived as a snapshot is stored whole: a restart with no network has every line.
    await newcomerRoom.flushed()
    await newcomer.close()
    const restarted = await peer([], 'newcomer', storage)
    const again = await (await restarted.join('big')).doc<{ lines: string[] }>('log', { initial: { lines: [] } })
    expect(again.value().lines).toHaveLength(40)
  })

  it('restores a document from storage before any network, and merges offline edits on reconnect', async () => {
    const r = await relay()
    const storage = durable()
    const a = await peer(r.multiaddrs, 'a', storage)
    const ra = await a.join('offline')
    const da = await ra.doc<Board>('notes', { initial: { items: [] } })
    da.change((d) => void d.items.push('stored'))
    await a.close()

    // Restarted with no relay at all: the document is there at once.
    const again = await peer([], 'a', storage)
    const d2 = await (await again.join('offline')).doc<Board>('notes', { initial: { items: [] } })
    expect([...d2.value().items]).toEqual(['stored'])
    expect(d2.status).toBe('local')
    d2.change((d) => void d.items.push('offline edit'))
    await again.close()

    // Back online: another peer gets both edits.
    const back = await peer(r.multiaddrs, 'a', storage)
    const b = await peer(r.multiaddrs, 'b')
    const [d3, db] = await Promise.all([
      back.join('offline').then(async (room) => room.doc<Board>('notes', { initial: { items: [] } })),
      b.join('offline').then(async (room) => room.doc<Board>('notes', { initial: { items: [] } })),
    ])
    db.change((d) => void d.items.push('from b'))
    await until(db, () => db.value().items.length === 3, 'b to get the stored edits')
    await until(d3, () => d3.value().items.length === 3, 'a to get b’s edit')
    expect([...db.value().items].sort()).toEqual(['from b', 'offline edit', 'stored'])
  })
})
