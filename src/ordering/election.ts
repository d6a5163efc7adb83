/**
 * Super-peer election: which members of a room should be the voters of its ordering group. A pure function of the
 * member table, so every peer that holds the same table computes the same answer without exchanging a message; the
 * Raft leader acts on its own answer through the quorum manager (quorum-manager.ts), one membership change at a time.
 *
 * The rule (`rankCandidates`), in order:
 * 1. Only members that are alive and declared `auto` or `prefer` are candidates (`never` opts out, e.g. a phone).
 * 2. `prefer` before `auto`: the application knows this peer is a good host (a desktop, a kiosk, a headless peer).
 * 3. Well connected before poorly connected: a member is well connected when it reports direct connections to at
 *    least `wellConnectedRatio` (default half) of the other live members. A threshold rather than the raw count, so
 *    that one connection more or less does not reorder the candidates and set off membership changes.
 * 4. Longest uptime first (smallest declared `joinedAt`): a member that has stayed long is likely to stay longer, and,
 *    more important, a newcomer ranks after the members of its class already there, so joins of the same class do
 *    not displace super-peers (up to clock skew: each member declares its join time by its own clock).
 * 5. The id, compared by UTF-16 code units, breaks ties (never `localeCompare`, which depends on the locale).
 *
 * How many (`superPeerTarget`, `desiredSuperPeers`): 3, or 5 once the room has `largeRoomSize` live members, and
 * always an odd number. With fewer candidates the group is smaller: 4 candidates give 3 voters, 2 give 1. A fourth
 * (or second) voter would raise the quorum without raising the number of failures the group survives: two voters
 * need both, so either one dying stops the log, where one voter stops it only if that one dies.
 *
 * One exception to the ranking: when the room can have only one super-peer and a current voter is still a
 * candidate, the best-ranked current voter keeps the role. Handing a sole super-peer's role to another peer passes
 * through a two-voter group (membership changes go one server at a time), and if either of the two died there the
 * log would stop for good; a better-ranked newcomer is not worth that. The current voters come from the committed
 * configuration, which every member learns from the log, so every peer still computes the same answer.
 *
 * Trust: every input is declared by the member about itself (its capability, its join time, its connections). A member
 * can claim to be old and well connected to get elected; who may join a room at all is admission control's job
 * (security/), not this rule's.
 */
import { InvalidOptionError } from '../errors.js'
import type { NodeId } from '../consensus/raft/types.js'

/** What a member declares about serving as a super-peer: `createPeer({ superPeer })`. */
export type SuperPeerCapability = 'never' | 'auto' | 'prefer'

/** One row of the member table, as the election sees it. */
export interface CandidateInfo {
  readonly id: NodeId
  readonly capability: SuperPeerCapability
  /**
   * The member's own declared join time (ms since epoch), advertised by the member, so every peer sees the same value.
   * A value that is not a finite number ranks as the newest possible member.
   */
  readonly joinedAt: number
  /** How many members it reports direct connections to; anything but a finite number counts as 0. */
  readonly directPeers: number
  /** Not suspected or dead in the observer's member table. */
  readonly alive: boolean
}

export interface RankOptions {
  /**
   * A candidate is well connected when `directPeers` ≥ this fraction of the other live members. In [0, 1]; default
   * 0.5.
   */
  readonly wellConnectedRatio?: number
}

export interface SuperPeerOptions extends RankOptions {
  /** A fixed number of super-peers (odd, ≥ 1) instead of the size rule below. Default: none. */
  readonly target?: number
  /** Rooms with at least this many live members (of any capability) keep `largeTarget` super-peers. Default 16. */
  readonly largeRoomSize?: number
  /** Super-peers of a large room (odd). Default 5. */
  readonly largeTarget?: number
  /** Super-peers of a smaller room (odd). Default 3. */
  readonly smallTarget?: number
  /**
   * The voters of the group's committed configuration, if there is a group: with room for only one super-peer, the
   * best-ranked of them that is still a candidate stays (see the file header). Default: none.
   */
  readonly current?: readonly NodeId[]
}

export const ELECTION_DEFAULTS = {
  wellConnectedRatio: 0.5,
  largeRoomSize: 16,
  largeTarget: 5,
  smallTarget: 3,
} as const

const CAPABILITY_RANK: Readonly<Record<SuperPeerCapability, number>> = { prefer: 0, auto: 1, never: 2 }

interface Ranked {
  readonly id: NodeId
  readonly capabilityRank: number
  readonly wellConnected: boolean
  readonly joinedAt: number
}

/**
 * The candidates, best first, by the rule in the file header. The same members in any order give the same result.
 * Throws InvalidOptionError when two rows share an id (a member table never holds two; a caller that merged tables
 * badly would otherwise get an answer that depends on the order of its input).
 */
export function rankCandidates(members: readonly CandidateInfo[], options: RankOptions = {}): NodeId[] {
  const ratio = options.wellConnectedRatio ?? ELECTION_DEFAULTS.wellConnectedRatio
  if (!(ratio >= 0 && ratio <= 1)) {
    throw new InvalidOptionError(`wellConnectedRatio must be a number in [0, 1], got ${ratio}`)
  }
  checkUniqueIds(members)
  const others = Math.max(0, liveCount(members) - 1)
  const ranked: Ranked[] = []
  for (const m of members) {
    // A capability from the wire that is none of the three counts as `never`: serving is opt-in, not a default.
    if (!m.alive || m.capability === 'never' || !Object.hasOwn(CAPABILITY_RANK, m.capability)) continue
    const direct = Number.isFinite(m.directPeers) ? m.directPeers : 0
    ranked.push({
      id: m.id,
      capabilityRank: CAPABILITY_RANK[m.capability],
      wellConnected: direct >= ratio * others,
      joinedAt: Number.isFinite(m.joinedAt) ? m.joinedAt : Number.POSITIVE_INFINITY,
    })
  }
  return ranked.sort(compareRanked).map((r) => r.id)
}

/** How many super-peers the room aims for: `target` if given, else 3 or 5 by the number of live members. */
export function superPeerTarget(members: readonly CandidateInfo[], options: SuperPeerOptions = {}): number {
  const o = resolveTargets(options)
  if (o.target !== undefined) return o.target
  return liveCount(members) >= o.largeRoomSize ? o.largeTarget : o.smallTarget
}

/**
 * The members that should be the group's voters, best first: the top of `rankCandidates`, as many as the target, or
 * the largest odd number the candidates allow (see the file header). Empty when no member may serve.
 */
export function desiredSuperPeers(members: readonly CandidateInfo[], options: SuperPeerOptions = {}): NodeId[] {
  const target = superPeerTarget(members, options)
  const ranked = rankCandidates(members, options)
  const n = Math.min(target, ranked.length)
  if (n <= 2 && options.current !== undefined) {
    const current = new Set(options.current)
    const sitting = ranked.find((id) => current.has(id))
    if (sitting !== undefined) return [sitting]
  }
  return ranked.slice(0, n % 2 === 0 ? Math.max(0, n - 1) : n)
}

/**
 * Whether `selfId` should found the room's ordering group (a one-voter configuration with itself): only the top
 * candidate does, so that peers who see the same table never found two groups. Call it only after the member view
 * has settled (a discovery period) and no existing group has been heard of.
 *
 * The remaining risk: two peers whose views differ each see themselves on top, and each founds a group. That happens
 * when the room starts partitioned (or a better candidate is not yet in the founder's table when it decides), and no
 * rule over local views can exclude it: deciding "I am the only founder" needs the agreement the group is being
 * founded to provide. The wait makes it unlikely; a room that finds two groups must merge them (the one whose founder
 * ranks lower joins the other), which is the room layer's job, not this function's.
 */
export function shouldBootstrap(
  selfId: NodeId,
  members: readonly CandidateInfo[],
  options: RankOptions = {},
): boolean {
  return rankCandidates(members, options)[0] === selfId
}

/**
 * Whether a group just founded may take commands before its settling time is up: only once it has heard from other
 * members and every one of them advertises that group (heartbeats carry the group each member follows). Until then
 * a member that founded a group of its own at the same moment may exist, and the younger of the two groups must
 * still be empty so that it can be dissolved into the older one. A founder alone in its view waits the whole time:
 * a member it has not heard from yet is exactly the one that may have founded too.
 */
export function othersFollowGroup(group: string, members: readonly NodeId[], advertised: ReadonlyMap<NodeId, { readonly group: string }>): boolean {
  if (members.length === 0) return false
  return members.every((id) => advertised.get(id)?.group === group)
}

function compareRanked(a: Ranked, b: Ranked): number {
  if (a.capabilityRank !== b.capabilityRank) return a.capabilityRank - b.capabilityRank
  if (a.wellConnected !== b.wellConnected) return a.wellConnected ? -1 : 1
  // Not a subtraction: two non-finite join times (both +Infinity) would give NaN.
  if (a.joinedAt !== b.joinedAt) return a.joinedAt < b.joinedAt ? -1 : 1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

function liveCount(members: readonly CandidateInfo[]): number {
  let n = 0
  for (const m of members) if (m.alive) n++
  return n
}

function checkUniqueIds(members: readonly CandidateInfo[]): void {
  const seen = new Set<NodeId>()
  for (const m of members) {
    if (seen.has(m.id)) throw new InvalidOptionError(`member ${m.id} appears twice in the member list`)
    seen.add(m.id)
  }
}

interface ResolvedTargets {
  readonly target: number | undefined
  readonly largeRoomSize: number
  readonly largeTarget: number
  readonly smallTarget: number
}

function resolveTargets(o: SuperPeerOptions): ResolvedTargets {
  const r: ResolvedTargets = {
    target: o.target,
    largeRoomSize: o.largeRoomSize ?? ELECTION_DEFAULTS.largeRoomSize,
    largeTarget: o.largeTarget ?? ELECTION_DEFAULTS.largeTarget,
    smallTarget: o.smallTarget ?? ELECTION_DEFAULTS.smallTarget,
  }
  for (const key of ['target', 'largeTarget', 'smallTarget'] as const) {
    const v = r[key]
    if (v === undefined) continue
    if (!Number.isSafeInteger(v) || v < 1 || v % 2 === 0) {
      // An even group tolerates no more failures than the odd one below it, and needs one more vote per commit.
      throw new InvalidOptionError(`${key} must be an odd integer >= 1, got ${v}`)
    }
  }
  if (!Number.isSafeInteger(r.largeRoomSize) || r.largeRoomSize < 1) {
    throw new InvalidOptionError(`largeRoomSize must be an integer >= 1, got ${r.largeRoomSize}`)
  }
  return r
}
