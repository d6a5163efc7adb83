// The browser's StorageAdapter: one IndexedDB database (through `idb`) with one object store, keyed by the encoded
// key string so that a prefix is one IDBKeyRange and key order is IndexedDB's own string order. Every batch is one
// readwrite transaction, which is what makes it atomic: if any part fails (the quota, most likely) the browser aborts
// the transaction and none of it is written.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb'
import {
  AbortError,
  DecodeError,
  InvalidOptionError,
  StorageError,
  StorageQuotaError,
  throwIfAborted,
} from '../errors.js'
import type { StorageAdapter, StorageEntry, StorageKey, StorageOp, StorageUsage } from './adapter.js'
import { assertKey, assertOps, assertPrefix, decodeKey, encodeKey, prefixRange } from './key.js'

const STORE = 'entries'
/** Schema version. Version 1 is the single store; a later version migrates in `upgrade` by `oldVersion`. */
const VERSION = 1

interface SynodStorageSchema extends DBSchema {
  // `unknown`, not Uint8Array: the database is the origin's, so anything else on the page could have written to it.
  entries: { key: string; value: unknown }
}

export interface IndexedDBStorageOptions {
  /** Stops waiting for the database to open (another tab can hold up an upgrade); rejects with AbortError. */
  readonly signal?: AbortSignal
}

export class IndexedDBStorageAdapter implements StorageAdapter {
  readonly kind = 'indexeddb'
  readonly #db: IDBPDatabase<SynodStorageSchema>
  /** Why calls now reject; undefined while the database is usable. */
  #closed: string | undefined

  private constructor(
    /** The IndexedDB database name. */
    readonly name: string,
    db: IDBPDatabase<SynodStorageSchema>,
  ) {
    this.#db = db
  }

  /** Opens (creating if need be) the database `dbName`. Default name: 'synod'. */
  static async open(dbName = 'synod', options: IndexedDBStorageOptions = {}): Promise<IndexedDBStorageAdapter> {
    if (typeof dbName !== 'string' || dbName === '') {
      throw new InvalidOptionError(`IndexedDB database name must be a non-empty string, got ${String(dbName)}`)
    }
    throwIfAborted(options.signal)
    if (typeof indexedDB === 'undefined') {
      throw new StorageError('IndexedDB is not available here (indexedDB is undefined); use the memory adapter')
    }
    // The callbacks can only fire once the database is open, by when `opened.adapter` is set.
    const opened: { adapter?: IndexedDBStorageAdapter } = {}
    const opening = openDB<SynodStorageSchema>(dbName, VERSION, {
      upgrade(db) {
        db.createObjectStore(STORE)
      },
      // A newer Synod in another tab wants to upgrade the schema: step aside rather than block it forever.
      blocking() {
        const { adapter } = opened
        if (adapter !== undefined) adapter.#shutDown('a newer version of the database was opened in another tab')
      },
      terminated() {
        const { adapter } = opened
        if (adapter !== undefined) adapter.#closed = 'the browser closed the database unexpectedly'
      },
    }).catch((err: unknown) => {
      throw new StorageError(`could not open IndexedDB database '${dbName}'`, { cause: err })
    })
    const db = await abortable(opening, options.signal, (late) => late.close())
    const adapter = new IndexedDBStorageAdapter(dbName, db)
    opened.adapter = adapter
    return adapter
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    assertKey(key)
    const db = this.#usable()
    const value = await this.#run('load', () => db.get(STORE, encodeKey(key)))
    return value === undefined ? undefined : checkValue(value, key)
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    return this.batch([{ type: 'save', key, data }])
  }

  async remove(key: StorageKey): Promise<void> {
    return this.batch([{ type: 'remove', key }])
  }

  async loadRange(prefix: StorageKey): Promise<StorageEntry[]> {
    assertPrefix(prefix)
    const db = this.#usable()
    const query = keyRange(prefix)
    // Keys and values from one transaction, so they are one consistent snapshot and pair up index by index.
    const [keys, values] = await this.#run('loadRange', async () => {
      const tx = db.transaction(STORE, 'readonly')
      const [k, v] = await Promise.all([tx.store.getAllKeys(query), tx.store.getAll(query), tx.done])
      return [k, v] as const
    })
    return keys.map((encoded, i) => {
      if (typeof encoded !== 'string') throw new DecodeError(`IndexedDB key ${String(encoded)} is not a storage key`)
      const key = decodeKey(encoded)
      return { key, data: checkValue(values[i], key) }
    })
  }

  async removeRange(prefix: StorageKey): Promise<void> {
    return this.batch([{ type: 'removeRange', prefix }])
  }

  async batch(ops: ReadonlyArray<StorageOp>): Promise<void> {
    assertOps(ops)
    const db = this.#usable()
    if (ops.length === 0) return
    await this.#run('write', async () => {
      const tx = db.transaction(STORE, 'readwrite')
      let requests: Array<Promise<unknown>>
      try {
        requests = ops.map((op) => {
          switch (op.type) {
            case 'save':
              // Structured cloning copies anyway, but a view would take its whole underlying buffer with it.
              return tx.store.put(new Uint8Array(op.data), encodeKey(op.key))
            case 'remove':
              return tx.store.delete(encodeKey(op.key))
            case 'removeRange': {
              const query = keyRange(op.prefix)
              return query === undefined ? tx.store.clear() : tx.store.delete(query)
            }
          }
        })
      } catch (err) {
        // A request that throws instead of failing would leave the earlier ones to commit on their own.
        tx.abort()
        tx.done.catch(() => undefined) // this abort is ours; `err` is the failure to report
        throw err
      }
      // Wait on the transaction, not the first failed request: when the quota runs out, requests may fail with a
      // bare AbortError and only the transaction's error says QuotaExceededError.
      const settled = Promise.allSettled(requests)
      await tx.done
      await settled
    })
  }

  /** The origin's usage and quota (all of its storage, not only this database); undefined where unknown. */
  async estimate(): Promise<StorageUsage | undefined> {
    this.#usable()
    const storage = typeof navigator === 'undefined' ? undefined : navigator.storage
    if (storage?.estimate === undefined) return undefined
    try {
      const { usage, quota } = await storage.estimate()
      return { usage: usage ?? 0, quota: quota ?? Number.POSITIVE_INFINITY }
    } catch (err) {
      throw new StorageError('navigator.storage.estimate() failed', { cause: err })
    }
  }

  async close(): Promise<void> {
    this.#shutDown('the IndexedDB storage adapter is closed')
  }

  #shutDown(reason: string): void {
    if (this.#closed !== undefined) return
    this.#closed = reason
    // Waits for running transactions to finish, so a close right after an un-awaited save still saves.
    this.#db.close()
  }

  #usable(): IDBPDatabase<SynodStorageSchema> {
    if (this.#closed !== undefined) throw new StorageError(this.#closed)
    return this.#db
  }

  async #run<T>(what: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body()
    } catch (err) {
      if (errorName(err) === 'QuotaExceededError') {
        throw new StorageQuotaError(`IndexedDB ${what} is over the storage quota; nothing was changed`, {
          cause: err,
        })
      }
      const why = this.#closed === undefined ? '' : ` (${this.#closed})`
      throw new StorageError(`IndexedDB ${what} failed${why}`, { cause: err })
    }
  }
}

/**
 * Asks the browser to keep this origin's storage under pressure instead of evicting it. Resolves whether it will
 * (browsers may decide without asking the user); false where the Storage API is missing, as in Node.
 */
export async function requestPersistence(): Promise<boolean> {
  const storage = typeof navigator === 'undefined' ? undefined : navigator.storage
  if (storage?.persist === undefined) return false
  try {
    return await storage.persist()
  } catch (err) {
    throw new StorageError('navigator.storage.persist() failed', { cause: err })
  }
}

function keyRange(prefix: StorageKey): IDBKeyRange | undefined {
  const range = prefixRange(prefix)
  return range === undefined ? undefined : IDBKeyRange.bound(range.lower, range.upper, false, true)
}

function checkValue(value: unknown, key: StorageKey): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new DecodeError(`IndexedDB value under ${JSON.stringify(key)} is not a Uint8Array`)
  }
  return value
}

function errorName(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined
}

/** Races `promise` against `signal`; a value that arrives after the abort is handed to `discard` (to close it). */
async function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, discard: (late: T) => void) {
  if (signal === undefined) return promise
  let onAbort = (): void => undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new AbortError('opening the IndexedDB database was aborted', { cause: signal.reason }))
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } catch (err) {
    // The caller gets its AbortError; a later failure to open has no one left to tell.
    if (err instanceof AbortError) promise.then(discard, () => undefined)
    throw err
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
