/**
 * Keeps this peer connected to its bootstrap relays: dials each one, and when a connection drops or a dial fails,
 * tries again after an exponential backoff with jitter, for as long as the peer lives. Everything else (rooms,
 * presence, documents) keeps working without a relay; the relay is only needed to meet new peers.
 */
import type { PeerId } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { InvalidOptionError } from '../errors.js'
import { Emitter } from '../events.js'
import type { MetricsRegistry } from '../metrics/index.js'
import type { Random } from '../runtime/index.js'
import { Backoff } from './backoff.js'
import type { SynodLibp2p } from './create-node.js'
import { sleep } from './sleep.js'

export interface RelayConnectorEvents extends Record<string, unknown> {
  'relay:connect': { readonly relay: PeerId; readonly addr: Multiaddr }
  'relay:disconnect': { readonly relay: PeerId }
  'relay:dialing': { readonly addr: Multiaddr }
  'relay:dial-failed': { readonly addr: Multiaddr; readonly error: Error; readonly retryInMs: number }
}

export interface RelayConnectorOptions {
  readonly initialBackoffMs: number
  readonly maxBackoffMs: number
  readonly dialTimeoutMs: number
  readonly random: Random
  readonly metrics: MetricsRegistry
}

/** Parses bootstrap addresses, insisting on `/p2p/<id>` so that we know whom we reached. */
export function parseBootstrap(addrs: readonly string[]): Multiaddr[] {
  return addrs.map((text) => {
    let addr: Multiaddr
    try {
      addr = multiaddr(text)
    } catch (err) {
      throw new InvalidOptionError(`bootstrap address '${text}' is not a valid multiaddr`, { cause: err })
    }
    if (addr.getComponents().find((c) => c.name === 'p2p') === undefined) {
      throw new InvalidOptionError(`bootstrap address '${text}' must end in /p2p/<relay peer id>`)
    }
    return addr
  })
}

export function relayIdOf(addr: Multiaddr): string {
  const p2p = addr.getComponents().findLast((c) => c.name === 'p2p')
  if (p2p?.value === undefined) throw new InvalidOptionError(`address ${addr.toString()} has no /p2p/ component`)
  return p2p.value
}

export class RelayConnector extends Emitter<RelayConnectorEvents> {
  private abort = new AbortController()
  private readonly dialing = new Set<string>()
  private readonly connected = new Map<string, Multiaddr>()
  private started = false

  constructor(
    private readonly node: SynodLibp2p,
    private readonly addrs: readonly Multiaddr[],
    private readonly options: RelayConnectorOptions,
  ) {
    super()
  }

  /** Relays we currently hold a connection to, by peer id. */
  get relays(): ReadonlyMap<string, Multiaddr> {
    return this.connected
  }

  get isDialing(): boolean {
    return this.dialing.size > 0
  }

  /** Starts keeping every relay connected. Idempotent; after stop() it starts afresh (backoff reset). */
  start(): void {
    if (this.started) return
    this.started = true
    if (this.abort.signal.aborted) this.abort = new AbortController()
    for (const addr of this.addrs) void this.keepConnected(addr)
  }

  /** Stops dialling (an open connection stays until the caller closes it). */
  stop(): void {
    this.started = false
    this.abort.abort()
  }

  private async keepConnected(addr: Multiaddr): Promise<void> {
    const signal = this.abort.signal
    const relayId = relayIdOf(addr)
    const backoff = new Backoff({
      initialMs: this.options.initialBackoffMs,
      maxMs: this.options.maxBackoffMs,
      random: this.options.random,
    })
    while (!signal.aborted) {
      this.dialing.add(relayId)
      this.emit('relay:dialing', { addr })
      const started = performance.now()
      try {
        const connection = await this.node.dial(addr, {
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.dialTimeoutMs)]),
        })
        this.options.metrics.histogram('relay.dial_ms').record(performance.now() - started)
        this.dialing.delete(relayId)
        backoff.reset()
        this.connected.set(relayId, addr)
        this.emit('relay:connect', { relay: connection.remotePeer, addr })
        await this.untilDisconnected(relayId, signal)
        this.connected.delete(relayId)
        this.emit('relay:disconnect', { relay: connection.remotePeer })
      } catch (err) {
        this.dialing.delete(relayId)
        if (signal.aborted) return
        this.options.metrics.counter('relay.dial_failures').inc()
        const retryInMs = backoff.next()
        this.emit('relay:dial-failed', { addr, error: err as Error, retryInMs })
        await sleep(retryInMs, signal).catch(() => {})
      }
    }
  }

  /** Resolves when no connection to the relay remains (or the connector stops). */
  private async untilDisconnected(relayId: string, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const check = (): void => {
        const open = this.node.getConnections().some((c) => c.remotePeer.toString() === relayId)
        if (!open || signal.aborted) {
          this.node.removeEventListener('connection:close', check)
          signal.removeEventListener('abort', check)
          resolve()
        }
      }
      this.node.addEventListener('connection:close', check)
      signal.addEventListener('abort', check)
      check()
    })
  }
}
