/**
 * SWIM's gossip queue (§4.1) in about memberlist's order: fewest transmissions first and, among equals, the most
 * recently queued or sent first (memberlist: the most recently queued); an update is dropped once sent `maxTransmits`
 * times. At most one pending update per member: a newer one replaces it.
 *
 * Why buckets rather than sorting the queue on every message: a member that joins a cluster of N learns N members from
 * one sync and queues each of them, so every member holds ~N updates for hundreds of periods; sorting them for each of
 * its ~2 messages a period made a 1,000-member simulation crawl. With one bucket per transmit count, taking `limit`
 * updates costs O(limit) amortised. Newest first matters too: a fresh suspicion must not wait behind that backlog.
 */
import type { MemberId, SwimUpdate } from './types.js'

interface Entry {
  readonly update: SwimUpdate
  transmits: number
  /** False once replaced or removed: its slot in a bucket is skipped (and reclaimed by `compact`). */
  live: boolean
}

/** Dead slots tolerated beyond the live entries before the buckets are rebuilt (bounds their memory to O(size)). */
const SLACK = 64

export class BroadcastQueue {
  private readonly byId = new Map<MemberId, Entry>()
  /** `buckets[t]`: entries sent t times, oldest first (taken from the end); may hold dead slots. */
  private buckets: Entry[][] = []
  private deadSlots = 0

  get size(): number {
    return this.byId.size
  }

  has(id: MemberId): boolean {
    return this.byId.has(id)
  }

  /** Queues `update`, replacing any pending update about the same member; it goes out before everything else. */
  set(update: SwimUpdate): void {
    this.kill(update.id)
    const entry: Entry = { update, transmits: 0, live: true }
    this.byId.set(update.id, entry)
    this.bucket(0).push(entry)
  }

  delete(id: MemberId): void {
    this.kill(id)
  }

  /** Up to `limit` updates, counting one transmission for each; those sent `maxTransmits` times leave the queue. */
  take(limit: number, maxTransmits: number): SwimUpdate[] {
    const chosen: Entry[][] = []
    let count = 0
    for (let t = 0; t < this.buckets.length && count < limit; t++) {
      const bucket = this.bucket(t)
      if (t >= maxTransmits) {
        // The cluster shrank, and the limit with it: these were sent enough.
        this.drop(bucket)
        continue
      }
      const group: Entry[] = []
      while (count < limit && bucket.length > 0) {
        const entry = bucket.pop() as Entry
        if (!entry.live) this.deadSlots--
        else {
          group.push(entry)
          count++
        }
      }
      chosen[t] = group
    }
    // Moved only now, so that one message never carries an update twice. Into the next bucket oldest first, so
    // that the newest is again at its end.
    const out: SwimUpdate[] = []
    chosen.forEach((group, t) => {
      for (let i = group.length - 1; i >= 0; i--) {
        const entry = group[i] as Entry
        entry.transmits++
        if (entry.transmits < maxTransmits) this.bucket(t + 1).push(entry)
        else {
          entry.live = false
          this.byId.delete(entry.update.id)
        }
      }
      for (const entry of group) out.push(entry.update)
    })
    return out
  }

  private drop(bucket: Entry[]): void {
    for (const entry of bucket) {
      if (entry.live) {
        entry.live = false
        this.byId.delete(entry.update.id)
      } else this.deadSlots--
    }
    bucket.length = 0
  }

  private kill(id: MemberId): void {
    const entry = this.byId.get(id)
    if (entry === undefined) return
    entry.live = false
    this.byId.delete(id)
    this.deadSlots++
    if (this.deadSlots > this.byId.size + SLACK) this.compact()
  }

  private compact(): void {
    this.buckets = this.buckets.map((bucket) => bucket.filter((entry) => entry.live))
    this.deadSlots = 0
  }

  private bucket(t: number): Entry[] {
    while (this.buckets.length <= t) this.buckets.push([])
    return this.buckets[t] as Entry[]
  }
}
