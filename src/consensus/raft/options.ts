/** Options of the Raft core, validated once, with the defaults a browser super-peer group uses. */
import { InvalidOptionError } from '../../errors.js'
import type { NodeId } from './types.js'

/** The only randomness the core needs: a uniform integer. `runtime/`'s Random fits; the core does not import it. */
export interface RandomSource {
  int(maxExclusive: number): number
}

export interface RaftOptions {
  readonly id: NodeId
  /** Seeded in simulations, so that election timeouts replay. */
  readonly random: RandomSource
  /** A follower that hears nothing from a leader for a random [electionTicks, 2 × electionTicks) ticks campaigns. Default 10. */
  readonly electionTicks?: number
  /** A leader sends heartbeats every `heartbeatTicks` ticks. Default 1; must be below electionTicks. */
  readonly heartbeatTicks?: number
  /** PreVote (dissertation §9.6): a node that cannot win does not disrupt the cluster by raising the term. Default true. */
  readonly preVote?: boolean
  /** CheckQuorum (§6.2): a leader that has not heard from a majority for electionTicks steps down. Default true. */
  readonly checkQuorum?: boolean
  /** Appends in flight per follower before the leader waits (pipelining window). Default 64. */
  readonly maxInflight?: number
  /** Entries per append message. Default 256. */
  readonly maxEntriesPerAppend?: number
  /** Bytes of entries per append message (at least one entry is always sent). Default 256 KiB. */
  readonly maxBytesPerAppend?: number
  /** Snapshot chunk size. Default 64 KiB. */
  readonly snapshotChunkBytes?: number
  /** Proposals are refused with `busy` while this many entries are uncommitted. Default 10 000. */
  readonly maxUncommittedEntries?: number
  /** A learner is promoted only once it is within this many entries of the leader's log. Default 64. */
  readonly promoteLag?: number
  /** ReadIndex requests a leader holds at once. Default 4096. */
  readonly maxPendingReads?: number
  /** Committed entries handed out per ready(). Default 1024. */
  readonly maxApplyPerReady?: number
  /** Largest proposal; bigger ones are refused with `tooLarge`. Default and maximum 1 MiB. */
  readonly maxEntryBytes?: number
}

export type ResolvedRaftOptions = Required<RaftOptions>

/**
 * Upper bounds that keep every message the core builds within what the codec accepts (RAFT_LIMITS in codec.ts; a
 * test checks they agree). The core cannot import the codec, which depends on the transport layer.
 */
export const CORE_LIMITS = {
  maxEntryBytes: 1024 * 1024,
  maxEntriesPerAppend: 4096,
  maxBytesPerAppend: 4 * 1024 * 1024,
  snapshotChunkBytes: 1024 * 1024,
} as const

export const MAX_READ_CTX_LENGTH = 128

export function resolveRaftOptions(o: RaftOptions): ResolvedRaftOptions {
  const r: ResolvedRaftOptions = {
    id: o.id,
    random: o.random,
    electionTicks: o.electionTicks ?? 10,
    heartbeatTicks: o.heartbeatTicks ?? 1,
    preVote: o.preVote ?? true,
    checkQuorum: o.checkQuorum ?? true,
    maxInflight: o.maxInflight ?? 64,
    maxEntriesPerAppend: o.maxEntriesPerAppend ?? 256,
    maxBytesPerAppend: o.maxBytesPerAppend ?? 256 * 1024,
    snapshotChunkBytes: o.snapshotChunkBytes ?? 64 * 1024,
    maxUncommittedEntries: o.maxUncommittedEntries ?? 10_000,
    promoteLag: o.promoteLag ?? 64,
    maxPendingReads: o.maxPendingReads ?? 4096,
    maxApplyPerReady: o.maxApplyPerReady ?? 1024,
    maxEntryBytes: o.maxEntryBytes ?? CORE_LIMITS.maxEntryBytes,
  }
  if (typeof r.id !== 'string' || r.id.length === 0) throw new InvalidOptionError('id must be a non-empty string')
  for (const key of [
    'electionTicks',
    'heartbeatTicks',
    'maxInflight',
    'maxEntriesPerAppend',
    'maxBytesPerAppend',
    'snapshotChunkBytes',
    'maxUncommittedEntries',
    'maxPendingReads',
    'maxApplyPerReady',
    'maxEntryBytes',
  ] as const) {
    const v = r[key]
    if (!Number.isSafeInteger(v) || v < 1) throw new InvalidOptionError(`${key} must be an integer >= 1, got ${v}`)
  }
  for (const key of Object.keys(CORE_LIMITS) as (keyof typeof CORE_LIMITS)[]) {
    if (r[key] > CORE_LIMITS[key]) {
      throw new InvalidOptionError(`${key} must be at most ${CORE_LIMITS[key]}, got ${r[key]}`)
    }
  }
  if (!Number.isSafeInteger(r.promoteLag) || r.promoteLag < 0) {
    throw new InvalidOptionError(`promoteLag must be an integer >= 0, got ${r.promoteLag}`)
  }
  if (r.heartbeatTicks >= r.electionTicks) {
    throw new InvalidOptionError(`heartbeatTicks (${r.heartbeatTicks}) must be below electionTicks (${r.electionTicks})`)
  }
  return r
}
