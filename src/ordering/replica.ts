/**
 * One peer's copy of the room's ordered state: it applies committed commands strictly in Raft index order, whether
 * they come from this peer's own Raft driver (a super-peer) or from the super-peers (everyone else: pushed batches,
 * fetched gaps, or a snapshot when the commands were compacted away). It keeps the most recent committed commands so
 * that a super-peer can serve them to peers that missed them, and reports what each command did as events.
 */
import { DecodeError } from '../errors.js'
import { Emitter } from '../events.js'
import type { Entry, Snapshot } from '../consensus/raft/types.js'
import type { CommittedItem } from './order-messages.js'
import { OrderedState, type ApplyOutcome, type OrderedStateOptions, type OrderedStateSnapshot, type OrderingEvent } from './ordered-state.js'

export type ReplicaEvents = {
  /** What applying a command did (entries appended, locks granted or freed), in order. */
  event: OrderingEvent
  /** A command's answer for its client (for the super-peer that submitted it, and for the client itself). */
  reply: NonNullable<ApplyOutcome['reply']> & { readonly index: number }
  /** Applied through Raft index `index`. */
  applied: { readonly index: number }
}

export interface ReplicaOptions extends OrderedStateOptions {
  /** Committed commands kept for serving `fetch`. Default 4096. */
  readonly keepRecent?: number
  /** Out-of-order items held while a gap is being filled. Default 4096. */
  readonly maxBuffered?: number
}

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true })

export class OrderedReplica {
  private state: OrderedState
  readonly events = new Emitter<ReplicaEvents>()
  /** Committed commands by Raft index, the most recent `keepRecent` (empty data: a noop or config entry). */
  private readonly recent = new Map<number, Uint8Array>()
  private readonly buffered = new Map<number, Uint8Array>()
  private readonly keepRecent: number
  private readonly maxBuffered: number
  /** Commands applied (noop and config entries not counted). */
  commands = 0

  constructor(private readonly options: ReplicaOptions = {}) {
    this.state = new OrderedState(options)
    this.keepRecent = options.keepRecent ?? 4096
    this.maxBuffered = options.maxBuffered ?? 4096
  }

  get appliedIndex(): number {
    return this.state.appliedIndex
  }

  get view(): OrderedState {
    return this.state
  }

  /** The highest index we know of but have not applied (a gap to fetch), or 0. */
  get waitingFor(): number {
    return this.buffered.size === 0 ? 0 : this.state.appliedIndex + 1
  }

  /** Back to the empty state (only while no command has been applied; see OrderingService.resetReplica). */
  reset(): void {
    this.state = new OrderedState(this.options)
    this.recent.clear()
    this.buffered.clear()
    this.commands = 0
  }

  /** Items from a super-peer, in any order, possibly overlapping what we have. Returns true if anything applied. */
  offer(items: readonly CommittedItem[]): boolean {
    for (const it of items) {
      if (it.index <= this.state.appliedIndex || this.buffered.has(it.index)) continue
      if (this.buffered.size >= this.maxBuffered && it.index > this.state.appliedIndex + 1) continue
      this.buffered.set(it.index, it.data)
    }
    let progressed = false
    for (let next = this.buffered.get(this.state.appliedIndex + 1); next !== undefined; next = this.buffered.get(this.state.appliedIndex + 1)) {
      const index = this.state.appliedIndex + 1
      this.buffered.delete(index)
      this.applyOne(index, next)
      progressed = true
    }
    if (progressed) this.events.emit('applied', { index: this.state.appliedIndex })
    return progressed
  }

  /** This peer's own Raft driver applied `entries` (after restoring `snapshot`, if any). */
  applyRaft(entries: readonly Entry[], snapshot: Snapshot | null): void {
    if (snapshot !== null) this.restore(decodeSnapshot(snapshot.data), snapshot.meta.index)
    for (const e of entries) {
      if (e.index <= this.state.appliedIndex) continue
      this.applyOne(e.index, e.kind === 'normal' ? e.data : new Uint8Array(0))
    }
    this.events.emit('applied', { index: this.state.appliedIndex })
  }

  /** A snapshot of the ordered state as of Raft index `index` (from a super-peer, or from storage at start). */
  restore(snap: OrderedStateSnapshot, index: number): void {
    if (index <= this.state.appliedIndex) return
    this.state = OrderedState.restore(snap, this.options)
    this.state.skip(index)
    this.recent.clear()
    for (const i of [...this.buffered.keys()]) if (i <= index) this.buffered.delete(i)
    this.offer([])
  }

  /** Committed commands from `from` on, as far as they are kept; undefined when `from` is older than that. */
  itemsFrom(from: number, max: number): CommittedItem[] | undefined {
    if (from > this.state.appliedIndex) return []
    if (!this.recent.has(from)) return undefined
    const out: CommittedItem[] = []
    for (let i = from; i <= this.state.appliedIndex && out.length < max; i++) {
      const data = this.recent.get(i)
      if (data === undefined) break
      out.push({ index: i, data })
    }
    return out
  }

  snapshotBytes(): Uint8Array {
    return encodeSnapshot(this.state.snapshot())
  }

  private applyOne(index: number, data: Uint8Array): void {
    this.recent.set(index, data)
    if (this.recent.size > this.keepRecent) this.recent.delete(index - this.keepRecent)
    if (data.length === 0) {
      this.state.skip(index)
      return
    }
    this.commands++
    const out = this.state.apply(index, data)
    for (const e of out.events) this.events.emit('event', e)
    if (out.reply !== undefined) this.events.emit('reply', { ...out.reply, index })
  }
}

export function encodeSnapshot(s: OrderedStateSnapshot): Uint8Array {
  return enc.encode(JSON.stringify(s))
}

/** Parses a snapshot of the ordered state; DecodeError for anything that is not one. */
export function decodeSnapshot(bytes: Uint8Array): OrderedStateSnapshot {
  let parsed: unknown
  try {
    parsed = JSON.parse(dec.decode(bytes))
  } catch (err) {
    throw new DecodeError('ordered-state snapshot is not valid JSON', { cause: err })
  }
  const s = parsed as Partial<OrderedStateSnapshot> | null
  if (
    s === null ||
    typeof s !== 'object' ||
    s.v !== 1 ||
    !Array.isArray(s.logs) ||
    !Array.isArray(s.locks) ||
    !Array.isArray(s.sessions) ||
    typeof s.nowMs !== 'number' ||
    typeof s.lastToken !== 'number' ||
    typeof s.appliedIndex !== 'number'
  ) {
    throw new DecodeError('not an ordered-state snapshot')
  }
  return s as OrderedStateSnapshot
}
