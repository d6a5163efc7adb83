import type * as AM from '@automerge/automerge/slim'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadAutomerge, type AutomergeModule } from '../../../../src/docs/automerge.js'
import { lwwRegister, type JsonValue, type LWWRegisterDoc } from '../../../../src/docs/crdt/index.js'
import { Cluster, deliveryArb } from './cluster.js'

let A: AutomergeModule
beforeAll(async () => {
  A = await loadAutomerge()
})

const invalid = expect.objectContaining({ name: 'InvalidOptionError' })

interface SetOp {
  readonly kind: 'set'
  readonly replica: number
  readonly value: JsonValue
  readonly now: number
  /** Filled in from the document once the write is made. */
  ts?: number
  peerId?: string
}

const setArb = fc.record({
  kind: fc.constant('set' as const),
  replica: fc.nat(),
  value: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constantFrom<JsonValue>('s', null, { o: [1] })),
  // A small range so that timestamps tie and clocks run behind what replicas have seen.
  now: fc.integer({ min: 0, max: 30 }),
})

/** The write with the greatest (ts, peerId), by the test's own comparison. */
function winner(ops: readonly SetOp[]): SetOp | undefined {
  let best: SetOp | undefined
  for (const op of ops) {
    if (best === undefined || op.ts! > best.ts! || (op.ts === best.ts && op.peerId! > best.peerId!)) best = op
  }
  return best
}

describe('LWW-Register', () => {
  it('holds the write with the greatest (ts, peerId) on every replica after every delivery, and converges', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 5 }),
        fc.integer(),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 3 }), { minLength: 5, maxLength: 5 }),
        fc.array(fc.oneof(setArb, deliveryArb), { maxLength: 40 }),
        (size, seed, peerIds, cmds) => {
          const cluster = new Cluster<LWWRegisterDoc, SetOp>(A, size, seed, (actor) =>
            lwwRegister.init(A, 'register', { actor }),
          )
          const check = (r: number): void => {
            const best = winner(cluster.applied(r).map((sent) => sent.op))
            const latest = lwwRegister.latest(cluster.doc(r))
            expect(latest).toEqual(best && { value: best.value, ts: best.ts, peerId: best.peerId })
          }
          for (const cmd of cmds) {
            if (cmd.kind === 'set') {
              const r = cmd.replica % size
              const op: SetOp = { ...cmd, peerId: peerIds[r]! }
              const seen = cluster.applied(r).map((sent) => sent.op.ts!)
              cluster.local(r, op, (doc) => {
                const next = lwwRegister.set(A, doc, cmd.value, { now: cmd.now, peerId: op.peerId! })
                op.ts = next.writes[op.peerId!]!.ts
                return next
              })
              // A write beats everything its replica had seen, and never runs behind its own clock.
              expect(op.ts).toBeGreaterThanOrEqual(cmd.now)
              for (const ts of seen) expect(op.ts).toBeGreaterThan(ts)
            } else {
              cluster.deliver(cmd)
            }
            for (let r = 0; r < size; r++) check(r)
          }
          cluster.deliverAll(check)
          const final = cluster.expectConverged(lwwRegister.read)
          expect(final).toEqual(winner(cluster.pool.map((sent) => sent.op))?.value)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('is empty until written', () => {
    expect(lwwRegister.read(lwwRegister.init(A, 'register'))).toBeUndefined()
    expect(lwwRegister.latest(lwwRegister.init(A, 'register'))).toBeUndefined()
  })

  it('lets a causally later write win even when the writer’s clock is behind', () => {
    let p1 = lwwRegister.init(A, 'register', { actor: '01'.repeat(16) })
    let p2 = lwwRegister.init(A, 'register', { actor: '02'.repeat(16) })
    p1 = lwwRegister.set(A, p1, 'first', { now: 1000, peerId: 'zz' })
    p2 = A.applyChanges(p2, A.getAllChanges(p1))[0]
    p2 = lwwRegister.set(A, p2, 'second', { now: 5, peerId: 'aa' })
    p1 = A.applyChanges(p1, A.getAllChanges(p2))[0]
    expect(lwwRegister.latest(p1)).toEqual({ value: 'second', ts: 1001, peerId: 'aa' })
  })

  it('breaks a timestamp tie between concurrent writes by the greater peer id', () => {
    let p1: AM.Doc<LWWRegisterDoc> = lwwRegister.init(A, 'register', { actor: '01'.repeat(16) })
    let p2: AM.Doc<LWWRegisterDoc> = lwwRegister.init(A, 'register', { actor: '02'.repeat(16) })
    p1 = lwwRegister.set(A, p1, { from: 'b' }, { now: 10, peerId: 'b' })
    p2 = lwwRegister.set(A, p2, { from: 'a' }, { now: 10, peerId: 'a' })
    p1 = A.applyChanges(p1, A.getAllChanges(p2))[0]
    p2 = A.applyChanges(p2, A.getAllChanges(p1))[0]
    expect(lwwRegister.read(p1)).toEqual({ from: 'b' })
    expect(lwwRegister.read(p2)).toEqual({ from: 'b' })
  })

  it('rejects a non-JSON value, an unsafe clock and an empty peer id', () => {
    const doc = lwwRegister.init(A, 'register')
    expect(() => lwwRegister.set(A, doc, Number.NaN, { now: 1, peerId: 'p' })).toThrow(invalid)
    expect(() => lwwRegister.set(A, doc, 1, { now: 1.5, peerId: 'p' })).toThrow(invalid)
    expect(() => lwwRegister.set(A, doc, 1, { now: Number.MAX_SAFE_INTEGER + 1, peerId: 'p' })).toThrow(invalid)
    expect(() => lwwRegister.set(A, doc, 1, { now: 1, peerId: '' })).toThrow(invalid)
  })

  it('ignores a slot that a faulty peer wrote badly', () => {
    let doc = lwwRegister.set(A, lwwRegister.init(A, 'register'), 'good', { now: 1, peerId: 'p' })
    doc = A.change(doc, (d) => {
      d.writes.zzz = { json: new A.ImmutableString('{not json'), ts: 99 }
      ;(d.writes as Record<string, unknown>).yyy = { json: new A.ImmutableString('"bad ts"'), ts: 'late' }
    })
    expect(lwwRegister.read(doc)).toBe('good')
  })
})
