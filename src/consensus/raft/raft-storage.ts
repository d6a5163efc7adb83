/**
 * What one Raft node keeps on a StorageAdapter, as records under a key prefix such as `['raft', groupId]`:
 *
 *   [...prefix, 'hard']                   the hard state (term, vote, commit)       encodeHardState
 *   [...prefix, 'snap', 'meta']           the last snapshot's index, term, config   encodeSnapshotMeta
 *   [...prefix, 'snap', 'data']           the application's snapshot bytes          raw
 *   [...prefix, 'e', <16-digit index>]    one log entry per key                      encodeEntry
 *
 * Indexes are zero-padded to 16 digits (every safe integer fits), so keys sort by index and `loadRange` returns the
 * log in order. Every write is one atomic `batch`, so a crash leaves either the state before a write or the one after
 * it, never a mix (a snapshot without its data, a hard state whose commit points past the stored log).
 *
 * The stored range of entries is kept in memory after `load()`, so overwriting a suffix or compacting deletes exactly
 * the keys that exist without scanning for them. Writes are queued: they reach the adapter one at a time, in the order
 * they were made, each computed against the state the previous one left.
 */
import { DecodeError, InvalidOptionError, StorageError } from '../../errors.js'
import type { StorageAdapter, StorageKey, StorageOp } from '../../storage/adapter.js'
import {
  decodeEntry,
  decodeHardState,
  decodeSnapshotMeta,
  encodeEntry,
  encodeHardState,
  encodeSnapshotMeta,
} from './codec.js'
import type { Ready } from './core.js'
import type { Entry, HardState, Snapshot } from './types.js'

/** Digits of the largest safe integer (9007199254740991). */
const INDEX_DIGITS = 16
const INDEX_PATTERN = /^\d{16}$/

const EMPTY_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 }

export interface RaftStorageOptions {
  /** Where this group's records live, e.g. `['raft', groupId]`; at least one part. Groups must not share a prefix. */
  readonly prefix: StorageKey
}

/** What `load()` found: the shape `RaftCore` takes as its initial state (plus the bootstrap config the driver adds). */
export interface StoredRaftState {
  readonly hardState: HardState
  readonly snapshot?: Snapshot
  /** The entries after the snapshot, contiguous from `snapshot.meta.index + 1` (or 1). */
  readonly entries: readonly Entry[]
}

/** The part of a Ready that is persisted. */
export type RaftWrite = Pick<Ready, 'hardState' | 'snapshot' | 'entries'>

/** The stored log: entries `first..last` (none when last < first) after the snapshot at `snapshotIndex`. */
export interface StoredRange {
  readonly snapshotIndex: number
  readonly first: number
  readonly last: number
}

export class RaftStorage {
  readonly #adapter: StorageAdapter
  readonly #prefix: StorageKey
  #range: StoredRange | undefined
  /** The last queued write; later writes start after it settles. */
  #tail: Promise<void> = Promise.resolve()

  constructor(adapter: StorageAdapter, options: RaftStorageOptions) {
    // The parts themselves are checked by the adapter, on every call.
    if (options.prefix.length === 0) throw new InvalidOptionError('raft storage prefix must have at least one part')
    this.#adapter = adapter
    this.#prefix = [...options.prefix]
  }

  /** The stored range as of the last write that completed; undefined before `load()`. */
  get stored(): StoredRange | undefined {
    return this.#range
  }

  /**
   * Reads everything back and checks it is one consistent state. A record that does not decode rejects with
   * DecodeError naming its key; records that decode but do not fit together (a missing entry, an entry under another
   * index's key, a snapshot without its data, a commit past the log) reject with StorageError. Nothing is ever
   * skipped: a node that silently lost entries could vote or ack against a log it no longer has.
   */
  async load(): Promise<StoredRaftState> {
    const [hardBytes, metaBytes, data, rows] = await Promise.all([
      this.#adapter.load(this.#key('hard')),
      this.#adapter.load(this.#key('snap', 'meta')),
      this.#adapter.load(this.#key('snap', 'data')),
      this.#adapter.loadRange(this.#key('e')),
    ])
    const hardState = hardBytes === undefined ? EMPTY_HARD_STATE : this.#decode('hard', hardBytes, decodeHardState)
    if ((metaBytes === undefined) !== (data === undefined)) {
      const missing = data === undefined ? 'data' : 'metadata'
      throw new StorageError(`raft storage ${this.#show(['snap'])}: the snapshot ${missing} is missing`)
    }
    const snapshot =
      metaBytes === undefined || data === undefined
        ? undefined
        : { meta: this.#decode('snap meta', metaBytes, decodeSnapshotMeta), data }
    const base = snapshot?.meta.index ?? 0
    const entries: Entry[] = []
    let lastTerm = snapshot?.meta.term ?? 0
    for (const row of rows) {
      const expected = base + entries.length + 1
      const index = this.#entryIndex(row.key)
      if (index !== expected) {
        throw new StorageError(
          `raft storage ${this.#show(['e'])}: entry ${expected} is missing (the next stored entry is ${index}, ` +
            `the snapshot ends at ${base})`,
        )
      }
      const e = this.#decode(`entry ${index}`, row.data, decodeEntry)
      if (e.index !== index) {
        throw new StorageError(`raft storage: the record under index ${index} holds entry ${e.index}`)
      }
      if (e.term < lastTerm) {
        throw new StorageError(`raft storage: entry ${index} has term ${e.term}, below the term ${lastTerm} before it`)
      }
      lastTerm = e.term
      entries.push(e)
    }
    const last = base + entries.length
    if (hardState.commit > last) {
      throw new StorageError(`raft storage: the hard state commits ${hardState.commit} but the log ends at ${last}`)
    }
    if (lastTerm > hardState.term) {
      const hardTerm = hardState.term
      throw new StorageError(`raft storage: the log reaches term ${lastTerm}, past the hard state's term ${hardTerm}`)
    }
    this.#range = { snapshotIndex: base, first: base + 1, last }
    return snapshot === undefined ? { hardState, entries } : { hardState, snapshot, entries }
  }

  /**
   * Persists what a Ready asks for in one atomic batch: the hard state if it changed; a received snapshot, which
   * replaces every stored entry; and entries, which overwrite the stored log from `entries[0].index` on (a stored
   * suffix past the new entries is deleted). Nothing is written when the Ready holds nothing to persist.
   * Rejects (writing nothing) on a Ready that would leave a gap: that is a driver bug, not a storage failure.
   */
  persist(rd: RaftWrite): Promise<void> {
    return this.#enqueue(async () => {
      const range = this.#loaded()
      const ops: StorageOp[] = []
      let { snapshotIndex, first, last } = range
      if (rd.snapshot !== null) {
        ops.push({ type: 'removeRange', prefix: this.#key('e') }, ...this.#snapshotOps(rd.snapshot))
        snapshotIndex = rd.snapshot.meta.index
        first = snapshotIndex + 1
        last = snapshotIndex
      }
      const head = rd.entries[0]
      if (head !== undefined) {
        if (head.index < first || head.index > last + 1) {
          throw new Error(`raft storage: entries from ${head.index} do not fit the stored log ${first}..${last}`)
        }
        const newLast = head.index + rd.entries.length - 1
        for (let i = newLast + 1; i <= last; i++) ops.push({ type: 'remove', key: this.#entryKey(i) })
        for (const [k, e] of rd.entries.entries()) {
          if (e.index !== head.index + k) {
            throw new Error(`raft storage: entry ${e.index} breaks the run from ${head.index}`)
          }
          ops.push({ type: 'save', key: this.#entryKey(e.index), data: encodeEntry(e) })
        }
        last = newLast
      }
      if (rd.hardState !== null) ops.push({ type: 'save', key: this.#key('hard'), data: encodeHardState(rd.hardState) })
      if (ops.length === 0) return
      await this.#adapter.batch(ops)
      this.#range = { snapshotIndex, first, last }
    })
  }

  /**
   * The application compacted its log into `snapshot` (from `RaftCore.compact`): stores it and deletes the entries it
   * covers, atomically. A snapshot no newer than the stored one is ignored (a received snapshot overtook it).
   */
  saveCompaction(snapshot: Snapshot): Promise<void> {
    return this.#enqueue(async () => {
      const { snapshotIndex, first, last } = this.#loaded()
      const index = snapshot.meta.index
      if (index <= snapshotIndex) return
      const ops = this.#snapshotOps(snapshot)
      for (let i = first; i <= Math.min(last, index); i++) ops.push({ type: 'remove', key: this.#entryKey(i) })
      await this.#adapter.batch(ops)
      this.#range = { snapshotIndex: index, first: index + 1, last: Math.max(last, index) }
    })
  }

  #enqueue(write: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(write)
    // The next write waits for this one whatever its outcome; its caller sees the rejection, if any.
    this.#tail = run.catch(() => undefined)
    return run
  }

  #loaded(): StoredRange {
    if (this.#range === undefined) throw new Error('raft storage: load() must complete before the first write')
    return this.#range
  }

  #snapshotOps(snapshot: Snapshot): StorageOp[] {
    return [
      { type: 'save', key: this.#key('snap', 'meta'), data: encodeSnapshotMeta(snapshot.meta) },
      { type: 'save', key: this.#key('snap', 'data'), data: snapshot.data },
    ]
  }

  #key(...parts: string[]): StorageKey {
    return [...this.#prefix, ...parts]
  }

  #entryKey(index: number): StorageKey {
    return this.#key('e', String(index).padStart(INDEX_DIGITS, '0'))
  }

  #entryIndex(key: StorageKey): number {
    const part = key.length === this.#prefix.length + 2 ? key[key.length - 1] : undefined
    if (part === undefined || !INDEX_PATTERN.test(part)) {
      throw new StorageError(`raft storage: unexpected key ${JSON.stringify(key)} among the log entries`)
    }
    return Number(part)
  }

  #decode<T>(what: string, bytes: Uint8Array, decode: (bytes: Uint8Array) => T): T {
    try {
      return decode(bytes)
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err
      throw new DecodeError(`raft storage ${this.#show([])}: ${what} is corrupt: ${err.message}`, { cause: err })
    }
  }

  #show(parts: string[]): string {
    return JSON.stringify([...this.#prefix, ...parts])
  }
}
