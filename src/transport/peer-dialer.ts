/**
 * Keeps a direct WebRTC connection to every peer we are told to want, signalled through a relay. Failed or hung
 * dials are abandoned after a short timeout and retried with backoff and jitter. To avoid both sides dialling at once
 * (two connections, twice the handshakes), the peer with the smaller id dials first; the other waits a moment and
 * dials only if nothing arrived.
 */
import type { Connection, PeerId } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { WebRTC } from '@multiformats/multiaddr-matcher'
import { Emitter } from '../events.js'
import type { MetricsRegistry } from '../metrics/index.js'
import type { Random } from '../runtime/index.js'
import { Backoff } from './backoff.js'
import type { SynodLibp2p } from './create-node.js'
import { sleep } from './sleep.js'

export interface PeerDialerOptions {
  readonly dialTimeoutMs: number
  readonly initialBackoffMs: number
  readonly maxBackoffMs: number
  /** How long the peer with the larger id waits for the other to dial before dialling itself. */
  readonly yieldMs: number
  readonly random: Random
  readonly metrics: MetricsRegistry
}

export interface PeerDialerEvents extends Record<string, unknown> {
  'direct:open': { readonly peer: string }
  'direct:close': { readonly peer: string }
}

/** A connection is direct when it is not relayed (no limits) and runs over WebRTC. */
export function isDirectConnection(connection: Connection): boolean {
  return connection.limits == null && connection.status === 'open' && WebRTC.matches(connection.remoteAddr)
}

interface Want {
  addrs: Multiaddr[]
  /** Who wants this peer (room ids): the dial loop runs until the last one forgets it. */
  readonly owners: Set<string>
  readonly abort: AbortController
  /** Cuts the dial loop's current wait short: new addresses arrived. */
  wake: AbortController
}

export class PeerDialer extends Emitter<PeerDialerEvents> {
  private readonly wants = new Map<string, Want>()
  private readonly direct = new Set<string>()
  private readonly onOpen = (evt: CustomEvent<Connection>): void => this.refresh(evt.detail.remotePeer)
  private readonly onClose = (evt: CustomEvent<Connection>): void => this.refresh(evt.detail.remotePeer)
  /** Our own addresses changed (a relay reservation came or went): waiting dial loops re-evaluate. */
  private readonly onSelfUpdate = (): void => {
    for (const want of this.wants.values()) want.wake.abort()
  }
  private stopped = false

  constructor(
    private readonly node: SynodLibp2p,
    private readonly options: PeerDialerOptions,
  ) {
    super()
    node.addEventListener('connection:open', this.onOpen)
    node.addEventListener('connection:close', this.onClose)
    node.addEventListener('transport:listening', this.onSelfUpdate)
    node.addEventListener('self:peer:update', this.onSelfUpdate)
  }

  isDirect(peer: string): boolean {
    return this.direct.has(peer)
  }

  directPeers(): string[] {
    return [...this.direct]
  }

  /**
   * Makes sure we get (and keep) a direct connection to `peer`, dialling `addrs`, on behalf of `owner` (a room).
   * New addresses replace old ones.
   */
  want(peer: string, addrs: readonly string[], owner: string): void {
    if (this.stopped || peer === this.node.peerId.toString()) return
    const parsed = addrs.flatMap((a) => {
      try {
        return [multiaddr(a)]
      } catch {
        return []
      }
    })
    const existing = this.wants.get(peer)
    if (existing !== undefined) {
      existing.owners.add(owner)
      const changed = parsed.map(String).join(' ') !== existing.addrs.map(String).join(' ')
      if (parsed.length > 0 && changed) {
        existing.addrs = parsed
        existing.wake.abort()
      }
      return
    }
    const want: Want = { addrs: parsed, owners: new Set([owner]), abort: new AbortController(), wake: new AbortController() }
    this.wants.set(peer, want)
    void this.keepConnected(peer, want)
  }

  /** `owner` no longer needs `peer` (it left the room). An open connection is left to close on its own. */
  forget(peer: string, owner: string): void {
    const want = this.wants.get(peer)
    if (want === undefined) return
    want.owners.delete(owner)
    if (want.owners.size > 0) return
    want.abort.abort()
    this.wants.delete(peer)
  }

  /** Cuts every waiting dial loop's backoff short (the network is back). */
  wakeAll(): void {
    for (const want of this.wants.values()) want.wake.abort()
  }

  stop(): void {
    this.stopped = true
    for (const want of this.wants.values()) want.abort.abort()
    this.wants.clear()
    this.node.removeEventListener('connection:open', this.onOpen)
    this.node.removeEventListener('connection:close', this.onClose)
    this.node.removeEventListener('transport:listening', this.onSelfUpdate)
    this.node.removeEventListener('self:peer:update', this.onSelfUpdate)
  }

  private refresh(peerId: PeerId): void {
    const peer = peerId.toString()
    const now = this.node.getConnections(peerId).some(isDirectConnection)
    const before = this.direct.has(peer)
    if (now === before) return
    if (now) {
      this.direct.add(peer)
      this.emit('direct:open', { peer })
    } else {
      this.direct.delete(peer)
      // A dial loop that still wants this peer wakes on this event and dials again.
      this.emit('direct:close', { peer })
    }
  }

  private async keepConnected(peer: string, want: Want): Promise<void> {
    const signal = want.abort.signal
    const backoff = new Backoff({
      initialMs: this.options.initialBackoffMs,
      maxMs: this.options.maxBackoffMs,
      random: this.options.random,
    })
    // The smaller id dials; the larger waits for that dial, and dials itself only if none arrives within yieldMs
    // of our becoming dialable (or, if we never get a relay address, within a few yieldMs in all).
    const smaller = this.node.peerId.toString() < peer
    const giveUpWaitingAt = performance.now() + this.options.yieldMs * 4
    let yieldUntil = smaller ? 0 : Number.POSITIVE_INFINITY
    while (!signal.aborted) {
      if (this.direct.has(peer)) {
        await this.untilDirectCloses(peer, signal)
        continue
      }
      if (want.addrs.length === 0) {
        // Nothing to dial until the peer announces an address (its relay reservation); want() wakes us then.
        await this.pause(want, Number.POSITIVE_INFINITY)
        continue
      }
      if (yieldUntil === Number.POSITIVE_INFINITY && (this.isDialable() || performance.now() >= giveUpWaitingAt)) {
        yieldUntil = performance.now() + this.options.yieldMs * (1 + this.options.random.next())
      }
      const waitMs = Math.min(yieldUntil, giveUpWaitingAt + this.options.yieldMs) - performance.now()
      if (waitMs > 0) {
        // Woken early by address changes, we come back here and wait out the rest.
        await this.pause(want, waitMs)
        continue
      }
      if (this.isSignalling(peer)) {
        // The other side is dialling us right now (its relayed signalling connection is open): let it finish.
        await this.pause(want, this.options.yieldMs)
        if (this.direct.has(peer) || signal.aborted) continue
      }
      const started = performance.now()
      this.options.metrics.counter('dial.attempts').inc()
      try {
        const connection = await this.node.dial(want.addrs, {
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.dialTimeoutMs)]),
        })
        this.options.metrics.histogram('dial.webrtc_ms').record(performance.now() - started)
        backoff.reset()
        this.refresh(connection.remotePeer)
      } catch {
        if (signal.aborted) return
        this.options.metrics.counter('dial.failures').inc()
        await this.pause(want, backoff.next())
      }
    }
  }

  private isDialable(): boolean {
    return this.node.getMultiaddrs().some((a) => WebRTC.matches(a))
  }

  private isSignalling(peer: string): boolean {
    return this.node.getConnections().some((c) => c.remotePeer.toString() === peer && c.limits != null)
  }

  /** Waits `ms` (forever if infinite), or until the want is dropped, or until new addresses arrive. */
  private async pause(want: Want, ms: number): Promise<void> {
    if (want.wake.signal.aborted) {
      // Addresses changed while we were dialling: try the new ones at once.
      want.wake = new AbortController()
      return
    }
    const signal = AbortSignal.any([want.abort.signal, want.wake.signal])
    if (Number.isFinite(ms)) {
      await sleep(ms, signal).catch(() => {})
    } else if (!signal.aborted) {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
    }
  }

  private async untilDirectCloses(peer: string, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        offClose()
        signal.removeEventListener('abort', done)
        resolve()
      }
      const offClose = this.on('direct:close', (e) => {
        if (e.peer === peer) done()
      })
      signal.addEventListener('abort', done)
      if (!this.direct.has(peer) || signal.aborted) done()
    })
  }
}
