/**
 * The relay side of `/synod/rendezvous/1`: authenticates who registers by the connection's peer id (Noise proved it),
 * keeps only addresses that belong to that peer, and relays the registry's answers over each session's stream.
 */
import type { Connection, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { MetricsRegistry } from '../../metrics/index.js'
import { FramedStream } from '../framed-stream.js'
import { decodeRendezvous, encodeRendezvous, RENDEZVOUS_LIMITS, RENDEZVOUS_PROTOCOL } from './messages.js'
import type { RendezvousMessage } from './messages.js'
import { RendezvousRegistry, type RegistryLimits, DEFAULT_REGISTRY_LIMITS, type Session } from './registry.js'

export interface RendezvousServerOptions {
  readonly limits?: RegistryLimits
  /** Rooms one connection may register in at once (one stream each). */
  readonly maxRoomsPerConnection?: number
  readonly metrics?: MetricsRegistry
  /** One line per registration and per refusal. */
  readonly log?: (line: string) => void
}

export interface RendezvousServer {
  readonly registry: RendezvousRegistry
  stop(): Promise<void>
}

/** Keeps only addresses that end in the registering peer's own id: nobody can advertise a route to someone else. */
export function ownAddresses(addrs: readonly string[], peerId: string): string[] {
  return addrs.filter((a) => a.endsWith(`/p2p/${peerId}`))
}

export async function startRendezvousServer(
  node: Libp2p,
  options: RendezvousServerOptions = {},
): Promise<RendezvousServer> {
  const registry = new RendezvousRegistry(options.limits ?? DEFAULT_REGISTRY_LIMITS)
  const metrics = options.metrics?.scope('rendezvous')
  const open = new Set<FramedStream>()

  const serve = async (stream: Stream, connection: Connection): Promise<void> => {
    const framed = new FramedStream(stream, { maxFrameBytes: RENDEZVOUS_LIMITS.maxFrameBytes, maxQueuedFrames: 1024 })
    open.add(framed)
    const peerId = connection.remotePeer.toString()
    const session: Session = {
      peerId,
      send: (msg: RendezvousMessage) => {
        framed.write(encodeRendezvous(msg)).catch(() => registry.unregister(session))
      },
    }
    try {
      for (;;) {
        const frame = await framed.read()
        if (frame === null) break
        const msg = decodeRendezvous(frame)
        if (msg.type !== 'register') {
          metrics?.counter('rejected').inc()
          break
        }
        const result = registry.register(session, msg.room, ownAddresses(msg.addrs, peerId))
        metrics?.counter(result.ok ? 'registered' : `refused.${result.reason}`).inc()
        options.log?.(
          result.ok
            ? `room ${msg.room.slice(0, 12)}… registered ${peerId} (${registry.members(msg.room).length} members)`
            : `room ${msg.room.slice(0, 12)}… refused ${peerId}: ${result.reason}`,
        )
        if (!result.ok) break
      }
    } catch {
      // A malformed frame ends this peer's session only; the registry and other sessions are untouched.
      metrics?.counter('rejected').inc()
    } finally {
      registry.unregister(session)
      open.delete(framed)
      await framed.close()
    }
  }

  await node.handle(
    RENDEZVOUS_PROTOCOL,
    (stream, connection) => {
      void serve(stream, connection)
    },
    { maxInboundStreams: options.maxRoomsPerConnection ?? 16 },
  )

  return {
    registry,
    async stop() {
      await node.unhandle(RENDEZVOUS_PROTOCOL)
      await Promise.all([...open].map(async (s) => s.close()))
    },
  }
}
