/**
 * One test per rule of the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm",
 * 2014), §5.1 to §5.5. Each test names the section it checks. Single-node tests drive one core by hand with crafted
 * messages; cluster tests use the synchronous network of test/support/raft-net.ts.
 */
import { describe, expect, it } from 'vitest'
import { RaftCore, type RaftInitialState } from '../../../src/consensus/raft/core.js'
import type { RaftOptions, RandomSource } from '../../../src/consensus/raft/options.js'
import { EMPTY_PERSISTED, persistReady, type PersistedRaft } from '../../../src/consensus/raft/persisted.js'
import type {
  AppendMessage,
  Entry,
  Message,
  NodeId,
  VoteMessage,
  VoteResponseMessage,
} from '../../../src/consensus/raft/types.js'
import { data, RaftNet } from '../../support/raft-net.js'

// ---- helpers --------------------------------------------------------------------------------------------------------

/** A random source that always draws `k`: the randomized election timeout becomes exactly electionTicks + k. */
function fixedRandom(k: number, calls: number[] = []): RandomSource {
  return {
    int: (max) => {
      calls.push(max)
      return k
    },
  }
}

function newCore(
  id: NodeId,
  voters: readonly NodeId[],
  options: Partial<RaftOptions> = {},
  initial: RaftInitialState = {},
): RaftCore {
  return new RaftCore(
    { id, random: fixedRandom(0), electionTicks: 10, heartbeatTicks: 1, ...options },
    { config: { voters, learners: [] }, ...initial },
  )
}

/** Takes every ready (as a driver would: persist, send, apply) and returns the messages it would send. */
function drain(core: RaftCore): Message[] {
  const out: Message[] = []
  while (core.hasReady()) {
    const rd = core.ready()
    out.push(...rd.messages)
    core.advance(rd)
  }
  return out
}

/** Normal entries from `start` on, one per term given. */
function entries(start: number, terms: readonly number[]): Entry[] {
  return terms.map((term, k) => ({ index: start + k, term, kind: 'normal', data: data(`e${start + k}`) }))
}

function appendMsg(
  from: NodeId,
  to: NodeId,
  term: number,
  prevIndex: number,
  prevTerm: number,
  ents: readonly Entry[],
  commit = 0,
): AppendMessage {
  return { type: 'append', from, to, term, prevIndex, prevTerm, entries: ents, commit }
}

function voteMsg(
  from: NodeId,
  to: NodeId,
  term: number,
  lastIndex: number,
  lastTerm: number,
  extra: { pre?: boolean; transfer?: boolean } = {},
): VoteMessage {
  const { pre = false, transfer = false } = extra
  return { type: 'vote', from, to, term, lastIndex, lastTerm, pre, transfer }
}

function grant(from: NodeId, to: NodeId, term: number, granted = true, pre = false): VoteResponseMessage {
  return { type: 'voteResponse', from, to, term, pre, granted }
}

/** The term of every entry from 1 to the last index (0 where compacted). */
function logTerms(core: RaftCore): number[] {
  const out: number[] = []
  for (let i = 1; i <= core.status().lastIndex; i++) out.push(core.entry(i)?.term ?? 0)
  return out
}

/** A follower at `term` with `terms` in its log (commit `commit`), as restored from disk. */
function followerWithLog(
  id: NodeId,
  voters: readonly NodeId[],
  term: number,
  terms: readonly number[],
  commit = 0,
  options: Partial<RaftOptions> = {},
): RaftCore {
  return newCore(id, voters, options, { hardState: { term, vote: null, commit }, entries: entries(1, terms) })
}

function ofType<T extends Message['type']>(msgs: readonly Message[], type: T): Extract<Message, { type: T }>[] {
  return msgs.filter((m): m is Extract<Message, { type: T }> => m.type === type)
}

/** Ticks `core` until its role is `role`; returns how many ticks that took. */
function ticksUntilRole(core: RaftCore, role: string, max = 100): number {
  for (let i = 1; i <= max; i++) {
    core.tick()
    if (core.status().role === role) return i
  }
  throw new Error(`${core.id} did not become ${role} in ${max} ticks`)
}

/** Ticks one node of the network (delivering after each tick) until it leads. */
function tickToLeader(net: RaftNet, id: NodeId, max = 200): void {
  for (let i = 0; i < max && net.core(id).status().role !== 'leader'; i++) {
    net.tick(id)
    net.deliverAll()
  }
  expect(net.core(id).status().role).toBe('leader')
}

const ABC = ['a', 'b', 'c'] as const

// ---- §5.1 -----------------------------------------------------------------------------------------------------------

describe('§5.1 terms', () => {
  it('§5.1 a follower that sees a higher term adopts it and forgets its vote', () => {
    const b = newCore('b', ABC)
    b.step(voteMsg('a', 'b', 1, 0, 0))
    drain(b)
    expect(b.status()).toMatchObject({ term: 1, vote: 'a' })
    b.step(appendMsg('c', 'b', 3, 0, 0, []))
    expect(b.status()).toMatchObject({ role: 'follower', term: 3, vote: null, leader: 'c' })
  })

  it('§5.1 a candidate that sees a higher term becomes a follower', () => {
    const a = newCore('a', ABC, { preVote: false })
    ticksUntilRole(a, 'candidate')
    expect(a.status().term).toBe(1)
    a.step(appendMsg('b', 'a', 2, 0, 0, []))
    expect(a.status()).toMatchObject({ role: 'follower', term: 2, leader: 'b' })
  })

  it('§5.1 a pre-candidate that sees a higher term becomes a follower', () => {
    const a = newCore('a', ABC)
    ticksUntilRole(a, 'preCandidate')
    expect(a.status().term).toBe(0)
    a.step({ type: 'heartbeat', from: 'c', to: 'a', term: 4, commit: 0, ctx: null })
    expect(a.status()).toMatchObject({ role: 'follower', term: 4, leader: 'c' })
  })

  it('§5.1 a leader that sees a higher term becomes a follower', () => {
    const net = new RaftNet([...ABC])
    net.campaign('a')
    expect(net.leader()).toBe('a')
    const term = net.core('a').status().term
    net.core('a').step({ type: 'heartbeatResponse', from: 'b', to: 'a', term: term + 1, ctx: null })
    expect(net.core('a').status()).toMatchObject({ role: 'follower', term: term + 1, leader: null })
  })

  it('§5.1 a request with a stale term is rejected and answered with the current term', () => {
    const b = followerWithLog('b', ABC, 3, [1, 2])
    drain(b)
    // A stale leader's append changes nothing, and the answer tells it the current term.
    b.step(appendMsg('a', 'b', 2, 2, 2, entries(3, [2])))
    const replies = drain(b)
    expect(b.status()).toMatchObject({ term: 3, lastIndex: 2, leader: null })
    expect(replies).toEqual([expect.objectContaining({ type: 'heartbeatResponse', to: 'a', term: 3 })])
    // A stale pre-vote is refused with the current term.
    b.step(voteMsg('c', 'b', 2, 9, 2, { pre: true }))
    expect(ofType(drain(b), 'voteResponse')).toEqual([
      expect.objectContaining({ to: 'c', term: 3, pre: true, granted: false }),
    ])
    // A stale vote is not granted.
    b.step(voteMsg('c', 'b', 2, 9, 2))
    expect(ofType(drain(b), 'voteResponse').filter((m) => m.granted)).toEqual([])
    expect(b.status().vote).toBeNull()
  })

  it('§5.1 a stale leader steps down once it hears from the new term', () => {
    // CheckQuorum off, so that only the term can depose the cut-off leader.
    const net = new RaftNet([...ABC], { checkQuorum: false, preVote: false })
    net.campaign('a')
    net.isolate('a')
    net.tickUntil(() => ['b', 'c'].some((id) => net.core(id).status().role === 'leader'))
    expect(net.core('a').status()).toMatchObject({ role: 'leader', term: 1 })
    const newLeader = net.core('b').status().role === 'leader' ? 'b' : 'c'
    const newTerm = net.core(newLeader).status().term
    expect(newTerm).toBeGreaterThan(1)
    // Still leader, in its own eyes, after any number of ticks.
    net.tickAll(50)
    expect(net.core('a').status()).toMatchObject({ role: 'leader', term: 1 })
    net.recover()
    net.tickAll(1)
    expect(net.core('a').status()).toMatchObject({ role: 'follower', term: newTerm, leader: newLeader })
    expect(net.leader()).toBe(newLeader)
  })
})

// ---- §5.2 -----------------------------------------------------------------------------------------------------------

describe('§5.2 leader election', () => {
  it('§5.2 a follower that hears nothing campaigns after a timeout drawn from [electionTicks, 2 × electionTicks)', () => {
    for (const k of [0, 4, 9]) {
      const calls: number[] = []
      const a = newCore('a', ABC, { preVote: false, random: fixedRandom(k, calls) })
      for (let i = 1; i < 10 + k; i++) {
        a.tick()
        expect(a.status().role).toBe('follower')
      }
      a.tick()
      expect(a.status()).toMatchObject({ role: 'candidate', term: 1 })
      // The random draw is over electionTicks values, so the timeout stays below 2 × electionTicks.
      expect(calls.every((max) => max === 10)).toBe(true)
    }
  })

  it('§5.2 a follower that keeps hearing from the leader does not campaign', () => {
    const net = new RaftNet([...ABC])
    net.campaign('a')
    net.tickAll(100)
    expect(net.leader()).toBe('a')
    for (const id of ABC) expect(net.core(id).status().term).toBe(1)
  })

  it('§5.2 randomized timeouts differ across nodes', () => {
    const ids = ['a', 'b', 'c', 'd', 'e']
    const net = new RaftNet(ids)
    const timeouts = ids.map((id) => ticksUntilRole(net.core(id), 'preCandidate', 40))
    for (const t of timeouts) {
      expect(t).toBeGreaterThanOrEqual(10)
      expect(t).toBeLessThan(20)
    }
    expect(new Set(timeouts).size).toBeGreaterThan(1)
  })

  it('§5.2 a candidate increments its term, votes for itself, persists that, and asks every voter', () => {
    const a = new RaftCore(
      { id: 'a', random: fixedRandom(0), electionTicks: 10, preVote: false },
      {
        config: { voters: ['a', 'b', 'c', 'd', 'e'], learners: ['f'] },
        entries: entries(1, [1, 1]),
        hardState: { term: 1, vote: null, commit: 0 },
      },
    )
    drain(a)
    for (let i = 0; i < 10; i++) a.tick()
    const rd = a.ready()
    expect(rd.hardState).toEqual({ term: 2, vote: 'a', commit: 0 })
    const votes = ofType(rd.messages, 'vote')
    expect(votes.map((m) => m.to).sort()).toEqual(['b', 'c', 'd', 'e'])
    for (const v of votes) expect(v).toMatchObject({ term: 2, lastIndex: 2, lastTerm: 1, pre: false, from: 'a' })
  })

  it('§5.2 a candidate wins once a majority grants its vote, then asserts leadership at once', () => {
    const a = newCore('a', ['a', 'b', 'c', 'd', 'e'], { preVote: false })
    ticksUntilRole(a, 'candidate')
    drain(a)
    a.step(grant('b', 'a', 1))
    expect(a.status().role).toBe('candidate')
    a.step(grant('c', 'a', 1, false))
    expect(a.status().role).toBe('candidate')
    a.step(grant('d', 'a', 1))
    expect(a.status()).toMatchObject({ role: 'leader', leader: 'a', term: 1 })
    const appends = ofType(drain(a), 'append')
    expect(appends.map((m) => m.to).sort()).toEqual(['b', 'c', 'd', 'e'])
  })

  it('§5.2 a candidate that hears from a leader of its own term becomes its follower', () => {
    const a = newCore('a', ABC, { preVote: false })
    ticksUntilRole(a, 'candidate')
    a.step({ type: 'heartbeat', from: 'b', to: 'a', term: 1, commit: 0, ctx: null })
    expect(a.status()).toMatchObject({ role: 'follower', term: 1, leader: 'b', vote: 'a' })
    const c = newCore('c', ABC, { preVote: false })
    ticksUntilRole(c, 'candidate')
    c.step(appendMsg('b', 'c', 1, 0, 0, entries(1, [1])))
    expect(c.status()).toMatchObject({ role: 'follower', leader: 'b', lastIndex: 1 })
  })

  it('§5.2 a candidate that a majority refuses goes back to being a follower', () => {
    const a = newCore('a', ABC, { preVote: false })
    ticksUntilRole(a, 'candidate')
    a.step(grant('b', 'a', 1, false))
    expect(a.status().role).toBe('candidate')
    a.step(grant('c', 'a', 1, false))
    expect(a.status()).toMatchObject({ role: 'follower', term: 1, leader: null })
  })

  it('§5.2 a split vote ends in a new election at a higher term', () => {
    const ids = ['a', 'b', 'c', 'd']
    const net = new RaftNet(ids, { preVote: false })
    for (const id of ['a', 'b']) ticksUntilRole(net.core(id), 'candidate')
    // c hears only a, d hears only b: 2 votes each out of 4, nobody has the 3 it needs.
    net.dropIf = (m) => m.type === 'vote' && ((m.from === 'a' && m.to === 'd') || (m.from === 'b' && m.to === 'c'))
    net.deliverAll()
    expect(net.core('a').status()).toMatchObject({ role: 'candidate', term: 1 })
    expect(net.core('b').status()).toMatchObject({ role: 'candidate', term: 1 })
    expect(net.leader()).toBeNull()
    net.recover()
    net.tickUntil(() => net.leader() !== null)
    const leader = net.leader() as NodeId
    expect(net.core(leader).status().term).toBeGreaterThanOrEqual(2)
    net.tickAll(3)
    for (const id of ids) expect(net.core(id).status().leader).toBe(leader)
  })

  it('§5.2 a node grants at most one vote per term (first come, first served)', () => {
    const c = newCore('c', ABC)
    c.step(voteMsg('a', 'c', 1, 0, 0))
    c.step(voteMsg('b', 'c', 1, 0, 0))
    c.step(voteMsg('a', 'c', 1, 0, 0))
    const answers = ofType(drain(c), 'voteResponse').map((m) => [m.to, m.granted])
    expect(answers).toEqual([
      ['a', true],
      ['b', false],
      ['a', true],
    ])
    // A new term is a new vote.
    c.step(voteMsg('b', 'c', 2, 0, 0))
    expect(ofType(drain(c), 'voteResponse').map((m) => [m.to, m.granted])).toEqual([['b', true]])
  })

  it('§5.2 a restarted node remembers its vote and does not vote twice in the same term', () => {
    let disk: PersistedRaft = EMPTY_PERSISTED
    const persistAll = (core: RaftCore): Message[] => {
      const out: Message[] = []
      while (core.hasReady()) {
        const rd = core.ready()
        disk = persistReady(disk, rd)
        out.push(...rd.messages)
        core.advance(rd)
      }
      return out
    }
    const c1 = newCore('c', ABC)
    c1.step(voteMsg('a', 'c', 5, 0, 0))
    expect(ofType(persistAll(c1), 'voteResponse')[0]?.granted).toBe(true)
    expect(disk.hardState).toEqual({ term: 5, vote: 'a', commit: 0 })
    // Crash: the memory is gone, the disk remains.
    const c2 = newCore('c', ABC, {}, { hardState: disk.hardState, entries: disk.entries })
    expect(c2.status()).toMatchObject({ term: 5, vote: 'a' })
    c2.step(voteMsg('b', 'c', 5, 0, 0))
    expect(ofType(persistAll(c2), 'voteResponse')).toEqual([expect.objectContaining({ to: 'b', granted: false })])
    c2.step(voteMsg('a', 'c', 5, 0, 0))
    expect(ofType(persistAll(c2), 'voteResponse')).toEqual([expect.objectContaining({ to: 'a', granted: true })])
  })

  it('§5.2 the vote is on disk before the answer that grants it is sent', () => {
    const c = newCore('c', ABC)
    c.step(voteMsg('a', 'c', 1, 0, 0))
    const rd = c.ready()
    // Drivers persist rd.hardState before sending rd.messages: both come in the same ready.
    expect(rd.hardState).toEqual({ term: 1, vote: 'a', commit: 0 })
    expect(ofType(rd.messages, 'voteResponse')[0]?.granted).toBe(true)
  })
})

// ---- §5.3 -----------------------------------------------------------------------------------------------------------

describe('§5.3 log replication', () => {
  it('§5.3 the leader appends a proposal to its log, replicates it, and every node applies it once committed', () => {
    const net = new RaftNet([...ABC])
    net.campaign('a')
    const r = net.propose('a', 'x')
    expect(r).toEqual({ ok: true, index: 2, term: 1 })
    for (const id of ABC) {
      const e = net.core(id).entry(2)
      expect(e).toMatchObject({ index: 2, term: 1, kind: 'normal' })
      expect(net.core(id).status().commit).toBe(2)
      expect(net.node(id).applied).toEqual(['x'])
    }
  })

  it('§5.3 only the leader accepts proposals', () => {
    const net = new RaftNet([...ABC])
    net.campaign('a')
    expect(net.propose('b', 'x')).toEqual({ ok: false, reason: 'notLeader', leader: 'a' })
    expect(net.core('b').status().lastIndex).toBe(1)
  })

  it('§5.3 a follower rejects an append whose prevIndex/prevTerm it does not have', () => {
    const b = followerWithLog('b', ABC, 2, [1, 2])
    drain(b)
    // prevIndex past the end of the log.
    b.step(appendMsg('a', 'b', 2, 3, 2, entries(4, [2])))
    // prevIndex present with another term.
    b.step(appendMsg('a', 'b', 2, 2, 1, entries(3, [2])))
    const answers = ofType(drain(b), 'appendResponse')
    expect(answers).toEqual([
      expect.objectContaining({ reject: true, index: 3, term: 2 }),
      expect.objectContaining({ reject: true, index: 2, term: 2 }),
    ])
    expect(logTerms(b)).toEqual([1, 2])
    // The matching one is accepted.
    b.step(appendMsg('a', 'b', 2, 2, 2, entries(3, [2])))
    expect(ofType(drain(b), 'appendResponse')).toEqual([expect.objectContaining({ reject: false, index: 3 })])
    expect(logTerms(b)).toEqual([1, 2, 2])
  })

  it('§5.3 conflicting follower entries, and all that follow them, are replaced by the leader’s', () => {
    const b = followerWithLog('b', ABC, 2, [1, 1, 2, 2, 2], 1)
    drain(b)
    b.step(appendMsg('a', 'b', 3, 2, 1, entries(3, [3]), 1))
    expect(logTerms(b)).toEqual([1, 1, 3])
    // The replaced entries are handed to the driver again so that the disk follows.
    const rd = b.ready()
    expect(rd.entries.map((e) => [e.index, e.term])).toEqual([[3, 3]])
    b.advance(rd)
  })

  it('§5.3 an append that agrees with the log deletes nothing (a follower keeps entries past it)', () => {
    const b = followerWithLog('b', ABC, 2, [1, 2, 2, 2])
    drain(b)
    b.step(appendMsg('a', 'b', 2, 1, 1, entries(2, [2])))
    expect(logTerms(b)).toEqual([1, 2, 2, 2])
    expect(ofType(drain(b), 'appendResponse')).toEqual([expect.objectContaining({ reject: false, index: 2 })])
  })

  it('§5.3 Figure 7: a new leader brings every kind of divergent follower into line with its log', () => {
    // The logs of Figure 7 (terms per index); the leader is elected in term 8.
    const logs: Record<NodeId, number[]> = {
      leader: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6],
      a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      b: [1, 1, 1, 4],
      c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      e: [1, 1, 1, 4, 4, 4, 4],
      f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    }
    const ids = Object.keys(logs)
    const net = new RaftNet(ids)
    for (const id of ids) {
      const terms = logs[id] as number[]
      const term = id === 'leader' ? 7 : Math.max(...terms)
      const log = entries(1, terms)
      net.node(id).disk = { hardState: { term, vote: null, commit: 3 }, snapshot: undefined, entries: log }
      net.restart(id)
    }
    net.campaign('leader')
    expect(net.leader()).toBe('leader')
    expect(net.core('leader').status().term).toBe(8)
    net.tickAll(3)
    const expected = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 8]
    for (const id of ids) {
      expect(logTerms(net.core(id)), id).toEqual(expected)
      expect(net.core(id).status().commit, id).toBe(11)
      // Restarted nodes re-apply from their (empty) snapshot, so each applies the whole log, once.
      expect(net.node(id).appliedEntries.map((e) => e.term), id).toEqual(expected)
    }
  })

  it('§5.3 followers learn the commit index from the leader’s next message', () => {
    const net = new RaftNet([...ABC])
    net.campaign('a')
    // c stores the entry, but the append that would tell it the entry is committed is lost.
    let appendsToC = 0
    net.dropIf = (m) => m.type === 'append' && m.to === 'c' && ++appendsToC > 1
    net.propose('a', 'x')
    expect(net.core('a').status().commit).toBe(2)
    expect(net.core('c').status()).toMatchObject({ lastIndex: 2, commit: 1 })
    expect(net.node('c').applied).toEqual([])
    net.dropIf = null
    net.tickAll(1)
    expect(net.core('c').status().commit).toBe(2)
    expect(net.node('c').applied).toEqual(['x'])
  })

  it('§5.3 a follower whose probe was in flight when the commit index moved learns it without a heartbeat', () => {
    // Both followers are probed with the new leader's noop; b's answer commits it while c's probe is in flight.
    const net = new RaftNet(['a', 'b', 'c'])
    net.campaign('a')
    for (const id of ['a', 'b', 'c']) expect(net.core(id).status().commit, id).toBe(1)
  })

  it('§5.3 a heartbeat never tells a follower to commit past what it is known to store', () => {
    const net = new RaftNet([...ABC])
    net.campaign('a')
    net.cut('a', 'c')
    net.propose('a', 'x')
    net.propose('a', 'y')
    expect(net.core('a').status().commit).toBe(3)
    net.recover()
    // Only let heartbeats through: c must not commit entries it does not have.
    net.dropIf = (m) => m.type !== 'heartbeat' && m.type !== 'heartbeatResponse'
    net.tickAll(1)
    const heartbeats = net.delivered.filter((m) => m.type === 'heartbeat' && m.to === 'c')
    expect(heartbeats.length).toBeGreaterThan(0)
    for (const h of heartbeats) if (h.type === 'heartbeat') expect(h.commit).toBeLessThanOrEqual(1)
    expect(net.core('c').status()).toMatchObject({ lastIndex: 1, commit: 1 })
  })

  it('§5.3 a follower never lets a leader overwrite committed entries', () => {
    const b = followerWithLog('b', ABC, 2, [1, 2, 2], 3)
    drain(b)
    // A (faulty) leader whose history contradicts b's committed entries 2 and 3, with a new entry 4 after them.
    b.step(appendMsg('a', 'b', 3, 1, 1, entries(2, [3, 3, 3]), 3))
    expect(drain(b)).toEqual([])
    expect(logTerms(b)).toEqual([1, 2, 2])
    expect(b.status().refused).toBe(1)
    // A stale but truthful append that overlaps the committed prefix is answered, and its new tail kept.
    b.step(appendMsg('c', 'b', 3, 1, 1, entries(2, [2, 2, 3]), 3))
    expect(ofType(drain(b), 'appendResponse')).toEqual([expect.objectContaining({ reject: false, index: 4 })])
    expect(logTerms(b)).toEqual([1, 2, 2, 3])
    expect(b.status().refused).toBe(1)
  })
})

// ---- §5.4 -----------------------------------------------------------------------------------------------------------

describe('§5.4 safety', () => {
  it('§5.4.1 a voter refuses a candidate whose log is less up to date than its own', () => {
    const cases: { lastIndex: number; lastTerm: number; granted: boolean }[] = [
      { lastIndex: 5, lastTerm: 1, granted: false }, // longer, but an older last term
      { lastIndex: 2, lastTerm: 2, granted: false }, // same last term, shorter
      { lastIndex: 3, lastTerm: 2, granted: true }, // identical
      { lastIndex: 4, lastTerm: 2, granted: true }, // same last term, longer
      { lastIndex: 1, lastTerm: 3, granted: true }, // shorter, but a newer last term
    ]
    for (const c of cases) {
      const voter = followerWithLog('b', ABC, 2, [1, 2, 2])
      voter.step(voteMsg('a', 'b', 3, c.lastIndex, c.lastTerm))
      expect(ofType(drain(voter), 'voteResponse')[0]?.granted, JSON.stringify(c)).toBe(c.granted)
      // Refused or not, the higher term is adopted.
      expect(voter.status().term).toBe(3)
    }
  })

  it('§5.4.1 a candidate with a stale log cannot win, and committed entries survive', () => {
    const net = new RaftNet([...ABC], { preVote: false, checkQuorum: false })
    net.campaign('a')
    net.crash('c')
    net.propose('a', 'x')
    net.propose('a', 'y')
    net.crash('a')
    net.restart('c')
    // c campaigns again and again; b, whose log is longer, always refuses.
    for (let round = 0; round < 5; round++) {
      const term = net.core('c').status().term
      for (let i = 0; i < 40 && net.core('c').status().term === term; i++) {
        net.tick('c')
        net.deliverAll()
      }
      expect(net.core('c').status().role).not.toBe('leader')
    }
    expect(net.core('b').status().role).not.toBe('leader')
    net.restart('a')
    net.tickUntil(() => net.leader() !== null)
    net.tickAll(3)
    expect(net.leader()).not.toBe('c')
    for (const id of ABC) expect(net.node(id).applied.slice(-2)).toEqual(['x', 'y'])
  })

  describe('§5.4.2 Figure 8: a leader commits entries of earlier terms only through an entry of its own term', () => {
    /**
     * Builds Figure 8 up to (c). Every leader's first entry is its noop, so the paper's "entry of term 2 at index 2"
     * is x (term 1, index 2, written by S1 in term 1), S5's term-3 entry is its noop of term 2, and S1 leads again in
     * term 3 (the paper's term 4) with its noop at index 3.
     */
    function figure8c(): RaftNet {
      const ids = ['s1', 's2', 's3', 's4', 's5']
      // One entry per append, so that S1 can send x to S3 without its noop of term 3.
      const net = new RaftNet(ids, { preVote: false, checkQuorum: false, maxEntriesPerAppend: 1 })
      net.campaign('s1')
      expect(net.leader()).toBe('s1')
      // (a) S1 writes x at index 2 and replicates it to S2 only.
      for (const id of ['s3', 's4', 's5']) net.cut('s1', id)
      expect(net.propose('s1', 'x')).toMatchObject({ ok: true, index: 2, term: 1 })
      expect(net.core('s2').entry(2)?.term).toBe(1)
      // (b) S1 crashes; S5 is elected for term 2 by S3, S4 and itself and writes its own index 2, nowhere else.
      net.crash('s1')
      net.recover()
      net.dropIf = (m) => m.from === 's5' && m.type === 'append'
      net.campaign('s5')
      expect(net.core('s5').status()).toMatchObject({ role: 'leader', term: 2 })
      expect(net.core('s5').entry(2)?.term).toBe(2)
      // (c) S5 crashes; S1 restarts and is elected for term 3; it sends x to S3, so x is on a majority (S1, S2, S3),
      // but its own term-3 entry reaches nobody.
      net.crash('s5')
      net.restart('s1')
      net.dropIf = (m) =>
        m.from === 's1' &&
        m.type === 'append' &&
        (m.to === 's4' || (m.entries.some((e) => e.term === 3) && net.core(m.to).status().lastIndex >= m.prevIndex))
      tickToLeader(net, 's1')
      expect(net.core('s1').status().term).toBe(3)
      for (const id of ['s1', 's2', 's3']) expect(net.core(id).entry(2)?.term, id).toBe(1)
      expect(net.core('s4').status().lastIndex).toBe(1)
      for (const id of ['s2', 's3']) expect(net.core(id).status().lastIndex, id).toBe(2)
      return net
    }

    it('§5.4.2 (c)→(d) x is on a majority but not committed, and a later leader rightly overwrites it', () => {
      const net = figure8c()
      // The rule under test: counting replicas of x would commit it; the leader must not.
      expect(net.core('s1').status().commit).toBe(1)
      for (const id of ['s2', 's3']) expect(net.core(id).status().commit).toBe(1)
      // (d) S1 crashes; S5 restarts and wins (its last term, 2, beats the others' 1) and overwrites index 2.
      net.crash('s1')
      net.dropIf = null
      net.restart('s5')
      tickToLeader(net, 's5')
      net.tickAll(2)
      for (const id of ['s2', 's3', 's4', 's5']) {
        expect(net.core(id).entry(2)?.term, id).toBe(2)
        expect(net.core(id).status().commit, id).toBe(3)
        expect(net.node(id).applied, id).not.toContain('x')
      }
    })

    it('§5.4.2 (c)→(e) once an entry of the current term is on a majority, x is committed and S5 can never win', () => {
      const net = figure8c()
      // S1's term-3 entry now reaches S2 and S3 (S4 is still cut off).
      net.dropIf = (m) => m.from === 's1' && m.to === 's4'
      net.tickAll(2)
      expect(net.core('s1').status().commit).toBe(3)
      expect(net.node('s1').applied).toEqual(['x'])
      net.crash('s1')
      net.dropIf = null
      net.restart('s5')
      for (let i = 0; i < 200; i++) {
        net.tickAll(1)
        expect(net.core('s5').status().role).not.toBe('leader')
      }
      const leader = net.leader()
      expect(['s2', 's3']).toContain(leader)
      for (const id of ['s2', 's3', 's4', 's5']) {
        expect(net.core(id).entry(2)?.term, id).toBe(1)
        expect(net.node(id).applied, id).toEqual(['x'])
      }
    })
  })

  it('§5.4.3 (Leader Completeness) every committed entry is in the log of every later leader', () => {
    const net = new RaftNet(['a', 'b', 'c', 'd', 'e'])
    net.campaign('a')
    const committed: string[] = []
    for (let round = 0; round < 6; round++) {
      const leader = net.leader() as NodeId
      const value = `v${round}`
      expect(net.propose(leader, value).ok).toBe(true)
      committed.push(value)
      // Depose the leader by crashing it; the others elect a new one.
      net.crash(leader)
      net.tickUntil(() => net.leader() !== null)
      const next = net.leader() as NodeId
      const log = net.core(next)
      const values: string[] = []
      for (let i = 1; i <= log.status().lastIndex; i++) {
        const e = log.entry(i)
        if (e?.kind === 'normal') values.push(new TextDecoder().decode(e.data))
      }
      expect(values).toEqual(committed)
      net.restart(leader)
      net.tickAll(3)
    }
  })
})

// ---- §5.5 -----------------------------------------------------------------------------------------------------------

describe('§5.5 follower and candidate crashes', () => {
  it('§5.5 a crashed follower gets what it missed once it restarts: the leader retries', () => {
    const net = new RaftNet([...ABC])
    net.campaign('a')
    net.crash('c')
    for (const v of ['x', 'y', 'z']) net.propose('a', v)
    net.tickAll(5)
    expect(net.node('a').applied).toEqual(['x', 'y', 'z'])
    net.restart('c')
    net.tickAll(3)
    expect(net.node('c').applied).toEqual(['x', 'y', 'z'])
    expect(net.core('c').status().lastIndex).toBe(net.core('a').status().lastIndex)
  })

  it('§5.5 a crashed candidate restarts with its term and its vote for itself', () => {
    const net = new RaftNet([...ABC], { preVote: false })
    net.isolate('c')
    net.campaign('c')
    expect(net.core('c').status()).toMatchObject({ role: 'candidate', term: 1, vote: 'c' })
    net.crash('c')
    net.restart('c')
    expect(net.core('c').status()).toMatchObject({ role: 'follower', term: 1, vote: 'c' })
    net.recover()
    net.tickUntil(() => net.leader() !== null)
    net.tickAll(3)
    const leader = net.leader() as NodeId
    for (const id of ABC) expect(net.core(id).status().leader).toBe(leader)
  })

  it('§5.5 AppendEntries is idempotent: duplicated and reordered appends leave the log as it is', () => {
    const net = new RaftNet([...ABC])
    net.campaign('a')
    for (const v of ['x', 'y', 'z']) net.propose('a', v)
    const toB = net.delivered.filter((m): m is AppendMessage => m.type === 'append' && m.to === 'b')
    expect(toB.length).toBeGreaterThanOrEqual(3)
    const before = {
      terms: logTerms(net.core('b')),
      status: net.core('b').status(),
      applied: [...net.node('b').applied],
    }
    // Replay every append b ever got, oldest last.
    for (const m of [...toB].reverse()) net.core('b').step(m)
    net.deliverAll()
    expect(logTerms(net.core('b'))).toEqual(before.terms)
    expect(net.core('b').status()).toMatchObject({ lastIndex: before.status.lastIndex, commit: before.status.commit })
    expect(net.node('b').applied).toEqual(before.applied)
    expect(net.core('a').status().progress.b?.match).toBe(before.status.lastIndex)
  })
})
