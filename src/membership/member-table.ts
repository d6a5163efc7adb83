/**
 * membership/: who is in a room and what they show (presence). This file: the member table, fed by heartbeats and
 * goodbyes. A member that has not been heard from within the timeout is dropped. (Failure detection with suspicion
 * and refutation replaces the plain timeout in a later layer; the table's events stay the same.)
 */

import type { OrderingInfo } from './room-messages.js'

export type MemberState = 'alive' | 'suspect' | 'dead'
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
      const fresh: Row = { name, incarnation, lastHeardMs: nowMs, direct, ordering: undefined }
      this.rows.set(id, fresh)
      return { kind: 'join', member: toMember(id, fresh) }
    }
    // A message from an older incarnation (a delayed one from before a reload) must not revive stale state.
    if (incarnation < row.incarnation) return undefined
    row.lastHeardMs = nowMs
    const changed = row.name !== name || row.direct !== direct || row.incarnation !== incarnation
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

  orderingOf(id: string): OrderingInfo | undefined {
    return this.rows.get(id)?.ordering
  }

  /** Each member with its join time (its incarnation: its session's start) and ordering info, for the election. */
  rowsForElection(): { id: string; joinedAt: number; ordering: OrderingInfo | undefined }[] {
    return [...this.rows].map(([id, row]) => ({ id, joinedAt: row.incarnation, ordering: row.ordering }))
  }

  /** The member said goodbye (or was otherwise shown to be gone). */
  remove(id: string): MemberChange | undefined {
    const row = this.rows.get(id)
    if (row === undefined) return undefined
    this.rows.delete(id)
    return { kind: 'leave', member: toMember(id, row) }
  }

  /** Drops members not heard from since `nowMs - timeoutMs`. */
  expire(nowMs: number, timeoutMs: number): MemberChange[] {
    const changes: MemberChange[] = []
    for (const [id, row] of this.rows) {
      if (nowMs - row.lastHeardMs > timeoutMs) {
        const change = this.remove(id)
        if (change !== undefined) changes.push(change)
      }
    }
    return changes
  }
}

function toMember(id: string, row: Row): Member {
  return { id, name: row.name, state: 'alive', role: row.ordering?.role ?? 'peer', direct: row.direct }
}
