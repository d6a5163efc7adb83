/**
 * membership/: who is in a room and what they show (presence). This file: the member table. Heartbeats add members
 * and carry what they show (name, ordering role); the SWIM failure detector (swim/) sets their state: `suspect` while
 * it waits for a refutation, `dead` once it concludes, and a goodbye (or the detector's `left`) removes them at once.
 * A dead member stays listed, as `dead`, for a retention time so that an application can show what happened, then
 * leaves. A member no heartbeat and no detector vouches for within the fallback timeout is dropped too (a member the
 * detector cannot reach at all, but whose heartbeats stop).
 */

import type { LinkInfo, OrderingInfo } from './room-messages.js'

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left'
export type MemberRole = 'peer' | 'super' | 'leader'

/** What the public API reports about a member. */
export interface Member {
  readonly id: string
  readonly name: string
  readonly state: MemberState
  readonly role: MemberRole
  /** True when we hold a direct (not relayed) WebRTC connection to this member. */
  readonly direct: boolean
}

interface Row {
  name: string
  incarnation: number
  lastHeardMs: number
  direct: boolean
  /** What its last heartbeat said about the ordering group (undefined before the first). */
  ordering: OrderingInfo | undefined
  /** Its connections to other members, as its last heartbeat listed them. */
  links: readonly LinkInfo[]
  state: MemberState
  /** When the detector declared it dead (ms), for the retention. */
  deadAtMs: number
}

export type MemberChange =
  | { readonly kind: 'join'; readonly member: Member }
  | { readonly kind: 'update'; readonly member: Member }
  | { readonly kind: 'leave'; readonly member: Member }

export class MemberTable {
  private readonly rows = new Map<string, Row>()

  constructor(private readonly maxMembers = 4096) {}

  get size(): number {
    return this.rows.size
  }

  has(id: string): boolean {
    return this.rows.has(id)
  }

  get(id: string): Member | undefined {
    const row = this.rows.get(id)
    return row === undefined ? undefined : toMember(id, row)
  }

  list(): Member[] {
    return [...this.rows].map(([id, row]) => toMember(id, row))
  }

  incarnationOf(id: string): number | undefined {
    return this.rows.get(id)?.incarnation
  }

  /** A heartbeat (or any authenticated message) from `id`. Returns the change it caused, if any. */
  heard(id: string, name: string, incarnation: number, nowMs: number, direct: boolean): MemberChange | undefined {
    const row = this.rows.get(id)
    if (row === undefined) {
      if (this.rows.size >= this.maxMembers) return undefined
      const fresh: Row = { name, incarnation, lastHeardMs: nowMs, direct, ordering: undefined, links: [], state: 'alive', deadAtMs: 0 }
      this.rows.set(id, fresh)
      return { kind: 'join', member: toMember(id, fresh) }
    }
    // A message from an older incarnation (a delayed one from before a reload) must not revive stale state; nor does
    // a late heartbeat revive a session the detector declared dead (only the member's refutation does).
    if (incarnation < row.incarnation || (incarnation === row.incarnation && row.state === 'dead')) return undefined
    row.lastHeardMs = nowMs
    const changed = row.name !== name || row.direct !== direct || row.incarnation !== incarnation
    if (row.incarnation !== incarnation) row.state = 'alive'
    row.name = name
    row.incarnation = incarnation
    row.direct = direct
    return changed ? { kind: 'update', member: toMember(id, row) } : undefined
  }

  setDirect(id: string, direct: boolean): MemberChange | undefined {
    const row = this.rows.get(id)
    if (row === undefined || row.direct === direct) return undefined
    row.direct = direct
    return { kind: 'update', member: toMember(id, row) }
  }

  /** What `id`'s heartbeat says about its part in the ordering group; an update when its role changed. */
  setOrdering(id: string, info: OrderingInfo): MemberChange | undefined {
    const row = this.rows.get(id)
    if (row === undefined) return undefined
    const before = row.ordering?.role ?? 'peer'
    row.ordering = info
    return info.role === before ? undefined : { kind: 'update', member: toMember(id, row) }
  }

  setLinks(id: string, links: readonly LinkInfo[]): void {
    const row = this.rows.get(id)
    if (row !== undefined) row.links = links
  }

  linksOf(id: string): readonly LinkInfo[] {
    return this.rows.get(id)?.links ?? []
  }

  orderingOf(id: string): OrderingInfo | undefined {
    return this.rows.get(id)?.ordering
  }

  /**
   * Each member with its join time (its incarnation: its session's start), ordering info and whether it counts as
   * alive (a suspect does: Lifeguard expects many suspicions to be refuted), for the election.
   */
  rowsForElection(): { id: string; joinedAt: number; ordering: OrderingInfo | undefined; alive: boolean }[] {
    return [...this.rows].map(([id, row]) => ({ id, joinedAt: row.incarnation, ordering: row.ordering, alive: row.state !== 'dead' }))
  }

  /**
   * The failure detector's verdict on session `incarnation` of member `id` (ignored for any other session): an update
   * for `alive`, `suspect` and `dead`, a leave for `left`.
   */
  setState(id: string, incarnation: number, state: MemberState, nowMs: number): MemberChange | undefined {
    const row = this.rows.get(id)
    if (row === undefined || row.incarnation !== incarnation || row.state === state) return undefined
    if (state === 'left') return this.remove(id, 'left')
    row.state = state
    if (state === 'dead') row.deadAtMs = nowMs
    else row.lastHeardMs = nowMs
    return { kind: 'update', member: toMember(id, row) }
  }

  /**
   * The member said goodbye (or was otherwise shown to be gone). The leave event reports `state` (`left` for a
   * goodbye, `dead` for a member the detector or the fallback timeout gave up on).
   */
  remove(id: string, state: MemberState = 'left'): MemberChange | undefined {
    const row = this.rows.get(id)
    if (row === undefined) return undefined
    this.rows.delete(id)
    return { kind: 'leave', member: { ...toMember(id, row), state } }
  }

  /**
   * Drops members dead for longer than `retentionMs`, and members neither heard from since `nowMs - timeoutMs` nor
   * vouched for by the detector (`vouched`: it holds them alive or suspect right now).
   */
  expire(nowMs: number, o: { timeoutMs: number; retentionMs: number; vouched: (id: string) => boolean }): MemberChange[] {
    const changes: MemberChange[] = []
    for (const [id, row] of this.rows) {
      const gone = row.state === 'dead' ? nowMs - row.deadAtMs > o.retentionMs : nowMs - row.lastHeardMs > o.timeoutMs && !o.vouched(id)
      if (!gone) continue
      const change = this.remove(id, 'dead')
      if (change !== undefined) changes.push(change)
    }
    return changes
  }
}

function toMember(id: string, row: Row): Member {
  return { id, name: row.name, state: row.state, role: row.ordering?.role ?? 'peer', direct: row.direct }
}
