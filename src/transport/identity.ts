/**
 * A peer identity that survives reloads: the Ed25519 key behind the peer id is kept in the peer's storage, so a
 * reloaded page is the same peer (a super-peer finds its Raft state again, other members recognise it). Tabs of one
 * browser profile share IndexedDB, so each open tab claims a slot with the Web Locks API and uses that slot's key;
 * a slot is released when its tab closes (or the peer closes), and a reload takes the first free slot again.
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import type { StorageAdapter } from '../storage/adapter.js'

export interface Identity {
  readonly privateKey: PrivateKey
  /** Which stored identity this is (-1: none could be claimed, a fresh key that is not kept). */
  readonly slot: number
  /** Frees the slot for another tab. Idempotent. */
  release(): void
}

interface LockManagerLike {
  request(name: string, options: { ifAvailable: boolean }, callback: (lock: unknown) => Promise<void>): Promise<void>
}

const MAX_SLOTS = 16

export async function loadIdentity(storage: StorageAdapter): Promise<Identity> {
  const locks = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks
  if (locks === undefined) {
    // No concurrent tabs to tell apart (Node): one identity per storage.
    return { privateKey: await keyInSlot(storage, 0), slot: 0, release: () => undefined }
  }
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    const release = await claim(locks, `synod-identity-${slot}`)
    if (release === null) continue
    try {
      return { privateKey: await keyInSlot(storage, slot), slot, release }
    } catch (err) {
      release()
      throw err
    }
  }
  return { privateKey: await generateKeyPair('Ed25519'), slot: -1, release: () => undefined }
}

/** Holds the named lock until the returned function is called; null when another tab holds it. */
async function claim(locks: LockManagerLike, name: string): Promise<(() => void) | null> {
  let release: (() => void) | null = null
  let granted: (held: boolean) => void = () => undefined
  const decided = new Promise<boolean>((resolve) => (granted = resolve))
  void locks.request(name, { ifAvailable: true }, async (lock) => {
    if (lock === null) {
      granted(false)
      return
    }
    await new Promise<void>((resolve) => {
      release = resolve
      granted(true)
    })
  })
  return (await decided) ? release : null
}

async function keyInSlot(storage: StorageAdapter, slot: number): Promise<PrivateKey> {
  const key = ['identity', String(slot)]
  const stored = await storage.load(key)
  if (stored !== undefined) {
    try {
      return privateKeyFromProtobuf(stored)
    } catch {
      // A corrupt key is replaced: the peer gets a new identity rather than failing to start.
    }
  }
  const fresh = await generateKeyPair('Ed25519')
  await storage.save(key, privateKeyToProtobuf(fresh))
  return fresh
}
