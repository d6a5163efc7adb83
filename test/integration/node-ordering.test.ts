// The ordered log and locks between Node peers through a real relay: a founder bootstraps the room's Raft group, the
// quorum manager brings it to three super-peers, and every peer (super or not) sees the same entries in the same order.
import { describe, expect, it } from 'vitest'
import { createPeer, type LockBusyError, type LockHolder, type Peer, type Room } from '../../src/index.js'
import { useCleanups } from '../support/cleanups.js'
import { waitFor } from '../support/wait.js'

const cleanups = useCleanups()

async function peer(bootstrap: string[], name: string, superPeer: 'never' | 'auto' | 'prefer' = 'auto'): Promise<Peer> {
  const p = await createPeer({ bootstrap, name, superPeer })
  cleanups.add(async () => p.close())
  return p
}


const FAST = { ordering: { bootstrapDelayMs: 1000, quorumIntervalMs: 200, tickMs: 50 } }

describe('ordering between Node peers', () => {
  it('elects super-peers and delivers one order of appends to every peer', async () => {
    const r = await cleanups.relay()
    const peers = await Promise.all(['a', 'b', 'c', 'd'].map((n, i) => peer(r.multiaddrs, n, i === 3 ? 'never' : 'auto')))
    const rooms: Room[] = await Promise.all(peers.map((p) => p.join('order', FAST)))
    await waitFor(() => rooms.every((room) => room.members().length === 3), 'everyone to meet')
    await waitFor(
      () => rooms.some((room) => room.stats().ordering.superPeers.filter((s) => s.role !== 'learner').length === 3),
      'three super-peers',
    )
    const logs = rooms.map((room) => room.log<string>('moves'))
    const seen = logs.map(() => [] as string[])
    logs.forEach((log, i) => log.on('entry', (e) => seen[i]?.push(e.value)))
    const acks = await Promise.all(
      logs.flatMap((log, i) => Array.from({ length: 10 }, (_, k) => log.append(`${i}-${k}`).then((a) => ({ ...a, v: `${i}-${k}` })))),
    )
    await waitFor(() => seen.every((s) => s.length === 40), 'every peer to see 40 entries')
    const reference = seen[0] as string[]
    expect(new Set(reference).size).toBe(40)
    for (const s of seen) expect(s).toEqual(reference)
    for (const a of acks) expect(reference[a.index - 1]).toBe(a.v)
    // The peer that may never serve is not a super-peer; the others know their roles.
    // The leader's stats: three super-peers in its term, caught up (lag 0) once the appends are in.
    const leaderRoom = rooms.find((room) => room.stats().ordering.role === 'leader') as Room
    await waitFor(() => {
      const o = leaderRoom.stats().ordering
      return o.superPeers.length === 3 && o.superPeers.every((sp) => sp.term === o.term && sp.lag === 0)
    }, 'the leader to see three caught-up super-peers in its term')
    expect(leaderRoom.stats().ordering.health).toMatchObject({ voters: 3, degraded: false })
    // Roles travel in heartbeats: the peer that may not serve sees the three others as super-peers, one as leader.
    const never = rooms[3] as Room
    // (Both at once: right after the first heartbeats, three super-peers may show before the leader's says 'leader'.)
    await waitFor(
      () => never.members().filter((m) => m.role !== 'peer').length === 3 && never.members().filter((m) => m.role === 'leader').length === 1,
      'roles in heartbeats',
    )
    expect(never.stats().ordering.role).toBe('peer')
  }, 90_000)

  it('a super-peer swapped out for a better candidate learns it was removed and serves no more', async () => {
    const r = await cleanups.relay()
    const first = await Promise.all(['a', 'b', 'c'].map((n) => peer(r.multiaddrs, n)))
    const rooms = await Promise.all(first.map((p) => p.join('swap', FAST)))
    await waitFor(() => rooms.filter((room) => room.stats().ordering.role !== 'peer').length === 3, 'three super-peers')
    // A peer that prefers to serve outranks the auto ones: the quorum manager adds it and removes the newest auto voter.
    const preferred = await peer(r.multiaddrs, 'p', 'prefer')
    rooms.push(await preferred.join('swap', FAST))
    await waitFor(() => rooms[3]?.stats().ordering.role !== 'peer', 'the preferred peer to become a super-peer', 45_000)
    await waitFor(() => rooms.filter((room) => room.stats().ordering.role !== 'peer').length === 3, 'back to three super-peers', 45_000)
    // It learned either from the leader's heartbeat (`ordering.removed`) or, when the removal reached its log before
    // the leader stopped replicating to it, from its own configuration.
    const removed = rooms.find((room) => room.stats().ordering.role === 'peer') as Room
    // It still follows the log like any other peer.
    const { index } = await removed.log<string>('l').append('after removal')
    await waitFor(() => rooms.every((room) => room.log<string>('l').length >= 1), 'every peer to see the append').catch((err: Error) => {
      const views = rooms.map((room, i) => {
        const o = room.stats().ordering
        return `${i}: log ${room.log<string>('l').length}, ${o.role}, leader ${o.leader?.slice(-6) ?? '-'}, applied ${o.appliedIndex}/${o.commitIndex}, members ${room.members().map((m) => `${m.id.slice(-6)}:${m.role}/${m.state}`).join(' ')}`
      })
      throw new Error(`${err.message} (index ${index}): ${views.join('; ')}`)
    })
    for (const room of rooms) expect(room.log<string>('l').entries({ from: index })[0]?.value).toBe('after removal')
  }, 120_000)

  it('works with fewer peers than the target, with one super-peer, and says so in stats', async () => {
    const r = await cleanups.relay()
    const peers = await Promise.all(['a', 'b'].map((n) => peer(r.multiaddrs, n)))
    const rooms = await Promise.all(peers.map((p) => p.join('small', FAST)))
    await waitFor(() => rooms.every((room) => room.members().length === 1), 'both to meet')
    const acks = await Promise.all(rooms.map((room, i) => room.log<string>('l').append(`from ${i}`)))
    expect(acks.map((a) => a.index).sort()).toEqual([1, 2])
    const leader = rooms.find((room) => room.stats().ordering.role === 'leader') as Room
    expect(leader.stats().ordering.health).toMatchObject({ voters: 1, degraded: true, reason: 'fewEligible' })
  }, 60_000)

  it('grants a lock to one peer at a time with increasing tokens', async () => {
    const r = await cleanups.relay()
    const peers = await Promise.all(['a', 'b', 'c'].map((n) => peer(r.multiaddrs, n)))
    const rooms = await Promise.all(peers.map((p) => p.join('locks', FAST)))
    await waitFor(() => rooms.every((room) => room.members().length === 2), 'everyone to meet')
    const [la, lb] = [rooms[0]?.lock('editor'), rooms[1]?.lock('editor')]
    if (la === undefined || lb === undefined) throw new Error('no lock')
    const ga = await la.acquire({ ttlMs: 60_000 })
    let bGranted = false
    const pb = lb.acquire({ ttlMs: 60_000 }).then((g) => {
      bGranted = true
      return g
    })
    await new Promise((res) => setTimeout(res, 500))
    expect(bGranted).toBe(false)
    await la.release()
    const gb = await pb
    expect(gb.token).toBeGreaterThan(ga.token)
    await lb.release()

    // Try-lock on the same rooms: holder(), on('change') and acquire({ wait: false }) with LockBusyError.
    const [ca, cb] = [rooms[0]?.lock('card'), rooms[1]?.lock('card')]
    if (ca === undefined || cb === undefined) throw new Error('no lock')
    const [idA, idB] = [peers[0]?.id, peers[1]?.id]
    const changes: (LockHolder | null)[] = []
    cb.on('change', (h) => changes.push(h))
    const gc = await ca.acquire({ ttlMs: 60_000, wait: false })
    const busy = await cb.acquire({ ttlMs: 60_000, wait: false }).then(
      () => undefined,
      (err: unknown) => err as LockBusyError,
    )
    expect(busy?.name).toBe('LockBusyError')
    expect(busy?.holder).toBe(idA)
    expect(busy?.expiresAtMs).toBe(gc.expiresAtMs)
    expect(cb.holder()).toEqual({ peer: idA, token: gc.token, expiresAtMs: gc.expiresAtMs, mine: false })
    await ca.release()
    await waitFor(() => changes.at(-1) === null, "b to see the card's lock freed")
    expect(cb.holder()).toBeNull()
    const gd = await cb.acquire({ ttlMs: 60_000, wait: false })
    expect(gd.token).toBeGreaterThan(gc.token)
    expect(cb.holder()).toMatchObject({ peer: idB, mine: true })
    await waitFor(() => ca.holder()?.peer === idB, 'a to see b holding the card')
  }, 90_000)
})
