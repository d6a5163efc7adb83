/**
 * Synod's public surface for browsers (and any runtime with WebRTC): createPeer, the handles, the error classes.
 * Nothing else is public; import only from here (or from 'synod/node' for the relay).
 */
export { createPeer } from './api/create-peer.js'
export type { PeerOptions, JoinOptions, StorageOption } from './api/options.js'
export { Peer, type PeerStatus, type PeerEvents } from './api/peer.js'
export {
  Room,
  Presence,
  type RoomEvents,
  type Member,
  type MemberRole,
  type MemberState,
  type PresenceChange,
  type RoomStats,
  type Topology,
  type MembershipStats,
  type DocOptions,
  type DocHandle,
  type DocStatus,
  type DocChangeEvent,
  type DocProgress,
  type LogHandle,
  type LockHandle,
  type LogEntry,
  type LockGrantInfo,
  type LockHolder,
  type AcquireOptions,
} from './api/room.js'
export type { OrderingStats } from './room/room-ordering.js'
export type { SuperPeerCapability } from './ordering/election.js'
export type { MetricsSnapshot, HistogramSnapshot } from './metrics/index.js'
export {
  SynodError,
  DecodeError,
  MessageTooLargeError,
  RoomClosedError,
  PeerClosedError,
  InvalidOptionError,
  AbortError,
  RateLimitedError,
  NotCommittedError,
  LockBusyError,
  StorageQuotaError,
} from './errors.js'
