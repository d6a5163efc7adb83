/**
 * The Raft log of one node: a compacted prefix (described by the snapshot metadata) followed by the entries kept in
 * memory. Tracks which entries still have to be persisted, what is committed and what has been handed out to be
 * applied. Pure and synchronous; the core decides when to call it.
 */
import type { ClusterConfig, Entry, Snapshot, SnapshotMeta } from './types.js'

/** What an entry costs in a message or in memory, roughly: its payload plus a fixed header. */
export function entrySize(e: Entry): number {
  const header = 16
  switch (e.kind) {
    case 'normal':
      return header + e.data.length
    case 'config':
      return header + 24 * (e.config.voters.length + e.config.learners.length)
    case 'noop':
      return header
  }
}

export type AppendOutcome =
  | { readonly type: 'ok'; readonly lastNew: number }
  | { readonly type: 'mismatch' }
  /** The leader asked us to overwrite a committed entry: impossible in a correct cluster, so the message is refused. */
  | { readonly type: 'conflictsWithCommitted'; readonly index: number }

export class RaftLog {
  private snap: SnapshotMeta
  private snapData: Uint8Array
  private entries: Entry[]
  /** Indexes of the config entries in `entries`, ascending, so the latest config is found without a scan. */
  private configIndexes: number[] = []
  committed: number
  /** The last index handed out to be applied (it is applied once the driver calls advance). */
  handedOut: number
  /** The first index not yet handed to the driver for persistence. */
  unstableFrom: number
  /** A snapshot received from the leader and not yet handed to the driver. */
  pendingSnapshot: Snapshot | null = null

  constructor(snapshot: Snapshot, entries: readonly Entry[], committed: number) {
    this.snap = snapshot.meta
    this.snapData = snapshot.data
    this.entries = []
    this.committed = snapshot.meta.index
    this.handedOut = snapshot.meta.index
    this.unstableFrom = snapshot.meta.index + 1
    for (const e of entries) {
      if (e.index !== this.lastIndex() + 1) {
        throw new RangeError(`persisted entry ${e.index} does not follow ${this.lastIndex()}`)
      }
      this.push(e)
    }
    this.unstableFrom = this.lastIndex() + 1
    if (committed > this.lastIndex()) {
      throw new RangeError(`persisted commit ${committed} is past the last entry ${this.lastIndex()}`)
    }
    this.committed = Math.max(committed, this.snap.index)
  }

  get snapshotMeta(): SnapshotMeta {
    return this.snap
  }

  get snapshot(): Snapshot {
    return { meta: this.snap, data: this.snapData }
  }

  firstIndex(): number {
    return this.snap.index + 1
  }

  lastIndex(): number {
    return this.snap.index + this.entries.length
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0
  }

  /** The term of entry `i`, or undefined when it was compacted away or does not exist yet. */
  term(i: number): number | undefined {
    if (i === this.snap.index) return this.snap.term
    return this.entry(i)?.term
  }

  entry(i: number): Entry | undefined {
    if (i <= this.snap.index) return undefined
    return this.entries[i - this.snap.index - 1]
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term
  }

  /** §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm()
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex())
  }

  /** Entries [lo, hi), at most `maxEntries` and about `maxBytes` (always at least one when any is available). */
  slice(lo: number, hi: number, maxEntries: number, maxBytes: number): Entry[] {
    const out: Entry[] = []
    let bytes = 0
    for (let i = Math.max(lo, this.firstIndex()); i < hi && out.length < maxEntries; i++) {
      const e = this.entry(i)
      if (e === undefined) break
      bytes += entrySize(e)
      if (out.length > 0 && bytes > maxBytes) break
      out.push(e)
    }
    return out
  }

  /** Leader side: appends entries it created; they must follow the last index. */
  append(e: Entry): void {
    if (e.index !== this.lastIndex() + 1) throw new RangeError(`entry ${e.index} does not follow ${this.lastIndex()}`)
    this.push(e)
  }

  /**
   * Follower side of AppendEntries (§5.3): if our entry at `prevIndex` has `prevTerm`, deletes the first conflicting
   * entry and everything after it, and appends what is new.
   */
  maybeAppend(prevIndex: number, prevTerm: number, entries: readonly Entry[]): AppendOutcome {
    if (!this.matchTerm(prevIndex, prevTerm)) return { type: 'mismatch' }
    const lastNew = prevIndex + entries.length
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k] as Entry
      const mine = this.term(e.index)
      if (mine === e.term) continue
      if (mine !== undefined && e.index <= this.committed) return { type: 'conflictsWithCommitted', index: e.index }
      this.truncateFrom(e.index)
      for (let j = k; j < entries.length; j++) this.push(entries[j] as Entry)
      break
    }
    return { type: 'ok', lastNew }
  }

  /**
   * The last index at or below `index` whose term is at most `term` (the snapshot index if the search reaches it).
   * Both sides of the fast-backup rule use it: the follower to build its hint, the leader to pick the next probe.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex())
    while (i > this.snap.index) {
      const t = this.term(i)
      if (t === undefined || t <= term) break
      i--
    }
    return i
  }

  commitTo(i: number): boolean {
    const target = Math.min(i, this.lastIndex())
    if (target <= this.committed) return false
    this.committed = target
    return true
  }

  /** Committed entries not handed out yet, at most `max`. */
  nextCommitted(max: number): Entry[] {
    const hi = Math.min(this.committed, this.handedOut + max)
    const out: Entry[] = []
    for (let i = Math.max(this.handedOut + 1, this.firstIndex()); i <= hi; i++) out.push(this.entry(i) as Entry)
    return out
  }

  /** Entries not yet handed to persistence. */
  unstableEntries(): Entry[] {
    return this.entries.slice(Math.max(0, this.unstableFrom - this.snap.index - 1))
  }

  /** The driver persisted entries up to `index` with term `term` (ignored if the log changed under it since). */
  stableTo(index: number, term: number): void {
    if (this.term(index) === term && index >= this.unstableFrom) this.unstableFrom = index + 1
  }

  /** The configuration in force at `index`: its latest config entry at or below it, or the snapshot's. */
  configAt(index: number): ClusterConfig {
    for (let k = this.configIndexes.length - 1; k >= 0; k--) {
      const ci = this.configIndexes[k] as number
      if (ci <= index) return (this.entry(ci) as Entry & { kind: 'config' }).config
    }
    return this.snap.config
  }

  latestConfig(): ClusterConfig {
    return this.configAt(this.lastIndex())
  }

  /** The index of the latest config entry still in the log, or the snapshot index if there is none. */
  latestConfigIndex(): number {
    return this.configIndexes[this.configIndexes.length - 1] ?? this.snap.index
  }

  /** The application took a snapshot at `index` (≤ applied): drop the entries it covers. */
  compact(index: number, data: Uint8Array): SnapshotMeta {
    const term = this.term(index)
    if (term === undefined || index > this.committed) throw new RangeError(`cannot compact to ${index}`)
    const meta: SnapshotMeta = { index, term, config: this.configAt(index) }
    this.entries = this.entries.slice(index - this.snap.index)
    this.configIndexes = this.configIndexes.filter((ci) => ci > index)
    this.snap = meta
    this.snapData = data
    return meta
  }

  /** Installs a snapshot received from the leader, replacing the whole log (§7). */
  restore(snapshot: Snapshot): void {
    this.snap = snapshot.meta
    this.snapData = snapshot.data
    this.entries = []
    this.configIndexes = []
    this.committed = snapshot.meta.index
    this.handedOut = snapshot.meta.index
    this.unstableFrom = snapshot.meta.index + 1
    this.pendingSnapshot = snapshot
  }

  private push(e: Entry): void {
    this.entries.push(e)
    if (e.kind === 'config') this.configIndexes.push(e.index)
  }

  private truncateFrom(index: number): void {
    this.entries.length = Math.max(0, index - this.snap.index - 1)
    while ((this.configIndexes[this.configIndexes.length - 1] ?? 0) >= index) this.configIndexes.pop()
    this.unstableFrom = Math.min(this.unstableFrom, index)
  }
}
