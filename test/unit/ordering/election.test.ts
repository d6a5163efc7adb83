/**
 * The super-peer election rule (src/ordering/election.ts): who is a candidate, each ranking criterion in order, how
 * many super-peers a room wants, the sole-super-peer exception, who founds the group, and that the answer depends
 * only on the members, not on the order they are listed in.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  desiredSuperPeers,
  othersFollowGroup,
  rankCandidates,
  shouldBootstrap,
  superPeerTarget,
  type CandidateInfo,
  type SuperPeerCapability,
} from '../../../src/ordering/election.js'

const T0 = 1_700_000_000_000

/** A live, well-connected `auto` member that joined `age` ms before T0. */
function member(id: string, over: Partial<CandidateInfo> = {}): CandidateInfo {
  return { id, capability: 'auto', joinedAt: T0, directPeers: 100, alive: true, ...over }
}

/** `n` live, well-connected `auto` members m1…mn, m1 the oldest. */
function room(n: number): CandidateInfo[] {
  return Array.from({ length: n }, (_, i) => member(`m${i + 1}`, { joinedAt: T0 + i }))
}

describe('rankCandidates', () => {
  it('leaves out members that are not alive or declared never', () => {
    const members = [member('a'), member('b', { alive: false }), member('c', { capability: 'never' })]
    expect(rankCandidates(members)).toEqual(['a'])
  })

  it('treats a capability it does not know as never (serving is opt-in)', () => {
    const odd = { ...member('b'), capability: 'toString' as SuperPeerCapability }
    expect(rankCandidates([member('a'), odd])).toEqual(['a'])
  })

  it('puts prefer before auto, whatever their uptime and connections', () => {
    const members = [
      member('old', { joinedAt: T0 - 10_000 }),
      member('new', { capability: 'prefer', joinedAt: T0, directPeers: 0 }),
    ]
    expect(rankCandidates(members)).toEqual(['new', 'old'])
  })

  it('puts the well connected before the poorly connected, then the oldest first', () => {
    // Five live members: each has 4 others, so well connected means at least 2 direct peers.
    const members = [
      member('poor-old', { joinedAt: T0 - 5000, directPeers: 1 }),
      member('good-new', { joinedAt: T0, directPeers: 2 }),
      member('good-old', { joinedAt: T0 - 1000, directPeers: 2 }),
      member('x', { joinedAt: T0 + 1, directPeers: 4 }),
      member('y', { joinedAt: T0 + 2, directPeers: 4 }),
    ]
    expect(rankCandidates(members)).toEqual(['good-old', 'good-new', 'x', 'y', 'poor-old'])
  })

  it('uses a threshold, so more connections beyond it do not reorder candidates', () => {
    const members = [member('a', { joinedAt: T0, directPeers: 2 }), member('b', { joinedAt: T0 + 1, directPeers: 4 })]
    const others = [member('c', { capability: 'never' }), member('d', { capability: 'never' }), member('e', { capability: 'never' })]
    expect(rankCandidates([...members, ...others])).toEqual(['a', 'b'])
  })

  it('counts only live members as the others a candidate should reach', () => {
    // Of five members two are dead: the 2 live others make 1 direct peer enough.
    const members = [
      member('a', { joinedAt: T0 - 1, directPeers: 0 }),
      member('b', { joinedAt: T0, directPeers: 1 }),
      member('c', { capability: 'never' }),
      member('d', { alive: false }),
      member('e', { alive: false }),
    ]
    expect(rankCandidates(members)).toEqual(['b', 'a'])
  })

  it('takes the well-connected fraction from the options', () => {
    const members = [member('a', { joinedAt: T0 - 1, directPeers: 1 }), member('b', { directPeers: 3 }), ...room(3)]
    // 4 others each: 1 of 4 is well connected at 0.25, not at 0.5.
    expect(rankCandidates(members, { wellConnectedRatio: 0.25 })[0]).toBe('a')
    expect(rankCandidates(members)[0]).toBe('b')
    expect(() => rankCandidates(members, { wellConnectedRatio: 1.5 })).toThrow(/wellConnectedRatio/)
    expect(() => rankCandidates(members, { wellConnectedRatio: Number.NaN })).toThrow(/wellConnectedRatio/)
  })

  it('breaks ties by id in code-unit order, not by locale', () => {
    const members = [member('b'), member('a'), member('B'), member('é'), member('e')]
    expect(rankCandidates(members)).toEqual(['B', 'a', 'b', 'e', 'é'])
  })

  it('ranks a join time or a connection count that is not a finite number as the worst', () => {
    const members = [
      member('nan', { joinedAt: Number.NaN }),
      member('inf', { joinedAt: Number.POSITIVE_INFINITY }),
      member('ok', { joinedAt: T0 + 5 }),
      member('noconn', { joinedAt: T0 - 5, directPeers: Number.NaN }),
    ]
    expect(rankCandidates(members)).toEqual(['ok', 'inf', 'nan', 'noconn'])
  })

  it('refuses a list with the same id twice', () => {
    expect(() => rankCandidates([member('a'), member('a', { joinedAt: T0 - 1 })])).toThrow(/appears twice/)
  })

  it('gives the same ranking for the same members in any order', () => {
    fc.assert(
      fc.property(membersArb, fc.infiniteStream(fc.nat()), (members, draws) => {
        const shuffled = shuffle(members, draws)
        expect(rankCandidates(shuffled)).toEqual(rankCandidates(members))
        expect(desiredSuperPeers(shuffled)).toEqual(desiredSuperPeers(members))
        const current = members.slice(0, 2).map((m) => m.id)
        expect(desiredSuperPeers(shuffled, { current })).toEqual(desiredSuperPeers(members, { current }))
      }),
    )
  })

  it('ranks every eligible member exactly once, each before every worse one', () => {
    fc.assert(
      fc.property(membersArb, (members) => {
        const ranked = rankCandidates(members)
        const eligible = members.filter((m) => m.alive && m.capability !== 'never').map((m) => m.id)
        expect([...ranked].sort()).toEqual([...eligible].sort())
        const byId = new Map(members.map((m) => [m.id, m]))
        for (let i = 1; i < ranked.length; i++) {
          const a = byId.get(ranked[i - 1] as string) as CandidateInfo
          const b = byId.get(ranked[i] as string) as CandidateInfo
          if (a.capability !== b.capability) expect(a.capability).toBe('prefer')
        }
      }),
    )
  })
})

describe('superPeerTarget', () => {
  it('wants 3 below the large-room size and 5 from it on, counting live members of any capability', () => {
    const never = (id: string): CandidateInfo => member(id, { capability: 'never' })
    const fifteen = [...room(3), ...Array.from({ length: 12 }, (_, i) => never(`n${i}`))]
    expect(superPeerTarget(fifteen)).toBe(3)
    expect(superPeerTarget([...fifteen, never('n99')])).toBe(5)
    expect(superPeerTarget([...fifteen, member('dead', { alive: false })])).toBe(3)
    expect(superPeerTarget(room(4), { largeRoomSize: 4 })).toBe(5)
    expect(superPeerTarget(room(4), { largeRoomSize: 4, largeTarget: 7, smallTarget: 1 })).toBe(7)
    expect(superPeerTarget(room(3), { largeRoomSize: 4, largeTarget: 7, smallTarget: 1 })).toBe(1)
  })

  it('uses a fixed target when given one', () => {
    expect(superPeerTarget(room(30), { target: 3 })).toBe(3)
    expect(superPeerTarget(room(2), { target: 7 })).toBe(7)
  })

  it('refuses even or non-integer targets and a large-room size below 1', () => {
    expect(() => superPeerTarget(room(3), { target: 4 })).toThrow(/odd integer/)
    expect(() => superPeerTarget(room(3), { smallTarget: 2 })).toThrow(/smallTarget/)
    expect(() => superPeerTarget(room(3), { largeTarget: 0 })).toThrow(/largeTarget/)
    expect(() => superPeerTarget(room(3), { target: 2.5 })).toThrow(/target/)
    expect(() => superPeerTarget(room(3), { largeRoomSize: 0 })).toThrow(/largeRoomSize/)
  })
})

describe('desiredSuperPeers', () => {
  it('takes the top 3 of a small room and the top 5 of a large one', () => {
    expect(desiredSuperPeers(room(10))).toEqual(['m1', 'm2', 'm3'])
    expect(desiredSuperPeers(room(16))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5'])
    expect(desiredSuperPeers(room(8), { largeRoomSize: 8 })).toEqual(['m1', 'm2', 'm3', 'm4', 'm5'])
  })

  it('keeps the group odd with fewer candidates: 4 give 3, 2 give 1, none give none', () => {
    expect(desiredSuperPeers(room(4), { largeRoomSize: 4 })).toEqual(['m1', 'm2', 'm3'])
    expect(desiredSuperPeers(room(2))).toEqual(['m1'])
    expect(desiredSuperPeers(room(1))).toEqual(['m1'])
    expect(desiredSuperPeers([member('a', { capability: 'never' })])).toEqual([])
    expect(desiredSuperPeers([])).toEqual([])
  })

  it('keeps a sitting sole super-peer rather than hand its role over through a two-voter group', () => {
    const members = [member('old'), member('keen', { capability: 'prefer' })]
    expect(desiredSuperPeers(members)).toEqual(['keen'])
    expect(desiredSuperPeers(members, { current: ['old'] })).toEqual(['old'])
    // Among several current voters, the best ranked that is still a candidate.
    const three = [...members, member('gone', { alive: false })]
    expect(desiredSuperPeers(three, { current: ['gone', 'old', 'keen'] })).toEqual(['keen'])
    expect(desiredSuperPeers(three, { current: ['gone'] })).toEqual(['keen'])
  })

  it('applies the ranking, not the sitting voters, once the room can have three', () => {
    const members = [member('old'), member('keen', { capability: 'prefer' }), member('x', { joinedAt: T0 + 1 })]
    expect(desiredSuperPeers(members, { current: ['old'] })).toEqual(['keen', 'old', 'x'])
    const four = [...members, member('y', { capability: 'prefer', joinedAt: T0 + 9 })]
    expect(desiredSuperPeers(four, { current: ['old', 'x', 'keen'] })).toEqual(['keen', 'y', 'old'])
  })

  it('is always an odd prefix of the ranking (or the one sitting voter) and never more than the target', () => {
    fc.assert(
      fc.property(membersArb, fc.constantFrom(1, 3, 5, 7), fc.boolean(), (members, target, sticky) => {
        const current = sticky ? members.slice(-2).map((m) => m.id) : undefined
        const desired = desiredSuperPeers(members, current === undefined ? { target } : { target, current })
        const ranked = rankCandidates(members)
        if (ranked.length === 0) {
          expect(desired).toEqual([])
          return
        }
        expect(desired.length % 2).toBe(1)
        expect(desired.length).toBeLessThanOrEqual(target)
        if (desired.length > 1 || current === undefined) expect(desired).toEqual(ranked.slice(0, desired.length))
        else expect(ranked).toContain(desired[0])
      }),
    )
  })
})

describe('shouldBootstrap', () => {
  it('lets only the top candidate found the group', () => {
    const members = [member('a', { joinedAt: T0 - 1 }), member('b'), member('c', { capability: 'never', joinedAt: 0 })]
    expect(members.filter((m) => shouldBootstrap(m.id, members)).map((m) => m.id)).toEqual(['a'])
  })

  it('lets nobody found when nobody may serve', () => {
    const members = [member('a', { capability: 'never' }), member('b', { alive: false })]
    expect(shouldBootstrap('a', members)).toBe(false)
    expect(shouldBootstrap('b', members)).toBe(false)
  })

  it('gives exactly one founder among peers that share a view, whatever its order', () => {
    fc.assert(
      fc.property(membersArb, fc.infiniteStream(fc.nat()), (members, draws) => {
        const founders = members.filter((m) => shouldBootstrap(m.id, shuffle(members, draws)))
        const anyone = members.some((m) => m.alive && m.capability !== 'never')
        expect(founders.length).toBe(anyone ? 1 : 0)
      }),
    )
  })

  it('can let two peers found two groups when their views differ (the documented partitioned-start risk)', () => {
    const a = member('a')
    const b = member('b', { joinedAt: T0 - 1 })
    // a has not heard of b yet; b sees both and ranks itself first.
    expect(shouldBootstrap('a', [a])).toBe(true)
    expect(shouldBootstrap('b', [a, b])).toBe(true)
  })
})

const capabilityArb = fc.constantFrom<SuperPeerCapability>('never', 'auto', 'prefer')

/** Up to 12 members with distinct ids, and join times and connection counts that often tie. */
const membersArb: fc.Arbitrary<CandidateInfo[]> = fc
  .uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'A', 'B'), { maxLength: 12 })
  .chain((ids) =>
    fc.tuple(
      ...ids.map((id) =>
        fc.record({
          id: fc.constant(id),
          capability: capabilityArb,
          joinedAt: fc.oneof(fc.integer({ min: T0, max: T0 + 3 }), fc.constant(Number.NaN)),
          directPeers: fc.integer({ min: 0, max: 12 }),
          alive: fc.boolean(),
        }),
      ),
    ),
  )
  .map((rows) => [...rows])

/** Fisher–Yates driven by fast-check's draws, so a failure shrinks and replays. */
function shuffle<T>(items: readonly T[], draws: fc.Stream<number>): T[] {
  const out = [...items]
  const it = draws[Symbol.iterator]()
  for (let i = out.length - 1; i > 0; i--) {
    const j = (it.next().value as number) % (i + 1)
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}

describe('othersFollowGroup', () => {
  const advertised = new Map([
    ['a', { group: 'g1' }],
    ['b', { group: 'g1' }],
    ['c', { group: 'g0' }],
    ['d', { group: '' }],
  ])

  it('holds once every member heard from advertises the group', () => {
    expect(othersFollowGroup('g1', ['a', 'b'], advertised)).toBe(true)
  })

  it('does not hold while a member follows another group, none yet, or has not been heard from', () => {
    expect(othersFollowGroup('g1', ['a', 'c'], advertised)).toBe(false)
    expect(othersFollowGroup('g1', ['a', 'd'], advertised)).toBe(false)
    expect(othersFollowGroup('g1', ['a', 'e'], advertised)).toBe(false)
  })

  it('does not hold for a founder alone in its view (the member it has not heard of may have founded too)', () => {
    expect(othersFollowGroup('g1', [], advertised)).toBe(false)
  })
})
