import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadAutomerge, type AutomergeModule } from '../../../../src/docs/automerge.js'
import { gCounter, pnCounter } from '../../../../src/docs/crdt/index.js'
import { Cluster, deliveryArb } from './cluster.js'

let A: AutomergeModule
beforeAll(async () => {
  A = await loadAutomerge()
})

const invalid = expect.objectContaining({ name: 'InvalidOptionError' })

interface Add {
  readonly kind: 'add'
  readonly replica: number
  /** Signed amount: an increment, or minus a decrement. */
  readonly n: number
}

const sizeArb = fc.integer({ min: 3, max: 5 })
const seedArb = fc.integer()

describe('G-Counter', () => {
  const incArb = fc.record({ kind: fc.constant('add' as const), replica: fc.nat(), n: fc.nat({ max: 1000 }) })

  it('converges to the sum of all increments and never decreases on any replica, whatever the delivery', () => {
    fc.assert(
      fc.property(sizeArb, seedArb, fc.array(fc.oneof(incArb, deliveryArb), { maxLength: 40 }), (size, seed, cmds) => {
        const cluster = new Cluster<gCounter.GCounterDoc, Add>(A, size, seed, (actor) =>
          gCounter.init(A, 'counter', { actor }),
        )
        const last: number[] = Array.from({ length: size }, () => 0)
        const check = (r: number): void => {
          const value = gCounter.read(cluster.doc(r))
          expect(value).toBeGreaterThanOrEqual(last[r]!)
          expect(value).toBe(cluster.applied(r).reduce((sum, sent) => sum + sent.op.n, 0))
          last[r] = value
        }
        for (const cmd of cmds) {
          if (cmd.kind === 'add') cluster.local(cmd.replica, cmd, (doc) => gCounter.increment(A, doc, cmd.n))
          else cluster.deliver(cmd)
          for (let r = 0; r < size; r++) check(r)
        }
        cluster.deliverAll(check)
        const total = cmds.reduce((sum, cmd) => sum + (cmd.kind === 'add' ? cmd.n : 0), 0)
        expect(cluster.expectConverged(gCounter.read)).toBe(total)
      }),
      { numRuns: 60 },
    )
  })

  it('rejects negative, fractional and unsafe increments, and makes no change for 0', () => {
    const doc = gCounter.init(A, 'counter')
    for (const n of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
      expect(() => gCounter.increment(A, doc, n)).toThrow(invalid)
    }
    expect(gCounter.increment(A, doc, 0)).toBe(doc)
  })

  it('counts up to 2^53 - 1 per replica and refuses to pass it', () => {
    let doc = gCounter.init(A, 'counter')
    doc = gCounter.increment(A, doc, Number.MAX_SAFE_INTEGER - 1)
    doc = gCounter.increment(A, doc, 1)
    expect(gCounter.read(doc)).toBe(Number.MAX_SAFE_INTEGER)
    expect(() => gCounter.increment(A, doc, 1)).toThrow(invalid)
  })

  it('counts entries that a faulty peer made negative or non-numeric as 0', () => {
    let doc = gCounter.increment(A, gCounter.init(A, 'counter'), 5)
    doc = A.change(doc, (d) => {
      d.counts.bad = -100
      ;(d.counts as Record<string, unknown>).worse = 'lots'
    })
    expect(gCounter.read(doc)).toBe(5)
  })
})

describe('PN-Counter', () => {
  const opArb = fc.record({
    kind: fc.constant('add' as const),
    replica: fc.nat(),
    n: fc.integer({ min: -1000, max: 1000 }),
    decrement: fc.boolean(),
  })

  it('converges to increments minus decrements, on every replica after every delivery', () => {
    fc.assert(
      fc.property(sizeArb, seedArb, fc.array(fc.oneof(opArb, deliveryArb), { maxLength: 40 }), (size, seed, cmds) => {
        const cluster = new Cluster<pnCounter.PNCounterDoc, Add>(A, size, seed, (actor) =>
          pnCounter.init(A, 'counter', { actor }),
        )
        const check = (r: number): void => {
          const expected = cluster.applied(r).reduce((sum, sent) => sum + sent.op.n, 0)
          expect(pnCounter.read(cluster.doc(r))).toBe(expected)
        }
        let total = 0
        for (const cmd of cmds) {
          if (cmd.kind === 'add') {
            // decrement(n) is recorded as adding -n.
            const signed = cmd.decrement ? -cmd.n : cmd.n
            total += signed
            cluster.local(cmd.replica, { ...cmd, n: signed }, (doc) =>
              cmd.decrement ? pnCounter.decrement(A, doc, cmd.n) : pnCounter.increment(A, doc, cmd.n),
            )
          } else cluster.deliver(cmd)
          for (let r = 0; r < size; r++) check(r)
        }
        cluster.deliverAll(check)
        expect(cluster.expectConverged(pnCounter.read)).toBe(total)
      }),
      { numRuns: 60 },
    )
  })

  it('rejects fractional and unsafe amounts, and makes no change for 0', () => {
    const doc = pnCounter.init(A, 'counter')
    for (const n of [0.5, Number.NaN, Number.NEGATIVE_INFINITY, Number.MIN_SAFE_INTEGER - 1]) {
      expect(() => pnCounter.increment(A, doc, n)).toThrow(invalid)
      expect(() => pnCounter.decrement(A, doc, n)).toThrow(invalid)
    }
    expect(pnCounter.increment(A, doc, 0)).toBe(doc)
    expect(pnCounter.decrement(A, doc, 0)).toBe(doc)
    expect(pnCounter.read(pnCounter.decrement(A, doc, 7))).toBe(-7)
  })
})
