// The SWIM failure detector between Node peers through a real relay: a peer cut off the network is suspected, then
// declared dead, and comes back alive (refuting with a higher incarnation) when it reconnects; a goodbye removes a
// member at once; a forged membership message (another member declared dead at an incarnation it cannot have) is
// rejected, leaves the member alive, and lowers the forger's gossipsub score.
import { describe, expect, it } from 'vitest'
import { createPeer, type Peer, type Room } from '../../src/index.js'
import { createRaftTransport } from '../../src/consensus/raft/libp2p-transport.js'
import { decodeRoomMessage, encodeRoomMessage } from '../../src/membership/room-messages.js'
import { encodeSwimMessage, SWIM_PROTOCOL } from '../../src/membership/swim/codec.js'
import { swimMemberId } from '../../src/membership/swim/driver.js'
import { MetricsRegistry } from '../../src/metrics/index.js'
import { realRandom } from '../../src/runtime/index.js'
import { createSynodLibp2p, type SynodLibp2p } from '../../src/transport/create-node.js'
import { PeerDialer } from '../../src/transport/peer-dialer.js'
import { parseBootstrap, RelayConnector } from '../../src/transport/relay-connector.js'
import { RoomDiscovery } from '../../src/transport/rendezvous/client.js'
import { Writer } from '../../src/transport/wire.js'
import { useCleanups } from '../support/cleanups.js'
import { waitFor } from '../support/wait.js'

const cleanups = useCleanups()
const FAST = { membership: { periodMs: 200 }, ordering: { bootstrapDelayMs: 600_000 } }

async function peer(bootstrap: string[], name: string): Promise<Peer> {
  const p = await createPeer({ bootstrap, name, storage: 'memory' })
  cleanups.add(async () => p.close())
  return p
}


const stateOf = (room: Room, id: string): string | undefined => room.members().find((m) => m.id === id)?.state

describe('membership between Node peers', () => {
  it('a peer cut off is suspected, then dead, and alive again once back; a goodbye removes at once', async () => {
    const r = await cleanups.relay()
    const peers = await Promise.all(['a', 'b', 'c'].map((n) => peer(r.multiaddrs, n)))
    const rooms = await Promise.all(peers.map((p) => p.join('swim', FAST)))
    const [a, b, c] = peers as [Peer, Peer, Peer]
    const [ra, rb, rc] = rooms as [Room, Room, Room]
    await waitFor(() => rooms.every((room) => room.members().length === 2 && room.members().every((m) => m.state === 'alive')), 'everyone alive')
    // Heartbeats list a member at once; the detector watches it only once its join exchange with it has completed
    // (retried with each heartbeat). A member cut off before that is dropped by the fallback timeout instead
    // (a leave, state `dead`, without suspicion), which is not what this test is about. On a loaded machine the
    // exchange can lag the heartbeats by seconds.
    await waitFor(() => rooms.every((room) => room.stats().membership.detector?.members.alive === 2), 'every detector to watch the two others')
    const seen: string[] = ['alive']
    ra.on('member:update', (m) => {
      if (m.id === c.id && m.state !== seen.at(-1)) seen.push(m.state)
    })
    // b's view is recorded as it happens too: a and b may declare c dead seconds apart, and by the time the second
    // does, the first may have dropped c's row (dead retention), so "both show dead at once" may never hold.
    const seenByB: string[] = []
    rb.on('member:update', (m) => {
      if (m.id === c.id) seenByB.push(m.state)
    })
    ra.on('member:leave', (m) => m.id === c.id && seen.push(`leave:${m.state}`))
    rb.on('member:leave', (m) => m.id === c.id && seenByB.push(`leave:${m.state}`))

    await c.goOffline()
    await waitFor(() => seen.includes('dead') && seenByB.includes('dead'), 'c declared dead', 20_000).catch((err: Error) => {
      throw new Error(`${err.message}: a saw ${seen.join(',')}, b saw ${seenByB.join(',')}; c has ${c.isOffline ? 'gone offline' : 'online'} with ${rc.members().length} members`)
    })
    // Suspected first, as SWIM does, then dead (a loaded machine may add a refuted suspicion before the cut-off).
    expect(seen.indexOf('suspect')).toBeGreaterThan(0)
    expect(seen.indexOf('suspect')).toBeLessThan(seen.indexOf('dead'))
    expect(seen.at(-1)).toBe('dead')
    expect(ra.stats().metrics.counters['membership.declared_dead']).toBeGreaterThanOrEqual(1)
    // The election no longer counts it, and b is still alive everywhere.
    expect(stateOf(ra, b.id)).toBe('alive')

    c.goOnline()
    await waitFor(() => stateOf(ra, c.id) === 'alive' && stateOf(rb, c.id) === 'alive', 'c alive again', 30_000)
    await waitFor(() => stateOf(rc, a.id) === 'alive' && stateOf(rc, b.id) === 'alive', 'c to see the others alive', 30_000)
    expect(rc.stats().membership.detector?.incarnation).toBeGreaterThan(0) // it refuted

    const left = new Promise<string>((resolve) => rb.on('member:leave', (m) => m.id === a.id && resolve(m.state)))
    await ra.leave()
    expect(await left).toBe('left')
  }, 90_000)

  it('rejects a forged death of another member and scores it against the sender', async () => {
    const r = await cleanups.relay()
    const [honest, victim] = await Promise.all([peer(r.multiaddrs, 'honest'), peer(r.multiaddrs, 'victim')])
    const room = await honest.join('forge', FAST)
    const victimRoom = await victim.join('forge', FAST)
    await waitFor(() => room.members().some((m) => m.id === victim.id && m.state === 'alive'), 'the victim to be alive')

    // A rogue built from the same transport parts: it joins the room topic, learns the sessions from heartbeats.
    const metrics = new MetricsRegistry()
    const rogue: SynodLibp2p = await createSynodLibp2p({ iceServers: [], allowPrivateAddresses: true, dialTimeoutMs: 5000 })
    const relays = new RelayConnector(rogue, parseBootstrap(r.multiaddrs), { initialBackoffMs: 100, maxBackoffMs: 1000, dialTimeoutMs: 5000, random: realRandom, metrics })
    const dialer = new PeerDialer(rogue, { dialTimeoutMs: 5000, initialBackoffMs: 100, maxBackoffMs: 1000, yieldMs: 0, random: realRandom, metrics })
    const discovery = new RoomDiscovery(rogue, relays, 'forge', { random: realRandom, metrics })
    discovery.on('peer:discovered', ({ id, addrs }) => dialer.want(id, addrs, 'forge'))
    const swim = createRaftTransport({ node: rogue, group: 'forge/swim', protocol: SWIM_PROTOCOL, metrics })
    cleanups.add(async () => {
      swim.close()
      discovery.stop()
      dialer.stop()
      relays.stop()
      await rogue.stop()
    })
    const sessions = new Map<string, number>()
    rogue.services.pubsub.addEventListener('message', (evt) => {
      const msg = evt.detail
      if (msg.type !== 'signed' || msg.topic !== 'synod/forge/room/1') return
      const decoded = decodeRoomMessage(msg.data)
      if (decoded.type === 'heartbeat') sessions.set(msg.from.toString(), decoded.incarnation)
    })
    relays.start()
    discovery.start()
    rogue.services.pubsub.subscribe('synod/forge/room/1')
    // It says hello like a member, so that it shows in the honest peer's topology (with its score).
    const hello = encodeRoomMessage({
      type: 'heartbeat',
      incarnation: 1,
      name: 'rogue',
      presenceVersion: 0,
      ordering: { capability: 'never', role: 'peer', term: 0, directPeers: 0, group: '' },
      links: [],
    })
    await waitFor(() => {
      void rogue.services.pubsub.publish('synod/forge/room/1', hello).catch(() => undefined)
      return sessions.has(honest.id) && sessions.has(victim.id) && room.members().some((m) => m.id === rogue.peerId.toString())
    }, 'the rogue to learn the sessions and be seen')
    const honestSession = sessions.get(honest.id) as number
    const victimSession = sessions.get(victim.id) as number
    const before = room.topology().nodes.find((n) => n.id === rogue.peerId.toString())?.score ?? 0

    // "The victim is dead at incarnation 1000": it has never been past 1 or 2, so nobody honest can have seen that.
    const forged = encodeSwimMessage({
      type: 'ping',
      seq: 1,
      updates: [{ id: swimMemberId(victim.id, victimSession), state: 'dead', incarnation: 1000, from: swimMemberId(rogue.peerId.toString(), 1) }],
    })
    const frame = new Writer().varuint(1).varuint(honestSession).bytes(forged).finish()
    await waitFor(() => {
      swim.send(honest.id, frame)
      return (room.stats().metrics.counters['membership.rejected'] ?? 0) >= 3
    }, 'the forgeries to be rejected', 20_000)
    expect(room.stats().metrics.counters['swim.forged.incarnationTooHigh']).toBeGreaterThanOrEqual(3)
    // The victim stays alive, here and on its own side.
    expect(stateOf(room, victim.id)).toBe('alive')
    expect(victimRoom.stats().membership.detector?.incarnation).toBeLessThan(1000)
    // gossipsub's score of the forger dropped (a behaviour penalty per rejection). The penalty decays to a fifth each
    // second, so on a loaded machine the first ones may be gone by now: the rogue keeps forging while we look.
    await waitFor(() => {
      swim.send(honest.id, frame)
      return (room.topology().nodes.find((n) => n.id === rogue.peerId.toString())?.score ?? 0) < before
    }, 'the score to drop', 5000)
  }, 90_000)
})
