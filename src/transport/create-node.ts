/**
 * transport/: assembles the libp2p node for browsers and Node, discovery through the relay, dial retry, and the
 * stream and wire codecs every protocol uses. It may import runtime/, metrics/ and errors; nothing above it.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Identify } from '@libp2p/identify'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import { ping, type Ping } from '@libp2p/ping'
import { isPrivate } from '@libp2p/utils'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'

export type SynodServices = {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
}

export type SynodLibp2p = Libp2p<SynodServices>

export interface NodeAssemblyOptions {
  /** ICE servers for WebRTC (STUN/TURN). Empty: host candidates only, enough on one machine or a LAN. */
  readonly iceServers: readonly RTCIceServer[]
  /** Allow dialling loopback/private addresses and plain `ws://` (needed for a relay on localhost or a LAN). */
  readonly allowPrivateAddresses: boolean
  /** Per-address dial timeout in ms: a hung dial is abandoned after this and retried by the dialler. */
  readonly dialTimeoutMs: number
  readonly privateKey?: PrivateKey
  /** While `offline` is true every dial and every inbound connection is refused (the peer's offline switch). */
  readonly gate?: { offline: boolean }
}

/** True when the multiaddr points at a loopback or private-range host, or uses plain ws. */
export function isLocalAddress(addr: Multiaddr): boolean {
  const text = addr.toString()
  return isPrivate(addr) || text.includes('/ws/') || text.endsWith('/ws')
}

function gater(allowPrivate: boolean, gate: { offline: boolean }): ConnectionGater {
  // The browser default refuses private addresses and ws://. We keep that default unless the application pointed us
  // at such a relay itself (see createPeer's `allowPrivateAddresses`).
  return {
    denyDialMultiaddr: (addr) => gate.offline || (allowPrivate ? false : isLocalAddress(addr)),
    denyInboundConnection: () => gate.offline,
    denyInboundRelayedConnection: () => gate.offline,
    // A connection whose dial began before going offline is refused at its last steps as well.
    denyOutboundConnection: () => gate.offline,
    denyInboundUpgradedConnection: () => gate.offline,
    denyOutboundUpgradedConnection: () => gate.offline,
  }
}

export async function createSynodLibp2p(options: NodeAssemblyOptions): Promise<SynodLibp2p> {
  return createLibp2p({
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
    addresses: {
      // '/p2p-circuit' reserves a slot on any relay we connect to; '/webrtc' accepts WebRTC dials signalled through it.
      // Neither needs a network, so a peer starts offline and connects later.
      listen: ['/p2p-circuit', '/webrtc'],
    },
    transports: [
      webSockets(),
      webRTC({
        rtcConfiguration: { iceServers: [...options.iceServers] },
      }),
      circuitRelayTransport({ reservationCompletionTimeout: 5_000 }),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: gater(options.allowPrivateAddresses, options.gate ?? { offline: false }),
    connectionManager: {
      dialTimeout: options.dialTimeoutMs * 2,
      addressDialTimeout: options.dialTimeoutMs,
      maxConnections: 200,
    },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        // Messages are signed by their author, so `msg.from` is authenticated and a peer cannot speak for another.
        globalSignaturePolicy: 'StrictSign',
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // 1 MiB per RPC is far above any Synod gossip message; larger inbound frames are a misbehaving peer.
        maxInboundDataLength: 1024 * 1024,
        heartbeatInterval: 700,
      }),
    },
  })
}
