// A bare page for the storage end-to-end tests. With `?suite` in its address it runs the storage compliance suite
// against real IndexedDB, one fresh database per adapter, and publishes the outcome as `window.storageResults`.
// `window.storageTest` lets the test drive named databases itself (reloads, quota, persistence); its calls resolve
// to outcomes rather than reject, so the error's `name` survives the trip back to the test.
import {
  IndexedDBStorageAdapter,
  requestPersistence,
  storageCompliance,
  type StorageKey,
  type StorageOp,
  type StorageUsage,
} from '../../src/storage/index.js'

interface CheckResult {
  name: string
  ok: boolean
  error?: string
}

/**
 * Bytes as a list, or `size` copies of `byte`, or `size` random bytes (so a large value need not cross from the test;
 * random ones because Chromium compresses what it stores in IndexedDB, and a run of one byte takes almost no space).
 */
type Bytes = number[] | { size: number; byte: number } | { size: number; random: true }

type PageOp =
  | { type: 'save'; key: string[]; data: Bytes }
  | { type: 'remove'; key: string[] }
  | { type: 'removeRange'; prefix: string[] }

type Outcome<T> = { ok: true; value: T } | { ok: false; name: string; message: string }

declare global {
  interface Window {
    storageResults: Promise<CheckResult[]>
    storageTest: {
      checkNames: string[]
      save(db: string, key: string[], data: Bytes): Promise<Outcome<void>>
      load(db: string, key: string[]): Promise<Outcome<number[] | null>>
      keys(db: string, prefix: string[]): Promise<Outcome<StorageKey[]>>
      batch(db: string, ops: PageOp[]): Promise<Outcome<void>>
      estimate(db: string): Promise<Outcome<StorageUsage | undefined>>
      requestPersistence(): Promise<Outcome<boolean>>
    }
  }
}

/** A check that takes longer than this is reported as failed instead of leaving the test waiting on nothing. */
const CHECK_TIMEOUT_MS = 60_000

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = err.cause === undefined ? '' : ` (cause: ${describeError(err.cause)})`
  return `${err.name}: ${err.message}${cause}`
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function runSuite(): Promise<CheckResult[]> {
  const run = crypto.randomUUID()
  let made = 0
  const results: CheckResult[] = []
  for (const check of storageCompliance) {
    const names: string[] = []
    const make = async (): Promise<IndexedDBStorageAdapter> => {
      const name = `synod-compliance-${run}-${made++}`
      names.push(name)
      return IndexedDBStorageAdapter.open(name)
    }
    try {
      await withTimeout(check.run(make), CHECK_TIMEOUT_MS, check.name)
      results.push({ name: check.name, ok: true })
    } catch (err) {
      results.push({ name: check.name, ok: false, error: describeError(err) })
    }
    // Tidying only: the check closed its adapters, and the browser context is thrown away after the test anyway.
    for (const name of names) indexedDB.deleteDatabase(name)
  }
  return results
}

const adapters = new Map<string, Promise<IndexedDBStorageAdapter>>()
const adapter = async (db: string): Promise<IndexedDBStorageAdapter> => {
  let opening = adapters.get(db)
  if (opening === undefined) {
    opening = IndexedDBStorageAdapter.open(db)
    adapters.set(db, opening)
  }
  return opening
}

function toBytes(data: Bytes): Uint8Array {
  if (Array.isArray(data)) return Uint8Array.from(data)
  const bytes = new Uint8Array(data.size)
  if ('byte' in data) return bytes.fill(data.byte)
  // getRandomValues fills at most 64 KiB per call.
  for (let at = 0; at < bytes.length; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536))
  return bytes
}

const toOp = (op: PageOp): StorageOp => (op.type === 'save' ? { ...op, data: toBytes(op.data) } : op)

async function attempt<T>(body: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await body() }
  } catch (err) {
    return err instanceof Error
      ? { ok: false, name: err.name, message: describeError(err) }
      : { ok: false, name: 'unknown', message: String(err) }
  }
}

window.storageTest = {
  checkNames: storageCompliance.map((c) => c.name),
  save: (db, key, data) => attempt(async () => (await adapter(db)).save(key, toBytes(data))),
  load: (db, key) =>
    attempt(async () => {
      const data = await (await adapter(db)).load(key)
      return data === undefined ? null : Array.from(data)
    }),
  keys: (db, prefix) => attempt(async () => (await (await adapter(db)).loadRange(prefix)).map((e) => e.key)),
  batch: (db, ops) => attempt(async () => (await adapter(db)).batch(ops.map(toOp))),
  estimate: (db) => attempt(async () => (await adapter(db)).estimate()),
  requestPersistence: () => attempt(requestPersistence),
}

const suite = new URLSearchParams(location.search).has('suite')
window.storageResults = suite ? runSuite() : Promise.resolve([])
const statusEl = document.getElementById('status')
if (statusEl !== null) statusEl.textContent = suite ? 'running the suite' : 'ready'
void window.storageResults.then(() => {
  if (statusEl !== null) statusEl.textContent = 'done'
})
