/**
 * consensus/raft/: Raft as a pure state machine (`core.ts` with its log, progress, quorum and ReadIndex helpers) plus
 * the wire codec. The core imports nothing from transport, storage or runtime; drivers (ordering/) own timers,
 * persistence and sending, in the order persist, send, apply.
 */
export * from './types.js'
export { RaftCore } from './core.js'
export type { RaftInitialState, Ready, SoftState, ProposeResult, ProposeFailure, RaftStatus, ProgressStatus } from './core.js'
export type { RaftOptions, RandomSource } from './options.js'
export { applyConfigChange, committedIndex, quorumSize, tallyVotes, isVoter, isMember, members } from './quorum.js'
