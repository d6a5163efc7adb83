/**
 * Keeps a room's documents in a StorageAdapter: per document a snapshot plus the incremental changes saved since,
 * compacted into a new snapshot once the increments pass a threshold, in one atomic batch, so the database does not
 * grow without edits and a crash mid-compaction leaves either the old or the new state, never a mix. Writes for one
 * document are serialised; a failed write (a full quota) is reported and covered by a full snapshot with the next
 * change, and what was stored before stays loadable.
 *
 * Several tabs of one origin share one database, so every key carries its writer (this session's peer id) and a
 * sequence number, and is written once: tabs never overwrite each other's data. A reloaded page keeps its peer id,
 * so its numbers continue after the keys it finds of that writer. Loading merges every writer's data;
 * compaction replaces our own keys and those we loaded (their content is in our snapshot), never keys another tab
 * wrote since.
 */
import type { StorageAdapter, StorageKey } from '../storage/adapter.js'
import type { AutomergeModule } from './automerge.js'
import type { AnyDoc } from './sync-engine.js'

export interface DocStoreOptions {
  /** Compact once this many increments are stored for a document. Default 64. */
  readonly compactAfterIncrements?: number
  /** …or once the increments together exceed this many bytes. Default 1 MiB. */
  readonly compactAfterBytes?: number
}

interface DocState {
  /** Keys our next snapshot replaces: our increments and everything loaded at open. */
  readonly increments: StorageKey[]
  bytes: number
  seq: number
  /** Tail of this document's write chain. */
  chain: Promise<void>
}

export class DocStore {
  private readonly states = new Map<string, DocState>()

  constructor(
    private readonly automerge: AutomergeModule,
    private readonly storage: StorageAdapter,
    private readonly roomId: string,
    /** This session's id: part of every key we write. */
    private readonly writer: string,
    private readonly options: DocStoreOptions = {},
  ) {}

  private prefix(name: string): StorageKey {
    return ['room', this.roomId, 'doc', name]
  }

  /** The stored document, or undefined if there is none. Reads the snapshot and every increment after it. */
  async load(name: string): Promise<AnyDoc | undefined> {
    const A = this.automerge
    const entries = await this.storage.loadRange(this.prefix(name))
    const state = this.state(name)
    let doc: AnyDoc | undefined
    // Snapshots first (they are whole documents), then increments; Automerge orders changes by their dependencies.
    const ordered = [...entries.filter((e) => e.key[4] === 'snap'), ...entries.filter((e) => e.key[4] === 'incr')]
    for (const e of ordered) {
      doc = doc === undefined ? A.load<Record<string, unknown>>(e.data) : A.loadIncremental(doc, e.data)
      state.increments.push(e.key)
      state.bytes += e.data.length
      // A reloaded page keeps its peer id, so keys of this writer may be here already: go on after them, or the next
      // write would overwrite what an earlier session stored.
      if (e.key[5] === this.writer) state.seq = Math.max(state.seq, Number.parseInt(String(e.key[6]), 36) + 1 || 0)
    }
    return doc
  }

  /**
   * Stores what changed in the document since its last save. `current` returns the document as it is when the write
   * runs: an Automerge document object is out of date (unusable) as soon as it is changed again, and writes queue up
   * behind each other. It must descend from what was loaded or saved before for this name (Automerge tracks what
   * saveIncremental already returned). Resolves once durable.
   */
  async save(name: string, current: () => AnyDoc | undefined): Promise<void> {
    const state = this.state(name)
    const next = state.chain.then(async () => {
      const doc = current()
      if (doc !== undefined) await this.write(name, state, doc)
    })
    state.chain = next.catch(() => {})
    return next
  }

  /**
   * The document object for `name` was replaced by one loaded from a peer's snapshot: its next write is a compact
   * snapshot (an incremental save of a freshly loaded document holds every change, uncompressed, several times
   * larger than the snapshot).
   */
  rewrite(name: string): void {
    this.state(name).bytes = Number.POSITIVE_INFINITY
  }

  /** Resolves when every write queued so far for `name` has finished (successfully or not). */
  async flushed(name: string): Promise<void> {
    await this.state(name).chain
  }

  private async write(name: string, state: DocState, doc: AnyDoc): Promise<void> {
    const A = this.automerge
    const compactIncrements = this.options.compactAfterIncrements ?? 64
    const compactBytes = this.options.compactAfterBytes ?? 1024 * 1024
    if (state.increments.length + 1 >= compactIncrements || state.bytes >= compactBytes) {
      await this.compact(name, state, doc)
      return
    }
    const data = A.saveIncremental(doc)
    if (data.length === 0) return
    const key = [...this.prefix(name), 'incr', this.writer, state.seq.toString(36).padStart(8, '0')]
    try {
      await this.storage.save(key, data)
    } catch (err) {
      // Not stored: the next save must include these changes again, so write a full snapshot then.
      state.bytes = Number.POSITIVE_INFINITY
      throw err
    }
    state.seq++
    state.increments.push(key)
    state.bytes += data.length
  }

  private async compact(name: string, state: DocState, doc: AnyDoc): Promise<void> {
    const A = this.automerge
    const snapshot = A.save(doc)
    // save() also marks everything as saved for saveIncremental, so later increments start from here.
    // Every key is written once and never overwritten (snapshots are versioned too), so a key we loaded still holds
    // what we loaded when we delete it: its content is in the snapshot we write in the same batch.
    const snapKey = [...this.prefix(name), 'snap', this.writer, state.seq.toString(36).padStart(8, '0')]
    await this.storage.batch([
      ...state.increments.map((key) => ({ type: 'remove' as const, key })),
      { type: 'save', key: snapKey, data: snapshot },
    ])
    state.seq++
    state.increments.length = 0
    state.increments.push(snapKey)
    state.bytes = 0
  }

  private state(name: string): DocState {
    let state = this.states.get(name)
    if (state === undefined) {
      state = { increments: [], bytes: 0, seq: 0, chain: Promise.resolve() }
      this.states.set(name, state)
    }
    return state
  }
}
