/**
 * storage/: the StorageAdapter interface (keyed byte arrays with atomic batches), its IndexedDB adapter for browsers
 * and in-memory adapter for Node and tests, and the acceptance suite every adapter must pass. The layers above keep
 * documents and logs here; how they lay out keys is theirs.
 *
 * This folder imports nothing from other layers (only `src/errors.ts` and the `idb` package).
 */
import { InvalidOptionError } from '../errors.js'
import type { StorageAdapter } from './adapter.js'
import { IndexedDBStorageAdapter } from './indexeddb.js'
import { MemoryStorageAdapter } from './memory.js'

export type {
  StorageAdapter,
  StorageEntry,
  StorageEstimate,
  StorageKey,
  StorageOp,
  StorageUsage,
} from './adapter.js'
export { MemoryStorageAdapter, type MemoryStorageOptions } from './memory.js'
export { IndexedDBStorageAdapter, requestPersistence, type IndexedDBStorageOptions } from './indexeddb.js'
export { storageCompliance, type StorageCheck } from './compliance.js'

/** What `createStorage` accepts: a built-in backend by name, or an adapter the app made itself. */
export type StorageOption = 'indexeddb' | 'memory' | StorageAdapter

const METHODS = ['load', 'save', 'remove', 'loadRange', 'removeRange', 'batch', 'close'] as const

/**
 * Turns the `storage` option into an adapter. 'indexeddb' opens the database `name`; 'memory' ignores the name; an
 * adapter object is checked for every method and returned as it is.
 */
export async function createStorage(option: StorageOption, name: string): Promise<StorageAdapter> {
  if (typeof name !== 'string' || name === '') {
    throw new InvalidOptionError(`storage name must be a non-empty string, got ${JSON.stringify(name)}`)
  }
  if (option === 'memory') return new MemoryStorageAdapter()
  if (option === 'indexeddb') {
    if (typeof indexedDB === 'undefined') {
      throw new InvalidOptionError(
        "storage: 'indexeddb' needs a browser, but indexedDB is undefined here; in Node pass storage: 'memory' " +
          '(or your own StorageAdapter)',
      )
    }
    return IndexedDBStorageAdapter.open(name)
  }
  if (typeof option === 'object' && option !== null) {
    const record = option as unknown as Record<string, unknown>
    const missing: string[] = METHODS.filter((method) => typeof record[method] !== 'function')
    if (typeof record.kind !== 'string') missing.unshift('kind (a string)')
    if (record.estimate !== undefined && typeof record.estimate !== 'function') {
      throw new InvalidOptionError('storage adapter: estimate must be a function when present')
    }
    if (missing.length > 0) {
      throw new InvalidOptionError(`storage adapter is missing ${missing.join(', ')} (see StorageAdapter)`)
    }
    return option
  }
  const got = typeof option === 'string' ? JSON.stringify(option) : String(option)
  throw new InvalidOptionError(`storage must be 'indexeddb', 'memory' or a StorageAdapter, got ${got}`)
}
