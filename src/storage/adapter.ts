// The storage contract every backend implements. It is deliberately tiny (after automerge-repo's StorageAdapter): the
// layers above build documents, logs and snapshots out of keyed byte arrays, and the shared acceptance suite in
// compliance.ts pins down everything an adapter must get right.

/**
 * A storage key: one or more parts, e.g. `['doc', docId, 'snapshot']`. Each part is a non-empty string without
 * U+0000 (adapters use it internally to join parts). Keys are compared part by part, each part by UTF-16 code units
 * (JavaScript's default string order, which is also IndexedDB's), and a key sorts before any longer key it begins.
 */
export type StorageKey = readonly string[]

/** One stored value and its key, as returned by `loadRange`. */
export interface StorageEntry {
  readonly key: StorageKey
  readonly data: Uint8Array
}

/** One operation of a `batch`. Operations apply in order, so a later one sees the effect of an earlier one. */
export type StorageOp =
  | { readonly type: 'save'; readonly key: StorageKey; readonly data: Uint8Array }
  | { readonly type: 'remove'; readonly key: StorageKey }
  | { readonly type: 'removeRange'; readonly prefix: StorageKey }

/** How many bytes are stored and how many may be, as far as the backend knows. */
export interface StorageUsage {
  readonly usage: number
  /** `Infinity` when there is no limit. */
  readonly quota: number
}

/** Optional: adapters that can tell how close they are to their quota implement this. */
export interface StorageEstimate {
  /** Resolves undefined when the backend cannot tell. */
  estimate?(): Promise<StorageUsage | undefined>
}

/**
 * A key-value store of byte arrays. All methods reject (never throw synchronously): an invalid key or value with
 * `InvalidOptionError`, a write over the quota with `StorageQuotaError` (nothing changed), any call after `close()`
 * and any other backend failure with `StorageError`. Calls take effect in the order they were made, so a `save`
 * issued after another `save` to the same key wins even if neither was awaited.
 *
 * Stored bytes are copies: changing an array after saving it, or after loading it, never changes what is stored.
 */
export interface StorageAdapter extends StorageEstimate {
  /** Names the backend, e.g. 'indexeddb' or 'memory'. */
  readonly kind: string
  /** The value stored under exactly this key, or undefined. */
  load(key: StorageKey): Promise<Uint8Array | undefined>
  /** Stores a copy of `data` under `key`, replacing any value there. */
  save(key: StorageKey, data: Uint8Array): Promise<void>
  /** Deletes the value under `key`; resolves as well when there is none. */
  remove(key: StorageKey): Promise<void>
  /**
   * Every entry whose key equals `prefix` or begins with all of its parts, sorted by key. Parts match whole:
   * `['a']` matches `['a']` and `['a', 'b']` but not `['ab']`. The empty prefix matches every key.
   */
  loadRange(prefix: StorageKey): Promise<StorageEntry[]>
  /** Deletes every entry `loadRange(prefix)` would return. */
  removeRange(prefix: StorageKey): Promise<void>
  /**
   * Applies every operation, in order, atomically: either all take effect or (when it rejects) none do. Compaction
   * relies on this to write a snapshot and delete the increments it replaces in one step.
   */
  batch(ops: ReadonlyArray<StorageOp>): Promise<void>
  /** Releases the backend. Idempotent; every other call made afterwards rejects with `StorageError`. */
  close(): Promise<void>
}
