/**
 * The parts of Raft beyond the core rules of the paper, each test naming the section of the paper (§) or of Ongaro's
 * dissertation it checks: membership changes with learners, snapshots, ReadIndex, leadership transfer, PreVote,
 * CheckQuorum and the leader lease, flow control and batching, fast log backup; then options and status().
 */
import { describe, expect, it } from 'vitest'
import { RaftCore } from '../../../src/consensus/raft/core.js'
import type { RaftOptions } from '../../../src/consensus/raft/options.js'
import type { AppendMessage, Entry, Message, NodeId, SnapshotMessage } from '../../../src/consensus/raft/types.js'
import { seededRandom } from '../../../src/runtime/random.js'
import { data, RaftNet, type NetOptions } from '../../support/raft-net.js'

const ABC = ['a', 'b', 'c'] as const

/** A three-node group with `a` as leader. */
function cluster(options: NetOptions = {}): RaftNet {
  const net = new RaftNet([...ABC], options)
  net.campaign('a')
  expect(net.leader()).toBe('a')
  return net
}

/** Records every message offered to the network (delivered or not) and drops those `drop` selects. */
function record(net: RaftNet, drop: (m: Message) => boolean = () => false): Message[] {
  const seen: Message[] = []
  net.dropIf = (m) => {
    seen.push(m)
    return drop(m)
  }
  return seen
}

function appendsTo(msgs: readonly Message[], to: NodeId, from?: NodeId): AppendMessage[] {
  return msgs.filter(
    (m): m is AppendMessage => m.type === 'append' && m.to === to && (from === undefined || m.from === from),
  )
}

function snapshotsTo(msgs: readonly Message[], to: NodeId): SnapshotMessage[] {
  return msgs.filter((m): m is SnapshotMessage => m.type === 'snapshot' && m.to === to)
}

function normalEntries(start: number, terms: readonly number[]): Entry[] {
  return terms.map((term, k) => ({ index: start + k, term, kind: 'normal', data: data(`e${start + k}`) }))
}

/** Adds `id` to the network and, through the leader `leader`, to the group as a learner; returns the result. */
function addLearner(net: RaftNet, leader: NodeId, id: NodeId): ReturnType<RaftCore['proposeConfigChange']> {
  if (!net.nodes.has(id)) net.addNode(id)
  const r = net.core(leader).proposeConfigChange({ type: 'addLearner', node: id })
  net.deliverAll()
  return r
}

function sentBy(net: RaftNet, from: NodeId, type: Message['type']): Message[] {
  return net.delivered.filter((m) => m.from === from && m.type === type)
}

// ---- membership -----------------------------------------------------------------------------------------------------

describe('dissertation §4 membership changes (one server at a time, learners first)', () => {
  it('§4.2.1 a learner is added, catches up from the start of the log, and applies everything', () => {
    const net = cluster()
    net.propose('a', 'x')
    net.propose('a', 'y')
    expect(addLearner(net, 'a', 'd')).toMatchObject({ ok: true })
    net.tickAll(2)
    expect(net.node('d').applied).toEqual(['x', 'y'])
    for (const id of [...ABC, 'd']) {
      expect(net.core(id).status().config, id).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] })
    }
    expect(net.core('a').status().progress.d).toMatchObject({ match: net.core('a').status().lastIndex })
  })

  it('§4.2.1 a learner neither counts towards commit nor votes nor campaigns', () => {
    const net = cluster()
    addLearner(net, 'a', 'd')
    // a + d hold z, but d is no voter: z is not committed.
    net.cut('a', 'b')
    net.cut('a', 'c')
    const z = net.propose('a', 'z')
    expect(net.core('d').entry(z.ok ? z.index : -1)).toBeDefined()
    expect(net.core('a').status().commit).toBeLessThan(z.ok ? z.index : 0)
    net.recover()
    net.crash('a')
    net.tickUntil(() => net.leader() !== null)
    expect(net.delivered.filter((m) => m.type === 'vote' && m.to === 'd')).toEqual([])
    // Alone, the learner never campaigns.
    net.crash('b')
    net.crash('c')
    const term = net.core('d').status().term
    net.tickAll(100)
    expect(net.core('d').status()).toMatchObject({ role: 'follower', term })
    expect(sentBy(net, 'd', 'vote')).toEqual([])
  })

  it('§4.2.1 promoting a learner is refused while it lags (`lagging`) and accepted once it caught up', () => {
    const net = cluster({ promoteLag: 2 })
    net.addNode('d')
    net.cut('a', 'd')
    expect(addLearner(net, 'a', 'd')).toMatchObject({ ok: true })
    for (const v of ['p', 'q', 'r', 's']) net.propose('a', v)
    expect(net.core('a').proposeConfigChange({ type: 'promote', node: 'd' })).toMatchObject({
      ok: false,
      reason: 'lagging',
      leader: 'a',
    })
    net.recover()
    net.tickAll(2)
    expect(net.node('d').applied).toEqual(['p', 'q', 'r', 's'])
    expect(net.core('a').proposeConfigChange({ type: 'promote', node: 'd' })).toMatchObject({ ok: true })
    net.deliverAll()
    for (const id of [...ABC, 'd']) {
      expect(net.core(id).status().config, id).toEqual({ voters: ['a', 'b', 'c', 'd'], learners: [] })
    }
    // Four voters: a quorum is now three, so a and b alone commit nothing.
    net.crash('c')
    net.crash('d')
    const r = net.propose('a', 't')
    expect(net.core('a').status().commit).toBeLessThan(r.ok ? r.index : 0)
    net.restart('d')
    net.tickAll(2)
    expect(net.core('a').status().commit).toBe(r.ok ? r.index : -1)
  })

  it('§4.1 one change at a time: a second change is refused (`configPending`) until the first is committed', () => {
    const net = cluster()
    net.addNode('d')
    net.addNode('e')
    net.dropIf = (m) => m.type === 'appendResponse'
    expect(addLearner(net, 'a', 'd')).toMatchObject({ ok: true })
    expect(net.core('a').proposeConfigChange({ type: 'addLearner', node: 'e' })).toMatchObject({
      ok: false,
      reason: 'configPending',
    })
    net.dropIf = null
    net.tickAll(1)
    expect(addLearner(net, 'a', 'e')).toMatchObject({ ok: true })
  })

  it('§4.1 (raft-dev 2015 fix) a new leader accepts no change before it commits an entry of its term', () => {
    const net = new RaftNet([...ABC])
    net.addNode('d')
    net.dropIf = (m) => m.type === 'appendResponse'
    net.campaign('a')
    expect(net.leader()).toBe('a')
    expect(net.core('a').status().commit).toBe(0)
    expect(net.core('a').proposeConfigChange({ type: 'addLearner', node: 'd' })).toMatchObject({
      ok: false,
      reason: 'configPending',
      leader: 'a',
    })
    net.dropIf = null
    net.tickAll(1)
    expect(net.core('a').status().commit).toBe(1)
    expect(addLearner(net, 'a', 'd')).toMatchObject({ ok: true })
  })

  it('§4.1 a change that does not apply is refused as `invalid`', () => {
    const net = cluster()
    const a = net.core('a')
    expect(a.proposeConfigChange({ type: 'promote', node: 'b' })).toMatchObject({ ok: false, reason: 'invalid' })
    expect(a.proposeConfigChange({ type: 'remove', node: 'zz' })).toMatchObject({ ok: false, reason: 'invalid' })
    expect(a.proposeConfigChange({ type: 'addLearner', node: 'c' })).toMatchObject({ ok: false, reason: 'invalid' })
    expect(net.core('b').proposeConfigChange({ type: 'addLearner', node: 'd' })).toMatchObject({
      ok: false,
      reason: 'notLeader',
      leader: 'a',
    })
  })

  it('§4.1 a configuration takes effect as soon as it is appended, before it commits', () => {
    const net = cluster()
    net.addNode('d')
    // b and c do not answer, so nothing commits; d (a learner, which does not count) does.
    net.dropIf = (m) => m.type === 'appendResponse' && m.from !== 'd'
    const r = addLearner(net, 'a', 'd')
    expect(r.ok).toBe(true)
    expect(net.core('a').status().commit).toBeLessThan(r.ok ? r.index : 0)
    for (const id of ABC) expect(net.core(id).status().config.learners, id).toEqual(['d'])
    expect(Object.keys(net.core('a').status().progress).sort()).toEqual(['b', 'c', 'd'])
    // And the leader already replicates to the new member.
    expect(net.core('d').status().lastIndex).toBe(net.core('a').status().lastIndex)
  })

  it('§4.1 a removed follower no longer counts and gets no appends; its campaigns disrupt nobody', () => {
    const net = cluster()
    expect(net.core('a').proposeConfigChange({ type: 'remove', node: 'c' })).toMatchObject({ ok: true })
    net.deliverAll()
    net.tickAll(1)
    for (const id of ['a', 'b']) expect(net.core(id).status().config, id).toEqual({ voters: ['a', 'b'], learners: [] })
    expect(Object.keys(net.core('a').status().progress)).toEqual(['b'])
    // The leader drops c as soon as it appends the change (§4.1), so c is not even sent the entry that removes it.
    expect(net.core('c').status().config.voters).toEqual(['a', 'b', 'c'])
    // {a, b} need both: with b cut off, nothing commits, and c is not asked.
    net.cut('a', 'b')
    const seen = record(net)
    const r = net.propose('a', 'x')
    expect(appendsTo(seen, 'c')).toEqual([])
    expect(net.core('a').status().commit).toBeLessThan(r.ok ? r.index : 0)
    net.recover()
    net.tickAll(1)
    expect(net.node('b').applied).toEqual(['x'])
    // c times out and pre-campaigns, but a and b, which hear from their leader, ignore it: no term is raised.
    const since = net.delivered.length
    net.tickAll(100)
    expect(net.core('c').status().role).toBe('preCandidate')
    expect(net.delivered.slice(since).filter((m) => m.type === 'vote' && !m.pre)).toEqual([])
    expect(net.leader()).toBe('a')
    for (const id of ABC) expect(net.core(id).status().term, id).toBe(1)
  })

  it('§4.2.2 a leader that removes itself leads until the removal commits, then steps down without disrupting', () => {
    const net = cluster()
    net.propose('a', 'x')
    const term = net.core('a').status().term
    net.dropIf = (m) => m.type === 'appendResponse'
    const r = net.core('a').proposeConfigChange({ type: 'remove', node: 'a' })
    net.deliverAll()
    expect(r.ok).toBe(true)
    // Appended, not committed: a still leads, under the new configuration (where it does not count itself).
    expect(net.core('a').status()).toMatchObject({ role: 'leader', config: { voters: ['b', 'c'], learners: [] } })
    net.dropIf = null
    const since = net.delivered.length
    net.tickAll(1)
    expect(net.core('a').status()).toMatchObject({ role: 'follower', term, commit: r.ok ? r.index : -1 })
    net.tickUntil(() => net.leader() !== null)
    const leader = net.leader() as NodeId
    expect(['b', 'c']).toContain(leader)
    net.propose(leader, 'y')
    net.tickAll(100)
    for (const id of ['b', 'c']) expect(net.node(id).applied).toEqual(['x', 'y'])
    // The removed leader never campaigns and keeps its term: nothing it does raises the group's term.
    expect(net.delivered.slice(since).filter((m) => m.from === 'a' && m.type === 'vote')).toEqual([])
    expect(net.core('a').status()).toMatchObject({ role: 'follower', term })
    expect(net.leader()).toBe(leader)
  })
})

// ---- snapshots ------------------------------------------------------------------------------------------------------

describe('§7 log compaction and InstallSnapshot', () => {
  it('§7 compaction drops the entries a snapshot covers and keeps the rest', () => {
    const net = cluster()
    for (const v of ['v1', 'v2', 'v3', 'v4']) net.propose('a', v)
    net.propose('a', 'v5')
    const a = net.core('a')
    const last = a.status().lastIndex
    expect(() => a.compact(last + 1, data('[]'))).toThrow(RangeError)
    net.compact('a')
    expect(a.status()).toMatchObject({ snapshotIndex: last, lastIndex: last, commit: last })
    expect(a.entry(last)).toBeUndefined()
    expect(a.compact(last, data('[]'))).toBeNull()
    expect(net.node('a').disk.snapshot?.meta).toEqual({
      index: last,
      term: 1,
      config: { voters: ['a', 'b', 'c'], learners: [] },
    })
    expect(net.node('a').disk.entries).toEqual([])
    // Entries after the snapshot stay.
    net.propose('a', 'v6')
    expect(a.entry(last + 1)?.kind).toBe('normal')
  })

  it('§7 a lagging follower receives the snapshot in chunks, installs it, then gets the entries after it', () => {
    const net = cluster({ snapshotChunkBytes: 16 })
    net.crash('c')
    for (let i = 1; i <= 10; i++) net.propose('a', `v${i}`)
    net.compact('a')
    const snapIndex = net.core('a').status().snapshotIndex
    net.restart('c')
    const seen = record(net)
    net.tickUntil(() => net.node('c').applied.length === 10, 50)
    const chunks = snapshotsTo(seen, 'c')
    const total = chunks[0]?.total ?? 0
    expect(total).toBeGreaterThan(48)
    expect(chunks.length).toBeGreaterThanOrEqual(4)
    expect(chunks.map((m) => m.offset)).toEqual(chunks.map((_, k) => k * 16))
    for (const m of chunks) expect(m.chunk.length).toBeLessThanOrEqual(16)
    expect(net.node('c').snapshotsInstalled).toBe(1)
    expect(net.core('c').status()).toMatchObject({ snapshotIndex: snapIndex, commit: snapIndex })
    expect(net.node('c').applied).toEqual(net.node('a').applied)
    // Then plain appends again.
    net.propose('a', 'v11')
    net.tickAll(1)
    expect(net.node('c').applied.at(-1)).toBe('v11')
    expect(net.node('c').snapshotsInstalled).toBe(1)
    expect(net.core('a').status().progress.c?.state).toBe('replicate')
  })

  it('§7 a new member added after compaction starts from the snapshot', () => {
    const net = cluster({ snapshotChunkBytes: 8 })
    for (const v of ['x', 'y', 'z']) net.propose('a', v)
    net.compact('a')
    addLearner(net, 'a', 'd')
    net.tickAll(3)
    expect(net.node('d').snapshotsInstalled).toBe(1)
    expect(net.node('d').applied).toEqual(['x', 'y', 'z'])
    expect(net.core('d').status().config.learners).toEqual(['d'])
  })

  it('§7 a lost chunk is sent again', () => {
    const net = cluster({ snapshotChunkBytes: 16 })
    net.crash('c')
    for (let i = 1; i <= 10; i++) net.propose('a', `v${i}`)
    net.compact('a')
    net.restart('c')
    let dropped = 0
    const seen = record(net, (m) => m.type === 'snapshot' && m.offset === 16 && dropped++ === 0)
    net.tickUntil(() => net.node('c').applied.length === 10, 50)
    expect(snapshotsTo(seen, 'c').filter((m) => m.offset === 16)).toHaveLength(2)
    expect(net.node('c').applied).toEqual(net.node('a').applied)
  })

  it('§7 a lost acknowledgement makes the leader resend, and the follower answers from where it is', () => {
    const net = cluster({ snapshotChunkBytes: 16 })
    net.crash('c')
    for (let i = 1; i <= 10; i++) net.propose('a', `v${i}`)
    net.compact('a')
    net.restart('c')
    let dropped = 0
    const seen = record(net, (m) => m.type === 'snapshotResponse' && m.offset === 32 && dropped++ === 0)
    net.tickUntil(() => net.node('c').applied.length === 10, 50)
    // Chunk 16 went twice; the follower did not take it twice (it installed one consistent snapshot).
    expect(snapshotsTo(seen, 'c').filter((m) => m.offset === 16)).toHaveLength(2)
    expect(net.node('c').snapshotsInstalled).toBe(1)
    expect(net.node('c').applied).toEqual(net.node('a').applied)
  })

  it('§7 a follower that restarts mid-transfer gets the snapshot again from the start', () => {
    const net = cluster({ snapshotChunkBytes: 16 })
    net.crash('c')
    for (let i = 1; i <= 10; i++) net.propose('a', `v${i}`)
    net.compact('a')
    net.restart('c')
    const seen = record(net, (m) => {
      if (m.type === 'snapshot' && m.offset === 32 && !net.isDown('c') && snapshotsTo(seen, 'c').length < 4) {
        net.crash('c')
        return true
      }
      return false
    })
    net.tickAll(1)
    expect(net.isDown('c')).toBe(true)
    expect(net.node('c').snapshotsInstalled).toBe(0)
    net.restart('c')
    net.tickUntil(() => net.node('c').applied.length === 10, 50)
    const offsets = snapshotsTo(seen, 'c').map((m) => m.offset)
    expect(offsets.filter((o) => o === 0)).toHaveLength(2)
    expect(net.node('c').snapshotsInstalled).toBe(1)
    expect(net.node('c').applied).toEqual(net.node('a').applied)
  })

  it('§7 a restart from snapshot plus later entries restores the state machine and the log', () => {
    const net = cluster()
    for (const v of ['x', 'y', 'z']) net.propose('a', v)
    net.compact('a')
    net.propose('a', 'w')
    const before = net.core('a').status()
    net.crash('a')
    net.restart('a')
    net.deliverAll()
    expect(net.node('a').applied).toEqual(['x', 'y', 'z', 'w'])
    expect(net.core('a').status()).toMatchObject({
      term: before.term,
      commit: before.commit,
      lastIndex: before.lastIndex,
      snapshotIndex: before.snapshotIndex,
      applied: before.commit,
      config: before.config,
    })
    expect(net.node('a').appliedEntries.map((e) => e.index)).toEqual([before.lastIndex])
  })

  it('§7 a follower that installed a snapshot restarts from it', () => {
    const net = cluster({ snapshotChunkBytes: 8 })
    net.crash('c')
    for (const v of ['x', 'y']) net.propose('a', v)
    net.compact('a')
    net.restart('c')
    net.tickAll(3)
    net.propose('a', 'z')
    expect(net.node('c').applied).toEqual(['x', 'y', 'z'])
    net.crash('c')
    net.restart('c')
    net.deliverAll()
    expect(net.node('c').applied).toEqual(['x', 'y', 'z'])
  })
})

// ---- ReadIndex ------------------------------------------------------------------------------------------------------

describe('§6.4 linearizable reads with ReadIndex', () => {
  it('§6.4 a leader serves a read at its commit index once a majority acknowledged a heartbeat', () => {
    const net = cluster()
    net.propose('a', 'x')
    net.dropIf = (m) => m.type === 'heartbeatResponse'
    expect(net.core('a').readIndex('r1')).toBe(true)
    net.deliverAll()
    expect(net.node('a').readStates).toEqual([])
    // One follower's acknowledgement makes a majority with the leader.
    net.dropIf = (m) => m.type === 'heartbeatResponse' && m.from === 'c'
    net.tickAll(1)
    expect(net.node('a').readStates).toEqual([{ ctx: 'r1', index: 2 }])
  })

  it('§6.4 a single-voter leader serves reads at once', () => {
    const net = new RaftNet(['a'])
    net.campaign('a')
    net.propose('a', 'x')
    net.core('a').readIndex('r')
    net.deliverAll()
    expect(net.node('a').readStates).toEqual([{ ctx: 'r', index: 2 }])
  })

  it('§6.4 a read waits until the new leader has committed an entry of its own term', () => {
    const net = new RaftNet([...ABC])
    net.dropIf = (m) => m.type === 'appendResponse'
    net.campaign('a')
    const noop = net.core('a').status().lastIndex
    expect(net.core('a').status().commit).toBeLessThan(noop)
    expect(net.core('a').readIndex('r')).toBe(true)
    net.deliverAll()
    expect(net.node('a').readStates).toEqual([])
    net.dropIf = null
    net.tickAll(1)
    expect(net.node('a').readStates).toEqual([{ ctx: 'r', index: noop }])
  })

  it('§6.4 a follower’s read is forwarded to the leader and answered with the leader’s commit index', () => {
    const net = cluster()
    net.propose('a', 'x')
    expect(net.core('b').readIndex('rb')).toBe(true)
    net.deliverAll()
    expect(net.delivered.some((m) => m.type === 'readIndex' && m.from === 'b' && m.to === 'a')).toBe(true)
    expect(net.node('b').readStates).toEqual([{ ctx: 'rb', index: net.core('a').status().commit }])
    // Without a known leader there is nobody to ask.
    const lone = new RaftNet(['a', 'b'])
    expect(lone.core('b').readIndex('r')).toBe(false)
  })

  it('§6.4 a partitioned old leader cannot confirm a read, and fails it when it steps down', () => {
    const net = cluster({ checkQuorum: false })
    net.propose('a', 'x')
    net.isolate('a')
    expect(net.core('a').readIndex('stale')).toBe(true)
    net.tickAll(5)
    expect(net.node('a').readStates).toEqual([])
    net.tickUntil(() => ['b', 'c'].some((id) => net.core(id).status().role === 'leader'))
    net.propose(net.core('b').status().role === 'leader' ? 'b' : 'c', 'y')
    expect(net.node('a').readStates).toEqual([])
    expect(net.node('a').rejectedReads).toEqual([])
    net.recover()
    net.tickAll(2)
    expect(net.core('a').status().role).toBe('follower')
    expect(net.node('a').readStates).toEqual([])
    expect(net.node('a').rejectedReads).toEqual(['stale'])
  })

  it('§6.4 with CheckQuorum, the cut-off leader fails its reads when it steps down by itself', () => {
    const net = cluster()
    net.isolate('a')
    net.core('a').readIndex('stale')
    for (let i = 0; i < 20 && net.core('a').status().role === 'leader'; i++) net.tickAll(1)
    expect(net.core('a').status().role).toBe('follower')
    expect(net.node('a').rejectedReads).toEqual(['stale'])
    expect(net.node('a').readStates).toEqual([])
  })
})

// ---- leadership transfer --------------------------------------------------------------------------------------------

describe('dissertation §3.10 leadership transfer', () => {
  it('§3.10 leadership moves to an up-to-date follower at once', () => {
    const net = cluster()
    net.propose('a', 'x')
    const term = net.core('a').status().term
    expect(net.core('a').transferLeadership('b')).toMatchObject({ ok: true })
    net.deliverAll()
    expect(net.leader()).toBe('b')
    expect(net.core('b').status().term).toBe(term + 1)
    expect(net.propose('b', 'y').ok).toBe(true)
    net.tickAll(1)
    for (const id of ABC) expect(net.node(id).applied).toEqual(['x', 'y'])
  })

  it('§3.10 a lagging target is caught up first; proposals are refused (`transferring`) meanwhile', () => {
    const net = cluster()
    net.cut('a', 'c')
    for (const v of ['x', 'y', 'z']) net.propose('a', v)
    expect(net.core('a').transferLeadership('c')).toMatchObject({ ok: true })
    net.deliverAll()
    expect(net.leader()).toBe('a')
    expect(net.propose('a', 'w')).toEqual({ ok: false, reason: 'transferring', leader: 'a' })
    net.recover()
    net.tickAll(1)
    expect(net.leader()).toBe('c')
    const timeoutNow = net.delivered.filter((m) => m.type === 'timeoutNow')
    expect(timeoutNow).toHaveLength(1)
    net.tickAll(1)
    for (const id of ABC) expect(net.node(id).applied).toEqual(['x', 'y', 'z'])
  })

  it('§3.10 a transfer to an unreachable target is abandoned after an election timeout', () => {
    const net = cluster()
    net.isolate('c')
    expect(net.core('a').transferLeadership('c')).toMatchObject({ ok: true })
    net.deliverAll()
    for (let i = 0; i < 9; i++) {
      net.tickAll(1)
      expect(net.core('a').propose(data('w')), `tick ${i + 1}`).toMatchObject({ ok: false, reason: 'transferring' })
    }
    net.tickAll(1)
    expect(net.propose('a', 'w')).toMatchObject({ ok: true })
    expect(net.leader()).toBe('a')
  })

  it('§3.10 transfer is refused to non-voters and by non-leaders', () => {
    const net = cluster()
    addLearner(net, 'a', 'd')
    expect(net.core('a').transferLeadership('d')).toMatchObject({ ok: false, reason: 'invalid' })
    expect(net.core('a').transferLeadership('zz')).toMatchObject({ ok: false, reason: 'invalid' })
    expect(net.core('b').transferLeadership('c')).toMatchObject({ ok: false, reason: 'notLeader', leader: 'a' })
    expect(net.propose('a', 'x').ok).toBe(true)
  })
})

// ---- PreVote, CheckQuorum, lease ------------------------------------------------------------------------------------

describe('dissertation §9.6 PreVote, §6.2 CheckQuorum and the leader lease', () => {
  it('§9.6 a partitioned node does not raise its term, and rejoins without disrupting the leader', () => {
    const net = cluster()
    net.isolate('c')
    net.tickAll(100)
    expect(net.core('c').status().term).toBe(1)
    expect(net.core('c').status().role).toBe('preCandidate')
    net.propose('a', 'x')
    net.recover()
    net.tickAll(5)
    expect(net.leader()).toBe('a')
    for (const id of ABC) expect(net.core(id).status().term).toBe(1)
    expect(net.node('c').applied).toEqual(['x'])
  })

  it('§9.6 (control) without PreVote the same partition raises the term and deposes the leader', () => {
    const net = cluster({ preVote: false })
    net.isolate('c')
    net.tickAll(100)
    expect(net.core('c').status().term).toBeGreaterThan(1)
    net.recover()
    net.tickAll(5)
    expect(net.core('a').status().term).toBeGreaterThan(1)
  })

  it('§9.6 PreVote alone (no CheckQuorum): voters that hear from a leader refuse pre-votes', () => {
    const net = cluster({ checkQuorum: false })
    // c no longer hears a (one-way), but its log is as good as anyone's: only the heartbeat rule can stop it.
    net.cutOneWay('a', 'c')
    net.tickAll(100)
    expect(net.leader()).toBe('a')
    for (const id of ABC) expect(net.core(id).status().term, id).toBe(1)
    expect(net.delivered.filter((m) => m.type === 'voteResponse' && m.to === 'c' && m.granted)).toEqual([])
  })

  it('§9.6 a pre-vote changes neither the voter’s term nor its vote', () => {
    const net = new RaftNet([...ABC])
    const b = net.core('b')
    b.step({ type: 'vote', from: 'a', to: 'b', term: 1, pre: true, lastIndex: 0, lastTerm: 0, transfer: false })
    net.deliverAll()
    expect(b.status()).toMatchObject({ term: 0, vote: null })
    expect(net.delivered.filter((m) => m.type === 'voteResponse')).toEqual([
      expect.objectContaining({ from: 'b', to: 'a', pre: true, granted: true, term: 1 }),
    ])
  })

  it('§6.2 CheckQuorum: a leader cut off from the majority steps down within an election timeout or two', () => {
    const net = cluster()
    net.tickAll(3)
    net.isolate('a')
    let ticks = 0
    while (net.core('a').status().role === 'leader' && ticks < 40) {
      net.tick('a')
      ticks++
    }
    expect(net.core('a').status()).toMatchObject({ role: 'follower', term: 1, leader: null })
    expect(ticks).toBeLessThanOrEqual(20)
  })

  it('§6.2 CheckQuorum: a leader that hears from a majority stays leader', () => {
    const net = cluster()
    net.crash('c')
    net.tickAll(200)
    expect(net.leader()).toBe('a')
    expect(net.core('a').status().term).toBe(1)
  })

  it('§6.2 (control) without CheckQuorum a cut-off leader stays leader', () => {
    const net = cluster({ checkQuorum: false })
    net.isolate('a')
    for (let i = 0; i < 100; i++) net.tick('a')
    expect(net.core('a').status().role).toBe('leader')
  })

  it('§4.2.3 lease: a follower that heard from a leader recently ignores a vote request, unless a transfer', () => {
    const net = cluster({ preVote: false })
    const b = net.core('b')
    const request = { type: 'vote', from: 'c', to: 'b', term: 2, pre: false, lastIndex: 99, lastTerm: 1 } as const
    b.step({ ...request, transfer: false })
    net.deliverAll()
    expect(b.status()).toMatchObject({ term: 1, leader: 'a' })
    expect(net.delivered.filter((m) => m.type === 'voteResponse' && m.to === 'c')).toEqual([])
    b.step({ ...request, transfer: true })
    net.deliverAll()
    expect(b.status()).toMatchObject({ term: 2, vote: 'c' })
    expect(net.delivered.filter((m) => m.type === 'voteResponse' && m.to === 'c')).toEqual([
      expect.objectContaining({ granted: true, term: 2 }),
    ])
  })

  it('§4.2.3 lease: once the leader is silent for an election timeout, the follower votes again', () => {
    const net = cluster({ preVote: false })
    net.crash('a')
    const b = net.core('b')
    for (let i = 0; i < 10; i++) b.tick()
    b.step({ type: 'vote', from: 'c', to: 'b', term: 2, pre: false, lastIndex: 99, lastTerm: 1, transfer: false })
    expect(b.status()).toMatchObject({ term: 2, vote: 'c' })
  })
})

// ---- flow control and batching --------------------------------------------------------------------------------------

describe('flow control, pipelining and batching (etcd-style Progress)', () => {
  it('in replicate state at most maxInflight appends are in flight to a follower', () => {
    const net = cluster({ maxInflight: 3 })
    net.propose('a', 'warm-up')
    expect(net.core('a').status().progress.b?.state).toBe('replicate')
    const seen = record(net, (m) => m.type === 'appendResponse' && m.from === 'b')
    for (let i = 0; i < 10; i++) net.propose('a', `v${i}`)
    expect(appendsTo(seen, 'b').filter((m) => m.entries.length > 0)).toHaveLength(3)
    // c acknowledges, so everything commits; b catches up once its answers flow again.
    expect(net.node('c').applied).toHaveLength(11)
    net.dropIf = null
    net.tickUntil(() => net.node('b').applied.length === 11, 20)
  })

  it('in probe state one append at a time is sent until the follower answers', () => {
    const net = new RaftNet([...ABC])
    const seen = record(net, (m) => m.type === 'appendResponse' && m.from === 'b')
    net.campaign('a')
    for (let i = 0; i < 5; i++) net.propose('a', `v${i}`)
    expect(net.core('a').status().progress.b?.state).toBe('probe')
    expect(appendsTo(seen, 'b')).toHaveLength(1)
    // A heartbeat answer unblocks the next probe.
    net.tickAll(1)
    expect(appendsTo(seen, 'b')).toHaveLength(2)
  })

  it('proposals between two ready() calls go out as one append per follower', () => {
    const net = cluster()
    const seen = record(net)
    for (let i = 0; i < 20; i++) expect(net.core('a').propose(data(`v${i}`)).ok).toBe(true)
    net.deliverAll()
    for (const to of ['b', 'c']) {
      const withEntries = appendsTo(seen, to).filter((m) => m.entries.length > 0)
      expect(withEntries.map((m) => m.entries.length)).toEqual([20])
    }
    expect(net.node('c').applied).toHaveLength(20)
  })

  it('batches are capped by maxEntriesPerAppend', () => {
    const net = cluster({ maxEntriesPerAppend: 8 })
    const seen = record(net)
    for (let i = 0; i < 20; i++) net.core('a').propose(data(`v${i}`))
    net.deliverAll()
    expect(appendsTo(seen, 'b').filter((m) => m.entries.length > 0).map((m) => m.entries.length)).toEqual([8, 8, 4])
    expect(net.node('b').applied).toHaveLength(20)
  })

  it('batches are capped by maxBytesPerAppend, but an oversized entry still goes alone', () => {
    const net = cluster({ maxBytesPerAppend: 300 })
    const seen = record(net)
    for (let i = 0; i < 5; i++) net.core('a').propose(new Uint8Array(100))
    net.core('a').propose(new Uint8Array(1000))
    net.deliverAll()
    const sizes = appendsTo(seen, 'b')
      .filter((m) => m.entries.length > 0)
      .map((m) => m.entries.length)
    expect(sizes).toEqual([2, 2, 1, 1])
  })

  it('proposals are refused as `busy` while maxUncommittedEntries entries are uncommitted', () => {
    const net = cluster({ maxUncommittedEntries: 3 })
    net.isolate('a')
    for (let i = 0; i < 3; i++) expect(net.propose('a', `v${i}`).ok).toBe(true)
    expect(net.propose('a', 'v3')).toEqual({ ok: false, reason: 'busy', leader: 'a' })
    net.recover()
    net.tickAll(1)
    expect(net.propose('a', 'v3').ok).toBe(true)
  })

  it('§5.3 fast backup: a follower with a long divergent log is repaired in O(terms) round trips', () => {
    const terms = (n: number, t: number): number[] => Array.from({ length: n }, () => t)
    // L: 1, then 100 entries of term 2 and 100 of term 4. F: 1, then 150 entries of term 3 that nobody else has.
    const logs: Record<NodeId, number[]> = {
      l: [1, ...terms(100, 2), ...terms(100, 4)],
      g: [1, ...terms(100, 2), ...terms(100, 4)],
      f: [1, ...terms(150, 3)],
    }
    const net = new RaftNet(['l', 'f', 'g'])
    for (const [id, log] of Object.entries(logs)) {
      const term = Math.max(...log)
      const entries = normalEntries(1, log)
      net.node(id).disk = { hardState: { term, vote: null, commit: 1 }, snapshot: undefined, entries }
      net.restart(id)
    }
    const seen = record(net)
    net.campaign('l')
    expect(net.leader()).toBe('l')
    net.tickAll(2)
    expect(net.core('f').status().lastIndex).toBe(202)
    for (let i = 2; i <= 202; i++) expect(net.core('f').entry(i)?.term).toBe(net.core('l').entry(i)?.term)
    const rejections = seen.filter((m) => m.type === 'appendResponse' && m.from === 'f' && m.reject)
    // One rejection per divergent term (F's 3, then L's 2 against F's 3), not one per entry.
    expect(rejections.length).toBeLessThanOrEqual(2)
    expect(appendsTo(seen, 'f', 'l').length).toBeLessThanOrEqual(6)
  })
})

// ---- options and status ---------------------------------------------------------------------------------------------

describe('options and status()', () => {
  const base = { id: 'a', random: seededRandom(1) }
  const make = (o: Partial<RaftOptions>): RaftCore => new RaftCore({ ...base, ...o })

  it('rejects invalid options with InvalidOptionError', () => {
    const bad: Partial<RaftOptions>[] = [
      { id: '' },
      { electionTicks: 0 },
      { electionTicks: 1.5 },
      { heartbeatTicks: 0 },
      { heartbeatTicks: 10, electionTicks: 10 },
      { maxInflight: 0 },
      { maxEntriesPerAppend: -1 },
      { maxBytesPerAppend: Number.NaN },
      { snapshotChunkBytes: 0 },
      { maxUncommittedEntries: 0 },
      { maxPendingReads: 0 },
      { maxApplyPerReady: Number.POSITIVE_INFINITY },
      { promoteLag: -1 },
      { promoteLag: 0.5 },
    ]
    for (const o of bad) {
      let err: unknown
      try {
        make(o)
      } catch (e) {
        err = e
      }
      expect((err as Error | undefined)?.name, JSON.stringify(o)).toBe('InvalidOptionError')
    }
    expect(() => make({ promoteLag: 0, heartbeatTicks: 2, electionTicks: 3 })).not.toThrow()
  })

  it('applies the documented defaults (electionTicks 10, heartbeatTicks 1)', () => {
    const a = new RaftCore({ id: 'a', random: { int: () => 0 } }, { config: { voters: ['a', 'b'], learners: [] } })
    for (let i = 0; i < 9; i++) a.tick()
    expect(a.status().role).toBe('follower')
    a.tick()
    // PreVote is on by default.
    expect(a.status()).toMatchObject({ role: 'preCandidate', term: 0 })
  })

  it('status() describes a leader, its followers’ progress, and a follower', () => {
    const net = cluster()
    net.propose('a', 'x')
    net.cut('a', 'c')
    net.propose('a', 'y')
    expect(net.core('a').status()).toEqual({
      id: 'a',
      role: 'leader',
      leader: 'a',
      term: 1,
      vote: 'a',
      commit: 3,
      applied: 3,
      lastIndex: 3,
      snapshotIndex: 0,
      config: { voters: ['a', 'b', 'c'], learners: [] },
      configIndex: 0,
      progress: {
        b: { match: 3, next: 4, state: 'replicate' },
        c: { match: 2, next: 4, state: 'replicate' },
      },
      refused: 0,
    })
    expect(net.core('c').status()).toMatchObject({
      id: 'c',
      role: 'follower',
      leader: 'a',
      term: 1,
      commit: 2,
      applied: 2,
      lastIndex: 2,
      progress: {},
    })
  })

  it('ready() hands out at most maxApplyPerReady committed entries at a time, in order', () => {
    const a = new RaftCore(
      { id: 'a', random: seededRandom(3), maxApplyPerReady: 2 },
      { config: { voters: ['a'], learners: [] } },
    )
    for (let i = 0; i < 20 && a.status().role !== 'leader'; i++) a.tick()
    for (let i = 0; i < 4; i++) a.propose(data(`v${i}`))
    const batches: number[][] = []
    while (a.hasReady()) {
      const rd = a.ready()
      batches.push(rd.committed.map((e) => e.index))
      a.advance(rd)
    }
    expect(batches).toEqual([[1, 2], [3, 4], [5]])
    expect(a.status().applied).toBe(5)
  })

  it('readIndex() refuses new reads once maxPendingReads are pending', () => {
    const net = cluster({ maxPendingReads: 2 })
    net.isolate('a')
    expect(net.core('a').readIndex('r1')).toBe(true)
    expect(net.core('a').readIndex('r2')).toBe(true)
    expect(net.core('a').readIndex('r3')).toBe(false)
    net.recover()
    net.tickAll(1)
    expect(net.node('a').readStates.map((r) => r.ctx)).toEqual(['r1', 'r2'])
    expect(net.core('a').readIndex('r3')).toBe(true)
  })

  it('ready() reports soft state changes only when they change', () => {
    const a = new RaftCore({ id: 'a', random: seededRandom(3) }, { config: { voters: ['a'], learners: [] } })
    for (let i = 0; i < 20 && a.status().role !== 'leader'; i++) a.tick()
    const rd = a.ready()
    expect(rd.softState).toEqual({ role: 'leader', leader: 'a', term: 1 })
    expect(rd.committed.map((e) => e.kind)).toEqual(['noop'])
    a.advance(rd)
    a.tick()
    expect(a.hasReady()).toBe(false)
  })
})
