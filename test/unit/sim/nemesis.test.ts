import { describe, expect, it } from 'vitest'
import {
  Nemesis,
  type NemesisOptions,
  type NodeContext,
  type SimNode,
  Simulation,
} from '../../../src/sim/index.js'

/** Sends a heartbeat to every peer every 10 ms and remembers when it last heard from each. */
class Chatty implements SimNode<number> {
  readonly heard = new Map<string, number>()
  constructor(
    private readonly ctx: NodeContext<number>,
    private readonly peers: readonly string[],
  ) {
    this.tick()
  }
  receive(from: string): void {
    this.heard.set(from, this.ctx.clock.now())
  }
  private tick(): void {
    this.ctx.timer.setTimeout(() => {
      for (const p of this.peers) if (p !== this.ctx.id) this.ctx.send(p, 0)
      this.tick()
    }, 10)
  }
}

const IDS = ['n1', 'n2', 'n3', 'n4', 'n5']

function cluster(seed: number) {
  const sim = new Simulation<number, Chatty>({ seed, createNode: (ctx) => new Chatty(ctx, IDS) })
  for (const id of IDS) sim.addNode(id)
  return sim
}

function withNemesis(seed: number, options: NemesisOptions<number, Chatty> = {}) {
  const sim = cluster(seed)
  const nemesis = new Nemesis(sim, { intervalMs: { minMs: 50, maxMs: 200 }, ...options })
  nemesis.start()
  return { sim, nemesis }
}

describe('Nemesis', () => {
  it('takes the same actions at the same times for the same seed, different ones for another seed', () => {
    const run = (seed: number) => {
      const { sim, nemesis } = withNemesis(seed)
      sim.runFor(10_000)
      return { log: nemesis.formatLog(), stats: sim.network.stats() }
    }
    const first = run(11)
    expect(first.log.split('\n').length).toBeGreaterThan(40)
    for (const action of ['partition', 'isolate', 'cut', 'crash', 'restart', 'heal', 'degrade']) {
      expect(first.log).toContain(` ${action}: `)
    }
    expect(run(11)).toEqual(first)
    expect(run(12).log).not.toEqual(first.log)
  })

  it('never has more than maxDown nodes down', () => {
    for (const maxDown of [1, 2]) {
      const { sim, nemesis } = withNemesis(5, { maxDown, weights: { crash: 5, restart: 1 } })
      let mostDown = 0
      sim.onEvent((s) => {
        const down = s.downIds().length
        mostDown = Math.max(mostDown, down)
        expect(down).toBeLessThanOrEqual(maxDown)
      })
      sim.runFor(20_000)
      expect(mostDown).toBe(maxDown)
      expect(nemesis.log.filter((e) => e.action === 'crash').length).toBeGreaterThan(3)
    }
  })

  it('stop() heals the network, restores link faults and restarts every node, then everyone talks again', () => {
    const { sim, nemesis } = withNemesis(7, { maxDown: 2, weights: { heal: 0, restart: 0 } })
    const baseline = sim.network.defaults
    sim.runFor(5000)
    expect(sim.downIds().length).toBeGreaterThan(0)
    expect(IDS.some((a) => IDS.some((b) => !sim.network.connected(a, b)))).toBe(true)

    nemesis.stop()
    expect(nemesis.running).toBe(false)
    expect(sim.downIds()).toEqual([])
    expect(sim.network.defaults).toEqual(baseline)
    for (const a of IDS) for (const b of IDS) expect(sim.network.connected(a, b)).toBe(true)
    expect(nemesis.log.at(-1)?.action).toBe('stop')

    const logLength = nemesis.log.length
    const stoppedAt = sim.now
    sim.runFor(2000)
    expect(nemesis.log).toHaveLength(logLength)
    for (const id of IDS) {
      const node = sim.node(id)
      for (const peer of IDS) if (peer !== id) expect(node?.heard.get(peer)).toBeGreaterThan(stoppedAt)
    }
    nemesis.stop()
    expect(nemesis.log).toHaveLength(logLength + 1)
  })

  it('runs custom actions with the simulation and logs what they return', () => {
    const seen: string[] = []
    const { sim, nemesis } = withNemesis(3, {
      weights: { partition: 0, isolate: 0, cut: 0, crash: 0, restart: 0, heal: 0, degrade: 0 },
      actions: [
        {
          name: 'isolate-first-up',
          weight: 1,
          run: (s, random) => {
            const id = s.upIds()[0] as string
            seen.push(id)
            s.network.isolate(id)
            return `${id} (draw ${random.int(10)})`
          },
        },
        { name: 'never', weight: 0, run: () => 'must not run' },
        { name: 'noop', weight: 1, run: () => null },
      ],
    })
    sim.runFor(3000)
    expect(seen.length).toBeGreaterThan(3)
    expect(nemesis.log.every((e) => e.action === 'isolate-first-up')).toBe(true)
    expect(nemesis.log).toHaveLength(seen.length)
    expect(nemesis.log[0]?.description).toMatch(/^n1 \(draw \d\)$/)
    expect(sim.network.connected('n1', 'n2')).toBe(false)
  })

  it('degrades the links for a while, then puts the defaults back', () => {
    const { sim, nemesis } = withNemesis(4, {
      weights: { partition: 0, isolate: 0, cut: 0, crash: 0, restart: 0, heal: 0, degrade: 1 },
      intervalMs: { minMs: 100, maxMs: 100 },
      degrade: { maxLoss: 0.5, maxDelayMs: 80, durationMs: { minMs: 300, maxMs: 300 } },
    })
    const baseline = sim.network.defaults
    sim.runFor(150)
    expect(nemesis.log).toHaveLength(1)
    expect(sim.network.defaults).not.toEqual(baseline)
    expect(sim.network.defaults.loss).toBeLessThanOrEqual(0.5)
    expect(sim.network.defaults.maxDelayMs).toBeLessThanOrEqual(80)
    nemesis.stop()
    expect(sim.network.defaults).toEqual(baseline)

    // Left alone, a single degrade recovers by itself after its duration.
    const { sim: sim2, nemesis: n2 } = withNemesis(4, {
      weights: { partition: 0, isolate: 0, cut: 0, crash: 0, restart: 0, heal: 0, degrade: 1 },
      intervalMs: { minMs: 100, maxMs: 100 },
      degrade: { durationMs: { minMs: 50, maxMs: 50 } },
    })
    sim2.runFor(175)
    expect(n2.log.map((e) => e.description)).toContain('link faults restored')
    expect(sim2.network.defaults).toEqual(baseline)
  })

  it('formats its log with times, and validates its options', () => {
    const { sim, nemesis } = withNemesis(2)
    sim.runFor(1000)
    expect(nemesis.formatLog()).toMatch(/^\d+\.\dms \w+: .+/)
    const invalid = expect.objectContaining({ name: 'InvalidOptionError' })
    expect(() => new Nemesis(sim, { maxDown: -1 })).toThrow(invalid)
    expect(() => new Nemesis(sim, { intervalMs: { minMs: 10, maxMs: 5 } })).toThrow(invalid)
    expect(() => new Nemesis(sim, { weights: { heal: -1 } })).toThrow(invalid)
  })

  it('keeps at most maxLogEntries, saying how many it dropped', () => {
    const { sim, nemesis } = withNemesis(8, { maxLogEntries: 10, intervalMs: { minMs: 10, maxMs: 10 } })
    sim.runFor(1000)
    expect(nemesis.log.length).toBeLessThanOrEqual(10)
    expect(nemesis.formatLog()).toMatch(/^\(\d+ earlier entries dropped\)/)
  })
})
