// An in-memory network of sync engines for tests: every frame goes through the real wire encoding (chunking included)
// and is queued per link; settle() delivers the queues round-robin, in order per link, until the network is quiet.
import { MetricsRegistry } from '../../src/metrics/index.js'
import type { AutomergeModule } from '../../src/docs/automerge.js'
import { SyncEngine } from '../../src/docs/sync-engine.js'
import { ChunkAssembler, encodeSyncFrame, toWireFrames } from '../../src/docs/sync-messages.js'

export interface SyncNet {
  readonly engines: Map<string, SyncEngine>
  /** Bytes put on the wire, by sender. */
  readonly bytesSent: Map<string, number>
  readonly metrics: Map<string, MetricsRegistry>
  add(id: string): SyncEngine
  connect(a: string, b: string): void
  disconnect(a: string, b: string): void
  /** Delivers queued frames until none are left (or `maxFrames` were delivered). Returns how many. */
  settle(maxFrames?: number): number
}

export function createSyncNet(automerge: AutomergeModule): SyncNet {
  const engines = new Map<string, SyncEngine>()
  const links = new Map<string, { queue: Uint8Array[]; assembler: ChunkAssembler }>()
  const bytesSent = new Map<string, number>()
  const metrics = new Map<string, MetricsRegistry>()
  const key = (from: string, to: string): string => `${from}->${to}`

  const net: SyncNet = {
    engines,
    bytesSent,
    metrics,
    add(id) {
      const registry = new MetricsRegistry()
      metrics.set(id, registry)
      const engine = new SyncEngine({
        automerge,
        metrics: registry,
        send: (peer, frame) => {
          const link = links.get(key(id, peer))
          if (link === undefined) return
          for (const wire of toWireFrames(encodeSyncFrame(frame))) {
            link.queue.push(wire)
            bytesSent.set(id, (bytesSent.get(id) ?? 0) + wire.length)
          }
        },
      })
      engines.set(id, engine)
      return engine
    },
    connect(a, b) {
      links.set(key(a, b), { queue: [], assembler: new ChunkAssembler() })
      links.set(key(b, a), { queue: [], assembler: new ChunkAssembler() })
      engines.get(a)?.addPeer(b)
      engines.get(b)?.addPeer(a)
    },
    disconnect(a, b) {
      links.delete(key(a, b))
      links.delete(key(b, a))
      engines.get(a)?.removePeer(b)
      engines.get(b)?.removePeer(a)
    },
    settle(maxFrames = 1_000_000) {
      let delivered = 0
      for (let progress = true; progress && delivered < maxFrames; ) {
        progress = false
        for (const [k, link] of links) {
          const wire = link.queue.shift()
          if (wire === undefined) continue
          progress = true
          delivered++
          const [from = '', to = ''] = k.split('->')
          const frame = link.assembler.push(wire)
          if (frame !== undefined) engines.get(to)?.receive(from, frame)
        }
      }
      return delivered
    },
  }
  return net
}
