/**
 * The Room handle an application holds: members and their events, presence, stats, leave. A thin, stable surface over
 * the room session; everything it returns is plain data.
 */
import { Emitter } from '../events.js'
import type { Member } from '../membership/member-table.js'
import type { PresenceChange, RoomSession, RoomStats } from '../room/room-session.js'

export type { Member, MemberRole, MemberState } from '../membership/member-table.js'
export type { PresenceChange, RoomStats } from '../room/room-session.js'

export interface RoomEvents extends Record<string, unknown> {
  'member:join': Member
  'member:leave': Member
  'member:update': Member
}

export interface PresenceEvents extends Record<string, unknown> {
  change: PresenceChange
}

/** Ephemeral per-member state: sent only on change, throttled, gone when the member leaves. */
export class Presence {
  private readonly events = new Emitter<PresenceEvents>()

  constructor(private readonly session: RoomSession) {
    session.on('presence:change', (change) => this.events.emit('change', change))
  }

  /**
   * Sets this peer's presence (any JSON value; `null`/`undefined` clears it). Throws MessageTooLargeError when it is
   * over the room's `maxPresenceBytes`, and RoomClosedError after leave().
   */
  set(value: unknown): void {
    this.session.setPresence(value)
  }

  /** The presence of a member (or of this peer, by its own id); undefined when it has none. */
  get<T = unknown>(peerId: string): T | undefined {
    return this.session.getPresence(peerId) as T | undefined
  }

  /** Presence changes, local and remote, including a value dropped because its member left. */
  on(event: 'change', listener: (change: PresenceChange) => void): () => void {
    return this.events.on(event, listener)
  }
}

export class Room {
  readonly presence: Presence
  private readonly events = new Emitter<RoomEvents>()
  private leaving: Promise<void> | undefined

  constructor(
    private readonly session: RoomSession,
    private readonly onLeave: (room: Room) => void,
  ) {
    this.presence = new Presence(session)
    session.on('member:join', (m) => this.events.emit('member:join', m))
    session.on('member:leave', (m) => this.events.emit('member:leave', m))
    session.on('member:update', (m) => this.events.emit('member:update', m))
  }

  get id(): string {
    return this.session.roomId
  }

  /** The other members of the room (this peer is not listed). */
  members(): Member[] {
    return this.session.memberList()
  }

  on<K extends keyof RoomEvents>(event: K, listener: (payload: RoomEvents[K]) => void): () => void {
    return this.events.on(event, listener)
  }

  /** A plain, JSON-serialisable snapshot of the room's counters, latencies and connections. */
  stats(): RoomStats {
    return this.session.stats()
  }

  /** Leaves the room: tells the others (best effort) and stops its traffic. Idempotent. */
  async leave(): Promise<void> {
    this.leaving ??= Promise.resolve().then(() => {
      this.session.close()
      this.events.clear()
      this.onLeave(this)
    })
    return this.leaving
  }
}
