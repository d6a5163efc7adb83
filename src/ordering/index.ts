/**
 * ordering/: one total order for a room, through a few super-peers. Named logs and leased locks are a replicated state
 * machine on top of consensus; the super-peers that run it are elected from the member table (election.ts, a pure rule
 * every peer computes the same way), and the Raft leader keeps the group's voters equal to the elected ones, one
 * membership change at a time (quorum-manager.ts).
 *
 * May import: consensus/, membership/, transport/, storage/, metrics/, runtime/ and src/errors.ts. Never docs/, room/
 * or api/ (they sit above). The election and the quorum manager are pure: they import only Raft's types and quorum
 * maths, and take time, liveness and progress as inputs.
 */
export {
  ELECTION_DEFAULTS,
  desiredSuperPeers,
  rankCandidates,
  shouldBootstrap,
  superPeerTarget,
  type CandidateInfo,
  type RankOptions,
  type SuperPeerCapability,
  type SuperPeerOptions,
} from './election.js'
export {
  keepsLiveQuorum,
  nextConfigChange,
  quorumHealth,
  type QuorumAction,
  type QuorumDegradedReason,
  type QuorumHealth,
  type QuorumHealthOptions,
  type QuorumInputs,
  type ReplicationProgress,
} from './quorum-manager.js'
