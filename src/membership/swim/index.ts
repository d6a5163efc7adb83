/**
 * membership/swim/: the SWIM failure detector with Lifeguard's refinements, as a pure core (no timers, clock,
 * randomness or I/O). A driver ticks it, feeds it received messages and sends what `ready()` returns.
 *
 * May import: src/errors.ts only.
 * Except codec.ts, which also imports src/transport/wire.ts: the shared Reader/Writer of every binary codec.
 */
export { SwimCore, overrides, type SwimStats } from './core.js'
export { SWIM_LIMITS, SWIM_PROTOCOL, decodeSwimMessage, encodeSwimMessage } from './codec.js'
export {
  resolveSwimOptions,
  type AckMessage,
  type JoinMessage,
  type MemberChange,
  type MemberId,
  type MemberView,
  type NackMessage,
  type Outgoing,
  type PingMessage,
  type PingReqMessage,
  type RejectReason,
  type Rejection,
  type ResolvedSwimOptions,
  type SwimMessage,
  type SwimOptions,
  type SwimRandom,
  type SwimReady,
  type SwimState,
  type SwimUpdate,
  type SyncMessage,
} from './types.js'
