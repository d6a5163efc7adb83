import type * as AM from '@automerge/automerge/slim'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadAutomerge, type AutomergeModule } from '../../../../src/docs/automerge.js'
import { genesis, genesisActorId, openGenesis } from '../../../../src/docs/crdt/index.js'

let A: AutomergeModule
beforeAll(async () => {
  A = await loadAutomerge()
})

// A type alias, not an interface: A.from wants a Record<string, unknown>.
type ListDoc = { items: string[] }

const P1 = '01'.repeat(16)
const P2 = '02'.repeat(16)

function pushAll(doc: AM.Doc<ListDoc>, items: readonly string[]): AM.Doc<ListDoc> {
  return A.change(doc, (d) => {
    for (const item of items) d.items.push(item)
  })
}

describe('genesisActorId', () => {
  it('is 32 lowercase hex digits, the same for the same name and different for different names', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b) => {
        expect(genesisActorId(a)).toMatch(/^[0-9a-f]{32}$/)
        expect(genesisActorId(a)).toBe(genesisActorId(a))
        if (a !== b) expect(genesisActorId(a)).not.toBe(genesisActorId(b))
      }),
      { numRuns: 200 },
    )
  })

  it('is pinned (changing the scheme would split every existing document in two) and spreads names apart', () => {
    expect(genesisActorId('room/notes')).toBe('eecc5ba31540f3a9de2eedc09a8d6553')
    expect(genesisActorId('é😀')).toBe('51065af45e869207d53c70b7ba98eb55')
    const names = Array.from({ length: 2000 }, (_, i) => `doc-${i}`)
    expect(new Set(names.map(genesisActorId)).size).toBe(names.length)
  })

  it('rejects an empty name', () => {
    expect(() => genesisActorId('')).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
  })
})

describe('genesis', () => {
  it('is byte-identical on independent peers, whatever order the initial object was built in', () => {
    const a = genesis(A, 'doc', { items: [], meta: { title: 'x', n: 1 } })
    const b = genesis(A, 'doc', { meta: { n: 1, title: 'x' }, items: [] })
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true)
    const change = A.decodeChange(A.getAllChanges(A.load(a))[0]!)
    expect(change).toMatchObject({ actor: genesisActorId('doc'), seq: 1, time: 0, deps: [] })
  })

  it('differs between names', () => {
    const a = A.getHeads(A.load(genesis(A, 'one', { items: [] })))
    const b = A.getHeads(A.load(genesis(A, 'two', { items: [] })))
    expect(a).not.toEqual(b)
  })

  it('rejects a root that is not a plain object', () => {
    expect(() => genesis(A, 'doc', [])).toThrow(
      expect.objectContaining({ name: 'InvalidOptionError' }),
    )
  })
})

describe('openGenesis', () => {
  it('edits under its own actor: the given one, or a random one, never the genesis actor', () => {
    expect(A.getActorId(openGenesis(A, 'doc', { items: [] }, { actor: P1 }))).toBe(P1)
    const random = A.getActorId(openGenesis(A, 'doc', { items: [] }))
    expect(random).not.toBe(genesisActorId('doc'))
    expect(random).not.toBe(A.getActorId(openGenesis(A, 'doc', { items: [] })))
    expect(() => openGenesis(A, 'doc', { items: [] }, { actor: genesisActorId('doc') })).toThrow(
      expect.objectContaining({ name: 'InvalidOptionError' }),
    )
  })

  it('lets peers that created the document independently merge their edits into one list', () => {
    let p1 = openGenesis<ListDoc>(A, 'shared-list', { items: [] }, { actor: P1 })
    let p2 = openGenesis<ListDoc>(A, 'shared-list', { items: [] }, { actor: P2 })
    p1 = pushAll(p1, ['a1', 'a2'])
    p2 = pushAll(p2, ['b1'])
    const m1 = A.applyChanges(p1, A.getAllChanges(p2))[0]
    const m2 = A.applyChanges(p2, A.getAllChanges(p1))[0]
    expect([...m1.items].sort()).toEqual(['a1', 'a2', 'b1'])
    expect(m2.items).toEqual(m1.items)
    expect(A.getHeads(m1).sort()).toEqual(A.getHeads(m2).sort())
    // One genesis change, shared, plus one change per peer.
    expect(A.getAllChanges(m1)).toHaveLength(3)
  })

  it('(negative control) without it, each peer creates its own list and one peer’s items are lost', () => {
    let p1 = A.from<ListDoc>({ items: [] }, { actor: P1 })
    let p2 = A.from<ListDoc>({ items: [] }, { actor: P2 })
    p1 = pushAll(p1, ['a1', 'a2'])
    p2 = pushAll(p2, ['b1'])
    const merged = A.merge(p1, p2)
    expect(merged.items.length).toBeLessThan(3)
    expect(Object.keys(A.getConflicts(merged, 'items') ?? {})).toHaveLength(2)
  })
})
