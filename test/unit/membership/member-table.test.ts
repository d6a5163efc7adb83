import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MemberTable, type Member } from '../../../src/membership/member-table.js'

/** Heartbeat expiry alone: no detector vouches, and nothing is dead. */
const timeout = (timeoutMs: number) => ({ timeoutMs, retentionMs: 10_000, vouched: () => false })

const member = (id: string, name: string, direct = false): Member => ({
  id,
  name,
  state: 'alive',
  role: 'peer',
  direct,
})

describe('MemberTable', () => {
  it('reports a join for the first heartbeat of a member', () => {
    const t = new MemberTable()
    expect(t.heard('a', 'Ann', 1, 0, false)).toEqual({ kind: 'join', member: member('a', 'Ann') })
    expect(t.size).toBe(1)
    expect(t.has('a')).toBe(true)
    expect(t.get('a')).toEqual(member('a', 'Ann'))
    expect(t.incarnationOf('a')).toBe(1)
    expect(t.list()).toEqual([member('a', 'Ann')])
  })

  it('reports nothing for a repeated identical heartbeat', () => {
    const t = new MemberTable()
    t.heard('a', 'Ann', 1, 0, false)
    expect(t.heard('a', 'Ann', 1, 100, false)).toBeUndefined()
    expect(t.size).toBe(1)
  })

  it('reports an update when the name, directness or incarnation changes', () => {
    const t = new MemberTable()
    t.heard('a', 'Ann', 1, 0, false)
    expect(t.heard('a', 'Anna', 1, 1, false)).toEqual({ kind: 'update', member: member('a', 'Anna') })
    expect(t.heard('a', 'Anna', 1, 2, true)).toEqual({ kind: 'update', member: member('a', 'Anna', true) })
    expect(t.heard('a', 'Anna', 2, 3, true)).toEqual({ kind: 'update', member: member('a', 'Anna', true) })
    expect(t.incarnationOf('a')).toBe(2)
  })

  it('ignores a heartbeat from an older incarnation, which also does not keep the member alive', () => {
    const t = new MemberTable()
    t.heard('a', 'Ann', 5, 0, false)
    expect(t.heard('a', 'Stale', 4, 1000, true)).toBeUndefined()
    expect(t.get('a')).toEqual(member('a', 'Ann'))
    expect(t.incarnationOf('a')).toBe(5)
    // Last heard is still 0: the stale message must not have refreshed it.
    expect(t.expire(1001, timeout(1000)).map((c) => c.kind)).toEqual(['leave'])
  })

  it('reports a leave on remove, once', () => {
    const t = new MemberTable()
    t.heard('a', 'Ann', 1, 0, true)
    expect(t.remove('a')).toEqual({ kind: 'leave', member: { ...member('a', 'Ann', true), state: 'left' } })
    expect(t.remove('a')).toBeUndefined()
    expect(t.has('a')).toBe(false)
    expect(t.get('a')).toBeUndefined()
    expect(t.incarnationOf('a')).toBeUndefined()
    expect(t.size).toBe(0)
  })

  it('a member that left rejoins with a join', () => {
    const t = new MemberTable()
    t.heard('a', 'Ann', 1, 0, false)
    t.remove('a')
    expect(t.heard('a', 'Ann', 2, 10, false)?.kind).toBe('join')
  })

  it('expires members not heard from for longer than the timeout, and only those', () => {
    const t = new MemberTable()
    t.heard('a', 'A', 1, 0, false)
    t.heard('b', 'B', 1, 500, false)
    t.heard('a', 'A', 1, 900, false) // a heartbeat refreshes liveness even when nothing changed
    t.heard('c', 'C', 1, 0, false)
    expect(t.expire(1000, timeout(1000))).toEqual([]) // exactly the timeout is not yet over it
    expect(t.expire(1001, timeout(1000))).toEqual([{ kind: 'leave', member: { ...member('c', 'C'), state: 'dead' } }])
    expect(t.expire(1600, timeout(1000)).map((c) => c.member.id)).toEqual(['b'])
    expect(t.list().map((m) => m.id)).toEqual(['a'])
    expect(t.expire(1901, timeout(1000)).map((c) => c.member.id)).toEqual(['a'])
    expect(t.size).toBe(0)
  })

  it('expiry matches a simple model for random heartbeat times', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 0, max: 10_000 })), { maxLength: 30 }),
        fc.integer({ min: 0, max: 12_000 }),
        fc.integer({ min: 1, max: 5_000 }),
        (beats, now, timeout) => {
          const t = new MemberTable()
          const last = new Map<string, number>()
          for (const [id, at] of [...beats].sort((x, y) => x[1] - y[1])) {
            t.heard(id, id, 1, at, false)
            last.set(id, at)
          }
          const expired = t.expire(now, { timeoutMs: timeout, retentionMs: 0, vouched: () => false }).map((c) => c.member.id)
          const expected = [...last].filter(([, at]) => now - at > timeout).map(([id]) => id)
          expect(expired.sort()).toEqual(expected.sort())
          expect(t.size).toBe(last.size - expected.length)
        },
      ),
    )
  })

  it('follows the detector: suspect and alive are updates, dead stays listed for the retention, left leaves', () => {
    const t = new MemberTable()
    t.heard('a', 'Ann', 7, 0, false)
    expect(t.setState('a', 6, 'dead', 10)).toBeUndefined() // another (older) session: not this one
    expect(t.setState('a', 7, 'suspect', 10)).toEqual({ kind: 'update', member: { ...member('a', 'Ann'), state: 'suspect' } })
    expect(t.setState('a', 7, 'suspect', 11)).toBeUndefined()
    expect(t.setState('a', 7, 'alive', 12)?.member.state).toBe('alive')
    expect(t.setState('a', 7, 'dead', 100)?.member.state).toBe('dead')
    expect(t.rowsForElection()).toEqual([{ id: 'a', joinedAt: 7, ordering: undefined, alive: false }])
    // A late heartbeat from the dead session does not revive it; a new session (a reload) does.
    expect(t.heard('a', 'Ann', 7, 150, false)).toBeUndefined()
    expect(t.get('a')?.state).toBe('dead')
    const o = { timeoutMs: 1000, retentionMs: 500, vouched: () => true }
    expect(t.expire(600, o)).toEqual([])
    expect(t.expire(601, o)).toEqual([{ kind: 'leave', member: { ...member('a', 'Ann'), state: 'dead' } }])
    t.heard('b', 'Bob', 1, 0, false)
    expect(t.setState('b', 1, 'left', 5)).toEqual({ kind: 'leave', member: { ...member('b', 'Bob'), state: 'left' } })
    expect(t.has('b')).toBe(false)
  })

  it('a member the detector vouches for outlives the heartbeat timeout; a refuting reload comes back alive', () => {
    const t = new MemberTable()
    t.heard('a', 'Ann', 1, 0, false)
    expect(t.expire(5000, { timeoutMs: 1000, retentionMs: 0, vouched: (id) => id === 'a' })).toEqual([])
    t.setState('a', 1, 'dead', 5000)
    expect(t.heard('a', 'Ann', 2, 5100, false)).toEqual({ kind: 'update', member: member('a', 'Ann') })
    expect(t.get('a')?.state).toBe('alive')
  })

  it('setDirect reports an update only when directness changes, and nothing for unknown members', () => {
    const t = new MemberTable()
    expect(t.setDirect('x', true)).toBeUndefined()
    expect(t.has('x')).toBe(false)
    t.heard('a', 'Ann', 1, 0, false)
    expect(t.setDirect('a', false)).toBeUndefined()
    expect(t.setDirect('a', true)).toEqual({ kind: 'update', member: member('a', 'Ann', true) })
    expect(t.get('a')?.direct).toBe(true)
    expect(t.setDirect('a', true)).toBeUndefined()
    expect(t.setDirect('a', false)).toEqual({ kind: 'update', member: member('a', 'Ann', false) })
  })

  it('never holds more than maxMembers, but still updates the ones it has', () => {
    const t = new MemberTable(3)
    for (const id of ['a', 'b', 'c']) expect(t.heard(id, id, 1, 0, false)?.kind).toBe('join')
    expect(t.heard('d', 'd', 1, 0, false)).toBeUndefined()
    expect(t.has('d')).toBe(false)
    expect(t.size).toBe(3)
    expect(t.heard('a', 'renamed', 1, 1, false)?.kind).toBe('update')
    t.remove('b')
    expect(t.heard('d', 'd', 1, 2, false)?.kind).toBe('join')
    expect(t.size).toBe(3)
  })

  it('size stays within maxMembers under random operations', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 9 })), { maxLength: 60 }),
        (max, ops) => {
          const t = new MemberTable(max)
          for (const [join, n] of ops) {
            if (join) t.heard(`p${n}`, 'x', 1, 0, false)
            else t.remove(`p${n}`)
            expect(t.size).toBeLessThanOrEqual(max)
            expect(t.list()).toHaveLength(t.size)
          }
        },
      ),
    )
  })
})
