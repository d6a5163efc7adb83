/**
 * Quorum maths and configuration changes, shared by Raft and (later) the quorum manager. Pure functions.
 */
import type { ClusterConfig, ConfigChange, NodeId } from './types.js'

export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1
}

/**
 * The highest index that a majority of voters have reached: the commit candidate of §5.3/§5.4.2. `match` gives each
 * voter's match index (0 for unknown). 0 for an empty configuration.
 */
export function committedIndex(voters: readonly NodeId[], match: (id: NodeId) => number): number {
  if (voters.length === 0) return 0
  const sorted = voters.map(match).sort((a, b) => b - a)
  return sorted[quorumSize(voters.length) - 1] ?? 0
}

export type VoteTally = 'won' | 'lost' | 'pending'

/** Counts votes from voters only (a vote from anyone else, e.g. a learner, does not count). */
export function tallyVotes(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteTally {
  let granted = 0
  let rejected = 0
  for (const id of voters) {
    const v = votes.get(id)
    if (v === true) granted++
    else if (v === false) rejected++
  }
  const q = quorumSize(voters.length)
  if (granted >= q) return 'won'
  if (rejected > voters.length - q) return 'lost'
  return 'pending'
}

export function isVoter(config: ClusterConfig, id: NodeId): boolean {
  return config.voters.includes(id)
}

export function isMember(config: ClusterConfig, id: NodeId): boolean {
  return config.voters.includes(id) || config.learners.includes(id)
}

export function members(config: ClusterConfig): NodeId[] {
  return [...config.voters, ...config.learners]
}

/** The configuration after `change`, or a reason why the change does not apply to `config`. */
export function applyConfigChange(
  config: ClusterConfig,
  change: ConfigChange,
): { readonly ok: true; readonly config: ClusterConfig } | { readonly ok: false; readonly reason: string } {
  const { node } = change
  switch (change.type) {
    case 'addLearner':
      if (isMember(config, node)) return { ok: false, reason: `${node} is already a member` }
      return { ok: true, config: { voters: config.voters, learners: [...config.learners, node] } }
    case 'promote':
      if (!config.learners.includes(node)) return { ok: false, reason: `${node} is not a learner` }
      return {
        ok: true,
        config: { voters: [...config.voters, node], learners: config.learners.filter((id) => id !== node) },
      }
    case 'remove':
      if (!isMember(config, node)) return { ok: false, reason: `${node} is not a member` }
      if (config.voters.length === 1 && config.voters[0] === node) {
        return { ok: false, reason: `${node} is the last voter` }
      }
      return {
        ok: true,
        config: {
          voters: config.voters.filter((id) => id !== node),
          learners: config.learners.filter((id) => id !== node),
        },
      }
  }
}

export function sameConfig(a: ClusterConfig, b: ClusterConfig): boolean {
  const same = (x: readonly NodeId[], y: readonly NodeId[]): boolean =>
    x.length === y.length && [...x].sort().every((id, i) => id === [...y].sort()[i])
  return same(a.voters, b.voters) && same(a.learners, b.learners)
}
