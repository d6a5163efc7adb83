/**
 * A room's documents: the sync engine and its libp2p driver, persistence in the peer's storage, and the handles the
 * application holds. Created the first time the room opens a document or a member starts syncing one with us, because
 * it loads Automerge (a large WebAssembly module) and nothing before that should wait for it.
 */
import type { FramedStream } from '../transport/framed-stream.js'
import { loadAutomerge, type AutomergeModule } from '../docs/automerge.js'
import { genesis } from '../docs/crdt/genesis.js'
import { DocHandle, type DocStatus } from '../docs/doc-handle.js'
import { DocStore } from '../docs/doc-store.js'
import { SyncDriver } from '../docs/sync-driver.js'
import { SyncEngine } from '../docs/sync-engine.js'
import type { MetricsRegistry } from '../metrics/index.js'
import type { StorageAdapter } from '../storage/adapter.js'
import type { SynodLibp2p } from '../transport/create-node.js'

export interface RoomDocsDeps {
  readonly node: SynodLibp2p
  readonly roomId: string
  readonly storage: StorageAdapter
  readonly metrics: MetricsRegistry
  /** Members we hold a direct connection to right now. */
  readonly directMembers: () => string[]
}

export class RoomDocs {
  readonly automerge: AutomergeModule
  private readonly engine: SyncEngine
  private readonly driver: SyncDriver
  private readonly store: DocStore
  private readonly handles = new Map<string, DocHandle<unknown>>()
  private readonly opening = new Map<string, Promise<DocHandle<unknown>>>()
  private readonly received = new Map<string, number>()
  /** A chunked message in flight per document (a large catch-up). */
  private readonly transfer = new Map<string, { received: number; total: number }>()
  private closed = false

  private constructor(
    private readonly deps: RoomDocsDeps,
    automerge: AutomergeModule,
  ) {
    this.automerge = automerge
    this.engine = new SyncEngine({
      automerge,
      metrics: deps.metrics,
      // The engine sends only from calls made after construction, when the driver exists.
      send: (peer, frame) => this.driver.send(peer, frame),
    })
    this.driver = new SyncDriver(deps.node, deps.roomId, this.engine, deps.metrics, (doc, received, total) => {
      this.transfer.set(doc, { received, total })
      this.refreshStatus(doc)
    })
    this.store = new DocStore(automerge, deps.storage, deps.roomId, deps.node.peerId.toString())
    this.engine.on('doc:change', ({ doc, local, from, replaced }) => {
      if (replaced === true) this.store.rewrite(doc)
      this.onDocChange(doc, local, from !== undefined)
    })
    this.engine.on('doc:peer-state', ({ doc }) => this.refreshStatus(doc))
    for (const peer of deps.directMembers()) this.connect(peer)
  }

  static async create(deps: RoomDocsDeps): Promise<RoomDocs> {
    return new RoomDocs(deps, await loadAutomerge())
  }

  /**
   * Opens a document: from storage if we have it, else from its genesis (built from `initial`, identically on every
   * peer, so that first edits made concurrently on several peers all survive), merged with anything peers already
   * sent. Resolves once it is usable.
   */
  async open<T>(name: string, initial: object | ((A: AutomergeModule) => object)): Promise<DocHandle<T>> {
    const existing = this.handles.get(name) ?? (await this.opening.get(name))
    if (existing !== undefined) return existing as DocHandle<T>
    const opening = this.load(name, initial)
    this.opening.set(name, opening)
    try {
      return (await opening) as DocHandle<T>
    } finally {
      this.opening.delete(name)
    }
  }

  private async load(
    name: string,
    initial: object | ((A: AutomergeModule) => object),
  ): Promise<DocHandle<unknown>> {
    const A = this.automerge
    const genesisBytes = genesis(A, name, typeof initial === 'function' ? initial(A) : initial)
    const genesisHeads = A.getHeads(A.load(genesisBytes))
    const stored = await this.store.load(name)
    const doc = stored ?? A.load<Record<string, unknown>>(genesisBytes)
    this.engine.open(name, stored === undefined ? doc : A.merge(doc, A.load(genesisBytes)), genesisHeads)
    if (stored === undefined) void this.persist(name)
    const handle = new DocHandle<unknown>(name, {
      automerge: A,
      current: () => this.engine.doc(name) as never,
      commit: (next) => this.engine.update(name, next),
      isClosed: () => this.closed,
    })
    this.handles.set(name, handle)
    this.refreshStatus(name)
    return handle
  }

  /** Starts syncing with a directly connected member. */
  connect(peer: string): void {
    this.driver.connect(peer)
    for (const name of this.handles.keys()) this.refreshStatus(name)
  }

  /** Stops syncing with a member (it left, or its direct connection closed). */
  disconnect(peer: string): void {
    this.driver.drop(peer)
    for (const name of this.handles.keys()) this.refreshStatus(name)
  }

  /** An inbound sync stream for this room (the peer-wide router read its hello). */
  accept(peer: string, framed: FramedStream): void {
    this.driver.accept(peer, framed)
  }

  /** Documents this peer holds for the room, and the state of their sync. */
  stats(): Record<string, { status: DocStatus; heads: number }> {
    const out: Record<string, { status: DocStatus; heads: number }> = {}
    for (const name of this.engine.docNames()) {
      const doc = this.engine.doc(name)
      out[name] = { status: this.statusOf(name), heads: doc === undefined ? 0 : this.automerge.getHeads(doc).length }
    }
    return out
  }

  /** Resolves once every document's pending writes have reached storage. */
  async flushed(): Promise<void> {
    await Promise.all(this.engine.docNames().map(async (n) => this.store.flushed(n)))
  }

  close(): void {
    this.closed = true
    this.driver.close()
    for (const h of this.handles.values()) h.dispose()
    this.engine.clear()
  }

  private onDocChange(name: string, local: boolean, fromPeer: boolean): void {
    void this.persist(name)
    this.transfer.delete(name)
    if (fromPeer) this.received.set(name, (this.received.get(name) ?? 0) + 1)
    this.handles.get(name)?.notifyChange(local)
    this.refreshStatus(name)
  }

  private async persist(name: string): Promise<void> {
    try {
      await this.store.save(name, () => this.engine.doc(name))
    } catch (err) {
      this.deps.metrics.counter('docs.storage_errors').inc()
      this.handles.get(name)?.notifyError(err instanceof Error ? err : new Error(String(err)))
    }
  }

  private statusOf(name: string): DocStatus {
    const peers = this.engine.peerList()
    if (peers.length === 0) return 'local'
    return peers.every((p) => this.engine.inSyncWith(name, p)) ? 'synced' : 'syncing'
  }

  private refreshStatus(name: string): void {
    const handle = this.handles.get(name)
    if (handle === undefined) return
    const peers = this.engine.peerList()
    const answers = peers.map((p) => this.engine.peerHasContent(name, p))
    // A peer that sent us changes had the document, whatever it says now that we are in sync.
    const available = (this.received.get(name) ?? 0) > 0 || answers.some((a) => a === true)
      ? true
      : answers.length > 0 && answers.every((a) => a === false)
        ? false
        : undefined
    handle.notifyStatus(this.statusOf(name), available, {
      peers: peers.length,
      peersInSync: peers.filter((p) => this.engine.inSyncWith(name, p)).length,
      changesReceived: this.received.get(name) ?? 0,
      receivedBytes: this.transfer.get(name)?.received ?? 0,
      totalBytes: this.transfer.get(name)?.total ?? 0,
    })
  }
}
