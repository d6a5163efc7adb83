/**
 * The data a Raft node keeps and exchanges. Plain readonly values, no classes: the core, the codec, the driver and the
 * simulator all share them, and the codec is the only thing that turns them into bytes.
 */

export type NodeId = string

/**
 * The members of a Raft group. Voters elect the leader and form quorums; learners receive the log but neither vote
 * nor count towards a quorum (they catch up first, then a membership change promotes them).
 */
export interface ClusterConfig {
  readonly voters: readonly NodeId[]
  readonly learners: readonly NodeId[]
}

/**
 * One membership change at a time (Raft dissertation §4.1): each config entry differs from the previous config by one
 * server, so any majority of the old config overlaps any majority of the new one.
 */
export type ConfigChange =
  | { readonly type: 'addLearner'; readonly node: NodeId }
  | { readonly type: 'promote'; readonly node: NodeId }
  | { readonly type: 'remove'; readonly node: NodeId }

/**
 * A log entry. `noop` is what a new leader appends first, so that it can commit entries from earlier terms (§5.4.2)
 * and serve ReadIndex reads (§6.4). A `config` entry carries the whole new configuration and takes effect as soon as
 * it is in a node's log, committed or not (dissertation §4.1).
 */
export type Entry =
  | { readonly index: number; readonly term: number; readonly kind: 'normal'; readonly data: Uint8Array }
  | { readonly index: number; readonly term: number; readonly kind: 'config'; readonly config: ClusterConfig }
  | { readonly index: number; readonly term: number; readonly kind: 'noop' }

/** What must be on stable storage before any message that depends on it is sent (Figure 2 "persistent state"). */
export interface HardState {
  readonly term: number
  readonly vote: NodeId | null
  readonly commit: number
}

export interface SnapshotMeta {
  /** The last entry the snapshot includes, and its term. */
  readonly index: number
  readonly term: number
  /** The configuration as of `index`. */
  readonly config: ClusterConfig
}

export interface Snapshot {
  readonly meta: SnapshotMeta
  /** The application's state machine at `meta.index`, opaque to Raft. */
  readonly data: Uint8Array
}

interface Envelope {
  readonly from: NodeId
  readonly to: NodeId
  readonly term: number
}

/** AppendEntries (§5.3). Carries `commit` so followers learn what is committed. */
export interface AppendMessage extends Envelope {
  readonly type: 'append'
  readonly prevIndex: number
  readonly prevTerm: number
  readonly entries: readonly Entry[]
  readonly commit: number
}

/**
 * The answer to `append` and to a finished snapshot. On success `index` is the follower's last index known to match
 * the leader. On rejection `index` is the `prevIndex` that did not match, and (`hintIndex`, `hintTerm`) name the last
 * follower entry at or below it whose term is at most the leader's `prevTerm`, so the leader skips a whole
 * conflicting term per round trip instead of one entry (§5.3, "fast backup").
 */
export interface AppendResponseMessage extends Envelope {
  readonly type: 'appendResponse'
  readonly reject: boolean
  readonly index: number
  readonly hintIndex: number
  readonly hintTerm: number
}

/** RequestVote (§5.2, §5.4.1), or PreVote (dissertation §9.6) when `pre`; `transfer` marks a leadership transfer. */
export interface VoteMessage extends Envelope {
  readonly type: 'vote'
  readonly pre: boolean
  readonly lastIndex: number
  readonly lastTerm: number
  readonly transfer: boolean
}

export interface VoteResponseMessage extends Envelope {
  readonly type: 'voteResponse'
  readonly pre: boolean
  readonly granted: boolean
}

/** An empty AppendEntries: keeps followers from campaigning and, with `ctx`, confirms leadership for ReadIndex. */
export interface HeartbeatMessage extends Envelope {
  readonly type: 'heartbeat'
  readonly commit: number
  readonly ctx: string | null
}

export interface HeartbeatResponseMessage extends Envelope {
  readonly type: 'heartbeatResponse'
  readonly ctx: string | null
}

/** InstallSnapshot (§7), one chunk of `total` bytes starting at `offset`. */
export interface SnapshotMessage extends Envelope {
  readonly type: 'snapshot'
  readonly meta: SnapshotMeta
  readonly offset: number
  readonly total: number
  readonly chunk: Uint8Array
}

/** Acknowledges snapshot chunks: `offset` is the next byte the follower expects for the snapshot at `index`. */
export interface SnapshotResponseMessage extends Envelope {
  readonly type: 'snapshotResponse'
  readonly index: number
  readonly offset: number
}

/** Leadership transfer (dissertation §3.10): the target starts an election at once, without PreVote. */
export interface TimeoutNowMessage extends Envelope {
  readonly type: 'timeoutNow'
}

/** A follower asks the leader for a read index on behalf of its client (§6.4). */
export interface ReadIndexMessage extends Envelope {
  readonly type: 'readIndex'
  readonly ctx: string
}

/** `index` is -1 when the node asked refused (it is not the leader, or has too many reads pending). */
export interface ReadIndexResponseMessage extends Envelope {
  readonly type: 'readIndexResponse'
  readonly ctx: string
  readonly index: number
}

export type Message =
  | AppendMessage
  | AppendResponseMessage
  | VoteMessage
  | VoteResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | SnapshotMessage
  | SnapshotResponseMessage
  | TimeoutNowMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage

export type MessageType = Message['type']

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader'

/** A ReadIndex read that may now be served once the state machine has applied `index`. */
export interface ReadState {
  readonly ctx: string
  readonly index: number
}
