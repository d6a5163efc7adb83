/**
 * The SWIM core on a synchronous in-memory network (messages arrive within the tick they were sent), in the style of
 * etcd-io/raft's tests: the network can cut links and take members down. § references are to the SWIM paper.
 */
import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../../src/runtime/random.js'
import {
  SwimCore,
  overrides,
  type MemberChange,
  type MemberId,
  type Outgoing,
  type Rejection,
  type SwimMessage,
  type SwimOptions,
  type SwimState,
} from '../../../src/membership/swim/index.js'

class TestNet {
  readonly cores = new Map<MemberId, SwimCore>()
  readonly changes = new Map<MemberId, MemberChange[]>()
  readonly rejections: Rejection[] = []
  readonly log: Array<{ from: MemberId } & Outgoing> = []
  readonly down = new Set<MemberId>()
  private readonly cut = new Set<string>()

  constructor(
    ids: readonly MemberId[],
    private readonly options: Partial<SwimOptions> = {},
  ) {
    ids.forEach((id, i) => this.add(id, i + 1))
  }

  add(id: MemberId, seed: number): SwimCore {
    const core = new SwimCore({ ...this.options, id, random: seededRandom(seed) })
    this.cores.set(id, core)
    this.changes.set(id, [])
    return core
  }

  core(id: MemberId): SwimCore {
    const core = this.cores.get(id)
    if (core === undefined) throw new Error(`no core ${id}`)
    return core
  }

  /** Drops every message between a and b, both ways. */
  cutBoth(a: MemberId, b: MemberId): void {
    this.cut.add(`${a}>${b}`)
    this.cut.add(`${b}>${a}`)
  }

  /** Everyone joins through `seed` and the gossip settles. */
  joinAll(seed: MemberId): void {
    for (const [id, core] of this.cores) if (id !== seed) core.join([seed])
    this.flush()
  }

  /** `beforeDelivery` sees the cores after their ticks, before the messages of this tick are delivered. */
  tick(times = 1, beforeDelivery?: () => void): void {
    for (let t = 0; t < times; t++) {
      for (const [id, core] of this.cores) if (!this.down.has(id)) core.tick()
      beforeDelivery?.()
      this.flush()
    }
  }

  /** Delivers until no core has anything to send. */
  flush(): void {
    for (let round = 0; round < 1000; round++) {
      let moved = false
      for (const [from, core] of this.cores) {
        const ready = core.ready()
        this.changes.get(from)?.push(...ready.changes)
        this.rejections.push(...ready.rejections)
        for (const out of ready.messages) {
          moved = true
          this.log.push({ from, ...out })
          if (this.down.has(from) || this.down.has(out.to) || this.cut.has(`${from}>${out.to}`)) continue
          this.cores.get(out.to)?.step(from, out.msg)
        }
      }
      if (!moved) return
    }
    throw new Error('the network did not settle')
  }

  stateOf(observer: MemberId, id: MemberId): SwimState | undefined {
    return this.core(observer)
      .members()
      .find((m) => m.id === id)?.state
  }

  sentOfType(type: SwimMessage['type'], from?: MemberId): number {
    return this.log.filter((m) => m.msg.type === type && (from === undefined || m.from === from)).length
  }
}

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `m${i}`)

describe('SwimCore', () => {
  it('joins through a seed and learns every member', () => {
    const net = new TestNet(ids(5))
    net.joinAll('m0')
    net.tick(40)
    for (const observer of ids(5)) {
      const states = net.core(observer).members()
      expect(states).toHaveLength(5)
      expect(states.every((m) => m.state === 'alive')).toBe(true)
    }
  })

  it('probes one member per period and stays healthy when acks come back (§3.1)', () => {
    const net = new TestNet(ids(3), { periodTicks: 5, probeTimeoutTicks: 2 })
    net.joinAll('m0')
    const before = net.sentOfType('ping', 'm0')
    net.tick(50)
    // 50 ticks = 10 periods: exactly 10 probes, all acked, so no pingReq and no suspicion.
    expect(net.sentOfType('ping', 'm0') - before).toBe(10)
    expect(net.sentOfType('ack', 'm1') + net.sentOfType('ack', 'm2')).toBeGreaterThanOrEqual(10)
    expect(net.sentOfType('pingReq')).toBe(0)
    expect(net.core('m0').stats.localHealth).toBe(0)
    expect(net.changes.get('m0')?.some((c) => c.state === 'suspect')).toBe(false)
  })

  it('an indirect probe rescues a member reachable only through others (§3.1)', () => {
    const net = new TestNet(ids(4))
    net.joinAll('m0')
    net.cutBoth('m0', 'm1')
    net.tick(200)
    expect(net.sentOfType('pingReq', 'm0')).toBeGreaterThan(0)
    expect(net.stateOf('m0', 'm1')).toBe('alive')
    expect(net.stateOf('m1', 'm0')).toBe('alive')
    expect(net.changes.get('m0')?.some((c) => c.id === 'm1' && c.state !== 'alive')).toBe(false)
  })

  it('without helpers a cut member is suspected, then refutes through the others (§4.2)', () => {
    const net = new TestNet(ids(2))
    net.joinAll('m0')
    net.cutBoth('m0', 'm1')
    net.tick(20)
    expect(net.stateOf('m0', 'm1')).toBe('suspect')
  })

  it('a suspect that does not refute is declared dead after the suspicion timeout (§4.2)', () => {
    const net = new TestNet(ids(2), { periodTicks: 5, probeTimeoutTicks: 2 })
    net.joinAll('m0')
    net.tick(5)
    net.down.add('m1')
    let suspectedAt = -1
    let deadAt = -1
    for (let t = 0; t < 500 && deadAt < 0; t++) {
      net.tick()
      const state = net.stateOf('m0', 'm1')
      if (state === 'suspect' && suspectedAt < 0) suspectedAt = t
      if (state === 'dead') deadAt = t
    }
    expect(suspectedAt).toBeGreaterThanOrEqual(0)
    // One lone suspecter: the longest timeout (Lifeguard), measured in ticks.
    const timeout = net.core('m0').suspicionTimeout(0)
    expect(deadAt - suspectedAt).toBeGreaterThanOrEqual(timeout)
    expect(deadAt - suspectedAt).toBeLessThanOrEqual(timeout + 1)
    expect(net.changes.get('m0')?.map((c) => `${c.id}:${c.state}`)).toEqual(['m1:alive', 'm1:suspect', 'm1:dead'])
  })

  it('a suspected member refutes by bumping its incarnation, and alive(i+1) overrides suspect(i) everywhere', () => {
    const net = new TestNet(ids(3))
    net.joinAll('m0')
    // m2 tells m1 that m0 suspects it.
    const suspicion = { id: 'm1', state: 'suspect', incarnation: 0, from: 'm0' } as const
    net.core('m1').step('m2', { type: 'ping', seq: 0, updates: [suspicion] })
    expect(net.core('m1').stats.incarnation).toBe(1)
    expect(net.core('m1').stats.localHealth).toBe(1)
    net.flush()
    net.tick(30)
    for (const observer of ['m0', 'm2']) {
      const m1 = net.core(observer).members().find((m) => m.id === 'm1')
      expect(m1).toEqual({ id: 'm1', state: 'alive', incarnation: 1 })
    }
  })

  it('buddy system: the probe of a suspect carries the suspicion, so it refutes at once (Lifeguard)', () => {
    const net = new TestNet(ids(2))
    net.joinAll('m0')
    const suspicion = { id: 'm1', state: 'suspect', incarnation: 0, from: 'm9' } as const
    net.core('m0').step('m1', { type: 'ack', seq: 99, updates: [suspicion] })
    // m0 suspects m1 (said m9), but m1 has not heard of it; m0's next probe tells it.
    expect(net.stateOf('m0', 'm1')).toBe('suspect')
    net.tick(10)
    expect(net.core('m1').stats.incarnation).toBe(1)
    expect(net.stateOf('m0', 'm1')).toBe('alive')
  })

  it('a member that leaves is marked left everywhere, and is no longer probed', () => {
    const net = new TestNet(ids(6))
    net.joinAll('m0')
    net.tick(20)
    net.core('m3').leave()
    net.flush()
    net.tick(60)
    for (const observer of ['m0', 'm1', 'm2', 'm4', 'm5']) expect(net.stateOf(observer, 'm3')).toBe('left')
    const pingsToM3 = net.log.filter((m) => m.to === 'm3').length
    net.tick(60)
    expect(net.log.filter((m) => m.to === 'm3').length).toBe(pingsToM3)
  })

  it('applies the precedence rules of §4.2', () => {
    const at = (state: SwimState, incarnation: number) => ({ id: 'x', state, incarnation })
    // alive(i) overrides suspect(j) iff i > j
    expect(overrides(at('alive', 2), at('suspect', 1))).toBe(true)
    expect(overrides(at('alive', 1), at('suspect', 1))).toBe(false)
    // suspect(i) overrides alive(j) iff i >= j, suspect(j) iff i > j
    expect(overrides(at('suspect', 1), at('alive', 1))).toBe(true)
    expect(overrides(at('suspect', 0), at('alive', 1))).toBe(false)
    expect(overrides(at('suspect', 1), at('suspect', 1))).toBe(false)
    expect(overrides(at('suspect', 2), at('suspect', 1))).toBe(true)
    // dead and left override anything of lower or equal incarnation; only a newer alive revives
    expect(overrides(at('dead', 1), at('alive', 1))).toBe(true)
    expect(overrides(at('dead', 1), at('suspect', 1))).toBe(true)
    expect(overrides(at('dead', 0), at('suspect', 1))).toBe(false)
    expect(overrides(at('left', 1), at('dead', 1))).toBe(true)
    expect(overrides(at('dead', 1), at('left', 1))).toBe(false)
    expect(overrides(at('suspect', 5), at('dead', 1))).toBe(false)
    expect(overrides(at('alive', 1), at('dead', 1))).toBe(false)
    expect(overrides(at('alive', 2), at('dead', 1))).toBe(true)

    // The same rules through the core: a stale alive does not clear a suspicion.
    const net = new TestNet(ids(2))
    net.joinAll('m0')
    const m0 = net.core('m0')
    m0.step('m1', { type: 'ack', seq: 99, updates: [{ id: 'm1', state: 'suspect', incarnation: 0, from: 'm9' }] })
    m0.step('m1', { type: 'ack', seq: 99, updates: [{ id: 'm1', state: 'alive', incarnation: 0, from: 'm1' }] })
    expect(net.stateOf('m0', 'm1')).toBe('suspect')
    m0.step('m1', { type: 'ack', seq: 99, updates: [{ id: 'm1', state: 'alive', incarnation: 1, from: 'm1' }] })
    expect(net.stateOf('m0', 'm1')).toBe('alive')
  })

  it('disseminates an update to every member by piggybacking, within O(log N) periods (§4.1)', () => {
    const n = 32
    const net = new TestNet(ids(n), { periodTicks: 5, probeTimeoutTicks: 2, maxPiggyback: 4 })
    net.joinAll('m0')
    net.tick(100)
    // Everybody knows everybody, though each only ever talked to the seed at join time.
    for (const observer of ids(n)) expect(net.core(observer).members().length).toBe(n)
    net.down.add('m7')
    let periods = 0
    while (periods < 60 && ids(n).some((o) => o !== 'm7' && net.stateOf(o, 'm7') !== 'dead')) {
      net.tick(5)
      periods++
    }
    expect(ids(n).filter((o) => o !== 'm7' && net.stateOf(o, 'm7') !== 'dead')).toEqual([])
    expect(periods).toBeLessThan(60)
    // The piggyback bound holds on every message.
    const lengths = net.log.map((m) => ('updates' in m.msg && m.msg.type !== 'join' ? m.msg.updates.length : 0))
    expect(Math.max(...lengths)).toBeLessThanOrEqual(5)
  })

  it('rejects forged suspicions and forged claims about the receiver, naming the sender', () => {
    const net = new TestNet(ids(3))
    net.joinAll('m0')
    const m0 = net.core('m0')
    m0.step('m2', { type: 'ping', seq: 5, updates: [{ id: 'm1', state: 'dead', incarnation: 1000, from: 'm2' }] })
    m0.step('m2', { type: 'ping', seq: 6, updates: [{ id: 'm0', state: 'suspect', incarnation: 7, from: 'm2' }] })
    m0.step('m2', { type: 'ping', seq: 7, updates: [{ id: 'm0', state: 'alive', incarnation: 3, from: 'm2' }] })
    expect(m0.stats.rejected).toBe(3)
    expect(m0.stats.incarnation).toBe(0)
    expect(net.stateOf('m0', 'm1')).toBe('alive')
    const ready = m0.ready()
    expect(ready.rejections.map((r) => [r.from, r.reason])).toEqual([
      ['m2', 'incarnationTooHigh'],
      ['m2', 'selfIncarnationTooHigh'],
      ['m2', 'selfIncarnationTooHigh'],
    ])
    // Within the bound, a suspicion is honest enough to act on.
    m0.step('m2', { type: 'ping', seq: 8, updates: [{ id: 'm1', state: 'suspect', incarnation: 3, from: 'm2' }] })
    expect(net.stateOf('m0', 'm1')).toBe('suspect')
  })

  it('Lifeguard: missed acks raise the local-health score and stretch the period; acks lower it', () => {
    const net = new TestNet(ids(2), { periodTicks: 5, probeTimeoutTicks: 2 })
    net.joinAll('m0')
    net.cutBoth('m0', 'm1')
    net.tick(20)
    const health = net.core('m0').stats.localHealth
    expect(health).toBeGreaterThanOrEqual(2)
    // With score s the period is 5·(1 + s) ticks: fewer probes per tick than a healthy member sends.
    const before = net.sentOfType('ping', 'm0')
    net.tick(60)
    expect(net.sentOfType('ping', 'm0') - before).toBeLessThan(60 / 5)
    const off = new TestNet(ids(2), { periodTicks: 5, probeTimeoutTicks: 2, localHealth: false })
    off.joinAll('m0')
    off.cutBoth('m0', 'm1')
    off.tick(80)
    expect(off.sentOfType('ping', 'm0')).toBeGreaterThan(net.sentOfType('ping', 'm0'))
  })

  it('Lifeguard: nacks from helpers tell a dead target from a slow prober', () => {
    /** m0's local-health score right after its first failed probe (before the next probe's ack comes back). */
    const afterFirstFailure = (net: TestNet): number => {
      let health = 0
      for (let t = 0; t < 200 && health === 0; t++) net.tick(1, () => (health = net.core('m0').stats.localHealth))
      return health
    }
    // The target is down but both helpers nack: the failed probe costs one point.
    const deadTarget = new TestNet(ids(4))
    deadTarget.joinAll('m0')
    deadTarget.down.add('m3')
    expect(afterFirstFailure(deadTarget)).toBe(1)
    expect(deadTarget.sentOfType('nack')).toBe(2)
    // We are the problem (cut from everybody): each of the two missing nacks costs one more.
    const isolated = new TestNet(ids(4))
    isolated.joinAll('m0')
    for (const other of ['m1', 'm2', 'm3']) isolated.cutBoth('m0', other)
    expect(afterFirstFailure(isolated)).toBe(3)
  })

  it('Lifeguard: the suspicion timeout falls from max to min as independent suspicions arrive', () => {
    const core = new SwimCore({ id: 'a', random: seededRandom(1), periodTicks: 10, probeTimeoutTicks: 3 })
    const timeouts = [0, 1, 2, 3, 4].map((c) => core.suspicionTimeout(c))
    expect(timeouts[0]).toBe(4 * timeouts[3]!)
    for (let i = 1; i < timeouts.length; i++) expect(timeouts[i]).toBeLessThanOrEqual(timeouts[i - 1]!)
    expect(timeouts[1]).toBeLessThan(timeouts[0]!)
    expect(timeouts[4]).toBe(timeouts[3])
  })

  it('bounds the member table', () => {
    const core = new SwimCore({ id: 'a', random: seededRandom(1), maxMembers: 3 })
    const updates = ids(10).map((id) => ({ id, state: 'alive' as const, incarnation: 0, from: id }))
    core.step('m0', { type: 'sync', members: updates })
    expect(core.members()).toHaveLength(4)
    expect(core.stats.droppedMembers).toBe(0)
    core.step('m0', { type: 'ping', seq: 1, updates: [{ id: 'new', state: 'alive', incarnation: 0, from: 'new' }] })
    expect(core.stats.droppedMembers).toBe(1)
  })
})
