import { describe, expect, it } from 'vitest'
import {
  createStorage,
  IndexedDBStorageAdapter,
  MemoryStorageAdapter,
  requestPersistence,
  type StorageAdapter,
} from '../../../src/storage/index.js'

const invalidOption = expect.objectContaining({ name: 'InvalidOptionError' })

/** A minimal hand-written adapter, as an app would pass one. */
function customAdapter(): StorageAdapter {
  const inner = new MemoryStorageAdapter()
  return {
    kind: 'custom',
    load: (key) => inner.load(key),
    save: (key, data) => inner.save(key, data),
    remove: (key) => inner.remove(key),
    loadRange: (prefix) => inner.loadRange(prefix),
    removeRange: (prefix) => inner.removeRange(prefix),
    batch: (ops) => inner.batch(ops),
    close: () => inner.close(),
  }
}

describe('createStorage', () => {
  it("gives a working memory adapter for 'memory'", async () => {
    const storage = await createStorage('memory', 'app')
    expect(storage.kind).toBe('memory')
    await storage.save(['k'], Uint8Array.of(1))
    expect(await storage.load(['k'])).toEqual(Uint8Array.of(1))
  })

  it('gives a fresh memory adapter each time', async () => {
    const a = await createStorage('memory', 'app')
    const b = await createStorage('memory', 'app')
    await a.save(['k'], Uint8Array.of(1))
    expect(await b.load(['k'])).toBeUndefined()
  })

  it('returns an adapter object as it is', async () => {
    const adapter = customAdapter()
    expect(await createStorage(adapter, 'app')).toBe(adapter)
  })

  it("rejects 'indexeddb' where indexedDB is undefined, telling Node users to pass 'memory'", async () => {
    expect(typeof indexedDB).toBe('undefined')
    const err: unknown = await createStorage('indexeddb', 'app').catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'InvalidOptionError' })
    expect((err as Error).message).toContain("storage: 'memory'")
  })

  it('rejects an adapter missing a method, naming what is missing', async () => {
    const { batch: _batch, close: _close, ...partial } = customAdapter()
    const err: unknown = await createStorage(partial as unknown as StorageAdapter, 'app').catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'InvalidOptionError' })
    expect((err as Error).message).toContain('batch, close')
  })

  it('rejects an adapter whose methods are not functions, or that has no kind', async () => {
    const notFunction = { ...customAdapter(), load: 'nope' } as unknown as StorageAdapter
    await expect(createStorage(notFunction, 'app')).rejects.toEqual(invalidOption)
    const { kind: _kind, ...noKind } = customAdapter()
    await expect(createStorage(noKind as unknown as StorageAdapter, 'app')).rejects.toThrow(/kind/)
    const badEstimate = { ...customAdapter(), estimate: 5 } as unknown as StorageAdapter
    await expect(createStorage(badEstimate, 'app')).rejects.toEqual(invalidOption)
  })

  it('rejects unknown names, null and other values', async () => {
    for (const option of ['localStorage', '', 'IndexedDB', null, undefined, 42, () => undefined]) {
      await expect(createStorage(option as unknown as StorageAdapter, 'app')).rejects.toEqual(invalidOption)
    }
  })

  it('rejects an empty or non-string name', async () => {
    await expect(createStorage('memory', '')).rejects.toEqual(invalidOption)
    await expect(createStorage('memory', 7 as unknown as string)).rejects.toEqual(invalidOption)
  })
})

describe('IndexedDB helpers outside a browser', () => {
  it('requestPersistence resolves false where navigator.storage is missing', async () => {
    expect(await requestPersistence()).toBe(false)
  })

  it('IndexedDBStorageAdapter.open rejects with StorageError where indexedDB is undefined', async () => {
    await expect(IndexedDBStorageAdapter.open('synod')).rejects.toMatchObject({ name: 'StorageError' })
    await expect(IndexedDBStorageAdapter.open('')).rejects.toMatchObject({ name: 'InvalidOptionError' })
    const aborted = AbortSignal.abort()
    await expect(IndexedDBStorageAdapter.open('synod', { signal: aborted })).rejects.toMatchObject({
      name: 'AbortError',
    })
  })
})
