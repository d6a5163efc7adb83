/**
 * The sync engine of one room: holds the room's Automerge documents and, for each (peer, document), one Automerge
 * SyncState, so each peer is sent only what it lacks (delta sync); causal order comes from the changes' dependencies.
 * It does no I/O: it emits frames for a driver to send and takes the frames the driver received. A peer that has
 * nothing of a document (or only its genesis) gets the saved document instead of its whole change history.
 *
 * It also measures sync latency (`sync.latency_ms`): from a local change to the first message of each peer whose heads
 * include it. One sample per (document, peer) at a time, so the cost and memory stay bounded whatever the edit rate.
 */
import type * as AM from '@automerge/automerge/slim'
import { DecodeError, SynodError } from '../errors.js'
import { realClock } from '../runtime/clock.js'
import { Emitter } from '../events.js'
import type { MetricsRegistry } from '../metrics/index.js'
import type { AutomergeModule } from './automerge.js'
import type { SyncFrame } from './sync-messages.js'

export type AnyDoc = AM.Doc<Record<string, unknown>>

/** A change from a peer that Automerge could not apply, or a frame that made no sense. Counted against the peer. */
export class SyncRejectedError extends SynodError {
  override readonly name = 'SyncRejectedError'
}

export interface SyncEngineOptions {
  readonly automerge: AutomergeModule
  /** Hands a frame to the driver for `peer`. Must not throw; delivery is the driver's business. */
  readonly send: (peer: string, frame: SyncFrame) => void
  readonly metrics: MetricsRegistry
  /** Documents held at once (opened here or offered by peers). Default 256. */
  readonly maxDocs?: number
  /** A peer with nothing gets a snapshot instead of changes once the document has more changes than this. Default 32. */
  readonly snapshotMinChanges?: number
  /** A monotonic clock in ms, read only to time `sync.latency_ms` (it decides nothing). Default `realClock`; tests pass a fake one. */
  readonly now?: () => number
}

/** A latency sample never acknowledged within this long is dropped unrecorded (the peer is gone, or stuck). */
const LATENCY_SAMPLE_MAX_AGE_MS = 60_000

export interface DocChange {
  readonly doc: string
  readonly local: boolean
  /** The peer the change came from, for remote changes. */
  readonly from?: string
  /** The document object was replaced by one loaded from a snapshot (persistence may write it whole, compactly). */
  readonly replaced?: boolean
}

export interface SyncEngineEvents extends Record<string, unknown> {
  'doc:change': DocChange
  'doc:peer-state': { readonly doc: string; readonly peer: string }
  'sync:rejected': { readonly peer: string; readonly doc: string; readonly error: Error }
}

interface PeerSync {
  state: AM.SyncState
  snapshotSent: boolean
  /** We received at least one message about this document from the peer. */
  heard: boolean
}

/** A local change waiting for a peer to report heads that include it. */
interface LatencySample {
  /** Our heads right after the change. */
  readonly heads: readonly string[]
  readonly at: number
}

interface DocEntry {
  doc: AnyDoc
  readonly genesisHeads: Set<string>
  readonly peers: Map<string, PeerSync>
  /**
   * At most one per peer. Kept apart from PeerSync, which a snapshot exchange resets: the change is still unconfirmed.
   */
  readonly samples: Map<string, LatencySample>
}

export class SyncEngine extends Emitter<SyncEngineEvents> {
  private readonly A: AutomergeModule
  private readonly docs = new Map<string, DocEntry>()
  private readonly peers = new Set<string>()
  private readonly rejectedBy = new Map<string, number>()
  private readonly now: () => number

  constructor(private readonly options: SyncEngineOptions) {
    super()
    this.A = options.automerge
    this.now = options.now ?? (() => realClock.now())
  }

  has(name: string): boolean {
    return this.docs.has(name)
  }

  doc(name: string): AnyDoc | undefined {
    return this.docs.get(name)?.doc
  }

  docNames(): string[] {
    return [...this.docs.keys()]
  }

  peerList(): string[] {
    return [...this.peers]
  }

  /** How many bad frames or changes each peer has sent. */
  rejections(): ReadonlyMap<string, number> {
    return this.rejectedBy
  }

  /**
   * Adds (or merges into) a document: `doc` is its state as loaded from storage or created from its genesis, and
   * `genesisHeads` the heads of its genesis, so we can tell a peer that has only the genesis from one that has more.
   */
  open(name: string, doc: AnyDoc, genesisHeads: readonly string[] = []): AnyDoc {
    const existing = this.docs.get(name)
    if (existing !== undefined) {
      existing.doc = this.A.merge(existing.doc, doc)
      for (const h of genesisHeads) existing.genesisHeads.add(h)
      this.emit('doc:change', { doc: name, local: false })
      this.flushDoc(name)
      return existing.doc
    }
    this.ensureCapacity()
    const entry: DocEntry = { doc, genesisHeads: new Set(genesisHeads), peers: new Map(), samples: new Map() }
    this.docs.set(name, entry)
    for (const peer of this.peers) entry.peers.set(peer, fresh(this.A))
    this.flushDoc(name)
    return doc
  }

  /** Replaces a document with a locally changed version of it, and tells the peers. */
  update(name: string, doc: AnyDoc): void {
    const entry = this.docs.get(name)
    if (entry === undefined) throw new SynodError(`document '${name}' is not open`)
    entry.doc = doc
    this.startSamples(entry)
    this.emit('doc:change', { doc: name, local: true })
    this.flushDoc(name)
  }

  addPeer(peer: string): void {
    if (this.peers.has(peer)) return
    this.peers.add(peer)
    for (const [name, entry] of this.docs) {
      entry.peers.set(peer, fresh(this.A))
      this.flush(name, entry, peer)
    }
  }

  removePeer(peer: string): void {
    this.peers.delete(peer)
    for (const entry of this.docs.values()) {
      entry.peers.delete(peer)
      entry.samples.delete(peer)
    }
  }

  /** Whether `peer` has told us its heads for `name` and they equal ours. */
  inSyncWith(name: string, peer: string): boolean {
    const entry = this.docs.get(name)
    const ps = entry?.peers.get(peer)
    if (entry === undefined || ps === undefined || !ps.heard) return false
    return sameHeads(ps.state.theirHeads ?? [], this.A.getHeads(entry.doc))
  }

  /** Whether we heard from `peer` about `name` and it has something beyond the genesis. */
  peerHasContent(name: string, peer: string): boolean | undefined {
    const entry = this.docs.get(name)
    const ps = entry?.peers.get(peer)
    if (entry === undefined || ps === undefined || !ps.heard) return undefined
    return !isGenesisOnly(ps.state.theirHeads ?? [], entry.genesisHeads)
  }

  /** Handles one frame from `peer`. Bad input is counted against the peer and leaves our documents as they were. */
  receive(peer: string, frame: SyncFrame): void {
    if (!this.peers.has(peer)) return
    if (frame.type === 'sync' || frame.type === 'snapshot') {
      try {
        if (frame.type === 'sync') this.receiveSync(peer, frame.doc, frame.data)
        else this.receiveSnapshot(peer, frame.doc, frame.data)
      } catch (err) {
        this.reject(peer, frame.doc, err)
      }
    } else if (frame.type !== 'hello') {
      this.reject(peer, '', new DecodeError(`unexpected ${frame.type} frame`))
    }
  }

  private receiveSync(peer: string, name: string, data: Uint8Array): void {
    // Decode before touching anything: a malformed message must not even create an empty document.
    let message: AM.SyncMessage
    try {
      this.A.decodeSyncMessage(data)
      message = data
    } catch (err) {
      throw new DecodeError(`malformed sync message for '${name}'`, { cause: err })
    }
    const known = this.docs.has(name)
    const entry = this.entryFor(name)
    const ps = entry.peers.get(peer) ?? fresh(this.A)
    entry.peers.set(peer, ps)
    const before = this.A.getHeads(entry.doc)
    let doc: AnyDoc
    let state: AM.SyncState
    try {
      ;[doc, state] = this.A.receiveSyncMessage(entry.doc, ps.state, message)
    } catch (err) {
      if (!known) this.docs.delete(name)
      throw new SyncRejectedError(`sync message for '${name}' could not be applied`, { cause: err })
    }
    entry.doc = doc
    ps.state = state
    ps.heard = true
    this.ackSample(entry, peer, state.theirHeads)
    this.options.metrics.counter('sync.received').inc()
    this.options.metrics.counter('sync.bytes_in').inc(data.length)
    if (!sameHeads(before, this.A.getHeads(doc))) this.emit('doc:change', { doc: name, local: false, from: peer })
    this.emit('doc:peer-state', { doc: name, peer })
    this.maybeSendSnapshot(name, entry, peer, ps)
    this.flushDoc(name)
  }

  private receiveSnapshot(peer: string, name: string, data: Uint8Array): void {
    let incoming: AnyDoc
    try {
      incoming = this.A.load<Record<string, unknown>>(data)
    } catch (err) {
      throw new SyncRejectedError(`snapshot of '${name}' could not be loaded`, { cause: err })
    }
    const entry = this.entryFor(name)
    const before = this.A.getHeads(entry.doc)
    const previous = entry.doc
    // Loading a saved document is fast; merging a large one change by change is not. So the loaded document becomes
    // ours, and only what we had that it lacks (usually nothing, or our few offline edits) is merged into it.
    entry.doc = this.A.hasHeads(incoming, before) ? incoming : this.A.merge(incoming, previous)
    this.options.metrics.counter('sync.snapshots_received').inc()
    this.options.metrics.counter('sync.bytes_in').inc(data.length)
    // Start the conversation afresh: both sides now share the snapshot's heads, so the next round is tiny.
    entry.peers.set(peer, { ...fresh(this.A), heard: false })
    this.emit('doc:change', { doc: name, local: false, from: peer, replaced: true })
    this.flushDoc(name)
  }

  private maybeSendSnapshot(name: string, entry: DocEntry, peer: string, ps: PeerSync): void {
    if (ps.snapshotSent) return
    const theirs = ps.state.theirHeads
    if (theirs === undefined || !isGenesisOnly(theirs, entry.genesisHeads)) return
    const ours = this.A.getHeads(entry.doc)
    if (isGenesisOnly(ours, entry.genesisHeads)) return
    const min = this.options.snapshotMinChanges ?? 32
    // stats() counts changes without materialising them (getAllChanges of a large document takes seconds).
    if (this.A.stats(entry.doc).numChanges <= min) return
    const saved = this.A.save(entry.doc)
    ps.snapshotSent = true
    this.options.send(peer, { type: 'snapshot', doc: name, data: saved })
    this.options.metrics.counter('sync.snapshots_sent').inc()
    this.options.metrics.counter('sync.bytes_out').inc(saved.length)
    // What we would have sent as changes is in the snapshot; begin a fresh exchange from the shared state.
    ps.state = this.A.initSyncState()
    ps.heard = false
  }

  private entryFor(name: string): DocEntry {
    let entry = this.docs.get(name)
    if (entry === undefined) {
      // A peer offers a document we have not opened: keep it, so we have it (and can pass it on) when asked.
      this.ensureCapacity()
      entry = { doc: this.A.init<Record<string, unknown>>(), genesisHeads: new Set(), peers: new Map(), samples: new Map() }
      for (const peer of this.peers) entry.peers.set(peer, fresh(this.A))
      this.docs.set(name, entry)
    }
    return entry
  }

  private ensureCapacity(): void {
    const max = this.options.maxDocs ?? 256
    if (this.docs.size >= max) throw new SyncRejectedError(`more than ${max} documents in one room`)
  }

  private flushDoc(name: string): void {
    const entry = this.docs.get(name)
    if (entry === undefined) return
    for (const peer of entry.peers.keys()) this.flush(name, entry, peer)
  }

  /**
   * Sends `peer` the sync message Automerge has for it now, if any. One per call: the protocol is request/response,
   * and a message Automerge does not record as sent (its reset reply to a peer naming changes we lack) would
   * otherwise be sent again and again, each copy answered in turn: a storm from one bad frame.
   */
  private flush(name: string, entry: DocEntry, peer: string): void {
    const ps = entry.peers.get(peer)
    if (ps === undefined) return
    const [state, message] = this.A.generateSyncMessage(entry.doc, ps.state)
    ps.state = state
    if (message === null) return
    this.options.send(peer, { type: 'sync', doc: name, data: message })
    this.options.metrics.counter('sync.sent').inc()
    this.options.metrics.counter('sync.bytes_out').inc(message.length)
  }

  /** A local change: start timing it for every peer not already timing an earlier one (or one too old to count). */
  private startSamples(entry: DocEntry): void {
    const at = this.now()
    let heads: readonly string[] | undefined
    for (const peer of entry.peers.keys()) {
      const s = entry.samples.get(peer)
      if (s !== undefined && at - s.at <= LATENCY_SAMPLE_MAX_AGE_MS) continue
      heads ??= this.A.getHeads(entry.doc)
      entry.samples.set(peer, { heads, at })
    }
  }

  /** `peer` told us its heads: record the pending sample if they include the change. */
  private ackSample(entry: DocEntry, peer: string, theirs: readonly string[] | undefined): void {
    const sample = entry.samples.get(peer)
    if (sample === undefined || theirs === undefined) return
    const elapsed = this.now() - sample.at
    if (elapsed > LATENCY_SAMPLE_MAX_AGE_MS) {
      entry.samples.delete(peer)
      return
    }
    if (!this.includes(entry.doc, theirs, sample.heads)) return
    entry.samples.delete(peer)
    // Never negative, even with a clock that is not monotonic: the histogram throws on negative values, and a throw
    // here would be counted against the peer.
    this.options.metrics.histogram('sync.latency_ms').record(Math.max(0, elapsed))
  }

  /** Whether the history up to `theirs` contains every change in `pending` (each is one of them or an ancestor). */
  private includes(doc: AnyDoc, theirs: readonly string[], pending: readonly string[]): boolean {
    const their = new Set(theirs)
    if (pending.every((h) => their.has(h))) return true
    // Their heads name changes we do not have yet: we cannot tell, so wait for a later message.
    if (!this.A.hasHeads(doc, [...theirs])) return false
    // Our doc only grows, so our heads descend from `pending`: equal heads settle it without walking history.
    if (sameHeads(theirs, this.A.getHeads(doc))) return true
    // Walk their heads' dependencies, but only through changes that are not ancestors of `pending` (what
    // getChangesMetaSince returns): any path from one of their heads down to a pending head runs through such changes
    // only, since pending heads are not ancestors of one another. Its cost is the changes made since the local change,
    // not the document's whole history (which getChangesMetaSince(doc, theirs) would cost for a peer far behind).
    const after = new Map(this.A.getChangesMetaSince(doc, [...pending]).map((c) => [c.hash, c.deps]))
    const waiting = new Set(pending.filter((h) => !their.has(h)))
    const stack = theirs.filter((h) => after.has(h))
    const seen = new Set(stack)
    for (let h = stack.pop(); h !== undefined && waiting.size > 0; h = stack.pop()) {
      for (const dep of after.get(h) ?? []) {
        waiting.delete(dep)
        if (after.has(dep) && !seen.has(dep)) {
          seen.add(dep)
          stack.push(dep)
        }
      }
    }
    return waiting.size === 0
  }

  private reject(peer: string, doc: string, err: unknown): void {
    const error = err instanceof Error ? err : new SynodError(String(err))
    this.rejectedBy.set(peer, (this.rejectedBy.get(peer) ?? 0) + 1)
    this.options.metrics.counter('sync.rejected').inc()
    this.emit('sync:rejected', { peer, doc, error })
  }
}

function fresh(A: AutomergeModule): PeerSync {
  return { state: A.initSyncState(), snapshotSent: false, heard: false }
}

function sameHeads(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((h) => b.includes(h))
}

function isGenesisOnly(heads: readonly string[], genesis: ReadonlySet<string>): boolean {
  return heads.every((h) => genesis.has(h))
}
