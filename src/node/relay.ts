/**
 * The Synod relay: a Node libp2p node that browsers reach over WebSockets to reserve a circuit-relay-v2 slot (through
 * which they signal WebRTC to each other) and to find the other members of their rooms. Room traffic never flows
 * through it: once two browsers are directly connected the relay could vanish and they would keep talking.
 */
import { createServer, type Server } from 'node:http'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { MetricsRegistry, type MetricsSnapshot } from '../metrics/index.js'
import { startRendezvousServer } from '../transport/rendezvous/server.js'

export interface RelayOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host?: string
  /** WebSocket port; 0 picks a free one. Default 4001. */
  readonly port?: number
  /** HTTP port serving the bootstrap addresses as JSON; 0 picks a free one. Default: port + 1, or 0 if port is 0. */
  readonly httpPort?: number
  /** Addresses to advertise instead of the listen addresses (behind a proxy or NAT). Default none. */
  readonly announce?: readonly string[]
  /** Circuit-relay reservations held at once. Default 128. */
  readonly maxReservations?: number
  /** How long a reservation lasts before the peer must renew it, in ms. Default 2 h. */
  readonly reservationTtlMs?: number
  /** Connections the relay accepts at once. Default 1024. */
  readonly maxConnections?: number
  readonly signal?: AbortSignal
  /** Receives one line per notable event (a reservation, a room registration refused). Default: silent. */
  readonly log?: (line: string) => void
}

export interface Relay {
  readonly peerId: string
  /** The addresses peers put in `bootstrap`, each ending in `/p2p/<peerId>`. */
  readonly multiaddrs: string[]
  /** Where a page can fetch `{ peerId, multiaddrs }` as JSON. */
  readonly bootstrapUrl: string
  stats(): RelayStats
  /** Stops listening and closes every connection. Idempotent. */
  stop(): Promise<void>
}

export interface RelayStats {
  readonly connections: number
  readonly reservations: number
  readonly rooms: number
  readonly metrics: MetricsSnapshot
}

async function listenHttp(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('HTTP server has no port')
  return address.port
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

export async function startRelay(options: RelayOptions = {}): Promise<Relay> {
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? 4001
  const httpPort = options.httpPort ?? (port === 0 ? 0 : port + 1)
  const ipFamily = host.includes(':') ? 'ip6' : 'ip4'
  const metrics = new MetricsRegistry()

  const node = await createLibp2p({
    addresses: {
      listen: [`/${ipFamily}/${host}/tcp/${port}/ws`],
      ...(options.announce === undefined || options.announce.length === 0 ? {} : { announce: [...options.announce] }),
    },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: options.maxConnections ?? 1024 },
    services: {
      identify: identify(),
      ping: ping(),
      relay: circuitRelayServer({
        reservations: {
          maxReservations: options.maxReservations ?? 128,
          reservationTtl: options.reservationTtlMs ?? 2 * 60 * 60 * 1000,
        },
      }),
    },
  })
  const rendezvous = await startRendezvousServer(node, { metrics, ...(options.log === undefined ? {} : { log: options.log }) })
  const log = options.log
  if (log !== undefined) {
    node.services.relay.addEventListener('relay:reservation', (evt) => {
      log(`reservation ${evt.detail.addr.toString()} until ${evt.detail.expiry.toISOString()}`)
    })
  }
  const peerId = node.peerId.toString()
  const multiaddrs = () => node.getMultiaddrs().map((a) => a.toString())

  const http = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    // Pages on any origin may fetch the bootstrap list: it holds nothing secret.
    res.setHeader('Access-Control-Allow-Origin', '*')
    res.setHeader('Cache-Control', 'no-store')
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end()
    } else if (path === '/bootstrap' || path === '/') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ peerId, multiaddrs: multiaddrs() }))
    } else if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok')
    } else {
      res.writeHead(404).end()
    }
  })
  let boundHttpPort: number
  try {
    boundHttpPort = await listenHttp(http, host, httpPort)
  } catch (err) {
    await rendezvous.stop()
    await node.stop()
    throw err
  }

  let stopping: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopping ??= (async () => {
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
      await rendezvous.stop()
      await node.stop()
    })()
    return stopping
  }
  options.signal?.addEventListener('abort', () => void stop(), { once: true })

  return {
    peerId,
    multiaddrs: multiaddrs(),
    bootstrapUrl: `http://${hostForUrl(host)}:${boundHttpPort}/bootstrap`,
    stats: () => ({
      connections: node.getConnections().length,
      reservations: node.services.relay.reservations.size,
      rooms: rendezvous.registry.roomCount,
      metrics: metrics.snapshot(),
    }),
    stop,
  }
}
