/**
 * The SWIM failure detector's vocabulary: member states, the gossip update, wire messages and the core's options.
 * Plain data only, so that a codec and a driver can use it without pulling in the core.
 */
import { InvalidOptionError } from '../../errors.js'

export type MemberId = string

/** `left` is a graceful goodbye; `dead` is a conclusion reached by others. Both are final for an incarnation. */
export type SwimState = 'alive' | 'suspect' | 'dead' | 'left'

/** One piece of gossip about one member. */
export interface SwimUpdate {
  readonly id: MemberId
  readonly state: SwimState
  readonly incarnation: number
  /** For `suspect`: who suspects (Lifeguard counts independent suspicions); otherwise the sender of the update. */
  readonly from: MemberId
}

/** A direct probe, or a probe sent on behalf of another member (then it is answered all the same). */
export interface PingMessage {
  readonly type: 'ping'
  readonly seq: number
  readonly updates: readonly SwimUpdate[]
}

export interface AckMessage {
  readonly type: 'ack'
  readonly seq: number
  readonly updates: readonly SwimUpdate[]
}

/**
 * Lifeguard: a helper of an indirect probe saying "I asked, no ack yet". It arrives although the target is dead, so a
 * prober that hears no nack learns the fault is on its own side (and raises its local-health score).
 */
export interface NackMessage {
  readonly type: 'nack'
  readonly seq: number
}

/** "Please ping `target` for me and forward its ack with my `seq`" (SWIM §3.1). */
export interface PingReqMessage {
  readonly type: 'pingReq'
  readonly seq: number
  readonly target: MemberId
  readonly updates: readonly SwimUpdate[]
}

/**
 * Push-pull anti-entropy (as in memberlist; SWIM's gossip alone can miss a member for good): the sender's view, at
 * most `maxMembers` entries, answered with `sync`. A newcomer sends it to its seeds.
 */
export interface JoinMessage {
  readonly type: 'join'
  readonly updates: readonly SwimUpdate[]
}

/** The answer to `join`: the seed's view (at most `maxMembers` entries). */
export interface SyncMessage {
  readonly type: 'sync'
  readonly members: readonly SwimUpdate[]
}

export type SwimMessage = PingMessage | AckMessage | NackMessage | PingReqMessage | JoinMessage | SyncMessage

export interface Outgoing {
  readonly to: MemberId
  readonly msg: SwimMessage
}

/** A member's state as this core sees it changed. `previous` is null for a member seen for the first time. */
export interface MemberChange {
  readonly id: MemberId
  readonly state: SwimState
  readonly incarnation: number
  readonly previous: SwimState | null
}

/**
 * `incarnationTooHigh`: a suspect/dead claim about another member beyond the known incarnation + bound;
 * `selfIncarnationTooHigh`: any claim about the receiver beyond its own incarnation; `malformed`: not a safe
 * non-negative integer incarnation.
 */
export type RejectReason = 'incarnationTooHigh' | 'selfIncarnationTooHigh' | 'malformed'

/** A message was refused as forged or corrupt; the driver may lower `from`'s reputation. */
export interface Rejection {
  readonly from: MemberId
  readonly reason: RejectReason
  readonly update: SwimUpdate
}

export interface SwimReady {
  /** Send each, in order; loss is expected and tolerated. */
  readonly messages: readonly Outgoing[]
  readonly changes: readonly MemberChange[]
  readonly rejections: readonly Rejection[]
}

export interface MemberView {
  readonly id: MemberId
  readonly state: SwimState
  readonly incarnation: number
}

/** The only randomness the core uses; inject a seeded source in tests and simulations. */
export interface SwimRandom {
  /** An integer uniform in [0, max). */
  int(max: number): number
}

export interface SwimOptions {
  readonly id: MemberId
  readonly random: SwimRandom
  /** Ticks per protocol period (one probe per period), before the local-health multiplier. Default 5. */
  readonly periodTicks?: number
  /** Ticks to wait for a direct ack before asking others (must be < periodTicks). Default 2. */
  readonly probeTimeoutTicks?: number
  /** k: members asked to probe indirectly. Default 3. */
  readonly indirectChecks?: number
  /** λ: each update is sent λ·⌈log10(N + 1)⌉ times. Default 3. */
  readonly retransmitMult?: number
  /** α: the shortest suspicion timeout is α·max(1, log10 N) periods. Default 4. */
  readonly suspicionMult?: number
  /** The longest suspicion timeout (with no confirmation) is this many times the shortest. Default 4. */
  readonly suspicionMaxMult?: number
  /** Independent suspicions after which the timeout reaches its minimum (Lifeguard's K). Default 3. */
  readonly suspicionConfirmations?: number
  /**
   * A push-pull exchange of full views with one random member every this many periods, times
   * ⌈log2(N / 32)⌉ + 1 above 32 members (memberlist's scaling). Default 10.
   */
  readonly pushPullPeriods?: number
  /** Lifeguard's Local Health Multiplier: on (default) scales the period and probe timeout by (1 + score). */
  readonly localHealth?: boolean
  /** Highest local-health score. Default 8. */
  readonly maxLocalHealth?: number
  /** Most members remembered (tombstones included). Default 1024. */
  readonly maxMembers?: number
  /** Most updates piggybacked on one message. Default 8. */
  readonly maxPiggyback?: number
  /** Most probes relayed for others at once (further pingReqs are dropped). Default 64. */
  readonly maxPendingProbes?: number
  /**
   * A suspect/dead update for another member whose incarnation exceeds the known one by more than this is rejected.
   * Honest suspicions use an incarnation the suspecter saw, so a big jump means forgery. Default 32.
   */
  readonly incarnationBound?: number
}

export type ResolvedSwimOptions = Required<Omit<SwimOptions, 'id' | 'random'>>

export function resolveSwimOptions(options: SwimOptions): ResolvedSwimOptions {
  const resolved: ResolvedSwimOptions = {
    periodTicks: options.periodTicks ?? 5,
    probeTimeoutTicks: options.probeTimeoutTicks ?? 2,
    indirectChecks: options.indirectChecks ?? 3,
    retransmitMult: options.retransmitMult ?? 3,
    suspicionMult: options.suspicionMult ?? 4,
    suspicionMaxMult: options.suspicionMaxMult ?? 4,
    suspicionConfirmations: options.suspicionConfirmations ?? 3,
    pushPullPeriods: options.pushPullPeriods ?? 10,
    localHealth: options.localHealth ?? true,
    maxLocalHealth: options.maxLocalHealth ?? 8,
    maxMembers: options.maxMembers ?? 1024,
    maxPiggyback: options.maxPiggyback ?? 8,
    maxPendingProbes: options.maxPendingProbes ?? 64,
    incarnationBound: options.incarnationBound ?? 32,
  }
  for (const [name, value] of Object.entries(resolved)) {
    if (typeof value === 'number' && (!Number.isSafeInteger(value) || value < (name === 'maxLocalHealth' ? 0 : 1))) {
      throw new InvalidOptionError(`${name} must be a positive integer, got ${value}`)
    }
  }
  if (resolved.probeTimeoutTicks >= resolved.periodTicks) {
    throw new InvalidOptionError(
      `probeTimeoutTicks (${resolved.probeTimeoutTicks}) must be below periodTicks (${resolved.periodTicks})`,
    )
  }
  return resolved
}
