// The acceptance suite every StorageAdapter must pass, as plain data so that it runs anywhere: Vitest runs it against
// the memory adapter in Node, and a test page runs it against IndexedDB in a real browser. Each check gets a factory
// for fresh, empty adapters and throws an Error saying what went wrong; it imports no test framework. The file runs
// past 400 lines on purpose: it is the whole storage contract in one list, which is easier to review than pieces.
import type { StorageAdapter, StorageEntry, StorageKey } from './adapter.js'

export interface StorageCheck {
  readonly name: string
  /** Resolves when the adapters `make` returns behave; rejects with an Error describing the first deviation. */
  run(make: () => Promise<StorageAdapter>): Promise<void>
}

type Make = () => Promise<StorageAdapter>

function fail(message: string): never {
  throw new Error(message)
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) fail(message)
}

function show(value: unknown): string {
  if (value instanceof Uint8Array) {
    const head = Array.from(value.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join(' ')
    return `Uint8Array(${value.byteLength})[${head}${value.byteLength > 16 ? ' …' : ''}]`
  }
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`
  if (typeof value === 'object' && value !== null) {
    return `{ ${Object.entries(value).map(([k, v]) => `${k}: ${show(v)}`).join(', ')} }`
  }
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}

function equal(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.byteLength !== b.byteLength) return false
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
    return true
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]))
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    const ra = a as Record<string, unknown>
    const rb = b as Record<string, unknown>
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && equal(ra[k], rb[k]))
  }
  return Object.is(a, b)
}

function assertEqual(actual: unknown, expected: unknown, what: string): void {
  if (!equal(actual, expected)) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`)
}

/** Fails unless `promise` rejects with an error of the given name. */
async function assertRejects(promise: Promise<unknown>, errorName: string, what: string): Promise<void> {
  let outcome: unknown
  try {
    outcome = await promise
  } catch (err) {
    const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined
    assert(name === errorName, `${what}: expected a ${errorName}, got ${show(name)} (${String(err)})`)
    return
  }
  fail(`${what}: expected it to reject with ${errorName}, but it resolved to ${show(outcome)}`)
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)

/** Runs `body` on a fresh adapter and closes it afterwards. */
async function withAdapter(make: Make, body: (storage: StorageAdapter) => Promise<void>): Promise<void> {
  const storage = await make()
  try {
    await body(storage)
  } catch (err) {
    // The body's failure is the one worth reporting; a close that also fails would only hide it.
    await storage.close().catch(() => undefined)
    throw err
  }
  await storage.close()
}

async function saveAll(storage: StorageAdapter, entries: ReadonlyArray<readonly [StorageKey, Uint8Array]>) {
  for (const [key, data] of entries) await storage.save(key, data)
}

const keysOf = (entries: readonly StorageEntry[]): StorageKey[] => entries.map((e) => e.key)

/** Part-by-part order, written independently of any adapter's encoding so that it can check them. */
function compareKeys(a: StorageKey, b: StorageKey): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as string
    const y = b[i] as string
    if (x !== y) return x < y ? -1 : 1
  }
  return a.length - b.length
}

/** Keys that share characters in ways a careless encoding would confuse. */
const PREFIX_FIXTURE: ReadonlyArray<readonly [StorageKey, Uint8Array]> = [
  [['a'], bytes(1)],
  [['a', 'b'], bytes(2)],
  [['a', 'b', 'c'], bytes(3)],
  [['a', '\u0001'], bytes(4)],
  [['ab'], bytes(5)],
  [['ab', 'c'], bytes(6)],
  [['a\u0001'], bytes(7)],
  [['b'], bytes(8)],
]

const checks: StorageCheck[] = [
  {
    name: 'load of a missing key resolves to undefined',
    run: (make) =>
      withAdapter(make, async (s) => {
        assertEqual(await s.load(['nothing']), undefined, "load(['nothing']) on an empty adapter")
        await s.save(['a', 'b'], bytes(1))
        assertEqual(await s.load(['a']), undefined, "load(['a']) when only ['a','b'] exists")
        assertEqual(await s.load(['a', 'b', 'c']), undefined, "load(['a','b','c']) when only ['a','b'] exists")
        assertEqual(await s.load(['ab']), undefined, "load(['ab']) when only ['a','b'] exists")
      }),
  },
  {
    name: 'save then load returns the same bytes',
    run: (make) =>
      withAdapter(make, async (s) => {
        await s.save(['doc', '1'], bytes(1, 2, 3))
        const loaded = await s.load(['doc', '1'])
        assert(loaded instanceof Uint8Array, `load returned ${show(loaded)}, not a Uint8Array`)
        assertEqual(loaded, bytes(1, 2, 3), "load(['doc','1'])")
      }),
  },
  {
    name: 'save overwrites the value under an existing key',
    run: (make) =>
      withAdapter(make, async (s) => {
        await s.save(['k'], bytes(1, 2, 3, 4, 5))
        await s.save(['k'], bytes(9, 8))
        assertEqual(await s.load(['k']), bytes(9, 8), 'load after overwriting with a shorter value')
        assertEqual(keysOf(await s.loadRange(['k'])), [['k']], 'keys after an overwrite')
      }),
  },
  {
    name: 'remove deletes one key, and removing a missing key resolves',
    run: (make) =>
      withAdapter(make, async (s) => {
        await saveAll(s, [
          [['a'], bytes(1)],
          [['a', 'b'], bytes(2)],
          [['b'], bytes(3)],
        ])
        await s.remove(['a'])
        assertEqual(await s.load(['a']), undefined, "load(['a']) after remove(['a'])")
        assertEqual(await s.load(['a', 'b']), bytes(2), "remove(['a']) must not touch ['a','b']")
        assertEqual(await s.load(['b']), bytes(3), "remove(['a']) must not touch ['b']")
        await s.remove(['a'])
        await s.remove(['missing', 'key'])
        assertEqual(keysOf(await s.loadRange([])), [['a', 'b'], ['b']], 'keys after removing missing keys')
      }),
  },
  {
    name: 'stored bytes are copies: mutating what was saved or loaded changes nothing stored',
    run: (make) =>
      withAdapter(make, async (s) => {
        const input = bytes(1, 2, 3)
        await s.save(['k'], input)
        input[0] = 99
        assertEqual(await s.load(['k']), bytes(1, 2, 3), 'load after mutating the saved array')
        const output = await s.load(['k'])
        if (output !== undefined) output[1] = 77
        const [entry] = await s.loadRange(['k'])
        if (entry !== undefined) entry.data[2] = 55
        assertEqual(await s.load(['k']), bytes(1, 2, 3), 'load after mutating loaded arrays')

        const batched = bytes(4, 5)
        await s.batch([{ type: 'save', key: ['b'], data: batched }])
        batched.fill(0)
        assertEqual(await s.load(['b']), bytes(4, 5), 'load after mutating an array saved by batch')

        // A view saves only its own bytes, not the rest of the buffer it sits on.
        const buffer = bytes(0, 1, 2, 3, 4, 5, 6, 7)
        await s.save(['view'], buffer.subarray(2, 5))
        buffer.fill(0)
        assertEqual(await s.load(['view']), bytes(2, 3, 4), 'load of a saved subarray')
      }),
  },
  {
    name: "loadRange matches whole parts: ['a'] matches ['a'] and ['a','b'] but not ['ab']",
    run: (make) =>
      withAdapter(make, async (s) => {
        await saveAll(s, PREFIX_FIXTURE)
        const range = async (prefix: StorageKey): Promise<StorageKey[]> => keysOf(await s.loadRange(prefix))
        assertEqual(await range(['a']), [['a'], ['a', '\u0001'], ['a', 'b'], ['a', 'b', 'c']], "loadRange(['a'])")
        assertEqual(await range(['a', 'b']), [['a', 'b'], ['a', 'b', 'c']], "loadRange(['a','b'])")
        assertEqual(await range(['ab']), [['ab'], ['ab', 'c']], "loadRange(['ab'])")
        assertEqual(await range(['a', 'b', 'c', 'd']), [], "loadRange(['a','b','c','d'])")
        assertEqual(await range(['a', 'x']), [], "loadRange(['a','x'])")
        assertEqual(await range(['c']), [], "loadRange(['c'])")
        assertEqual((await range([])).length, PREFIX_FIXTURE.length, 'loadRange([]) must return every key')
        const byKey = new Map(PREFIX_FIXTURE.map(([key, data]) => [JSON.stringify(key), data]))
        for (const { key, data } of await s.loadRange(['a'])) {
          assertEqual(data, byKey.get(JSON.stringify(key)), `loadRange data for ${show(key)}`)
        }
      }),
  },
  {
    name: 'loadRange sorts by key, part by part and by UTF-16 code unit',
    run: (make) =>
      withAdapter(make, async (s) => {
        const keys: StorageKey[] = [
          ['b'],
          ['a', 'z'],
          ['ab'],
          ['a'],
          ['a', 'b', 'c'],
          ['a', 'b'],
          ['A'],
          ['a', 'a'],
          ['é'],
          ['10'],
          ['9'],
          ['\uffff'],
          ['😀'],
          ['a b'],
        ]
        await saveAll(
          s,
          keys.map((key, i) => [key, bytes(i)]),
        )
        const expected = [...keys].sort(compareKeys)
        assertEqual(keysOf(await s.loadRange([])), expected, 'loadRange([]) order')
        assertEqual(
          keysOf(await s.loadRange(['a'])),
          expected.filter((k) => k[0] === 'a'),
          "loadRange(['a']) order",
        )
      }),
  },
  {
    name: 'removeRange removes exactly what loadRange would return',
    run: (make) =>
      withAdapter(make, async (s) => {
        await saveAll(s, PREFIX_FIXTURE)
        await s.removeRange(['a'])
        assertEqual(
          keysOf(await s.loadRange([])),
          [['a\u0001'], ['ab'], ['ab', 'c'], ['b']],
          "keys left after removeRange(['a'])",
        )
        await s.removeRange(['nothing', 'here'])
        await s.removeRange(['ab', 'c'])
        const left = keysOf(await s.loadRange([]))
        assertEqual(left, [['a\u0001'], ['ab'], ['b']], "keys left after removeRange(['ab','c'])")
        await s.removeRange([])
        assertEqual(keysOf(await s.loadRange([])), [], 'keys left after removeRange([])')
      }),
  },
  {
    name: 'batch applies every operation, in order',
    run: (make) =>
      withAdapter(make, async (s) => {
        await saveAll(s, [
          [['doc', 'incr', '1'], bytes(1)],
          [['doc', 'incr', '2'], bytes(2)],
          [['doc', 'meta'], bytes(3)],
          [['gone'], bytes(4)],
        ])
        await s.batch([])
        // Compaction's shape, plus operations whose result depends on their order.
        await s.batch([
          { type: 'save', key: ['doc', 'snapshot'], data: bytes(12) },
          { type: 'removeRange', prefix: ['doc', 'incr'] },
          { type: 'save', key: ['doc', 'incr', '3'], data: bytes(13) },
          { type: 'remove', key: ['gone'] },
          { type: 'save', key: ['x'], data: bytes(20) },
          { type: 'remove', key: ['x'] },
          { type: 'save', key: ['y'], data: bytes(30) },
          { type: 'save', key: ['y'], data: bytes(31) },
          { type: 'removeRange', prefix: ['nothing'] },
        ])
        const all = await s.loadRange([])
        assertEqual(
          all,
          [
            { key: ['doc', 'incr', '3'], data: bytes(13) },
            { key: ['doc', 'meta'], data: bytes(3) },
            { key: ['doc', 'snapshot'], data: bytes(12) },
            { key: ['y'], data: bytes(31) },
          ],
          'entries after the batch',
        )
      }),
  },
  {
    name: 'a batch that fails applies nothing (an invalid key anywhere in it rejects the whole batch)',
    run: (make) =>
      withAdapter(make, async (s) => {
        await saveAll(s, [
          [['a'], bytes(1)],
          [['b', '1'], bytes(2)],
        ])
        const before = await s.loadRange([])
        await assertRejects(
          s.batch([
            { type: 'save', key: ['a'], data: bytes(9) },
            { type: 'remove', key: ['b', '1'] },
            { type: 'save', key: ['c'], data: bytes(3) },
            { type: 'removeRange', prefix: ['b'] },
            { type: 'save', key: ['bad', ''], data: bytes(4) },
          ]),
          'InvalidOptionError',
          'a batch ending with an empty key part',
        )
        assertEqual(await s.loadRange([]), before, 'entries after a batch with an invalid last key')
        await assertRejects(
          s.batch([
            { type: 'removeRange', prefix: [] },
            { type: 'remove', key: [] },
            { type: 'save', key: ['d'], data: bytes(5) },
          ]),
          'InvalidOptionError',
          'a batch with an empty key in the middle',
        )
        assertEqual(await s.loadRange([]), before, 'entries after a batch with an invalid middle key')
      }),
  },
  {
    name: 'invalid keys and values are rejected with InvalidOptionError and store nothing',
    run: (make) =>
      withAdapter(make, async (s) => {
        const notBytes = 'text' as unknown as Uint8Array
        await assertRejects(s.save([], bytes(1)), 'InvalidOptionError', 'save([])')
        await assertRejects(s.save(['a', ''], bytes(1)), 'InvalidOptionError', "save(['a',''])")
        await assertRejects(s.save([''], bytes(1)), 'InvalidOptionError', "save([''])")
        await assertRejects(s.save(['a'], notBytes), 'InvalidOptionError', 'save of a string')
        await assertRejects(s.load([]), 'InvalidOptionError', 'load([])')
        await assertRejects(s.remove(['']), 'InvalidOptionError', "remove([''])")
        await assertRejects(s.loadRange(['a', '']), 'InvalidOptionError', "loadRange(['a',''])")
        await assertRejects(s.removeRange(['']), 'InvalidOptionError', "removeRange([''])")
        assertEqual(await s.loadRange([]), [], 'entries after only invalid calls')
      }),
  },
  {
    name: 'a 1 MiB value round-trips intact',
    run: (make) =>
      withAdapter(make, async (s) => {
        const big = new Uint8Array(1024 * 1024)
        for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >>> 8)) & 0xff
        await s.save(['big'], big)
        assertEqual(await s.load(['big']), big, 'load of the 1 MiB value')
        const [entry] = await s.loadRange(['big'])
        assertEqual(entry?.data, big, 'loadRange of the 1 MiB value')
      }),
  },
  {
    name: '1000 keys round-trip and list in order',
    run: (make) =>
      withAdapter(make, async (s) => {
        const n = 1000
        const keyOf = (i: number): StorageKey => ['many', String(i).padStart(4, '0')]
        const valueOf = (i: number): Uint8Array => bytes(i >>> 8, i & 0xff, 0, 7)
        for (let i = n - 1; i >= 0; i--) await s.save(keyOf(i), valueOf(i))
        const all = await s.loadRange(['many'])
        assertEqual(all.length, n, 'number of entries under many')
        for (const [i, entry] of all.entries()) assertEqual(entry, { key: keyOf(i), data: valueOf(i) }, `entry ${i}`)
        for (const i of [0, 1, 499, 998, 999]) assertEqual(await s.load(keyOf(i)), valueOf(i), `load of key ${i}`)
        await s.removeRange(['many'])
        assertEqual(await s.loadRange([]), [], 'entries after removeRange(many)')
      }),
  },
  {
    name: 'concurrent calls all land, and take effect in call order',
    run: (make) =>
      withAdapter(make, async (s) => {
        const n = 200
        await Promise.all(Array.from({ length: n }, (_, i) => s.save(['c', String(i)], bytes(i))))
        const all = await s.loadRange(['c'])
        assertEqual(all.length, n, 'entries after concurrent saves to different keys')
        for (const { key, data } of all) assertEqual(data, bytes(Number(key[1])), `value under ${show(key)}`)

        await Promise.all([s.save(['same'], bytes(1)), s.save(['same'], bytes(2)), s.save(['same'], bytes(3))])
        assertEqual(await s.load(['same']), bytes(3), 'the last of three un-awaited saves to one key')
        await Promise.all([s.save(['then'], bytes(1)), s.remove(['then'])])
        assertEqual(await s.load(['then']), undefined, 'a save followed by an un-awaited remove')
      }),
  },
  {
    name: 'keys with unusual characters round-trip and do not collide',
    run: (make) =>
      withAdapter(make, async (s) => {
        const keys: StorageKey[] = [
          ['a', 'b'],
          ['a/b'],
          ['a:b'],
          ['a b'],
          ['a.b'],
          ['a\\b'],
          ['a%2Fb'],
          ['a '],
          [' a'],
          ['日本語', '文書'],
          ['日本語/文書'],
          ['😀', '👩‍💻'],
          ['.'],
          ['..'],
          ['\t\n\r'],
          ['\'"`'],
          ['__proto__'],
          ['constructor'],
          ['toString'],
          ['null'],
          ['undefined'],
        ]
        await saveAll(
          s,
          keys.map((key, i) => [key, bytes(i, 255 - i)]),
        )
        for (const [i, key] of keys.entries()) assertEqual(await s.load(key), bytes(i, 255 - i), `load ${show(key)}`)
        assertEqual((await s.loadRange([])).length, keys.length, 'number of distinct keys stored')
        assertEqual(keysOf(await s.loadRange(['a'])), [['a', 'b']], "loadRange(['a']) among look-alike keys")
        assertEqual(keysOf(await s.loadRange(['日本語'])), [['日本語', '文書']], "loadRange(['日本語'])")
        await s.remove(['a/b'])
        assertEqual(await s.load(['a', 'b']), bytes(0, 255), "remove(['a/b']) must not touch ['a','b']")
      }),
  },
  {
    name: 'binary data with zero bytes, and empty values, round-trip',
    run: (make) =>
      withAdapter(make, async (s) => {
        const every = Uint8Array.from({ length: 256 }, (_, i) => i)
        const values: ReadonlyArray<readonly [StorageKey, Uint8Array]> = [
          [['zeros'], new Uint8Array(100)],
          [['every-byte'], every],
          [['trailing'], bytes(1, 0, 0)],
          [['leading'], bytes(0, 0, 1)],
          [['empty'], new Uint8Array(0)],
        ]
        await saveAll(s, values)
        for (const [key, data] of values) assertEqual(await s.load(key), data, `load ${show(key)}`)
        const empty = await s.load(['empty'])
        assert(empty instanceof Uint8Array, `an empty value must load as an empty Uint8Array, got ${show(empty)}`)
        assertEqual((await s.loadRange([])).length, values.length, 'number of entries, the empty one included')
      }),
  },
  {
    name: 'close() is idempotent, and calls after it reject with StorageError',
    run: async (make) => {
      const s = await make()
      await s.save(['k'], bytes(1))
      await s.close()
      await s.close()
      await assertRejects(s.load(['k']), 'StorageError', 'load after close')
      await assertRejects(s.save(['k'], bytes(2)), 'StorageError', 'save after close')
      await assertRejects(s.loadRange([]), 'StorageError', 'loadRange after close')
      await assertRejects(s.batch([{ type: 'remove', key: ['k'] }]), 'StorageError', 'batch after close')
      await s.close()
    },
  },
]

export const storageCompliance: ReadonlyArray<StorageCheck> = checks
