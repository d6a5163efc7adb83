/**
 * `/synod/raft/1` over libp2p: a RaftTransport for one Raft group on one libp2p node. The Raft node ids of the group
 * are the members' libp2p peer ids.
 *
 * Streams. To each peer we send to we open one outbound stream, lazily on the first send, over a connection we
 * already hold: a direct one when there is one, else a relayed one (Raft messages are small). This transport never
 * dials; keeping members connected is the room's job, and a message to a peer we are not connected to is dropped.
 * The stream starts with a `hello` naming the group; every later frame is a whole message or one chunk of a large
 * one. A peer's messages reach us on the stream *it* opened, so `from` is that connection's remote peer, which Noise
 * authenticated. A stream that fails is reopened on a later send, after a backoff.
 *
 * One handler per node. libp2p takes one handler per protocol, and a peer can be in several rooms with several
 * groups each. So a registry per libp2p node (a WeakMap keyed by the node, so a dropped node takes its registry
 * along) owns `node.handle(protocol)` (per protocol id) while at least one transport is open on that node: it reads each inbound
 * stream's hello and hands the stream to the transport of the group named there, or resets it. This module is the
 * only owner of the protocol on a node; the peer-wide router (api/peer.ts) does not need to know it exists.
 *
 * Bounds (Raft tolerates loss, so every overflow drops and counts instead of waiting):
 * - a frame is at most a 64 KiB chunk plus a small header, checked before the length-prefixed reader allocates;
 * - a reassembled message is at most RAFT_LIMITS.maxMessageBytes, one message in assembly per inbound stream;
 * - one inbound stream per peer and group (a newer one replaces the older), at most 32 raft streams per connection,
 *   and a stream that names no group within 10 s is reset;
 * - `maxQueuedFrames` frames wait per peer; when a message does not fit, the oldest whole messages are dropped.
 *
 * Counters (in `metrics`): `raft.sent`, `raft.received`, `raft.dropped` (messages lost here: no connection, backoff,
 * full queue, failed stream, no handler), `raft.rejected` (malformed inbound frames; the stream is reset),
 * `raft.stream_failures`, `raft.unknown_group` (inbound streams for a group we do not have).
 *
 * The frames themselves (pure encoding and reassembly) are in raft-frames.ts.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { DecodeError, InvalidOptionError } from '../../errors.js'
import { reportListenerError } from '../../events.js'
import { MetricsRegistry, type MetricsScope } from '../../metrics/index.js'
import { realClock, realRandom } from '../../runtime/index.js'
import { Backoff } from '../../transport/backoff.js'
import type { SynodLibp2p } from '../../transport/create-node.js'
import { FramedStream } from '../../transport/framed-stream.js'
import { RAFT_PROTOCOL } from './codec.js'
import {
  decodeRaftFrame,
  encodeRaftFrame,
  groupProblem,
  RAFT_FRAME_LIMITS,
  RaftFrameAssembler,
  toRaftWireFrames,
  type RaftFrame,
} from './raft-frames.js'
import type { RaftTransport } from './transport.js'
import type { NodeId } from './types.js'

/** How long an inbound stream may take to name its group, and an outbound stream to open. */
const HELLO_TIMEOUT_MS = 10_000
const OPEN_TIMEOUT_MS = 10_000
/** Raft streams per connection and direction: one per group two peers share. */
const MAX_STREAMS_PER_CONNECTION = 32

interface NodeRegistry {
  readonly groups: Map<string, RaftLibp2pTransportImpl>
}

/** Per node, per protocol id (the same framing carries `/synod/raft/1` and `/synod/swim/1`). */
const registries = new WeakMap<SynodLibp2p, Map<string, NodeRegistry>>()

function register(node: SynodLibp2p, protocol: string, group: string, transport: RaftLibp2pTransportImpl): void {
  let byProtocol = registries.get(node)
  if (byProtocol === undefined) {
    byProtocol = new Map()
    registries.set(node, byProtocol)
  }
  let registry = byProtocol.get(protocol)
  if (registry === undefined) {
    if (node.getProtocols().includes(protocol)) {
      throw new InvalidOptionError(`${protocol} is already handled on this node by something else`)
    }
    const created: NodeRegistry = { groups: new Map() }
    registry = created
    byProtocol.set(protocol, created)
    // The registrar stores the handler synchronously; only the peer store update behind it is async, and its failure
    // leaves the handler working (we would merely not advertise the protocol), so it is counted, not thrown.
    node
      .handle(protocol, (stream, connection) => void route(created, stream, connection), {
        maxInboundStreams: MAX_STREAMS_PER_CONNECTION,
        maxOutboundStreams: MAX_STREAMS_PER_CONNECTION,
        runOnLimitedConnection: true,
      })
      .catch(() => countEverywhere(created, 'raft.registry_errors'))
  }
  if (registry.groups.has(group)) throw new InvalidOptionError(`raft group ${group} already has a transport on this node`)
  registry.groups.set(group, transport)
}

function unregister(node: SynodLibp2p, protocol: string, group: string, transport: RaftLibp2pTransportImpl): void {
  const byProtocol = registries.get(node)
  const registry = byProtocol?.get(protocol)
  if (byProtocol === undefined || registry === undefined || registry.groups.get(group) !== transport) return
  registry.groups.delete(group)
  if (registry.groups.size > 0) return
  byProtocol.delete(protocol)
  // Synchronous in the registrar like handle(); a stopped node may fail the peer store update, which is harmless.
  node.unhandle(protocol).catch(() => {})
}

/**
 * A failure before a stream names its group belongs to no transport: it is counted in every distinct metrics scope
 * of the node's transports (normally one, the peer's).
 */
function countEverywhere(registry: NodeRegistry, name: string): void {
  for (const scope of new Set([...registry.groups.values()].map((t) => t.metrics))) scope.counter(name).inc()
}

/** Reads an inbound stream's hello and hands the stream to the transport of that group on this node. */
async function route(registry: NodeRegistry, stream: Stream, connection: Connection): Promise<void> {
  const framed = new FramedStream(stream, { maxFrameBytes: RAFT_FRAME_LIMITS.maxFrameBytes, maxQueuedFrames: 1 })
  let hello: RaftFrame | undefined
  try {
    const first = await framed.read(AbortSignal.timeout(HELLO_TIMEOUT_MS))
    if (first === null) {
      framed.abort(new Error('raft stream ended before its hello'))
      return
    }
    hello = decodeRaftFrame(first)
  } catch (err) {
    if (err instanceof DecodeError) countEverywhere(registry, 'raft.rejected')
    framed.abort(err instanceof Error ? err : new Error(String(err)))
    return
  }
  if (hello.type !== 'hello') {
    countEverywhere(registry, 'raft.rejected')
    framed.abort(new DecodeError('a raft stream must start with hello'))
    return
  }
  const transport = registry.groups.get(hello.group)
  if (transport === undefined) {
    // Often a race, not an attack: the peer created its transport for the group before we did. It retries.
    countEverywhere(registry, 'raft.unknown_group')
    framed.abort(new Error(`not in raft group ${hello.group}`))
    return
  }
  transport.accept(connection.remotePeer.toString(), framed)
}

// ---- the transport -------------------------------------------------------------------------------------------------

export interface RaftLibp2pTransportOptions {
  /** The libp2p node whose connections carry the group; its peer id is this member's Raft node id. */
  readonly node: SynodLibp2p
  /**
   * Names the group on the wire, unique per node: by convention `<roomId>/<group name>`. 1 to 256 characters.
   * InvalidOptionError if another open transport on this node already has it.
   */
  readonly group: string
  /** Where the `raft.*` counters go. Default: a registry of this transport's own. */
  readonly metrics?: MetricsScope
  /**
   * The stream protocol id. Default `/synod/raft/1`; the SWIM failure detector runs the same framing on
   * `/synod/swim/1`. Groups are per protocol.
   */
  readonly protocol?: string
  /**
   * Frames (of at most 64 KiB each) that may wait for one peer; when a message does not fit, the oldest waiting
   * messages are dropped. Default 128; a message needing more frames than this is dropped at once.
   */
  readonly maxQueuedFrames?: number
}

export interface RaftLibp2pTransport extends RaftTransport {
  /** Stops sending and delivering: resets every stream and frees the group's name on the node. Idempotent. */
  close(): void
}

/** A RaftTransport over `/synod/raft/1` for `options.group` on `options.node` (see the file header). */
export function createRaftTransport(options: RaftLibp2pTransportOptions): RaftLibp2pTransport {
  return new RaftLibp2pTransportImpl(options)
}

/** A backoff-worthy stream lived at least this long: its failure starts the backoff over. */
const HEALTHY_STREAM_MS = 5_000
/** An overflowing queue whose head write has been stuck this long means the peer stopped reading: reset the stream. */
const STALL_MS = 10_000

interface Link {
  readonly peer: string
  readonly peerId: PeerId
  state: 'idle' | 'opening' | 'open' | 'backoff'
  framed: FramedStream | undefined
  /** The connection the stream runs on is relayed: move to a direct one when it appears. */
  limited: boolean
  /** Messages (each its wire frames) not yet started; a started message is always finished or its stream fails. */
  readonly queue: Uint8Array[][]
  queuedFrames: number
  writing: boolean
  writeStartedAt: number
  openedAt: number
  retryAt: number
  readonly backoff: Backoff
}

class RaftLibp2pTransportImpl implements RaftLibp2pTransport {
  readonly metrics: MetricsScope
  private readonly node: SynodLibp2p
  private readonly group: string
  private readonly protocol: string
  private readonly maxQueuedFrames: number
  private readonly links = new Map<string, Link>()
  private readonly inbound = new Map<string, FramedStream>()
  private readonly handlers = new Set<(from: NodeId, bytes: Uint8Array) => void>()
  private readonly hello: Uint8Array
  private closed = false
  /** A new connection to a peer we were backing off from: try it at once on the next send. */
  private readonly onConnectionOpen = (evt: CustomEvent<Connection>): void => {
    const link = this.links.get(evt.detail.remotePeer.toString())
    if (link?.state !== 'backoff') return
    link.retryAt = 0
    link.backoff.reset()
  }

  constructor(options: RaftLibp2pTransportOptions) {
    const problem = groupProblem(options.group)
    if (problem !== undefined) throw new InvalidOptionError(problem)
    const maxQueuedFrames = options.maxQueuedFrames ?? 128
    if (!Number.isSafeInteger(maxQueuedFrames) || maxQueuedFrames < 1) {
      throw new InvalidOptionError(`maxQueuedFrames must be an integer >= 1, got ${maxQueuedFrames}`)
    }
    this.node = options.node
    this.group = options.group
    this.protocol = options.protocol ?? RAFT_PROTOCOL
    this.metrics = options.metrics ?? new MetricsRegistry()
    this.maxQueuedFrames = maxQueuedFrames
    this.hello = encodeRaftFrame({ type: 'hello', group: options.group })
    register(this.node, this.protocol, this.group, this)
    this.node.addEventListener('connection:open', this.onConnectionOpen)
  }

  /**
   * Queues `bytes` for `to` (a peer id) over a connection we hold, or drops and counts it. Throws only for bytes no
   * codec writes (empty: InvalidOptionError; over maxMessageBytes: MessageTooLargeError). A no-op once closed.
   */
  send(to: NodeId, bytes: Uint8Array): void {
    if (this.closed) return
    // Oversized bytes are a bug of the caller (the codec never writes them): thrown, not counted as network loss.
    const frames = toRaftWireFrames(bytes)
    const existing = this.links.get(to)
    const peerId = existing?.peerId ?? this.peerIdOf(to)
    const connection = peerId === undefined ? undefined : this.pickConnection(peerId)
    if (peerId === undefined || connection === undefined || frames.length > this.maxQueuedFrames) {
      this.drop(1)
      return
    }
    // Links exist only for peers we are connected to, so the map is bounded by the node's connections.
    const link = existing ?? this.newLink(to, peerId)
    if (link.state === 'backoff') {
      if (realClock.now() < link.retryAt) {
        this.drop(1)
        return
      }
      link.state = 'idle'
    }
    this.enqueue(link, frames)
    if (link.state === 'idle') void this.open(link, connection)
    else if (link.state === 'open') this.pump(link, connection)
  }

  onMessage(handler: (from: NodeId, bytes: Uint8Array) => void): () => void {
    this.handlers.add(handler)
    return () => {
      this.handlers.delete(handler)
    }
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    unregister(this.node, this.protocol, this.group, this)
    this.node.removeEventListener('connection:open', this.onConnectionOpen)
    const reason = new Error('raft transport closed')
    for (const link of this.links.values()) link.framed?.abort(reason)
    for (const framed of this.inbound.values()) framed.abort(reason)
    this.links.clear()
    this.inbound.clear()
    this.handlers.clear()
  }

  /** An inbound stream from `peer` whose hello named our group. It replaces an older one from the same peer. */
  accept(peer: string, framed: FramedStream): void {
    if (this.closed) {
      framed.abort(new Error('raft transport closed'))
      return
    }
    this.inbound.get(peer)?.abort(new Error('replaced by a newer stream'))
    this.inbound.set(peer, framed)
    void this.readLoop(peer, framed)
  }

  private async readLoop(peer: string, framed: FramedStream): Promise<void> {
    const assembler = new RaftFrameAssembler()
    try {
      for (;;) {
        const wire = await framed.read()
        if (this.inbound.get(peer) !== framed) return
        if (wire === null) {
          // The sender closed its side (it moved to another connection): close ours, or the stream lingers half open.
          await framed.close()
          return
        }
        const message = assembler.push(wire)
        if (message !== undefined) this.deliver(peer, message)
      }
    } catch (err) {
      // Garbage from the peer: count it and reset this stream (it reopens one). A reset by the peer is no rejection.
      if (err instanceof DecodeError) this.metrics.counter('raft.rejected').inc()
      framed.abort(err instanceof Error ? err : new Error(String(err)))
    } finally {
      if (this.inbound.get(peer) === framed) this.inbound.delete(peer)
    }
  }

  private deliver(from: NodeId, message: Uint8Array): void {
    if (this.handlers.size === 0) {
      this.drop(1)
      return
    }
    this.metrics.counter('raft.received').inc()
    for (const handler of [...this.handlers]) {
      try {
        handler(from, message)
      } catch (err) {
        reportListenerError(err)
      }
    }
  }

  /** The peer id a Raft node id names; undefined when it names none, or ourselves (nothing to send there). */
  private peerIdOf(to: NodeId): PeerId | undefined {
    try {
      const peerId = peerIdFromString(to)
      return peerId.equals(this.node.peerId) ? undefined : peerId
    } catch {
      return undefined
    }
  }

  private newLink(to: NodeId, peerId: PeerId): Link {
    const link: Link = {
      peer: to,
      peerId,
      state: 'idle',
      framed: undefined,
      limited: false,
      queue: [],
      queuedFrames: 0,
      writing: false,
      writeStartedAt: 0,
      openedAt: 0,
      retryAt: 0,
      backoff: new Backoff({ initialMs: 250, maxMs: 10_000, jitter: 'equal', random: realRandom }),
    }
    this.links.set(to, link)
    return link
  }

  /** An open connection to the peer, a direct (unlimited) one if we have one; never dials. */
  private pickConnection(peerId: PeerId): Connection | undefined {
    const open = this.node.getConnections(peerId).filter((c) => c.status === 'open')
    return open.find((c) => c.limits == null) ?? open[0]
  }

  /** Adds a message, dropping the oldest waiting ones (whole) to make room; resets a stream that stopped moving. */
  private enqueue(link: Link, frames: Uint8Array[]): void {
    while (link.queuedFrames + frames.length > this.maxQueuedFrames) {
      const oldest = link.queue.shift()
      if (oldest === undefined) break
      link.queuedFrames -= oldest.length
      this.drop(1)
    }
    link.queue.push(frames)
    link.queuedFrames += frames.length
    const full = link.queuedFrames + 1 > this.maxQueuedFrames
    if (full && link.writing && realClock.now() - link.writeStartedAt > STALL_MS) this.fail(link, link.framed)
  }

  private async open(link: Link, connection: Connection): Promise<void> {
    link.state = 'opening'
    link.limited = connection.limits != null
    let framed: FramedStream | undefined
    try {
      const stream = await connection.newStream(this.protocol, {
        signal: AbortSignal.timeout(OPEN_TIMEOUT_MS),
        runOnLimitedConnection: true,
      })
      framed = new FramedStream(stream, { maxFrameBytes: RAFT_FRAME_LIMITS.maxFrameBytes, maxQueuedFrames: 2 })
      if (this.links.get(link.peer) !== link) {
        framed.abort(new Error('raft transport closed'))
        return
      }
      link.framed = framed
      link.state = 'open'
      link.openedAt = realClock.now()
      await framed.write(this.hello)
    } catch {
      this.fail(link, framed)
      return
    }
    void this.watch(link, framed)
    this.pump(link, this.pickConnection(link.peerId))
  }

  /** The peer never writes on our stream: the read side ending means the stream is gone (reset, or group closed). */
  private async watch(link: Link, framed: FramedStream): Promise<void> {
    try {
      // Anything the peer writes here breaks the protocol; the stream is reset below all the same.
      if ((await framed.read()) !== null && !this.closed) this.metrics.counter('raft.rejected').inc()
    } catch {
      // Reset by the peer or the connection: the same as an end.
    }
    if (link.framed === framed) this.fail(link, framed)
  }

  /** Starts the writer if it is idle; first moves a relayed link to a direct connection that has since appeared. */
  private pump(link: Link, connection: Connection | undefined): void {
    const framed = link.framed
    if (link.writing || framed === undefined || link.state !== 'open') return
    if (link.limited && connection !== undefined && connection.limits == null) {
      // Nothing is in flight, so closing loses nothing: the waiting messages go out on the direct connection.
      link.framed = undefined
      link.state = 'idle'
      void framed.close()
      void this.open(link, connection)
      return
    }
    void this.drain(link, framed)
  }

  private async drain(link: Link, framed: FramedStream): Promise<void> {
    link.writing = true
    try {
      for (;;) {
        const message = link.queue.shift()
        if (message === undefined) return
        link.queuedFrames -= message.length
        link.writeStartedAt = realClock.now()
        for (const frame of message) await framed.write(frame)
        this.metrics.counter('raft.sent').inc()
        if (link.framed !== framed) return
      }
    } catch {
      // The message being written is lost with the stream.
      if (!this.closed) this.drop(1)
      if (link.framed === framed) this.fail(link, framed)
    } finally {
      link.writing = false
    }
  }

  /**
   * The stream failed or never opened (`framed` undefined): drop what waits, and back off before the next attempt.
   * Failures of a closed transport are its own doing and count nothing.
   */
  private fail(link: Link, framed: FramedStream | undefined): void {
    if (this.closed || (framed !== undefined && link.framed !== framed)) return
    this.metrics.counter('raft.stream_failures').inc()
    framed?.abort(new Error('raft stream failed'))
    link.framed = undefined
    this.drop(link.queue.length)
    link.queue.length = 0
    link.queuedFrames = 0
    if (this.links.get(link.peer) !== link) return
    if (this.pickConnection(link.peerId) === undefined) {
      // Not connected any more: nothing to back off from, and no reason to keep the entry.
      this.links.delete(link.peer)
      return
    }
    const now = realClock.now()
    if (link.openedAt > 0 && now - link.openedAt >= HEALTHY_STREAM_MS) link.backoff.reset()
    link.retryAt = now + link.backoff.next()
    link.state = 'backoff'
  }

  private drop(messages: number): void {
    if (messages > 0) this.metrics.counter('raft.dropped').inc(messages)
  }
}
