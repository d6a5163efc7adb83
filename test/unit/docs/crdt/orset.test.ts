import type * as AM from '@automerge/automerge/slim'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadAutomerge, type AutomergeModule } from '../../../../src/docs/automerge.js'
import { canonicalJson, orSet, type JsonValue, type ORSetDoc } from '../../../../src/docs/crdt/index.js'
import { Cluster, deliveryArb } from './cluster.js'

let A: AutomergeModule
beforeAll(async () => {
  A = await loadAutomerge()
})

const invalid = expect.objectContaining({ name: 'InvalidOptionError' })
const P1 = '01'.repeat(16)
const P2 = '02'.repeat(16)

/** The test's own stable encoding, independent of canonicalJson, for the reference model. */
function stableKey(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableKey).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableKey(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

// Few distinct elements, so adds and deletes of the same element collide often; two spellings of one object.
const valueArb = fc.constantFrom<JsonValue>('x', 1, { a: 1, b: [null] }, { b: [null], a: 1 })

type SetOp =
  | { readonly kind: 'add'; readonly replica: number; readonly value: JsonValue }
  | { readonly kind: 'delete'; readonly replica: number; readonly value: JsonValue; observed?: readonly string[] }

const opArb: fc.Arbitrary<SetOp> = fc.record({
  kind: fc.constantFrom('add' as const, 'delete' as const),
  replica: fc.nat(),
  value: valueArb,
})

/**
 * Reference OR-Set over the operations a replica has applied: an add is identified by its change hash; a delete
 * removes exactly the adds it observed. Present = some add of the element not removed by any applied delete.
 */
function reference(applied: readonly { readonly hash: string; readonly op: SetOp }[]): Map<string, string[]> {
  const removed = new Set(applied.flatMap(({ op }) => (op.kind === 'delete' ? (op.observed ?? []) : [])))
  const live = new Map<string, string[]>()
  for (const { hash, op } of applied) {
    if (op.kind !== 'add' || removed.has(hash)) continue
    const key = stableKey(op.value)
    live.set(key, [...(live.get(key) ?? []), hash])
  }
  return live
}

function keys(doc: AM.Doc<ORSetDoc>): string[] {
  return orSet.values(doc).map(stableKey)
}

function sync(a: AM.Doc<ORSetDoc>, b: AM.Doc<ORSetDoc>): [AM.Doc<ORSetDoc>, AM.Doc<ORSetDoc>] {
  return [A.applyChanges(a, A.getAllChanges(b))[0], A.applyChanges(b, A.getAllChanges(a))[0]]
}

describe('OR-Set', () => {
  it('matches a reference OR-Set on every replica after every delivery, and converges', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 5 }),
        fc.integer(),
        fc.array(fc.oneof(opArb, deliveryArb), { maxLength: 40 }),
        (size, seed, cmds) => {
          const cluster = new Cluster<ORSetDoc, SetOp>(A, size, seed, (actor) => orSet.init(A, 'set', { actor }))
          const check = (r: number): void => {
            const live = reference(cluster.applied(r))
            expect(keys(cluster.doc(r))).toEqual([...live.keys()].sort())
          }
          for (const cmd of cmds) {
            if (cmd.kind === 'add') {
              cluster.local(cmd.replica, cmd, (doc) => orSet.add(A, doc, cmd.value))
            } else if (cmd.kind === 'delete') {
              const observed = reference(cluster.applied(cmd.replica)).get(stableKey(cmd.value)) ?? []
              cluster.local(cmd.replica, { ...cmd, observed }, (doc) => orSet.delete(A, doc, cmd.value))
            } else {
              cluster.deliver(cmd)
            }
            for (let r = 0; r < size; r++) check(r)
          }
          cluster.deliverAll(check)
          const final = cluster.expectConverged(keys)
          expect(final).toEqual([...reference(cluster.pool).keys()].sort())
          for (const key of final) expect(orSet.has(cluster.doc(0), JSON.parse(key) as JsonValue)).toBe(true)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('add wins: an add concurrent with a delete of the same element survives it', () => {
    let [p1, p2] = sync(orSet.add(A, orSet.init(A, 'set', { actor: P1 }), 'x'), orSet.init(A, 'set', { actor: P2 }))
    p1 = orSet.add(A, p1, 'x') // re-add while already present: a fresh tag
    p2 = orSet.delete(A, p2, 'x') // observed only the first add
    ;[p1, p2] = sync(p1, p2)
    expect(orSet.has(p1, 'x')).toBe(true)
    expect(orSet.values(p2)).toEqual(['x'])
  })

  it('a delete that observed every add removes the element everywhere', () => {
    let [p1, p2] = sync(
      orSet.add(A, orSet.init(A, 'set', { actor: P1 }), 'x'),
      orSet.add(A, orSet.init(A, 'set', { actor: P2 }), 'x'),
    )
    p1 = orSet.delete(A, p1, 'x')
    ;[p1, p2] = sync(p1, p2)
    expect(orSet.has(p1, 'x')).toBe(false)
    expect(orSet.values(p2)).toEqual([])
  })

  it('keeps a concurrent first add by another peer when a delete observed only its own (either actor order)', () => {
    // The pitfall of nesting tags under elements[key]: both peers would create that map, and one would be hidden.
    for (const [a, b] of [
      [P1, P2],
      [P2, P1],
    ] as const) {
      let p1 = orSet.add(A, orSet.init(A, 'set', { actor: a }), { k: 1 })
      let p2 = orSet.add(A, orSet.init(A, 'set', { actor: b }), { k: 1 })
      p1 = orSet.delete(A, p1, { k: 1 })
      ;[p1, p2] = sync(p1, p2)
      expect(orSet.values(p1)).toEqual([{ k: 1 }])
      expect(orSet.values(p2)).toEqual([{ k: 1 }])
    }
  })

  it('identifies elements by canonical JSON and lists them in a deterministic order', () => {
    let doc = orSet.init(A, 'set')
    for (const v of [{ b: 2, a: 1 }, 'z', 10, [1], null, { a: 1, b: 2 }, 'a'] as JsonValue[]) doc = orSet.add(A, doc, v)
    expect(orSet.has(doc, { a: 1, b: 2 })).toBe(true)
    expect(orSet.read(doc)).toEqual(['a', 'z', 10, [1], null, { a: 1, b: 2 }])
    doc = orSet.delete(A, doc, { a: 1, b: 2 })
    expect(orSet.has(doc, { b: 2, a: 1 })).toBe(false)
    expect(orSet.delete(A, doc, 'never added')).toBe(doc)
  })

  it('rejects values that are not JSON', () => {
    const doc = orSet.init(A, 'set')
    for (const v of [undefined, Number.NaN, new Map(), new Date(0), () => 1, 1n, { a: undefined }]) {
      expect(() => orSet.add(A, doc, v as unknown as JsonValue)).toThrow(invalid)
    }
  })
})

describe('canonicalJson', () => {
  it('is the same for objects that differ only in key order, and parses back to an equal value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value)
        expect(text).toBe(stableKey(value))
        expect(canonicalJson(JSON.parse(text))).toBe(text)
      }),
      { numRuns: 200 },
    )
    const nested = { b: { d: 1, c: 2 }, a: [3, { f: 4, e: 5 }] }
    expect(canonicalJson(nested)).toBe('{"a":[3,{"e":5,"f":4}],"b":{"c":2,"d":1}}')
  })

  it('rejects cycles and sparse arrays, but accepts a value shared twice', () => {
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    expect(() => canonicalJson(cycle)).toThrow(invalid)
    // eslint-disable-next-line no-sparse-arrays
    expect(() => canonicalJson([1, , 3])).toThrow(invalid)
    const shared = { x: 1 }
    expect(canonicalJson([shared, shared])).toBe('[{"x":1},{"x":1}]')
    expect(canonicalJson(Object.create(null) as object)).toBe('{}')
  })
})
