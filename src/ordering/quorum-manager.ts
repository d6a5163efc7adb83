/**
 * The quorum manager: what the Raft leader should change next so that the group's voters become the desired
 * super-peers (election.ts), one single-server membership change at a time (dissertation §4.1). Pure: the leader's
 * driver calls `nextConfigChange` periodically with its current configuration, its member view and its replication
 * progress, and proposes what comes back (the Raft core refuses it anyway if it no longer applies).
 *
 * Rules, in priority order (the first that applies wins):
 * 0. Nothing while a change is uncommitted (`configPending`), when this node is not a voter (a removed leader steps
 *    down), or when nobody is desired (there is no one to hand the group to).
 * 1. Remove a dead voter, once that is worth it. Removal is always safe (the live voters stay, the quorum does not
 *    grow), but a dead voter in an odd group costs nothing (V and V−1 voters have the same quorum when V is odd),
 *    keeps the group's size while a replacement catches up, and gives a voter wrongly suspected time to come back.
 *    So it goes once the group is even (then removal lowers the quorum), larger than desired, or has a caught-up
 *    replacement waiting. Removing it before promoting the replacement, not after, means the group never holds a
 *    dead voter and a new one at once: {A,B,C†,D} needs all of A, B and D, where {A,B} and then {A,B,D} never need
 *    more than A and B.
 * 2. Promote a desired learner that is alive and caught up, when the promotion leaves an odd number of voters, or a
 *    second promotion (or the removal of an undesired voter) follows at once. Growing from 1 voter to 3 thus goes
 *    1 → 2 → 3 with the second step right after the first, instead of sitting at 2 voters (where either one dying
 *    stops the group) while the third catches up. A swap promotes first and removes after (3 → 4 → 3 keeps one
 *    failure tolerated throughout), but never grows the group past one more voter than desired: two swaps in a group
 *    of 5 go 5 → 6 → 5 → 6 → 5, not 5 → 7 → 5.
 * 3. Add a desired, alive non-member as a learner: it receives the log without voting (it cannot slow commits down or
 *    block an election) until rule 2 promotes it. A live voter is removed only once the group has more voters than
 *    desired (rule 5), so replacing one never leaves the group with fewer live voters than before.
 * 4. Remove a learner that is dead or no longer desired.
 * 5. Shrink: remove an alive voter that is no longer desired, only while the group has more voters than desired (5 to
 *    3 as the room empties; a swapped-out voter after its replacement was promoted). Every voter is alive by then
 *    (rule 1 removes the dead ones first whenever the group is larger than desired), so the group keeps a live
 *    majority. The leader never removes itself: when it is the one to go, the answer is `{ type: 'transfer', to }`
 *    (the most caught-up desired voter), and the new leader removes it.
 *
 * What no rule here can prevent: a member that dies just before the leader notices. Growing a one-voter group passes
 * through two voters (one server at a time), and if the newcomer dies before its promotion commits, the two-voter
 * group can never commit again; only joint consensus (several servers at once) would avoid that step. The simulation
 * (test/sim/quorum.sim.test.ts) therefore bounds its churn the way Raft's failure model does.
 */
import { applyConfigChange, quorumSize } from '../consensus/raft/quorum.js'
import type { ClusterConfig, ConfigChange, NodeId } from '../consensus/raft/types.js'

/** What the leader knows about one member's log (its `RaftCore.status().progress` entry). */
export interface ReplicationProgress {
  /** The highest index known to match the leader's log; 0 until the member has acknowledged anything. */
  readonly match: number
  /**
   * Not fit to be promoted now: too far behind (the core's `promoteLag`, past which it refuses with 'lagging'), or
   * not heard from within an election timeout. The second part is the driver's to add (it sees the responses), and
   * it matters: on a short or idle log a learner that died keeps a `match` close enough to pass the first.
   */
  readonly lagging: boolean
}

export interface QuorumInputs {
  /** The leader's current configuration (the latest in its log). */
  readonly config: ClusterConfig
  /** The desired voters, best first: `desiredSuperPeers` over the leader's member view. */
  readonly desired: readonly NodeId[]
  /** The leader's best knowledge of who is up (member table, ideally with its own Raft contact). */
  readonly alive: (id: NodeId) => boolean
  /** Replication progress of a member; undefined when the leader does not track it (not a member, or not yet). */
  readonly progress: (id: NodeId) => ReplicationProgress | undefined
  /** A configuration entry is uncommitted, or this leader has not yet committed an entry of its own term. */
  readonly configPending: boolean
  /** The leader's own id (always counted as alive). */
  readonly selfId: NodeId
}

/** A membership change to propose, or a leadership transfer to start before the leader can be removed. */
export type QuorumAction = ConfigChange | { readonly type: 'transfer'; readonly to: NodeId }

/** The next step towards the desired voters, or null when there is none to take now (see the rules above). */
export function nextConfigChange(inputs: QuorumInputs): QuorumAction | null {
  const { config, desired, selfId } = inputs
  if (inputs.configPending || !config.voters.includes(selfId) || desired.length === 0) return null
  const s = situation(inputs)
  return removeDeadVoter(s) ?? promoteLearner(s) ?? addLearner(s) ?? removeLearner(s) ?? shrink(s)
}

/** What rules 1 to 5 share, computed once. */
interface Situation {
  readonly inputs: QuorumInputs
  readonly voters: readonly NodeId[]
  readonly desired: ReadonlySet<NodeId>
  readonly isAlive: (id: NodeId) => boolean
  /** Desired learners that are alive and caught up, in desired order. */
  readonly ready: readonly NodeId[]
}

function situation(inputs: QuorumInputs): Situation {
  const isAlive = (id: NodeId): boolean => id === inputs.selfId || inputs.alive(id)
  const learners = new Set(inputs.config.learners)
  const ready = inputs.desired.filter((id) => {
    if (!learners.has(id) || !isAlive(id)) return false
    const p = inputs.progress(id)
    // match 0: it never acknowledged anything, so nothing shows it is there (a short log makes 0 look "close").
    return p !== undefined && p.match > 0 && !p.lagging
  })
  return { inputs, voters: inputs.config.voters, desired: new Set(inputs.desired), isAlive, ready }
}

function removeDeadVoter(s: Situation): QuorumAction | null {
  const dead = sorted(s.voters.filter((id) => !s.isAlive(id)))
  const first = dead[0]
  if (first === undefined) return null
  const v = s.voters.length
  const due = v % 2 === 0 || v > s.desired.size || s.ready.length > 0
  return due ? { type: 'remove', node: first } : null
}

function promoteLearner(s: Situation): QuorumAction | null {
  const first = s.ready[0]
  if (first === undefined || s.voters.length > s.desired.size) return null
  // Rule 1 already removed every dead voter when a learner is ready, so all voters are alive here.
  const odd = (s.voters.length + 1) % 2 === 1
  const followUp = s.ready.length >= 2 || s.voters.some((id) => !s.desired.has(id))
  return odd || followUp ? { type: 'promote', node: first } : null
}

function addLearner(s: Situation): QuorumAction | null {
  const { config } = s.inputs
  for (const id of s.inputs.desired) {
    if (!config.voters.includes(id) && !config.learners.includes(id) && s.isAlive(id)) {
      return { type: 'addLearner', node: id }
    }
  }
  return null
}

function removeLearner(s: Situation): QuorumAction | null {
  const unwanted = s.inputs.config.learners.filter((id) => !s.isAlive(id) || !s.desired.has(id))
  // The dead first: they cost the leader sends and will never catch up.
  const first = [...sorted(unwanted.filter((id) => !s.isAlive(id))), ...sorted(unwanted.filter(s.isAlive))][0]
  return first === undefined ? null : { type: 'remove', node: first }
}

function shrink(s: Situation): QuorumAction | null {
  const { selfId } = s.inputs
  if (s.voters.length <= s.desired.size) return null
  const undesired = sorted(s.voters.filter((id) => !s.desired.has(id)))
  const other = undesired.find((id) => id !== selfId)
  if (other !== undefined) return { type: 'remove', node: other }
  if (undesired.length === 0) return null
  const to = transferTarget(s)
  return to === null ? null : { type: 'transfer', to }
}

/** The desired voter, other than the leader, that is alive and most caught up (ties: the better ranked). */
function transferTarget(s: Situation): NodeId | null {
  let best: NodeId | null = null
  let bestMatch = -1
  for (const id of s.inputs.desired) {
    if (id === s.inputs.selfId || !s.voters.includes(id) || !s.isAlive(id)) continue
    const p = s.inputs.progress(id)
    if (p === undefined || p.lagging || p.match <= bestMatch) continue
    best = id
    bestMatch = p.match
  }
  return best
}

function sorted(ids: readonly NodeId[]): NodeId[] {
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

export type QuorumDegradedReason =
  /** Fewer live voters than a quorum: nothing can be committed until enough come back. */
  | 'noQuorum'
  /** A voter is down and not yet replaced. */
  | 'voterDown'
  /** The room has fewer eligible members than the target, so the group is smaller than it should be. */
  | 'fewEligible'
  /** The group is still being brought to its target (learners catching up, a promotion pending). */
  | 'reconfiguring'

/** The ordering group's health, as `room.stats()` shows it. */
export interface QuorumHealth {
  readonly voters: number
  readonly liveVoters: number
  /** How many more voters may fail before the group stops committing; negative when it already has. */
  readonly tolerates: number
  /** The number of super-peers the room aims for. */
  readonly target: number
  /** The group survives fewer failures than a group of `target` voters would. */
  readonly degraded: boolean
  readonly reason?: QuorumDegradedReason
}

export interface QuorumHealthOptions {
  /**
   * The room's target (`superPeerTarget` over the member view). Default: 3, or more if `desired` is longer; pass it for
   * large rooms, or a large room with too few eligible members will not show as degraded.
   */
  readonly target?: number
}

/**
 * How well the group `config` can survive failures, against what `target` voters would give. With 1 or 2 eligible
 * members the room still works, with one super-peer, and reports `degraded` with reason `fewEligible`.
 */
export function quorumHealth(
  config: ClusterConfig,
  desired: readonly NodeId[],
  alive: (id: NodeId) => boolean,
  options: QuorumHealthOptions = {},
): QuorumHealth {
  const target = options.target ?? Math.max(3, desired.length)
  const voters = config.voters.length
  const liveVoters = config.voters.filter(alive).length
  const tolerates = voters === 0 ? -1 : liveVoters - quorumSize(voters)
  const degraded = tolerates < Math.floor((target - 1) / 2)
  const health = { voters, liveVoters, tolerates, target, degraded }
  if (!degraded) return health
  let reason: QuorumDegradedReason
  if (tolerates < 0) reason = 'noQuorum'
  else if (liveVoters < voters) reason = 'voterDown'
  else if (desired.length < target) reason = 'fewEligible'
  else reason = 'reconfiguring'
  return { ...health, reason }
}

/**
 * Whether `change` keeps a group that has a live majority (by `alive`) able to commit: removing a dead voter or
 * promoting a live learner always does; removing a live voter must leave a majority alive. The simulation checks every
 * change the manager makes against it; a driver can use it as a last guard before proposing.
 */
export function keepsLiveQuorum(
  config: ClusterConfig,
  change: ConfigChange,
  alive: (id: NodeId) => boolean,
): boolean {
  const live = (c: ClusterConfig): boolean => c.voters.filter(alive).length >= quorumSize(c.voters.length)
  if (!live(config)) return true
  const next = applyConfigChange(config, change)
  return !next.ok || live(next.config)
}
