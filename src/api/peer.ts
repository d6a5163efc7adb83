/**
 * api/: createPeer, Peer, Room and the handles: the only public surface (re-exported by src/index.ts). It may import
 * every layer. This file: the Peer, which owns the libp2p node, the relay connections and the dialler that its rooms
 * share.
 */
import { PeerClosedError, RoomClosedError, throwIfAborted } from '../errors.js'
import { Emitter } from '../events.js'
import { MetricsRegistry } from '../metrics/index.js'
import { realClock, realRandom, realTimer } from '../runtime/index.js'
import type { SuperPeerCapability } from '../ordering/election.js'
import { RoomSession } from '../room/room-session.js'
import type { Connection } from '@libp2p/interface'
import type { SynodLibp2p } from '../transport/create-node.js'
import { PeerDialer } from '../transport/peer-dialer.js'
import type { RelayConnector } from '../transport/relay-connector.js'
import { decodeSyncFrame, SYNC_LIMITS, SYNC_PROTOCOL } from '../docs/sync-messages.js'
import type { StorageAdapter } from '../storage/adapter.js'
import { FramedStream } from '../transport/framed-stream.js'
import { resolveRoomOptions, validateRoomId, type JoinOptions } from './options.js'
import { Room } from './room.js'

export type PeerStatus = 'offline' | 'connecting' | 'online'

export interface PeerEvents extends Record<string, unknown> {
  status: PeerStatus
}

export interface PeerParts {
  readonly node: SynodLibp2p
  readonly relays: RelayConnector
  readonly name: string
  readonly dialTimeoutMs: number
  readonly metrics: MetricsRegistry
  readonly storage: StorageAdapter
  /** Shared with the connection gater: while set, every dial and inbound connection is refused. */
  readonly gate: { offline: boolean }
  /** Whether this peer may serve as a super-peer of its rooms. */
  readonly superPeer: SuperPeerCapability
  /** Frees this peer's stored identity for another tab (see transport/identity.ts). */
  readonly releaseIdentity?: () => void
}

export class Peer {
  private readonly events = new Emitter<PeerEvents>()
  private readonly rooms = new Map<string, Room>()
  private readonly sessions = new Map<string, RoomSession>()
  private readonly dialer: PeerDialer
  private currentStatus: PeerStatus = 'offline'
  private closing: Promise<void> | undefined

  constructor(private readonly parts: PeerParts) {
    this.dialer = new PeerDialer(parts.node, {
      dialTimeoutMs: parts.dialTimeoutMs,
      initialBackoffMs: 250,
      maxBackoffMs: 15_000,
      yieldMs: 1_000,
      random: realRandom,
      metrics: parts.metrics,
    })
    const update = (): void => this.updateStatus()
    for (const e of ['connection:open', 'connection:close'] as const) parts.node.addEventListener(e, update)
    // A backstop to the gater (create-node.ts), whose last check of every upgrade, WebRTC included, refuses it while
    // offline: a connection whose last check ran just before goOffline() opens after the sweep. Close it too, or the
    // peer is not cut off at all.
    parts.node.addEventListener('connection:open', (e) => {
      if (parts.gate.offline) void closeConnection(e.detail)
    })
    parts.relays.on('relay:dialing', update)
    parts.relays.on('relay:dial-failed', update)
    parts.relays.on('relay:connect', update)
    parts.relays.on('relay:disconnect', update)
    void parts.node.handle(
      SYNC_PROTOCOL,
      (stream, connection) => {
        void this.routeSync(new FramedStream(stream, { maxFrameBytes: SYNC_LIMITS.maxFrameBytes, maxQueuedFrames: 16 }), connection.remotePeer.toString())
      },
      { maxInboundStreams: 64 },
    )
  }

  /** Reads an inbound sync stream's hello and hands the stream to the room it names (if we are in it). */
  private async routeSync(framed: FramedStream, peer: string): Promise<void> {
    try {
      const first = await framed.read(AbortSignal.timeout(10_000))
      const hello = first === null ? undefined : decodeSyncFrame(first, SYNC_LIMITS.maxFrameBytes)
      const session = hello?.type === 'hello' ? this.sessions.get(hello.room) : undefined
      if (session === undefined) {
        framed.abort(new Error('not in that room'))
        return
      }
      session.acceptSync(peer, framed)
    } catch (err) {
      this.parts.metrics.counter('sync.rejected').inc()
      framed.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  /** This peer's id (a libp2p peer id), as the other members see it. */
  get id(): string {
    return this.parts.node.peerId.toString()
  }

  get name(): string {
    return this.parts.name
  }

  /** `online`: connected to a relay or another peer; `connecting`: trying to; `offline`: neither (retrying later). */
  get status(): PeerStatus {
    return this.currentStatus
  }

  on<K extends keyof PeerEvents>(event: K, listener: (payload: PeerEvents[K]) => void): () => void {
    return this.events.on(event, listener)
  }

  /**
   * Joins a room (or returns the handle already open for it). Resolves at once, offline too: members appear as they
   * are found. Throws InvalidOptionError for a bad room id or option.
   */
  async join(roomId: string, options: JoinOptions = {}): Promise<Room> {
    validateRoomId(roomId)
    if (this.closing !== undefined) throw new PeerClosedError('the peer was closed')
    throwIfAborted(options.signal)
    const existing = this.rooms.get(roomId)
    if (existing !== undefined) return existing
    const session = new RoomSession(
      roomId,
      {
        node: this.parts.node,
        relays: this.parts.relays,
        dialer: this.dialer,
        metrics: this.parts.metrics,
        clock: realClock,
        timer: realTimer,
        random: realRandom,
        name: this.parts.name,
        storage: this.parts.storage,
        superPeer: this.parts.superPeer,
      },
      resolveRoomOptions(options),
    )
    const room = new Room(session, (r) => {
      if (this.rooms.get(roomId) === r) {
        this.rooms.delete(roomId)
        this.sessions.delete(roomId)
      }
    })
    this.rooms.set(roomId, room)
    this.sessions.set(roomId, session)
    session.start()
    return room
  }

  /** Rooms currently joined. */
  joined(): Room[] {
    return [...this.rooms.values()]
  }

  /** Leaves every room and stops the node; every pending call rejects. Idempotent. */
  async close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.rooms.values()].map(async (r) => r.leave()))
      this.dialer.stop()
      this.parts.relays.stop()
      await this.parts.node.stop()
      await this.parts.storage.close()
      this.parts.releaseIdentity?.()
      this.setStatus('offline')
      this.events.clear()
    })()
    return this.closing
  }

  /** Leaves every room synchronously, for `pagehide`: the goodbyes go out before the page is gone. */
  leaveAllNow(): void {
    for (const room of this.rooms.values()) void room.leave().catch((err: unknown) => {
      if (!(err instanceof RoomClosedError)) throw err
    })
  }

  /** True between goOffline() and goOnline(). */
  get isOffline(): boolean {
    return this.parts.gate.offline
  }

  /**
   * Cuts this peer off the network for real (an "airplane mode" switch): closes every connection, stops dialling,
   * and refuses new connections until goOnline(). Rooms, documents and presence keep working locally; edits are
   * stored and merge with the others once back. Idempotent.
   */
  async goOffline(): Promise<void> {
    if (this.closing !== undefined) throw new PeerClosedError('the peer was closed')
    this.parts.gate.offline = true
    this.parts.relays.stop()
    await Promise.all(this.parts.node.getConnections().map(closeConnection))
    this.updateStatus()
  }

  /** Ends goOffline(): reconnects to the relays at once and redials the room's members. Idempotent. */
  goOnline(): void {
    if (this.closing !== undefined) throw new PeerClosedError('the peer was closed')
    if (!this.parts.gate.offline) return
    this.parts.gate.offline = false
    this.parts.relays.start()
    this.dialer.wakeAll()
    this.updateStatus()
  }

  private updateStatus(): void {
    if (this.closing !== undefined) return
    if (this.parts.gate.offline) {
      this.setStatus('offline')
      return
    }
    const connected = this.parts.node.getConnections().length > 0
    this.setStatus(connected ? 'online' : this.parts.relays.isDialing ? 'connecting' : 'offline')
  }

  private setStatus(status: PeerStatus): void {
    if (status === this.currentStatus) return
    this.currentStatus = status
    this.events.emit('status', status)
  }
}

async function closeConnection(c: Connection): Promise<void> {
  await c.close().catch(() => c.abort(new Error('offline')))
}
