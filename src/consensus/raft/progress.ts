/**
 * What the leader knows about each follower's log, and how much it may send it (flow control). A follower is in one
 * of three states: `probe` (we do not know where its log matches; one append at a time until it answers),
 * `replicate` (its log matches; appends are pipelined up to a window of `maxInflight` messages) or `snapshot` (it
 * needs a snapshot, sent in chunks, one outstanding at a time).
 */

export type ProgressState = 'probe' | 'replicate' | 'snapshot'

/** A bounded FIFO of the last indexes of the appends in flight to one follower. */
export class Inflights {
  private readonly buf: number[] = []
  private start = 0

  constructor(private readonly capacity: number) {}

  get count(): number {
    return this.buf.length - this.start
  }

  full(): boolean {
    return this.count >= this.capacity
  }

  add(lastIndex: number): void {
    this.buf.push(lastIndex)
  }

  /** Frees every append whose last index is at or below `index` (the follower acknowledged them). */
  freeLE(index: number): void {
    while (this.start < this.buf.length && (this.buf[this.start] as number) <= index) this.start++
    if (this.start > 64 && this.start * 2 > this.buf.length) {
      this.buf.splice(0, this.start)
      this.start = 0
    }
  }

  /** Frees the oldest one, so that a heartbeat response lets a stuck window move again. */
  freeFirst(): void {
    if (this.count > 0) this.start++
  }

  reset(): void {
    this.buf.length = 0
    this.start = 0
  }
}

export class Progress {
  match = 0
  next: number
  state: ProgressState = 'probe'
  /** In probe state: an append is outstanding, wait for its answer (or the next heartbeat) before another. */
  probeSent = false
  /** Heard from since the last CheckQuorum round. */
  recentActive = false
  /** In snapshot state: the snapshot index being sent and how far the follower has acknowledged it. */
  snapshotIndex = 0
  snapshotOffset = 0
  /** In snapshot state: a chunk was sent and not yet answered (it is resent on the next heartbeat if still so). */
  snapshotChunkOutstanding = false
  readonly inflights: Inflights

  constructor(next: number, maxInflight: number) {
    this.next = next
    this.inflights = new Inflights(maxInflight)
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent
      case 'replicate':
        return this.inflights.full()
      case 'snapshot':
        return true
    }
  }

  becomeProbe(): void {
    // After a snapshot the follower has at least the snapshot: probe right after it.
    if (this.state === 'snapshot') this.next = Math.max(this.match + 1, this.snapshotIndex + 1)
    else this.next = this.match + 1
    this.reset('probe')
  }

  becomeReplicate(): void {
    this.next = this.match + 1
    this.reset('replicate')
  }

  becomeSnapshot(index: number): void {
    this.reset('snapshot')
    this.snapshotIndex = index
  }

  /** A successful append response up to `index`; false if it tells us nothing new (stale or duplicated). */
  maybeUpdate(index: number): boolean {
    let updated = false
    if (index > this.match) {
      this.match = index
      this.probeSent = false
      updated = true
    }
    this.next = Math.max(this.next, index + 1)
    return updated
  }

  /**
   * A rejection of the append at `rejected`; `probeHint` is where the fast-backup rule says to probe next.
   * Returns false when the rejection is stale (it answers an append we have since moved past).
   */
  maybeDecrTo(rejected: number, probeHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false
      this.next = this.match + 1
      return true
    }
    if (this.next - 1 !== rejected) return false
    this.next = Math.max(Math.min(rejected, probeHint + 1), this.match + 1)
    this.probeSent = false
    return true
  }

  private reset(state: ProgressState): void {
    this.state = state
    this.probeSent = false
    this.snapshotIndex = 0
    this.snapshotOffset = 0
    this.snapshotChunkOutstanding = false
    this.inflights.reset()
  }
}
