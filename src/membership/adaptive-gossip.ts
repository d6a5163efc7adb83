/**
 * Gossip parameters that follow the room: how many mesh links gossipsub keeps, how much it gossips lazily, how often
 * heartbeats and presence go out, from the room's size and the loss the failure detector observes. Pure, so the rule
 * is tested on its own; the room applies the result (room/gossip-tuning.ts).
 *
 * The reasoning, per parameter:
 * - Mesh degree D (eager push). A message reaches a mesh peer if any of its D paths delivers; with loss l per hop,
 *   more redundancy keeps delivery high, so D grows by one per 5 % of loss (6 → 8 at 10 %), and rooms past 100
 *   members keep 8 to keep the mesh's diameter short. Dlo/Dhi keep gossipsub's ratios (D−2, 2D). Small rooms need
 *   nothing special: gossipsub cannot graft more peers than there are.
 * - Lazy pull (IHAVE/IWANT): Dlazy = D and the gossip factor 0.25 + l (capped at 0.5), so that a message the push
 *   missed is advertised to more peers, and pulled, when the network loses more.
 * - Heartbeat interval (name, role, links; liveness is the detector's job): every member's heartbeat reaches every
 *   member, so the room's heartbeat traffic grows as N²; past 32 members the interval grows with N (capped at 5 s),
 *   keeping each member's inbound heartbeats at about 32 per base interval.
 * - Presence throttle: the same N² argument for the latest-wins presence stream; past 8 members the minimum interval
 *   grows with N (capped at 1 s). Loss does not change it: a lost presence is replaced by the next one anyway.
 */

export interface GossipInputs {
  /** Members in the room, this peer included. */
  readonly members: number
  /** Estimated one-way message loss in [0, 1]; null when unknown (taken as none). */
  readonly loss: number | null
}

export interface GossipBase {
  readonly heartbeatIntervalMs: number
  readonly presenceThrottleMs: number
}

export interface GossipParameters {
  readonly D: number
  readonly Dlo: number
  readonly Dhi: number
  readonly Dlazy: number
  readonly gossipFactor: number
  readonly heartbeatIntervalMs: number
  readonly presenceThrottleMs: number
}

const HEARTBEAT_FANIN = 32
const MAX_HEARTBEAT_MS = 5000
const PRESENCE_FANIN = 8
const MAX_PRESENCE_MS = 1000

export function gossipParameters(inputs: GossipInputs, base: GossipBase): GossipParameters {
  const n = Number.isFinite(inputs.members) ? Math.max(1, Math.floor(inputs.members)) : 1
  const raw = inputs.loss ?? 0
  const loss = Number.isFinite(raw) ? Math.min(1, Math.max(0, raw)) : 0
  const D = Math.min(12, (n > 100 ? 8 : 6) + Math.floor(loss / 0.05))
  return {
    D,
    Dlo: Math.max(1, D - 2),
    Dhi: 2 * D,
    Dlazy: D,
    gossipFactor: Math.min(0.5, 0.25 + loss),
    heartbeatIntervalMs: growWithRoom(base.heartbeatIntervalMs, n, HEARTBEAT_FANIN, MAX_HEARTBEAT_MS),
    presenceThrottleMs: growWithRoom(base.presenceThrottleMs, n, PRESENCE_FANIN, MAX_PRESENCE_MS),
  }
}

/** The N² argument of the file header: `baseMs` past `fanin` members grows with N, up to `capMs` (never below base). */
function growWithRoom(baseMs: number, n: number, fanin: number, capMs: number): number {
  return Math.round(Math.min(Math.max(baseMs, capMs), baseMs * Math.max(1, n / fanin)))
}
