/**
 * The peer side of `/synod/rendezvous/1`: for one room, registers with every relay we are connected to, announcing
 * the circuit addresses through which others can reach us, and reports the room's other members as the relay sees
 * them. Re-registers whenever our addresses change (a new reservation) or the relay comes back.
 */
import type { Multiaddr } from '@multiformats/multiaddr'
import { WebRTC } from '@multiformats/multiaddr-matcher'
import { Emitter } from '../../events.js'
import type { MetricsRegistry } from '../../metrics/index.js'
import type { Random } from '../../runtime/index.js'
import { Backoff } from '../backoff.js'
import type { SynodLibp2p } from '../create-node.js'
import { FramedStream } from '../framed-stream.js'
import type { RelayConnector } from '../relay-connector.js'
import { sleep } from '../sleep.js'
import { decodeRendezvous, encodeRendezvous, RENDEZVOUS_LIMITS, RENDEZVOUS_PROTOCOL, roomKey } from './messages.js'

export interface RoomDiscoveryEvents extends Record<string, unknown> {
  /** A member of the room, with the addresses it announced (possibly none yet). Repeats when they change. */
  'peer:discovered': { readonly id: string; readonly addrs: readonly string[] }
  /** The relay saw the member's registration end. It may still be connected to us directly. */
  'peer:gone': { readonly id: string }
  /** Registered with a relay (the first list of members arrived). */
  'registered': { readonly relay: string }
}

/** Our addresses that another browser can dial for a WebRTC connection signalled through a relay. */
export function dialableAddresses(node: SynodLibp2p): string[] {
  return node
    .getMultiaddrs()
    .filter((a) => WebRTC.matches(a))
    .map((a) => a.toString())
    .sort()
}

export class RoomDiscovery extends Emitter<RoomDiscoveryEvents> {
  private readonly abort = new AbortController()
  private readonly sessions = new Set<string>()
  /** The room's other members as the relays list their registrations; null until a relay has sent its list. */
  private listed: Set<string> | null = null
  private unsubscribe: (() => void) | undefined

  constructor(
    private readonly node: SynodLibp2p,
    private readonly relays: RelayConnector,
    private readonly roomId: string,
    private readonly options: { readonly random: Random; readonly metrics: MetricsRegistry },
  ) {
    super()
  }

  start(): void {
    if (this.unsubscribe !== undefined) return
    this.unsubscribe = this.relays.on('relay:connect', ({ addr }) => this.open(addr))
    for (const addr of this.relays.relays.values()) this.open(addr)
  }

  /**
   * The room's other members that a relay lists as registered (heard from or not), or null before any relay has sent
   * its list: until then we do not know who else is in the room.
   */
  listedPeers(): ReadonlySet<string> | null {
    return this.listed
  }

  stop(): void {
    this.unsubscribe?.()
    this.abort.abort()
  }

  private open(relayAddr: Multiaddr): void {
    const key = relayAddr.toString()
    if (this.sessions.has(key) || this.abort.signal.aborted) return
    this.sessions.add(key)
    void this.session(relayAddr).finally(() => this.sessions.delete(key))
  }

  /** One registration with one relay, retried while that relay stays connected. */
  private async session(relayAddr: Multiaddr): Promise<void> {
    const signal = this.abort.signal
    const backoff = new Backoff({ initialMs: 200, maxMs: 10_000, random: this.options.random })
    const room = await roomKey(this.roomId)
    while (!signal.aborted && [...this.relays.relays.values()].some((a) => a.equals(relayAddr))) {
      try {
        await this.registerAndListen(relayAddr, room, signal)
        backoff.reset()
      } catch {
        this.options.metrics.counter('rendezvous.failures').inc()
      }
      await sleep(backoff.next(), signal).catch(() => {})
    }
  }

  private async registerAndListen(relayAddr: Multiaddr, room: string, signal: AbortSignal): Promise<void> {
    const stream = await this.node.dialProtocol(relayAddr, RENDEZVOUS_PROTOCOL, { signal })
    const framed = new FramedStream(stream, { maxFrameBytes: RENDEZVOUS_LIMITS.maxFrameBytes, maxQueuedFrames: 16 })
    let announced = ''
    const announce = (): void => {
      const addrs = dialableAddresses(this.node)
      const text = addrs.join(' ')
      if (text === announced) return
      announced = text
      framed.write(encodeRendezvous({ type: 'register', room, addrs })).catch(() => {})
    }
    // A new reservation shows up in our addresses before libp2p's debounced self:peer:update: listen to both.
    const events = ['transport:listening', 'transport:close', 'self:peer:update'] as const
    for (const e of events) this.node.addEventListener(e, announce)
    const onAbort = (): void => framed.abort(new Error('room discovery stopped'))
    signal.addEventListener('abort', onAbort)
    try {
      // Register at once, even before our own reservation exists: we learn of the others and can dial them.
      announced = dialableAddresses(this.node).join(' ')
      await framed.write(encodeRendezvous({ type: 'register', room, addrs: dialableAddresses(this.node) }))
      for (;;) {
        const frame = await framed.read(signal)
        if (frame === null) return
        const msg = decodeRendezvous(frame)
        switch (msg.type) {
          case 'peers':
            this.listed ??= new Set()
            this.emit('registered', { relay: relayAddr.toString() })
            for (const p of msg.peers) this.discovered(p.id, p.addrs)
            break
          case 'joined':
            this.discovered(msg.peer.id, msg.peer.addrs)
            break
          case 'left':
            this.listed?.delete(msg.id)
            this.emit('peer:gone', { id: msg.id })
            break
          case 'register':
            // Only peers register; a relay that sends this is broken. End the session and retry.
            return
        }
      }
    } finally {
      for (const e of events) this.node.removeEventListener(e, announce)
      signal.removeEventListener('abort', onAbort)
      await framed.close()
    }
  }

  private discovered(id: string, addrs: readonly string[]): void {
    if (id !== this.node.peerId.toString()) this.listed?.add(id)
    this.emit('peer:discovered', { id, addrs })
  }
}
