/**
 * consensus/raft/: Raft as a pure state machine (`core.ts` with its log, progress, quorum and ReadIndex helpers), the
 * wire and record codec, and the driver that runs a core for real (`driver.ts`: timers, persistence in a
 * StorageAdapter through `raft-storage.ts`, messages through a RaftTransport such as `libp2p-transport.ts`, in the
 * order persist, send, apply). The core imports nothing from transport, storage or runtime; the driver and the
 * transport may.
 */
export * from './types.js'
export { RaftCore } from './core.js'
export type { RaftInitialState, Ready, SoftState, ProposeResult, ProposeFailure, RaftStatus, ProgressStatus } from './core.js'
export type { RaftOptions, RandomSource } from './options.js'
export { applyConfigChange, committedIndex, quorumSize, tallyVotes, isVoter, isMember, members } from './quorum.js'
export { RaftDriver, RaftNotCommittedError } from './driver.js'
export type { RaftDriverOptions, NotCommittedReason, Committed, TransferResult, RaftDriverEvents } from './driver.js'
export { RaftStorage } from './raft-storage.js'
export type { RaftTransport } from './transport.js'
export { createRaftTransport, type RaftLibp2pTransport } from './libp2p-transport.js'
