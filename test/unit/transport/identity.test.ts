import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { MemoryStorageAdapter } from '../../../src/storage/memory.js'
import { loadIdentity } from '../../../src/transport/identity.js'

describe('stored identity', () => {
  it('gives the same peer id again from the same storage, and a different one from other storage', async () => {
    const storage = new MemoryStorageAdapter()
    const first = peerIdFromPrivateKey((await loadIdentity(storage)).privateKey).toString()
    const again = peerIdFromPrivateKey((await loadIdentity(storage)).privateKey).toString()
    const other = peerIdFromPrivateKey((await loadIdentity(new MemoryStorageAdapter())).privateKey).toString()
    expect(again).toBe(first)
    expect(other).not.toBe(first)
  })

  it('replaces a corrupt stored key instead of failing', async () => {
    const storage = new MemoryStorageAdapter()
    await storage.save(['identity', '0'], new Uint8Array([1, 2, 3]))
    const id = await loadIdentity(storage)
    expect(peerIdFromPrivateKey(id.privateKey).toString()).toMatch(/^12D3Koo/)
    expect(await storage.load(['identity', '0'])).not.toEqual(new Uint8Array([1, 2, 3]))
  })
})
