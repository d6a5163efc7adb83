/**
 * The quorum manager (src/ordering/quorum-manager.ts): each rule in its priority order, the walks it takes through
 * typical situations (a dead voter replaced, a group grown from 1 to 3 and from 3 to 5, a swap, a 5 → 3 shrink, the
 * leader handing over before its removal), its invariants over random situations, and the health report.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { applyConfigChange } from '../../../src/consensus/raft/quorum.js'
import type { ClusterConfig, NodeId } from '../../../src/consensus/raft/types.js'
import {
  keepsLiveQuorum,
  nextConfigChange,
  quorumHealth,
  type QuorumAction,
  type QuorumInputs,
  type ReplicationProgress,
} from '../../../src/ordering/quorum-manager.js'

interface Situation {
  readonly voters: readonly NodeId[]
  readonly learners?: readonly NodeId[]
  readonly desired: readonly NodeId[]
  readonly dead?: readonly NodeId[]
  /** Per member; members not listed are caught up (match 100, not lagging). */
  readonly progress?: Readonly<Record<NodeId, ReplicationProgress | undefined>>
  readonly configPending?: boolean
  readonly self?: NodeId
}

const CAUGHT_UP: ReplicationProgress = { match: 100, lagging: false }
const LAGGING: ReplicationProgress = { match: 10, lagging: true }

function inputs(s: Situation): QuorumInputs {
  const learners = s.learners ?? []
  const members = new Set([...s.voters, ...learners])
  const dead = new Set(s.dead ?? [])
  return {
    config: { voters: s.voters, learners },
    desired: s.desired,
    alive: (id) => !dead.has(id),
    progress: (id) => (s.progress !== undefined && id in s.progress ? s.progress[id] : members.has(id) ? CAUGHT_UP : undefined),
    configPending: s.configPending ?? false,
    selfId: s.self ?? 'a',
  }
}

function next(s: Situation): QuorumAction | null {
  return nextConfigChange(inputs(s))
}

describe('nextConfigChange: when it does nothing', () => {
  it('waits while a change is uncommitted', () => {
    expect(next({ voters: ['a'], desired: ['a', 'b', 'c'], configPending: true })).toBeNull()
  })

  it('leaves a group that already is the desired one alone', () => {
    expect(next({ voters: ['b', 'a', 'c'], desired: ['a', 'b', 'c'] })).toBeNull()
  })

  it('does nothing on a leader that is not a voter (it is being removed) or when nobody is desired', () => {
    expect(next({ voters: ['b', 'c'], learners: ['a'], desired: ['a', 'b', 'c'] })).toBeNull()
    expect(next({ voters: ['a', 'b', 'c'], desired: [] })).toBeNull()
  })
})

describe('rule 1: dead voters', () => {
  it('keeps a dead voter of an odd group while its replacement is only being added or catching up', () => {
    const base = { voters: ['a', 'b', 'c'], desired: ['a', 'b', 'd'], dead: ['c'] }
    expect(next(base)).toEqual({ type: 'addLearner', node: 'd' })
    expect(next({ ...base, learners: ['d'], progress: { d: LAGGING } })).toBeNull()
  })

  it('removes the dead voter once the replacement is caught up, then promotes the replacement', () => {
    const s = { voters: ['a', 'b', 'c'], learners: ['d'], desired: ['a', 'b', 'd'], dead: ['c'] }
    expect(next(s)).toEqual({ type: 'remove', node: 'c' })
    expect(next({ ...s, voters: ['a', 'b'] })).toEqual({ type: 'promote', node: 'd' })
  })

  it('removes a dead voter at once from an even group, where that lowers the quorum', () => {
    expect(next({ voters: ['a', 'b', 'c', 'd'], desired: ['a', 'b', 'c', 'e', 'f'], dead: ['d'] })).toEqual({
      type: 'remove',
      node: 'd',
    })
  })

  it('removes a dead voter at once from a group larger than desired, the first by id', () => {
    expect(next({ voters: ['a', 'e', 'c', 'd', 'b'], desired: ['a', 'b', 'c'], dead: ['e', 'd'] })).toEqual({
      type: 'remove',
      node: 'd',
    })
  })

  it('never removes the leader itself, even if its own member view says it is gone', () => {
    expect(next({ voters: ['a', 'b', 'c'], desired: ['a', 'b', 'c'], dead: ['a'] })).toBeNull()
  })
})

describe('rule 2: promotions', () => {
  it('promotes only a learner that is desired, alive, heard from and caught up', () => {
    const s = { voters: ['a', 'b'], learners: ['d'], desired: ['a', 'b', 'd'] }
    expect(next(s)).toEqual({ type: 'promote', node: 'd' })
    expect(next({ ...s, progress: { d: LAGGING } })).toBeNull()
    expect(next({ ...s, progress: { d: undefined } })).toBeNull()
    // match 0: it never acknowledged anything, however short the leader's log.
    expect(next({ ...s, progress: { d: { match: 0, lagging: false } } })).toBeNull()
    expect(next({ ...s, dead: ['d'] })).toEqual({ type: 'remove', node: 'd' })
    expect(next({ ...s, desired: ['a', 'b', 'e'] })).toEqual({ type: 'addLearner', node: 'e' })
  })

  it('grows 1 → 3 with both learners caught up, so the group does not sit at 2 voters', () => {
    const s = { voters: ['a'], learners: ['b', 'c'], desired: ['a', 'b', 'c'] }
    expect(next({ ...s, progress: { c: LAGGING } })).toBeNull()
    expect(next(s)).toEqual({ type: 'promote', node: 'b' })
    expect(next({ ...s, voters: ['a', 'b'], learners: ['c'] })).toEqual({ type: 'promote', node: 'c' })
  })

  it('grows 3 → 5 the same way', () => {
    const s = { voters: ['a', 'b', 'c'], learners: ['d', 'e'], desired: ['a', 'b', 'c', 'd', 'e'] }
    expect(next({ ...s, progress: { e: LAGGING } })).toBeNull()
    expect(next(s)).toEqual({ type: 'promote', node: 'd' })
    expect(next({ ...s, voters: ['a', 'b', 'c', 'd'], learners: ['e'] })).toEqual({ type: 'promote', node: 'e' })
  })

  it('promotes in the order of the desired list', () => {
    expect(next({ voters: ['a'], learners: ['c', 'b'], desired: ['a', 'b', 'c'] })).toEqual({ type: 'promote', node: 'b' })
  })

  it('swaps a live voter out by promoting first (3 → 4 → 3), keeping one failure tolerated throughout', () => {
    const s = { voters: ['a', 'b', 'c'], learners: ['d'], desired: ['a', 'b', 'd'] }
    expect(next(s)).toEqual({ type: 'promote', node: 'd' })
    expect(next({ ...s, voters: ['a', 'b', 'c', 'd'], learners: [] })).toEqual({ type: 'remove', node: 'c' })
  })

  it('does not grow the group past one voter more than desired: it shrinks first', () => {
    const s = { voters: ['a', 'b', 'c', 'd', 'e', 'f'], learners: ['g'], desired: ['a', 'b', 'c', 'd', 'g'] }
    expect(next(s)).toEqual({ type: 'remove', node: 'e' })
  })
})

describe('rule 3: learners added', () => {
  it('adds desired, alive non-members as learners, in desired order', () => {
    expect(next({ voters: ['a'], desired: ['a', 'c', 'b'] })).toEqual({ type: 'addLearner', node: 'c' })
    expect(next({ voters: ['a'], desired: ['a', 'c', 'b'], dead: ['c'] })).toEqual({ type: 'addLearner', node: 'b' })
  })
})

describe('rule 4: learners removed', () => {
  it('removes dead learners first, then learners no longer desired, and keeps desired ones catching up', () => {
    const s = { voters: ['a', 'b', 'c'], learners: ['z', 'y', 'x'], desired: ['a', 'b', 'c'], dead: ['y'] }
    expect(next(s)).toEqual({ type: 'remove', node: 'y' })
    expect(next({ ...s, dead: [] })).toEqual({ type: 'remove', node: 'x' })
    expect(next({ voters: ['a'], learners: ['b', 'c'], desired: ['a', 'b', 'c'], progress: { c: LAGGING } })).toBeNull()
  })
})

describe('rule 5: shrinking', () => {
  it('shrinks 5 → 3 one live voter at a time, the first by id', () => {
    const s = { voters: ['a', 'b', 'c', 'd', 'e'], desired: ['a', 'b', 'c'] }
    expect(next(s)).toEqual({ type: 'remove', node: 'd' })
    expect(next({ ...s, voters: ['a', 'b', 'c', 'e'] })).toEqual({ type: 'remove', node: 'e' })
  })

  it('keeps an undesired live voter while the group is not larger than desired (its replacement comes first)', () => {
    expect(next({ voters: ['a', 'b', 'c'], desired: ['a', 'b', 'd'], dead: ['d'] })).toBeNull()
  })

  it('asks to transfer leadership when the leader is the one to go, to the most caught-up desired voter', () => {
    const s = {
      voters: ['a', 'b', 'c', 'd'],
      desired: ['b', 'c', 'd'],
      progress: { b: { match: 90, lagging: false }, c: { match: 95, lagging: false }, d: { match: 95, lagging: false } },
    }
    expect(next(s)).toEqual({ type: 'transfer', to: 'c' })
    expect(next({ ...s, progress: { ...s.progress, c: LAGGING } })).toEqual({ type: 'transfer', to: 'd' })
    expect(next({ ...s, dead: ['d'] })).toEqual({ type: 'remove', node: 'd' })
  })

  it('waits when no desired voter can take the lead yet', () => {
    const s = { voters: ['a', 'b'], desired: ['b'], progress: { b: LAGGING } }
    expect(next(s)).toBeNull()
    // The new leader, once it leads, removes the old one.
    expect(next({ voters: ['a', 'b'], desired: ['b'], self: 'b' })).toEqual({ type: 'remove', node: 'a' })
  })
})

describe('nextConfigChange over random situations', () => {
  it('reaches exactly the desired voters, one valid change at a time, never costing a live majority', () => {
    fc.assert(
      fc.property(situationArb, ({ config, desired, dead, self }) => {
        let current: ClusterConfig = config
        let leader = self
        const alive = (id: NodeId): boolean => !dead.includes(id)
        for (let step = 0; step < 40; step++) {
          const members = new Set([...current.voters, ...current.learners])
          const action = nextConfigChange({
            config: current,
            desired,
            alive,
            progress: (id) => (members.has(id) ? CAUGHT_UP : undefined),
            configPending: false,
            selfId: leader,
          })
          if (action === null) break
          if (action.type === 'transfer') {
            expect(current.voters).toContain(action.to)
            expect(desired).toContain(action.to)
            leader = action.to
            continue
          }
          expect(action.node).not.toBe(leader)
          expect(keepsLiveQuorum(current, action, alive)).toBe(true)
          const applied = applyConfigChange(current, action)
          if (!applied.ok) throw new Error(`invalid change ${JSON.stringify(action)}: ${applied.reason}`)
          expect(applied.config.voters.length).toBeLessThanOrEqual(Math.max(current.voters.length, desired.length + 1))
          current = applied.config
        }
        expect([...current.voters].sort()).toEqual([...desired].sort())
        expect(current.learners).toEqual([])
      }),
    )
  })

  it('gives the same answer whatever the order of the configuration lists', () => {
    fc.assert(
      fc.property(situationArb, fc.boolean(), ({ config, desired, dead, self }, reverse) => {
        const run = (c: ClusterConfig): QuorumAction | null =>
          nextConfigChange({
            config: c,
            desired,
            alive: (id) => !dead.includes(id),
            progress: (id) => (c.voters.includes(id) || c.learners.includes(id) ? CAUGHT_UP : undefined),
            configPending: false,
            selfId: self,
          })
        const flipped = reverse
          ? { voters: [...config.voters].reverse(), learners: [...config.learners].reverse() }
          : { voters: [...config.voters].sort(), learners: [...config.learners].sort() }
        expect(run(flipped)).toEqual(run(config))
      }),
    )
  })
})

describe('quorumHealth', () => {
  const everyoneAlive = (): boolean => true

  it('is healthy with 3 live voters out of a target of 3, or 5 of 5', () => {
    expect(quorumHealth({ voters: ['a', 'b', 'c'], learners: [] }, ['a', 'b', 'c'], everyoneAlive)).toEqual({
      voters: 3,
      liveVoters: 3,
      tolerates: 1,
      target: 3,
      degraded: false,
    })
    const five = ['a', 'b', 'c', 'd', 'e']
    expect(quorumHealth({ voters: five, learners: [] }, five, everyoneAlive).tolerates).toBe(2)
    expect(quorumHealth({ voters: five, learners: [] }, five, everyoneAlive).degraded).toBe(false)
  })

  it('says a room with too few eligible members runs degraded on one super-peer', () => {
    const health = quorumHealth({ voters: ['a'], learners: [] }, ['a'], everyoneAlive)
    expect(health).toEqual({ voters: 1, liveVoters: 1, tolerates: 0, target: 3, degraded: true, reason: 'fewEligible' })
    const large = quorumHealth({ voters: ['a', 'b', 'c'], learners: [] }, ['a', 'b', 'c'], everyoneAlive, { target: 5 })
    expect(large.reason).toBe('fewEligible')
  })

  it('names a dead voter, a lost majority and a group still growing', () => {
    const abc = { voters: ['a', 'b', 'c'], learners: [] }
    expect(quorumHealth(abc, ['a', 'b', 'd'], (id) => id !== 'c').reason).toBe('voterDown')
    const lost = quorumHealth(abc, ['a'], (id) => id === 'a')
    expect(lost).toMatchObject({ liveVoters: 1, tolerates: -1, degraded: true, reason: 'noQuorum' })
    expect(quorumHealth(abc, ['a', 'b', 'c', 'd', 'e'], everyoneAlive).reason).toBe('reconfiguring')
    expect(quorumHealth({ voters: [], learners: [] }, ['a'], everyoneAlive).reason).toBe('noQuorum')
  })
})

describe('keepsLiveQuorum', () => {
  const abc = { voters: ['a', 'b', 'c'], learners: ['d'] }
  const cDead = (id: NodeId): boolean => id !== 'c'

  it('refuses removing a live voter, or promoting a dead learner, where that loses the live majority', () => {
    expect(keepsLiveQuorum(abc, { type: 'remove', node: 'b' }, cDead)).toBe(false)
    expect(keepsLiveQuorum(abc, { type: 'promote', node: 'd' }, (id) => id !== 'c' && id !== 'd')).toBe(false)
  })

  it('accepts removing a dead voter, promoting a live learner, and anything when there is no majority to keep', () => {
    expect(keepsLiveQuorum(abc, { type: 'remove', node: 'c' }, cDead)).toBe(true)
    expect(keepsLiveQuorum(abc, { type: 'promote', node: 'd' }, cDead)).toBe(true)
    expect(keepsLiveQuorum(abc, { type: 'remove', node: 'b' }, (id) => id === 'a')).toBe(true)
  })
})

/**
 * A leader `self` (a voter), a configuration over a…h, the dead (never `self`, never desired), and a desired list of
 * 1, 3 or 5 live nodes.
 */
const situationArb = fc
  .record({
    roles: fc.array(fc.constantFrom('voter', 'learner', 'none'), { minLength: 8, maxLength: 8 }),
    deadMask: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    desiredOrder: fc.shuffledSubarray(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']),
    desiredSize: fc.constantFrom(1, 3, 5),
  })
  .map(({ roles, deadMask, desiredOrder, desiredSize }) => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
    const self = 'a'
    const dead = ids.filter((id, i) => id !== self && deadMask[i] === true)
    const desired = desiredOrder.filter((id) => !dead.includes(id)).slice(0, desiredSize)
    const voters = ids.filter((id, i) => id === self || roles[i] === 'voter')
    const learners = ids.filter((id, i) => id !== self && roles[i] === 'learner')
    return { config: { voters, learners }, desired, dead, self }
  })
  .filter(({ desired }) => desired.length % 2 === 1)
