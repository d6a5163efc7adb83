/**
 * How a Raft driver reaches the other members of its group. Deliberately small (automerge-repo's network adapter is
 * the model): best-effort, unordered delivery is enough, because Raft retries everything it needs. The libp2p
 * implementation carries `/synod/raft/1`; tests use an in-memory one or the simulator.
 */
import type { NodeId } from './types.js'

export interface RaftTransport {
  /**
   * Sends one encoded message to `to`. Best effort: it may be dropped (peer unreachable, queue full) without an
   * error; it never throws for a network failure.
   */
  send(to: NodeId, bytes: Uint8Array): void
  /**
   * Registers the handler of inbound messages; `from` is the authenticated sender (the Noise peer id), which the
   * driver checks against the message's own `from`. Returns an unsubscribe function.
   */
  onMessage(handler: (from: NodeId, bytes: Uint8Array) => void): () => void
}
