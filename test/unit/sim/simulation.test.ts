import { describe, expect, it } from 'vitest'
import { type NodeContext, type SimNode, Simulation, type SimulationOptions } from '../../../src/sim/index.js'

interface Ping {
  readonly kind: 'ping' | 'pong'
  readonly n: number
}

/** Pings a random peer every 10–20 ms (its own random stream), answers pings, persists a count of pongs. */
class PingNode implements SimNode<Ping> {
  readonly received: Array<{ from: string; msg: Ping; at: number }> = []
  memory = 0
  stopped = false
  private sent = 0

  constructor(
    readonly ctx: NodeContext<Ping>,
    private readonly peers: readonly string[],
    private readonly trace?: string[],
  ) {
    this.schedule()
  }

  receive(from: string, msg: Ping): void {
    this.received.push({ from, msg, at: this.ctx.clock.now() })
    this.trace?.push(`${this.ctx.clock.now().toFixed(6)} ${from}->${this.ctx.id} ${msg.kind}${msg.n}`)
    if (msg.kind === 'ping') this.ctx.send(from, { kind: 'pong', n: msg.n })
    else {
      this.memory++
      this.ctx.disk.set('pongs', (this.ctx.disk.get<number>('pongs') ?? 0) + 1)
    }
  }

  stop(): void {
    this.stopped = true
  }

  private schedule(): void {
    this.ctx.timer.setTimeout(
      () => {
        const others = this.peers.filter((p) => p !== this.ctx.id)
        const to = others[this.ctx.random.int(others.length)] as string
        this.ctx.send(to, { kind: 'ping', n: this.sent++ })
        this.schedule()
      },
      10 + this.ctx.random.next() * 10,
    )
  }
}

const IDS = ['a', 'b', 'c', 'd', 'e']

function pingSim(seed: number, options: Partial<SimulationOptions<Ping, PingNode>> = {}, trace?: string[]) {
  const sim = new Simulation<Ping, PingNode>({
    seed,
    createNode: (ctx) => new PingNode(ctx, IDS, trace),
    ...options,
  })
  for (const id of IDS) sim.addNode(id)
  return sim
}

/** A node that does nothing by itself: the test drives it through its context. */
class Passive implements SimNode<string> {
  readonly inbox: string[] = []
  stopped = false
  constructor(readonly ctx: NodeContext<string>) {}
  receive(from: string, msg: string): void {
    this.inbox.push(`${from}:${msg}`)
  }
  stop(): void {
    this.stopped = true
  }
}

function passiveSim(ids: readonly string[] = ['a', 'b'], delayMs = 10) {
  const sim = new Simulation<string, Passive>({
    seed: 1,
    createNode: (ctx) => new Passive(ctx),
    network: { minDelayMs: delayMs, maxDelayMs: delayMs },
  })
  for (const id of ids) sim.addNode(id)
  const node = (id: string) => {
    const n = sim.node(id)
    if (n === undefined) throw new Error(`${id} is down`)
    return n
  }
  return { sim, node }
}

describe('Simulation determinism', () => {
  const faulty: Partial<SimulationOptions<Ping, PingNode>> = {
    network: { loss: 0.1, duplicate: 0.05, reorder: 0.1, delayDistribution: 'long-tail', maxDelayMs: 30 },
  }

  it('replays the same trace of deliveries from the same seed', () => {
    const run = (seed: number) => {
      const trace: string[] = []
      const sim = pingSim(seed, faulty, trace)
      sim.runFor(2000)
      sim.crash('c')
      sim.network.partition([['a', 'b'], ['c', 'd', 'e']])
      sim.runFor(500)
      sim.restart('c')
      sim.network.heal()
      sim.runFor(500)
      return { trace, events: sim.events, stats: sim.network.stats() }
    }
    const first = run(42)
    expect(first.trace.length).toBeGreaterThan(500)
    expect(run(42)).toEqual(first)
    const other = run(43)
    expect(other.trace).not.toEqual(first.trace)
  })

  it('gives every node its own stream, unaffected by other nodes, and a new one at each restart', () => {
    const draws = (ids: readonly string[]) => {
      const sim = new Simulation<string, Passive>({ seed: 5, createNode: (ctx) => new Passive(ctx) })
      for (const id of ids) sim.addNode(id)
      return sim
    }
    const alone = draws(['a']).node('a')?.ctx.random.next()
    const sim = draws(['z', 'a'])
    expect(sim.node('a')?.ctx.random.next()).toBe(alone)
    expect(sim.node('z')?.ctx.random.next()).not.toBe(alone)
    sim.crash('a')
    sim.restart('a')
    expect(sim.node('a')?.ctx.incarnation).toBe(1)
    expect(sim.node('a')?.ctx.random.next()).not.toBe(alone)
  })

  it('is not shifted by draws from sim.random or a named stream', () => {
    const run = (drawFirst: boolean) => {
      const trace: string[] = []
      const sim = pingSim(9, faulty, trace)
      if (drawFirst) {
        sim.random.next()
        sim.randomStream('workload').next()
      }
      sim.runFor(500)
      return trace
    }
    expect(run(true)).toEqual(run(false))
  })
})

describe('Simulation nodes', () => {
  it('runs ping-pong among five nodes', () => {
    const sim = pingSim(1)
    sim.runFor(1000)
    for (const id of IDS) {
      const node = sim.node(id)
      expect(node?.received.filter((r) => r.msg.kind === 'pong').length).toBeGreaterThan(30)
    }
    expect(sim.now).toBe(1000)
    expect(sim.events).toBeGreaterThan(sim.network.stats().delivered)
  })

  it('crash drops the node’s timers and what is in flight to it, and calls stop', () => {
    const { sim, node } = passiveSim()
    const a = node('a')
    const b = node('b')
    let fired = 0
    b.ctx.timer.setTimeout(() => fired++, 20)
    a.ctx.send('b', 'early')
    sim.runFor(5)
    const pendingBefore = sim.pending
    sim.crash('b')
    expect(b.stopped).toBe(true)
    expect(sim.pending).toBe(pendingBefore - 1)
    expect(sim.isUp('b')).toBe(false)
    expect(sim.node('b')).toBeUndefined()
    sim.runFor(1)
    sim.restart('b')
    sim.runFor(100)
    expect(fired).toBe(0)
    expect(b.inbox).toEqual([])
    expect(node('b').inbox).toEqual([])
    expect(sim.network.stats().dropped.down).toBe(1)
    // The restarted node does get new messages.
    a.ctx.send('b', 'late')
    sim.runFor(100)
    expect(node('b').inbox).toEqual(['a:late'])
  })

  it('delivers what a crashed node sent before its crash, and ignores what its stale context does after', () => {
    const { sim, node } = passiveSim()
    const a = node('a')
    a.ctx.send('b', 'before')
    sim.crash('a')
    a.ctx.send('b', 'after')
    let fired = false
    const cancel = a.ctx.timer.setTimeout(() => (fired = true), 1)
    expect(() => a.ctx.disk.set('k', 1)).toThrow(expect.objectContaining({ name: 'StorageError' }))
    sim.runFor(100)
    expect(node('b').inbox).toEqual(['a:before'])
    expect(fired).toBe(false)
    cancel()
    expect(sim.network.stats().sent).toBe(1)
  })

  it('restart sees the disk but not the memory, and the disk keeps copies', () => {
    const sim = pingSim(3)
    sim.runFor(500)
    const before = sim.node('a')
    expect(before?.memory).toBeGreaterThan(0)
    expect(sim.disk('a').get('pongs')).toBe(before?.memory)
    sim.crash('a')
    expect(sim.disk('a').get('pongs')).toBe(before?.memory)
    const after = sim.restart('a')
    expect(after).not.toBe(before)
    expect(after.memory).toBe(0)
    expect(after.ctx.disk.get('pongs')).toBe(before?.memory)

    const obj = { list: [1, 2] }
    after.ctx.disk.set('obj', obj)
    obj.list.push(3)
    const read = after.ctx.disk.get<{ list: number[] }>('obj')
    expect(read).toEqual({ list: [1, 2] })
    read?.list.push(4)
    expect(after.ctx.disk.get('obj')).toEqual({ list: [1, 2] })
  })

  it('lets a node send and set timers from its constructor', () => {
    const sim = new Simulation<string, SimNode<string>>({
      seed: 1,
      createNode: (ctx) => {
        if (ctx.id === 'a') {
          ctx.send('b', 'hello')
          ctx.timer.setTimeout(() => ctx.send('b', 'tick'), 50)
        }
        const inbox: string[] = []
        return { receive: (_from, msg) => inbox.push(msg), inbox }
      },
    })
    sim.addNode('b')
    sim.addNode('a')
    sim.runFor(100)
    expect((sim.node('b') as unknown as { inbox: string[] }).inbox).toEqual(['hello', 'tick'])
  })

  it('drops messages to ids it does not know', () => {
    const { sim, node } = passiveSim()
    node('a').ctx.send('nobody', 'x')
    sim.runFor(100)
    expect(sim.network.stats().dropped.down).toBe(1)
  })

  it('rejects duplicate and unknown ids', () => {
    const { sim } = passiveSim()
    const invalid = expect.objectContaining({ name: 'InvalidOptionError' })
    expect(() => sim.addNode('a')).toThrow(invalid)
    expect(() => sim.crash('zz')).toThrow(invalid)
    expect(() => sim.restart('zz')).toThrow(invalid)
    expect(() => new Simulation({ seed: 0.5, createNode: (ctx) => new Passive(ctx) })).toThrow(invalid)
  })

  it('lists ids in the order added, split by state; crash and restart are idempotent', () => {
    const { sim } = passiveSim(['c', 'a', 'b'])
    sim.crash('a')
    sim.crash('a')
    expect(sim.ids()).toEqual(['c', 'a', 'b'])
    expect(sim.upIds()).toEqual(['c', 'b'])
    expect(sim.downIds()).toEqual(['a'])
    const b = sim.node('b')
    expect(sim.restart('b')).toBe(b)
  })
})

describe('Simulation running', () => {
  it('runUntil stops at the event that makes the predicate true', () => {
    const { sim, node } = passiveSim(['a', 'b'], 10)
    node('a').ctx.send('b', 'x')
    node('a').ctx.timer.setTimeout(() => node('a').ctx.send('b', 'y'), 30)
    expect(sim.runUntil(() => node('b').inbox.length > 0, { maxMs: 1000 })).toBe(true)
    expect(sim.now).toBe(10)
    expect(node('b').inbox).toEqual(['a:x'])
    // The rest is still pending and runs later.
    expect(sim.runUntil(() => node('b').inbox.length > 1, { maxMs: 1000 })).toBe(true)
    expect(sim.now).toBe(40)
  })

  it('runUntil returns false after maxMs, and true at once if the predicate already holds', () => {
    const { sim } = passiveSim()
    const events = sim.events
    expect(sim.runUntil(() => true, { maxMs: 100 })).toBe(true)
    expect(sim.now).toBe(0)
    expect(sim.runUntil(() => false, { maxMs: 250 })).toBe(false)
    expect(sim.now).toBe(250)
    expect(sim.events).toBe(events)
  })

  it('step runs exactly one event, however far away', () => {
    const { sim, node } = passiveSim()
    expect(sim.step()).toBe(false)
    node('a').ctx.timer.setTimeout(() => node('a').ctx.send('b', 'x'), 500)
    node('a').ctx.timer.setTimeout(() => undefined, 500)
    expect(sim.step()).toBe(true)
    expect(sim.now).toBe(500)
    expect(sim.events).toBe(1)
    expect(sim.pending).toBe(2)
    expect(sim.step()).toBe(true)
    expect(sim.step()).toBe(true)
    expect(sim.now).toBe(510)
    expect(node('b').inbox).toEqual(['a:x'])
    expect(sim.step()).toBe(false)
  })

  it('calls onEvent after every event until unsubscribed; a throwing check stops the run at that event', () => {
    const sim = pingSim(2)
    let calls = 0
    const off = sim.onEvent((s) => {
      expect(s).toBe(sim)
      calls++
    })
    sim.runFor(200)
    expect(calls).toBe(sim.events)
    off()
    sim.runFor(200)
    expect(calls).toBeLessThan(sim.events)

    const fresh = pingSim(2)
    fresh.onEvent((s) => {
      if (s.network.stats().delivered >= 10) throw new Error(`invariant broken at ${s.now}`)
    })
    expect(() => fresh.runFor(10_000)).toThrow(/invariant broken at/)
    expect(fresh.network.stats().delivered).toBe(10)
    expect(fresh.now).toBeLessThan(10_000)
  })

  it('refuses to run from inside an event', () => {
    const { sim } = passiveSim()
    let error: unknown
    sim.timer.setTimeout(() => {
      try {
        sim.runFor(1)
      } catch (err) {
        error = err
      }
    }, 5)
    sim.runFor(10)
    expect(error).toMatchObject({ name: 'InvalidOptionError' })
  })

  it('counts sim.timer callbacks as events', () => {
    const { sim } = passiveSim()
    let at = -1
    sim.timer.setTimeout(() => (at = sim.now), 7)
    expect(sim.step()).toBe(true)
    expect(at).toBe(7)
    expect(sim.events).toBe(1)
  })
})
