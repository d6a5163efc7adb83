import { describe, expect, it } from 'vitest'
import { MemoryStorageAdapter, storageCompliance } from '../../../src/storage/index.js'

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)

describe('MemoryStorageAdapter passes the storage compliance suite', () => {
  for (const check of storageCompliance) {
    it(check.name, async () => {
      await check.run(async () => new MemoryStorageAdapter())
    })
  }

  it('runs every check of the suite (the list is not empty)', () => {
    expect(storageCompliance.length).toBeGreaterThanOrEqual(15)
    expect(new Set(storageCompliance.map((c) => c.name)).size).toBe(storageCompliance.length)
  })
})

describe('MemoryStorageAdapter quota', () => {
  it('rejects a save over the quota with StorageQuotaError and changes nothing', async () => {
    const storage = new MemoryStorageAdapter({ quotaBytes: 10 })
    await storage.save(['a'], new Uint8Array(6))
    await storage.save(['b'], bytes(1, 2, 3))
    await expect(storage.save(['c'], new Uint8Array(2))).rejects.toMatchObject({ name: 'StorageQuotaError' })
    // An overwrite that grows past the quota leaves the old value in place.
    await expect(storage.save(['b'], new Uint8Array(5))).rejects.toMatchObject({ name: 'StorageQuotaError' })
    expect(await storage.load(['c'])).toBeUndefined()
    expect(await storage.load(['b'])).toEqual(bytes(1, 2, 3))
    expect(await storage.estimate()).toEqual({ usage: 9, quota: 10 })
    // Exactly at the quota is allowed.
    await storage.save(['c'], new Uint8Array(1))
    expect(await storage.estimate()).toEqual({ usage: 10, quota: 10 })
  })

  it('rejects a batch that would end over the quota (even if it frees space first), applying none', async () => {
    const storage = new MemoryStorageAdapter({ quotaBytes: 10 })
    await storage.save(['old', '1'], new Uint8Array(4))
    await storage.save(['old', '2'], new Uint8Array(4))
    const before = await storage.loadRange([])
    await expect(
      storage.batch([
        { type: 'removeRange', prefix: ['old'] },
        { type: 'save', key: ['snapshot'], data: new Uint8Array(11) },
      ]),
    ).rejects.toMatchObject({ name: 'StorageQuotaError' })
    expect(await storage.loadRange([])).toEqual(before)
    expect((await storage.estimate()).usage).toBe(8)
  })

  it('counts freed space within a batch, so compaction fits where the saves alone would not', async () => {
    const storage = new MemoryStorageAdapter({ quotaBytes: 10 })
    await storage.save(['old', '1'], new Uint8Array(4))
    await storage.save(['old', '2'], new Uint8Array(4))
    await storage.batch([
      { type: 'save', key: ['snapshot'], data: new Uint8Array(6) },
      { type: 'removeRange', prefix: ['old'] },
    ])
    expect((await storage.loadRange([])).map((e) => e.key)).toEqual([['snapshot']])
    expect(await storage.estimate()).toEqual({ usage: 6, quota: 10 })
  })

  it('frees quota on remove and removeRange', async () => {
    const storage = new MemoryStorageAdapter({ quotaBytes: 8 })
    await storage.save(['x', '1'], new Uint8Array(4))
    await storage.save(['x', '2'], new Uint8Array(4))
    await storage.remove(['x', '1'])
    await storage.save(['y'], new Uint8Array(4))
    await storage.removeRange(['x'])
    await storage.save(['z'], new Uint8Array(4))
    expect(await storage.estimate()).toEqual({ usage: 8, quota: 8 })
  })

  it('has no quota by default', async () => {
    const storage = new MemoryStorageAdapter()
    await storage.save(['big'], new Uint8Array(4 * 1024 * 1024))
    expect(await storage.estimate()).toEqual({ usage: 4 * 1024 * 1024, quota: Number.POSITIVE_INFINITY })
  })

  it('rejects an invalid quota', () => {
    expect(() => new MemoryStorageAdapter({ quotaBytes: -1 })).toThrow(/quotaBytes/)
    expect(() => new MemoryStorageAdapter({ quotaBytes: Number.NaN })).toThrow(/quotaBytes/)
  })
})

describe('MemoryStorageAdapter in Node', () => {
  it('copies a Node Buffer on save (Buffer#slice would share its memory)', async () => {
    const storage = new MemoryStorageAdapter()
    const buffer = Buffer.from([1, 2, 3, 4])
    await storage.save(['k'], buffer.subarray(1, 3))
    buffer.fill(0)
    const loaded = await storage.load(['k'])
    expect(loaded).toEqual(bytes(2, 3))
    expect(Object.getPrototypeOf(loaded)).toBe(Uint8Array.prototype)
  })

  it('reports kind memory and rejects estimate after close', async () => {
    const storage = new MemoryStorageAdapter()
    expect(storage.kind).toBe('memory')
    await storage.close()
    await expect(storage.estimate()).rejects.toMatchObject({ name: 'StorageError' })
  })
})
