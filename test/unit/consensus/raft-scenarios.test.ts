/**
 * The hard cases, as whole scenarios on the synchronous network: partitions while clients keep writing, nodes that
 * come back with stale and conflicting logs, leadership transfer during replication, a membership change when the
 * leader crashes, snapshots that race with new entries, and a seeded random schedule of all of these. A monitor checks
 * the safety properties of the paper's Figure 3 after every step.
 */
import { describe, expect, it } from 'vitest'
import type { Entry, NodeId } from '../../../src/consensus/raft/types.js'
import { seededRandom } from '../../../src/runtime/random.js'
import { data, RaftNet, type NetOptions } from '../../support/raft-net.js'

const dec = new TextDecoder()

function describeEntry(e: Entry): string {
  const body = e.kind === 'normal' ? dec.decode(e.data) : e.kind === 'config' ? JSON.stringify(e.config) : ''
  return `${e.term}/${e.kind}/${body}`
}

/**
 * Figure 3's safety properties, checked over the live nodes: Election Safety (one leader per term), Log Matching on
 * committed prefixes, State Machine Safety (no two nodes ever apply different entries at one index), and a leader
 * never has more than one uncommitted configuration entry.
 */
class Monitor {
  private readonly leaders = new Map<number, NodeId>()
  private readonly applied = new Map<number, string>()
  /** Per pair of nodes, the committed prefix already compared (committed entries never change). */
  private readonly matchedTo = new Map<string, number>()
  checks = 0

  constructor(private readonly net: RaftNet) {}

  /** Plain checks rather than expect(): this runs thousands of times per test. */
  check(): void {
    this.checks++
    const live = [...this.net.nodes.entries()].filter(([id]) => !this.net.isDown(id))
    for (const [id, n] of live) {
      const s = n.core.status()
      if (s.role === 'leader') {
        const prev = this.leaders.get(s.term)
        if (prev !== undefined && prev !== id) fail(`two leaders in term ${s.term}: ${prev} and ${id}`)
        this.leaders.set(s.term, id)
        let pendingConfigs = 0
        for (let i = s.commit + 1; i <= s.lastIndex; i++) if (n.core.entry(i)?.kind === 'config') pendingConfigs++
        if (pendingConfigs > 1) fail(`${id} has ${pendingConfigs} configuration changes in flight`)
      }
      for (const e of n.appliedEntries) {
        const key = describeEntry(e)
        const prev = this.applied.get(e.index)
        if (prev !== undefined && prev !== key) fail(`index ${e.index} applied as ${prev} and as ${key} (${id})`)
        this.applied.set(e.index, key)
      }
    }
    for (const [idA, a] of live) {
      for (const [idB, b] of live) {
        if (idA >= idB) continue
        const sa = a.core.status()
        const sb = b.core.status()
        const pair = `${idA}|${idB}`
        const hi = Math.min(sa.commit, sb.commit)
        const from = Math.max(sa.snapshotIndex, sb.snapshotIndex, this.matchedTo.get(pair) ?? 0) + 1
        for (let i = from; i <= hi; i++) {
          if (a.core.entry(i)?.term !== b.core.entry(i)?.term) fail(`committed entry ${i} differs on ${idA} and ${idB}`)
        }
        this.matchedTo.set(pair, Math.max(hi, this.matchedTo.get(pair) ?? 0))
      }
    }
  }

  tick(n = 1): void {
    for (let i = 0; i < n; i++) {
      this.net.tickAll(1)
      this.check()
    }
  }

  tickUntil(done: () => boolean, max = 500): void {
    for (let i = 0; i < max && !done(); i++) this.tick()
    expect(done(), 'condition not reached').toBe(true)
  }
}

function fail(message: string): never {
  expect.fail(message)
}

function leaderAmong(net: RaftNet, ids: readonly NodeId[]): NodeId | null {
  return ids.find((id) => !net.isDown(id) && net.core(id).status().role === 'leader') ?? null
}

function values(net: RaftNet, id: NodeId): string[] {
  return net.node(id).applied
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

describe('raft scenarios', () => {
  it('a leader partitioned into the minority keeps taking writes that never commit; on heal they vanish everywhere', () => {
    const ids = ['a', 'b', 'c', 'd', 'e']
    const net = new RaftNet(ids)
    const mon = new Monitor(net)
    net.campaign('a')
    net.propose('a', 'base')
    // {a, b} | {c, d, e}
    for (const x of ['a', 'b']) for (const y of ['c', 'd', 'e']) net.cut(x, y)
    const stale: { index: number; term: number }[] = []
    for (const w of ['w1', 'w2', 'w3']) {
      const r = net.propose('a', w)
      expect(r.ok).toBe(true)
      if (r.ok) stale.push({ index: r.index, term: r.term })
    }
    expect(net.core('b').status().lastIndex).toBe(stale[2]?.index)
    expect(net.core('a').status().commit).toBe(2)
    mon.tickUntil(() => leaderAmong(net, ['c', 'd', 'e']) !== null)
    const leader = leaderAmong(net, ['c', 'd', 'e']) as NodeId
    for (const v of ['n1', 'n2', 'n3']) expect(net.propose(leader, v).ok).toBe(true)
    mon.tick(3)
    // Clients of the old leader keep writing to it until it steps down (CheckQuorum); none of it commits.
    expect(net.core('a').status().commit).toBe(2)
    mon.tickUntil(() => net.core('a').status().role !== 'leader', 30)
    expect(net.propose('a', 'w4')).toMatchObject({ ok: false, reason: 'notLeader' })
    net.recover()
    mon.tick(5)
    for (const id of ids) {
      expect(values(net, id), id).toEqual(['base', 'n1', 'n2', 'n3'])
      for (const s of stale) expect(net.core(id).entry(s.index)?.term, id).not.toBe(s.term)
    }
    expect(net.leader()).toBe(leader)
  })

  it('a node that rejoins several terms behind with conflicting uncommitted entries is repaired without disruption', () => {
    const net = new RaftNet(['a', 'b', 'c'])
    const mon = new Monitor(net)
    net.campaign('c')
    net.propose('c', 'c0')
    // c, cut off, takes writes nobody else sees, then crashes.
    net.isolate('c')
    for (const u of ['u1', 'u2', 'u3']) expect(net.propose('c', u).ok).toBe(true)
    const cLog = net.core('c').status().lastIndex
    net.crash('c')
    net.recover()
    // a and b go through several terms, committing as they go.
    mon.tickUntil(() => net.leader() !== null)
    const committed = ['c0']
    for (let round = 0; round < 4; round++) {
      const leader = net.leader() as NodeId
      const v = `t${round}`
      expect(net.propose(leader, v).ok).toBe(true)
      committed.push(v)
      const other = leader === 'a' ? 'b' : 'a'
      expect(net.core(leader).transferLeadership(other).ok).toBe(true)
      net.deliverAll()
      mon.check()
      expect(net.leader()).toBe(other)
    }
    const leader = net.leader() as NodeId
    const term = net.core(leader).status().term
    expect(term).toBeGreaterThanOrEqual(5)
    expect(net.core('a').status().lastIndex).toBeGreaterThanOrEqual(cLog)
    net.restart('c')
    expect(net.core('c').status().term).toBe(1)
    mon.tick(5)
    expect(values(net, 'c')).toEqual(committed)
    expect(net.core('c').status()).toMatchObject({ term, leader, lastIndex: net.core(leader).status().lastIndex })
    // The leader and its term did not change: the stale node disrupted nothing.
    expect(net.leader()).toBe(leader)
    expect(net.core(leader).status().term).toBe(term)
  })

  it('a leadership transfer during replication commits every earlier proposal exactly once', () => {
    const net = new RaftNet(['a', 'b', 'c'], { maxEntriesPerAppend: 2 })
    const mon = new Monitor(net)
    net.campaign('a')
    // b is behind: it misses the first half of the proposals.
    net.cut('a', 'b')
    const proposed: string[] = []
    for (let i = 0; i < 5; i++) {
      const v = `p${i}`
      expect(net.propose('a', v).ok).toBe(true)
      proposed.push(v)
    }
    net.recover()
    // The rest are still in a's log only when the transfer starts.
    for (let i = 5; i < 10; i++) {
      const v = `p${i}`
      expect(net.core('a').propose(data(v)).ok).toBe(true)
      proposed.push(v)
    }
    expect(net.core('a').transferLeadership('b').ok).toBe(true)
    expect(net.core('a').propose(data('late'))).toMatchObject({ ok: false, reason: 'transferring' })
    net.deliverAll()
    mon.check()
    expect(net.leader()).toBe('b')
    expect(net.propose('b', 'q').ok).toBe(true)
    mon.tick(3)
    for (const id of ['a', 'b', 'c']) expect(values(net, id), id).toEqual([...proposed, 'q'])
  })

  it('a transfer whose target crashes before it campaigns leaves the group able to elect and commit', () => {
    const net = new RaftNet(['a', 'b', 'c'])
    const mon = new Monitor(net)
    net.campaign('a')
    net.propose('a', 'x')
    net.dropIf = (m) => {
      if (m.type === 'timeoutNow') net.crash('b')
      return m.type === 'timeoutNow'
    }
    expect(net.core('a').transferLeadership('b').ok).toBe(true)
    net.deliverAll()
    expect(net.isDown('b')).toBe(true)
    net.dropIf = null
    let accepted = false
    mon.tickUntil(() => (accepted ||= net.core('a').propose(data('y')).ok), 30)
    mon.tick(2)
    net.restart('b')
    mon.tick(3)
    for (const id of ['a', 'b', 'c']) expect(values(net, id), id).toEqual(['x', 'y'])
  })

  it('a membership change the crashed leader had sent to one follower commits under the new leader', () => {
    const net = new RaftNet(['a', 'b', 'c'])
    const mon = new Monitor(net)
    net.campaign('a')
    net.propose('a', 'x')
    net.addNode('d')
    net.addNode('e')
    // The config entry reaches b (not c); a never hears b's answer.
    net.dropIf = (m) => (m.type === 'appendResponse' && m.to === 'a') || (m.type === 'append' && m.to === 'c')
    const r = net.core('a').proposeConfigChange({ type: 'addLearner', node: 'd' })
    net.deliverAll()
    expect(r.ok).toBe(true)
    const index = r.ok ? r.index : -1
    expect(net.core('b').entry(index)?.kind).toBe('config')
    expect(net.core('a').status().commit).toBeLessThan(index)
    net.crash('a')
    // b must win (c's log is shorter). Hold b's noop uncommitted for a moment to try a second change.
    net.dropIf = (m) => m.type === 'appendResponse'
    mon.tickUntil(() => net.leader() !== null)
    expect(net.leader()).toBe('b')
    mon.check()
    expect(net.core('b').status().config.learners).toEqual(['d'])
    expect(net.core('b').proposeConfigChange({ type: 'addLearner', node: 'e' })).toMatchObject({
      ok: false,
      reason: 'configPending',
    })
    net.dropIf = null
    mon.tick(2)
    expect(net.core('b').status().commit).toBeGreaterThan(index)
    expect(net.core('b').proposeConfigChange({ type: 'addLearner', node: 'e' }).ok).toBe(true)
    net.deliverAll()
    mon.tick(2)
    net.restart('a')
    mon.tick(3)
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      expect(net.core(id).status().config, id).toEqual({ voters: ['a', 'b', 'c'], learners: ['d', 'e'] })
      expect(values(net, id), id).toEqual(['x'])
    }
  })

  it('a membership change only the crashed leader had is discarded consistently', () => {
    const net = new RaftNet(['a', 'b', 'c'])
    const mon = new Monitor(net)
    net.campaign('a')
    net.propose('a', 'x')
    net.addNode('d')
    net.cut('a', 'b')
    net.cut('a', 'c')
    const r = net.core('a').proposeConfigChange({ type: 'addLearner', node: 'd' })
    net.deliverAll()
    expect(r.ok).toBe(true)
    const index = r.ok ? r.index : -1
    expect(net.core('a').status().config.learners).toEqual(['d'])
    net.crash('a')
    net.recover()
    mon.tickUntil(() => net.leader() !== null)
    const leader = net.leader() as NodeId
    mon.tick(2)
    expect(net.propose(leader, 'y').ok).toBe(true)
    // Nothing holds the old change back: the new leader may make its own.
    expect(net.core(leader).proposeConfigChange({ type: 'remove', node: 'd' })).toMatchObject({
      ok: false,
      reason: 'invalid',
    })
    net.restart('a')
    expect(net.core('a').status().config.learners).toEqual(['d'])
    mon.tick(3)
    for (const id of ['a', 'b', 'c']) {
      expect(net.core(id).status().config, id).toEqual({ voters: ['a', 'b', 'c'], learners: [] })
      expect(net.core(id).entry(index)?.kind, id).not.toBe('config')
      expect(values(net, id), id).toEqual(['x', 'y'])
    }
  })

  it('a snapshot sent to a lagging follower while new entries keep arriving (and the leader compacts again)', () => {
    const net = new RaftNet(['a', 'b', 'c'], { snapshotChunkBytes: 16 })
    const mon = new Monitor(net)
    net.campaign('a')
    net.crash('c')
    for (let i = 0; i < 20; i++) net.propose('a', `v${i}`)
    net.compact('a')
    const firstSnapshot = net.core('a').status().snapshotIndex
    net.restart('c')
    // At most one chunk gets through per tick, so the transfer spans many ticks, each with a new proposal.
    let chunkThisTick = false
    const chunks: { index: number; offset: number }[] = []
    net.dropIf = (m) => {
      if (m.type !== 'snapshot' || m.to !== 'c') return false
      if (chunkThisTick) return true
      chunkThisTick = true
      chunks.push({ index: m.meta.index, offset: m.offset })
      return false
    }
    let n = 20
    let compactedAgain = false
    for (let t = 0; t < 200 && values(net, 'c').length < values(net, 'a').length; t++) {
      chunkThisTick = false
      expect(net.propose('a', `v${n++}`).ok).toBe(true)
      if (!compactedAgain && chunks.length === 3) {
        net.compact('a')
        compactedAgain = true
      }
      mon.tick()
    }
    expect(compactedAgain).toBe(true)
    const second = net.core('a').status().snapshotIndex
    expect(second).toBeGreaterThan(firstSnapshot)
    // The transfer started over with the newer snapshot, from offset 0.
    expect(chunks.filter((c) => c.index === firstSnapshot).map((c) => c.offset)).toEqual([0, 16, 32])
    expect(chunks.find((c) => c.index === second)?.offset).toBe(0)
    expect(net.node('c').snapshotsInstalled).toBe(1)
    expect(net.core('c').status().snapshotIndex).toBe(second)
    mon.tick(2)
    expect(values(net, 'c')).toEqual(values(net, 'a'))
    expect(values(net, 'c')).toHaveLength(n)
  })

  describe('seeded random schedules (partitions, loss, crashes, restarts, compaction, transfers, membership)', () => {
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8]
    const variants: [string, ChaosOptions][] = [
      ['defaults', { net: {}, membership: true, loss: true }],
      // Without CheckQuorum there is no lease, so a removed server could disrupt forever (§4.2.3): no membership.
      [
        'no PreVote, no CheckQuorum',
        { net: { preVote: false, checkQuorum: false, snapshotChunkBytes: 32 }, membership: false, loss: true },
      ],
      [
        'tiny windows',
        { net: { maxInflight: 2, maxEntriesPerAppend: 2, snapshotChunkBytes: 8 }, membership: true, loss: false },
      ],
    ]
    for (const [name, options] of variants) {
      for (const seed of seeds) {
        it(`${name}, seed ${seed}: safe throughout, and converges once healed`, () => chaos(seed, options))
      }
    }
  })
})

interface ChaosOptions {
  readonly net: NetOptions
  /** Random learner additions, promotions and removals (of any node but the leader). */
  readonly membership: boolean
  /** Phases in which 10% of messages are lost. */
  readonly loss: boolean
}

function chaos(seed: number, options: ChaosOptions): void {
  const initial = ['a', 'b', 'c', 'd', 'e']
  const all = [...initial, 'f']
  const net = new RaftNet(initial, options.net)
  net.addNode('f')
  const mon = new Monitor(net)
  const rnd = seededRandom(seed)
  const pick = (): NodeId => all[rnd.int(all.length)] as NodeId
  const proposed = new Set<string>()
  // ReadIndex linearizability: a read must see at least everything committed anywhere before it was asked.
  const reads = new Map<string, number>()
  let served = 0
  const readsChecked = new Map<NodeId, number>()
  const maxCommit = (): number => Math.max(...all.map((id) => net.core(id).status().commit))
  const checkReads = (): void => {
    for (const id of all) {
      const states = net.node(id).readStates
      for (let k = readsChecked.get(id) ?? 0; k < states.length; k++) {
        const rs = states[k] as { ctx: string; index: number }
        const floor = reads.get(rs.ctx)
        if (floor === undefined || rs.index < floor) fail(`read ${rs.ctx} at ${rs.index} misses commit ${floor}`)
        served++
      }
      readsChecked.set(id, states.length)
    }
  }
  let lossy = false
  let next = 0
  for (let step = 0; step < 400; step++) {
    const r = rnd.int(100)
    if (r < 4) net.cut(pick(), pick())
    else if (r < 6) net.recover()
    else if (r < 8) {
      if (all.filter((x) => net.isDown(x)).length < 2) net.crash(pick())
    } else if (r < 11) {
      for (const id of all) if (net.isDown(id)) net.restart(id)
    } else if (r < 13) {
      const id = pick()
      if (!net.isDown(id)) net.compact(id)
    } else if (r < 14) {
      const l = net.leader()
      if (l !== null) net.core(l).transferLeadership(pick())
    } else if (r < 17 && options.membership) {
      const l = net.leader()
      const x = pick()
      if (l !== null && x !== l) {
        const { voters, learners } = net.core(l).status().config
        if (learners.includes(x)) net.core(l).proposeConfigChange({ type: 'promote', node: x })
        else if (!voters.includes(x)) net.core(l).proposeConfigChange({ type: 'addLearner', node: x })
        else if (voters.length > 3) net.core(l).proposeConfigChange({ type: 'remove', node: x })
      }
    } else if (r < 19 && options.loss) {
      lossy = !lossy
    }
    net.dropIf = lossy ? () => rnd.int(10) === 0 : null
    const l = net.leader()
    if (l !== null && rnd.int(2) === 0) {
      const v = `s${seed}-${next++}`
      if (net.core(l).propose(data(v)).ok) proposed.add(v)
    }
    if (rnd.int(4) === 0) {
      const id = pick()
      const ctx = `r${step}`
      if (!net.isDown(id)) {
        const floor = maxCommit()
        if (net.core(id).readIndex(ctx)) reads.set(ctx, floor)
      }
    }
    net.deliverAll()
    mon.tick()
    checkReads()
  }
  expect(served).toBeGreaterThan(0)
  // Heal everything. Offer one final write to each leader that appears (a stale one, or one about to lose its
  // quorum, may lose it) until every member of the leader's configuration has applied the same history, ending with
  // a final write.
  net.recover()
  for (const id of all) if (net.isDown(id)) net.restart(id)
  const offered = new Set<string>()
  let group: NodeId[] = []
  const converged = (): boolean => {
    const l = net.leader()
    if (l === null) return false
    const { voters, learners } = net.core(l).status().config
    group = [...voters, ...learners]
    const ref = values(net, l)
    return ref.at(-1)?.startsWith('final') === true && group.every((id) => sameValues(values(net, id), ref))
  }
  mon.tickUntil(() => {
    const l = net.leader()
    const key = l === null ? '' : `${l}@${net.core(l).status().term}`
    if (l !== null && !offered.has(key) && net.core(l).propose(data(`final${offered.size}`)).ok) offered.add(key)
    return converged()
  }, 600)
  expect(group.length).toBeGreaterThanOrEqual(3)
  const reference = values(net, group[0] as NodeId)
  expect(new Set(reference).size, 'a value applied twice').toBe(reference.length)
  for (const v of reference) expect(proposed.has(v) || v.startsWith('final'), v).toBe(true)
  expect(mon.checks).toBeGreaterThanOrEqual(400)
}
