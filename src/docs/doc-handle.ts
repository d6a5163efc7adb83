/**
 * The handle an application holds for one Automerge document: read the current immutable value, change it locally
 * (applied at once, stored, then sent), and hear about every change, local or remote. Handed out only once the
 * document is usable (loaded from storage, or created from its shared genesis).
 */
import type * as AM from '@automerge/automerge/slim'
import { RoomClosedError } from '../errors.js'
import { Emitter } from '../events.js'

export type DocStatus = 'local' | 'syncing' | 'synced'

export interface DocChangeEvent<T> {
  readonly value: T
  /** True when the change was made on this peer. */
  readonly local: boolean
}

export interface DocProgress {
  /** Sync messages with new changes received from peers for this document so far. */
  readonly changesReceived: number
  /**
   * While a large message for this document (a whole saved document for a newcomer) arrives in chunks: bytes
   * received so far and the message's size (to within one 64 KiB chunk). Both 0 when nothing large is arriving.
   */
  readonly receivedBytes: number
  readonly totalBytes: number
  /** Peers we are syncing this document with, and how many of them are in sync. */
  readonly peers: number
  readonly peersInSync: number
}

export interface DocHandleEvents<T> extends Record<string, unknown> {
  change: DocChangeEvent<T>
  status: DocStatus
  progress: DocProgress
  /** Storage failed (for example StorageQuotaError): the change is in memory and synced, but not yet durable. */
  error: Error
}

/** What the handle needs from the room that owns the document. */
export interface DocHost<T> {
  readonly automerge: typeof AM
  current(): AM.Doc<T>
  commit(doc: AM.Doc<T>): void
  isClosed(): boolean
}

export class DocHandle<T> {
  private readonly events = new Emitter<DocHandleEvents<T>>()
  private currentStatus: DocStatus = 'local'
  /** Whether any reachable peer has more of this document than its genesis; undefined until one answered. */
  private available: boolean | undefined

  constructor(
    readonly name: string,
    private readonly host: DocHost<T>,
  ) {}

  /** The current value: an immutable snapshot (do not mutate it; use change()). */
  value(): AM.Doc<T> {
    return this.host.current()
  }

  /** The document's heads (hashes of its latest changes): equal heads mean equal documents. */
  heads(): string[] {
    return this.host.automerge.getHeads(this.host.current())
  }

  /**
   * Changes the document: `fn` mutates a draft; the change is applied at once (value() shows it), stored and sent.
   * Throws RoomClosedError after the room was left.
   */
  change(fn: (draft: T) => void, options: { readonly message?: string } = {}): void {
    if (this.host.isClosed()) throw new RoomClosedError(`room of document '${this.name}' was left`)
    const A = this.host.automerge
    const before = this.host.current()
    const after = options.message === undefined ? A.change(before, fn) : A.change(before, { message: options.message }, fn)
    if (after !== before) this.commitDoc(after)
  }

  /** @internal commits a document built from value() by the typed handles (one batched change). */
  commitDoc(doc: AM.Doc<T>): void {
    if (this.host.isClosed()) throw new RoomClosedError(`room of document '${this.name}' was left`)
    this.host.commit(doc)
  }

  /** `local` (no peer to sync with), `syncing`, or `synced` (every connected peer has exactly our heads). */
  get status(): DocStatus {
    return this.currentStatus
  }

  /**
   * Whether a reachable peer has content for this document beyond its initial value: true, false (every peer we
   * asked has nothing more: the document is new, not unavailable), or undefined (no peer answered yet).
   */
  get availableRemotely(): boolean | undefined {
    return this.available
  }

  on<K extends keyof DocHandleEvents<T>>(event: K, listener: (payload: DocHandleEvents<T>[K]) => void): () => void {
    return this.events.on(event, listener)
  }

  /** @internal the room reports changes, status and progress through these. */
  notifyChange(local: boolean): void {
    this.events.emit('change', { value: this.host.current(), local })
  }

  /** @internal */
  notifyStatus(status: DocStatus, available: boolean | undefined, progress: DocProgress): void {
    this.available = available
    this.events.emit('progress', progress)
    if (status === this.currentStatus) return
    this.currentStatus = status
    this.events.emit('status', status)
  }

  /** @internal */
  notifyError(error: Error): void {
    this.events.emit('error', error)
  }

  /** @internal */
  dispose(): void {
    this.events.clear()
  }
}
