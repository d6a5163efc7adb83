/**
 * An in-memory hub of RaftTransports for driver tests. Each message is copied (as the wire would) and delivered in a
 * microtask, so a sender never runs its receiver's code inside its own call, and delivery order is the send order.
 * Links can be cut (both ways or one way), nodes isolated, messages dropped by a filter, and a test can inject raw
 * bytes as if an authenticated peer had sent them (malformed or spoofed messages).
 */
import type { RaftTransport } from '../../src/consensus/raft/transport.js'
import type { NodeId } from '../../src/consensus/raft/types.js'

type Handler = (from: NodeId, bytes: Uint8Array) => void

export interface HubMessage {
  readonly from: NodeId
  readonly to: NodeId
  readonly bytes: Uint8Array
}

export class MemoryRaftHub {
  private readonly handlers = new Map<NodeId, Set<Handler>>()
  private readonly cuts = new Set<string>()
  /** Return true to drop a message (checked when it is sent). */
  dropIf: ((m: HubMessage) => boolean) | null = null
  /** Messages delivered so far. */
  delivered = 0
  dropped = 0

  /** The transport of node `id`; `onSend` sees each message the node sends, before the hub decides its fate. */
  transport(id: NodeId, onSend?: (m: HubMessage) => void): RaftTransport {
    return {
      send: (to, bytes) => {
        const m = { from: id, to, bytes: bytes.slice() }
        onSend?.(m)
        this.route(m)
      },
      onMessage: (handler) => {
        const set = this.handlers.get(id) ?? new Set<Handler>()
        set.add(handler)
        this.handlers.set(id, set)
        return () => {
          set.delete(handler)
        }
      },
    }
  }

  /** Delivers `bytes` to `to` as if the authenticated peer `from` had sent them (ignores cuts and filters). */
  inject(from: NodeId, to: NodeId, bytes: Uint8Array): void {
    this.deliver({ from, to, bytes: bytes.slice() })
  }

  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(`${a}>${b}`)
    this.cuts.add(`${b}>${a}`)
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.cuts.add(`${from}>${to}`)
  }

  /** Cuts `id` from every node in `others`. */
  isolate(id: NodeId, others: readonly NodeId[]): void {
    for (const other of others) if (other !== id) this.cut(id, other)
  }

  heal(): void {
    this.cuts.clear()
    this.dropIf = null
  }

  /** Handlers registered for `id` (0 once its driver stopped). */
  listeners(id: NodeId): number {
    return this.handlers.get(id)?.size ?? 0
  }

  private route(m: HubMessage): void {
    if (this.cuts.has(`${m.from}>${m.to}`) || this.dropIf?.(m) === true) {
      this.dropped++
      return
    }
    this.deliver(m)
  }

  private deliver(m: HubMessage): void {
    queueMicrotask(() => {
      const set = this.handlers.get(m.to)
      if (set === undefined || set.size === 0) return
      this.delivered++
      for (const handler of [...set]) handler(m.from, m.bytes)
    })
  }
}
