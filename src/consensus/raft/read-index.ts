/**
 * ReadIndex (§6.4): a leader serves a linearizable read without writing to the log. It records its commit index as
 * the read index, confirms it is still leader by a round of heartbeats acknowledged by a majority, and only then lets
 * the read proceed (once the state machine has applied the read index). Acknowledging a later heartbeat also confirms
 * every read queued before it.
 */
import { quorumSize } from './quorum.js'
import type { NodeId } from './types.js'

export interface PendingRead {
  readonly ctx: string
  readonly index: number
  /** Who asked: this node, or the follower that forwarded the read. */
  readonly origin: NodeId
  readonly acks: Set<NodeId>
}

export class ReadIndexQueue {
  private queue: PendingRead[] = []

  constructor(private readonly max: number) {}

  get size(): number {
    return this.queue.length
  }

  full(): boolean {
    return this.queue.length >= this.max
  }

  has(ctx: string): boolean {
    return this.queue.some((r) => r.ctx === ctx)
  }

  add(ctx: string, index: number, origin: NodeId, self: NodeId): void {
    this.queue.push({ ctx, index, origin, acks: new Set([self]) })
  }

  /** The ctx of the newest pending read: heartbeats carry it, and an ack for it confirms all reads before it. */
  lastCtx(): string | null {
    return this.queue[this.queue.length - 1]?.ctx ?? null
  }

  /**
   * Records that `from` acknowledged the heartbeat carrying `ctx`. Returns the reads that are now confirmed by a
   * majority of `voters` (in the order they were asked), removing them from the queue.
   */
  ack(ctx: string, from: NodeId, voters: readonly NodeId[]): PendingRead[] {
    const pos = this.queue.findIndex((r) => r.ctx === ctx)
    if (pos < 0) return []
    const read = this.queue[pos] as PendingRead
    if (voters.includes(from)) read.acks.add(from)
    const acked = voters.filter((id) => read.acks.has(id)).length
    if (acked < quorumSize(voters.length)) return []
    return this.queue.splice(0, pos + 1)
  }

  /** Reads that a single-voter leader can release at once. */
  releaseAll(): PendingRead[] {
    return this.queue.splice(0)
  }

  /** Leadership lost: every pending read fails. */
  clear(): PendingRead[] {
    return this.queue.splice(0)
  }
}
