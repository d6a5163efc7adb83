/**
 * The Room handle an application holds: members and their events, presence, stats, leave. A thin, stable surface over
 * the room session; everything it returns is plain data.
 */
import type { DocHandle } from '../docs/doc-handle.js'
import type { AutomergeModule } from '../docs/automerge.js'
import type { JsonValue } from '../docs/crdt/canonical-json.js'
import { gCounter, lwwRegister, orSet, pnCounter, text as textModel } from '../docs/crdt/index.js'
import {
  CounterHandle,
  GCounterHandle,
  RegisterHandle,
  SetHandle,
  TextHandle,
  type TypedHandleSource,
} from '../docs/typed-handles.js'
import { InvalidOptionError, throwIfAborted } from '../errors.js'
import { Emitter } from '../events.js'
import type { Member } from '../membership/member-table.js'
import type { PresenceChange, RoomSession, RoomStats, Topology } from '../room/room-session.js'
import { LockHandle, LogHandle } from './ordering-handles.js'

export type { Member, MemberRole, MemberState } from '../membership/member-table.js'
export type { PresenceChange, RoomStats, Topology, MembershipStats } from '../room/room-session.js'
export type { DocHandle, DocStatus, DocChangeEvent, DocProgress } from '../docs/doc-handle.js'
export type { GCounterHandle, CounterHandle, SetHandle, RegisterHandle, TextHandle, ValueChange } from '../docs/typed-handles.js'
export type { JsonValue } from '../docs/crdt/canonical-json.js'
export type { LogHandle, LockHandle, LogEntry, LockGrantInfo, LockHolder, AcquireOptions } from './ordering-handles.js'

type Closable = { close(): void; flush(): void }

export interface DocOptions<T = unknown> {
  /**
   * The document's initial root value, e.g. `{ cards: [] }`. Every peer must pass the same one: it is the document's
   * genesis, created identically everywhere so that first edits made on several peers at once all survive. Default {}.
   */
  readonly initial?: T & object
  readonly signal?: AbortSignal
}

/** Names the app gives documents: 1 to 200 characters, not starting with 'synod:' (reserved for typed handles). */
export function validateDocName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200 || name.startsWith('synod:')) {
    throw new InvalidOptionError(
      `document name must be 1 to 200 characters and not start with 'synod:', got ${JSON.stringify(name)}`,
    )
  }
  return name
}

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
  private readonly typed = new Map<string, Closable>()
  private readonly logs = new Map<string, LogHandle<unknown>>()
  private readonly locks = new Map<string, LockHandle>()

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

  /**
   * The room's connection graph: every member (with its role, state and this peer's gossipsub score of it) and who is
   * connected to whom, directly (WebRTC) or only through a relay, as each member last reported it. For the demo's
   * picture of the room and for debugging.
   */
  topology(): Topology {
    return this.session.topology()
  }

  on<K extends keyof RoomEvents>(event: K, listener: (payload: RoomEvents[K]) => void): () => void {
    return this.events.on(event, listener)
  }

  /**
   * Opens a shared Automerge document, resolving once it is usable: loaded from storage (offline too), or created
   * from `initial`. It then syncs with every member, sending only what each lacks.
   */
  async doc<T>(name: string, options: DocOptions<T> = {}): Promise<DocHandle<T>> {
    validateDocName(name)
    throwIfAborted(options.signal)
    const docs = await this.session.docs()
    throwIfAborted(options.signal)
    return docs.open<T>(name, (options.initial ?? {}))
  }

  /** A grow-only counter shared by the room (usable at once; it fills in as it loads and syncs). */
  gcounter(name: string): GCounterHandle {
    return this.typedHandle<GCounterHandle, gCounter.GCounterDoc>('gcounter', name, gCounter.initialRoot, (n, load) => new GCounterHandle(n, load, this.session.batchWindowMs))
  }

  /** A counter that goes up and down (PN-Counter). */
  counter(name: string): CounterHandle {
    return this.typedHandle<CounterHandle, pnCounter.PNCounterDoc>('counter', name, pnCounter.initialRoot, (n, load) => new CounterHandle(n, load, this.session.batchWindowMs))
  }

  /** An add-wins set of JSON values (OR-Set). */
  set<T extends JsonValue>(name: string): SetHandle<T> {
    return this.typedHandle<SetHandle<T>, orSet.ORSetDoc>('set', name, orSet.initialRoot, (n, load) => new SetHandle<T>(n, load, this.session.batchWindowMs))
  }

  /** A last-writer-wins register holding one JSON value. */
  register<T extends JsonValue>(name: string): RegisterHandle<T> {
    const self = this.session.selfId
    return this.typedHandle<RegisterHandle<T>, lwwRegister.LWWRegisterDoc>('register', name, lwwRegister.initialRoot, (n, load) => new RegisterHandle<T>(n, load, this.session.batchWindowMs, self))
  }

  /** Collaborative text. */
  text(name: string): TextHandle {
    return this.typedHandle<TextHandle, textModel.TextDoc>('text', name, textModel.initialRoot, (n, load) => new TextHandle(n, load, this.session.batchWindowMs))
  }

  private typedHandle<H extends Closable, D>(
    kind: string,
    name: string,
    initial: (A: AutomergeModule) => object,
    make: (name: string, load: Promise<TypedHandleSource<D>>) => H,
  ): H {
    validateDocName(name)
    const key = `synod:${kind}:${name}`
    const existing = this.typed.get(key)
    if (existing !== undefined) return existing as H
    const load = this.session.docs().then(async (docs) => ({
      A: docs.automerge,
      handle: await docs.open<D>(key, initial),
    }))
    const handle = make(name, load)
    this.typed.set(key, handle)
    return handle
  }

  /** An append-only log with one total order for every peer of the room (through the room's super-peers). */
  log<T = unknown>(name: string): LogHandle<T> {
    const existing = this.logs.get(name)
    if (existing !== undefined) return existing as LogHandle<T>
    const handle = new LogHandle<T>(this.session.ordering().service, name)
    this.logs.set(name, handle as LogHandle<unknown>)
    return handle
  }

  /** A linearizable lock with a lease and a fencing token (through the room's super-peers). */
  lock(name: string): LockHandle {
    const existing = this.locks.get(name)
    if (existing !== undefined) return existing
    const handle = new LockHandle(this.session.ordering().service, name)
    this.locks.set(name, handle)
    return handle
  }

  /**
   * Resolves once every local change made so far (typed handles' pending operations included) is durable in storage:
   * await it before a reload or shutdown that must not lose the last edits.
   */
  async flushed(): Promise<void> {
    for (const handle of this.typed.values()) handle.flush()
    if (this.session.isClosed) return
    await (await this.session.docs()).flushed()
  }

  /** A plain, JSON-serialisable snapshot of the room's counters, latencies and connections. */
  stats(): RoomStats {
    return this.session.stats()
  }

  /** Leaves the room: tells the others (best effort) and stops its traffic. Idempotent. */
  async leave(): Promise<void> {
    this.leaving ??= Promise.resolve().then(() => {
      for (const handle of this.typed.values()) handle.close()
      for (const log of this.logs.values()) log.close()
      for (const lock of this.locks.values()) lock.close()
      this.session.close()
      this.events.clear()
      this.onLeave(this)
    })
    return this.leaving
  }
}
