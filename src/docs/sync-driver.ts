/**
 * Drives a room's sync engine over libp2p: one outbound `/synod/sync/1` stream to each directly connected member
 * (opened with a `hello` naming the room) carries our frames; frames arrive on the member's own outbound stream, which
 * the peer-wide router hands to us. Each member has its own bounded write queue, so a slow member is dropped (and
 * resynced when it reconnects) instead of holding up the others.
 */
import type { Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { MetricsRegistry } from '../metrics/index.js'
import type { SynodLibp2p } from '../transport/create-node.js'
import { FramedStream } from '../transport/framed-stream.js'
import type { SyncEngine } from './sync-engine.js'
import { ChunkAssembler, encodeSyncFrame, SYNC_LIMITS, SYNC_PROTOCOL, toWireFrames, type SyncFrame } from './sync-messages.js'

/** Frames that may wait for one member before its stream counts as stuck (a 256 MiB document is 4096 chunks). */
const MAX_QUEUED_FRAMES = 8192

interface Link {
  outbound: FramedStream | undefined
  opening: boolean
  /** Failed attempts to open the outbound stream so far. */
  failures: number
  /** Frames produced before the outbound stream opened. */
  readonly pending: Uint8Array[]
  readonly inbound: Set<FramedStream>
}

export class SyncDriver {
  private readonly links = new Map<string, Link>()
  private closed = false

  constructor(
    private readonly node: SynodLibp2p,
    private readonly roomId: string,
    private readonly engine: SyncEngine,
    private readonly metrics: MetricsRegistry,
    /** A large message for `doc` is arriving in chunks: how many bytes of about how many so far. */
    private readonly onProgress: (doc: string, receivedBytes: number, totalBytes: number) => void = () => {},
  ) {}

  /** Frames the engine wants to send go through here. */
  send(peer: string, frame: SyncFrame): void {
    const link = this.links.get(peer)
    if (link === undefined) return
    const wire = toWireFrames(encodeSyncFrame(frame))
    if (link.outbound === undefined) {
      link.pending.push(...wire)
      if (link.pending.length > MAX_QUEUED_FRAMES) this.drop(peer)
      return
    }
    this.write(peer, link.outbound, wire)
  }

  /** A member we hold a direct connection to: start syncing with it. Idempotent. */
  connect(peer: string): void {
    if (this.closed) return
    const link = this.links.get(peer) ?? { outbound: undefined, opening: false, failures: 0, pending: [], inbound: new Set() }
    this.links.set(peer, link)
    if (link.outbound === undefined && !link.opening) void this.open(peer, link)
    this.engine.addPeer(peer)
  }

  /** The member left or its direct connection closed. */
  drop(peer: string): void {
    const link = this.links.get(peer)
    if (link === undefined) return
    this.links.delete(peer)
    this.engine.removePeer(peer)
    link.outbound?.abort(new Error('sync link dropped'))
    for (const s of link.inbound) s.abort(new Error('sync link dropped'))
  }

  /** An inbound stream from `peer` whose hello named this room (the router read the hello). */
  accept(peer: string, framed: FramedStream): void {
    if (this.closed) {
      framed.abort(new Error('room closed'))
      return
    }
    this.connect(peer)
    const link = this.links.get(peer)
    link?.inbound.add(framed)
    void this.readLoop(peer, framed)
  }

  close(): void {
    this.closed = true
    for (const peer of [...this.links.keys()]) this.drop(peer)
  }

  private async open(peer: string, link: Link): Promise<void> {
    link.opening = true
    try {
      const stream: Stream = await this.node.dialProtocol(peerIdFromString(peer), SYNC_PROTOCOL, {
        signal: AbortSignal.timeout(10_000),
      })
      const framed = new FramedStream(stream, { maxFrameBytes: SYNC_LIMITS.maxFrameBytes, maxQueuedFrames: MAX_QUEUED_FRAMES })
      if (this.links.get(peer) !== link) {
        framed.abort(new Error('sync link dropped'))
        return
      }
      link.outbound = framed
      this.write(peer, framed, [encodeSyncFrame({ type: 'hello', room: this.roomId }), ...link.pending.splice(0)])
    } catch {
      this.metrics.counter('sync.stream_failures').inc()
      link.opening = false
      if (this.links.get(peer) !== link || this.closed) return
      link.failures++
      if (link.failures > 5) {
        // Without a way to send, the engine's state for this peer is wrong: forget it; a reconnect starts afresh.
        this.drop(peer)
        return
      }
      // The connection is still there (the member is still direct): try again shortly, frames wait meanwhile.
      setTimeout(() => {
        if (this.links.get(peer) === link && link.outbound === undefined && !link.opening) void this.open(peer, link)
      }, 250 * 2 ** link.failures)
    } finally {
      link.opening = false
    }
  }

  private write(peer: string, framed: FramedStream, frames: readonly Uint8Array[]): void {
    for (const frame of frames) {
      framed.write(frame).catch(() => {
        if (this.links.get(peer)?.outbound === framed) this.drop(peer)
      })
    }
  }

  private async readLoop(peer: string, framed: FramedStream): Promise<void> {
    const assembler = new ChunkAssembler()
    try {
      for (;;) {
        const wire = await framed.read()
        if (wire === null) return
        const frame = assembler.push(wire)
        if (frame !== undefined) this.engine.receive(peer, frame)
        else {
          const progress = assembler.progress()
          if (progress?.doc !== undefined) this.onProgress(progress.doc, progress.received, progress.total)
        }
      }
    } catch {
      // A malformed frame: count it against the peer and close this stream; our documents are untouched.
      this.metrics.counter('sync.rejected').inc()
      framed.abort(new Error('malformed sync frame'))
    } finally {
      this.links.get(peer)?.inbound.delete(framed)
    }
  }
}
