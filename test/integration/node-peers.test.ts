// Peers in Node (WebRTC through node-datachannel) against a real relay in the same process: they meet through the
// relay's rendezvous, connect directly, share presence, stay apart from other rooms, and survive a peer that sends
// garbage on the room topic.
import { describe, expect, it } from 'vitest'
import { createPeer, type Peer, type Room } from '../../src/index.js'
import { encodeRoomMessage } from '../../src/membership/room-messages.js'
import { MetricsRegistry } from '../../src/metrics/index.js'
import type { Relay } from '../../src/node/relay.js'
import { useCleanups } from '../support/cleanups.js'
import { realRandom } from '../../src/runtime/index.js'
import { createSynodLibp2p, type SynodLibp2p } from '../../src/transport/create-node.js'
import { PeerDialer } from '../../src/transport/peer-dialer.js'
import { parseBootstrap, RelayConnector } from '../../src/transport/relay-connector.js'
import { RoomDiscovery } from '../../src/transport/rendezvous/client.js'

const cleanups = useCleanups()
const relay = async (): Promise<Relay> => cleanups.relay()

async function peer(r: Relay, name: string): Promise<Peer> {
  const p = await createPeer({ bootstrap: r.multiaddrs, name, storage: 'memory' })
  cleanups.add(async () => p.close())
  return p
}

/** Resolves when `check` holds, re-checking on every room event (no fixed sleeps). */
async function until(room: Room, check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  if (check()) return
  await new Promise<void>((resolve, reject) => {
    const offs: Array<() => void> = []
    const done = (err?: Error): void => {
      clearTimeout(timer)
      for (const off of offs) off()
      if (err === undefined) resolve()
      else reject(err)
    }
    const timer = setTimeout(() => done(new Error(`timed out waiting for ${what}`)), timeoutMs)
    const test = (): void => {
      if (check()) done()
    }
    for (const e of ['member:join', 'member:update', 'member:leave'] as const) offs.push(room.on(e, test))
    offs.push(room.presence.on('change', test))
  })
}

describe('Node peers through a real relay', () => {
  it('meet, connect directly, share presence and stay out of other rooms', async () => {
    const r = await relay()
    const [a, b, c] = await Promise.all([peer(r, 'a'), peer(r, 'b'), peer(r, 'c')])
    const [ra, rb, rc] = await Promise.all([a.join('alpha'), b.join('alpha'), c.join('beta')])

    await until(ra, () => ra.members().some((m) => m.id === b.id && m.direct), 'a to see b directly')
    await until(rb, () => rb.members().some((m) => m.id === a.id && m.direct), 'b to see a directly')
    expect(ra.members().map((m) => m.name)).toEqual(['b'])
    expect(a.status).toBe('online')

    ra.presence.set({ cursor: 3 })
    await until(rb, () => rb.presence.get(a.id) !== undefined, 'presence to reach b')
    expect(rb.presence.get(a.id)).toEqual({ cursor: 3 })
    expect(ra.presence.get(a.id)).toEqual({ cursor: 3 })

    expect(rc.members()).toEqual([])
    expect(rc.presence.get(a.id)).toBeUndefined()
    expect(r.stats().rooms).toBe(2)

    await ra.leave()
    await until(rb, () => rb.members().length === 0, 'b to see a leave')
    expect(rb.presence.get(a.id)).toBeUndefined()
    await expect(async () => ra.presence.set(1)).rejects.toMatchObject({ name: 'RoomClosedError' })
  })

  it('rejects and counts malformed room messages from a misbehaving peer without disturbing the room', async () => {
    const r = await relay()
    const honest = await peer(r, 'honest')
    const room = await honest.join('gamma')

    // A rogue built from the same transport parts, speaking garbage on the room topic.
    const metrics = new MetricsRegistry()
    const rogue: SynodLibp2p = await createSynodLibp2p({ iceServers: [], allowPrivateAddresses: true, dialTimeoutMs: 5000 })
    const relays = new RelayConnector(rogue, parseBootstrap(r.multiaddrs), {
      initialBackoffMs: 100,
      maxBackoffMs: 1000,
      dialTimeoutMs: 5000,
      random: realRandom,
      metrics,
    })
    const dialer = new PeerDialer(rogue, {
      dialTimeoutMs: 5000,
      initialBackoffMs: 100,
      maxBackoffMs: 1000,
      yieldMs: 0,
      random: realRandom,
      metrics,
    })
    const discovery = new RoomDiscovery(rogue, relays, 'gamma', { random: realRandom, metrics })
    discovery.on('peer:discovered', ({ id, addrs }) => dialer.want(id, addrs, 'gamma'))
    cleanups.add(async () => {
      discovery.stop()
      dialer.stop()
      relays.stop()
      await rogue.stop()
    })
    relays.start()
    discovery.start()
    const topic = 'synod/gamma/room/1'
    rogue.services.pubsub.subscribe(topic)
    await new Promise<void>((resolve) => {
      const off = dialer.on('direct:open', ({ peer: id }) => {
        if (id === honest.id) {
          off()
          resolve()
        }
      })
    })
    // Once gossipsub knows the honest peer subscribes, send: an oversized presence value, bad JSON, junk.
    await new Promise<void>((resolve) => {
      const subscribed = (): boolean => rogue.services.pubsub.getSubscribers(topic).some((p) => p.toString() === honest.id)
      if (subscribed()) resolve()
      rogue.services.pubsub.addEventListener('subscription-change', () => {
        if (subscribed()) resolve()
      })
    })
    const oversized = encodeRoomMessage({ type: 'presence', incarnation: 1, version: 1, json: JSON.stringify('x'.repeat(20_000)) })
    const badJson = encodeRoomMessage({ type: 'presence', incarnation: 1, version: 2, json: '{not json' })
    const done = (): boolean => {
      const counters = room.stats().metrics.counters
      return (counters['presence.rejected'] ?? 0) >= 2 && (counters['room.rejected'] ?? 0) >= 1
    }
    // gossipsub may drop a publish while its outbound stream to the honest peer is still opening (under load), so
    // send the three bad messages again until they have arrived. Rejections raise no event: poll the counters.
    for (let round = 0; round < 40 && !done(); round++) {
      for (const data of [oversized, badJson, new Uint8Array([99, 1, 2, 3])]) {
        await rogue.services.pubsub.publish(topic, data)
      }
      for (let i = 0; i < 20 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 25))
    }
    const counters = room.stats().metrics.counters
    expect(counters['presence.rejected']).toBeGreaterThanOrEqual(2) // the oversized value and the bad JSON
    expect(counters['room.rejected']).toBeGreaterThanOrEqual(1) // the unknown message type
    expect(room.presence.get(rogue.peerId.toString())).toBeUndefined()
    // The honest peer is unharmed: it still works and still accepts valid messages from the same sender.
    room.presence.set({ ok: true })
    expect(room.presence.get(honest.id)).toEqual({ ok: true })
  })
})
