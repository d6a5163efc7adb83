// The checker against the definition itself: on random small histories, its verdict (partitioned by key, and
// whole) must equal a brute-force search over every order that respects real time, in which each `info` operation
// may also be left out (it may never have taken effect). The brute force shares only the models with the checker.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  checkLinearizability,
  kvModel,
  kvRegisterModel,
  mutexModel,
  registerModel,
  type Model,
  type Operation,
} from '../../../src/sim/linearizability/index.js'

/** True iff some order of `ops` respecting real time (a before b when a.ret < b.call) is legal for the model. */
function bruteForce<S, I, O>(model: Model<S, I, O>, ops: readonly Operation[]): boolean {
  const steps = ops.map((op) => {
    const d = model.decode(op)
    return { input: d.input, output: op.status === 'info' ? undefined : d.output }
  })
  const all = (1 << ops.length) - 1
  const visit = (done: number, state: ReadonlyMap<string, S>): boolean => {
    if (done === all) return true
    return ops.some((op, i) => {
      if ((done & (1 << i)) !== 0) return false
      const mustWait = ops.some((b, j) => j !== i && (done & (1 << j)) === 0 && b.ret < op.call)
      if (mustWait) return false
      const { input, output } = steps[i] as (typeof steps)[number]
      const before = state.get(op.key) ?? model.init()
      const after = model.step(before, input, output)
      if (after.some((s) => visit(done | (1 << i), new Map(state).set(op.key, s)))) return true
      // Placing a no-effect operation here is the same as leaving it out: a slot always exists for it.
      return op.status === 'info' && visit(done | (1 << i), state)
    })
  }
  return visit(0, new Map())
}

interface Shape {
  readonly process: number
  readonly key: string
  readonly call: number
  readonly duration: number
  /** ok, info pending forever, or info with a known return time (outcome unknown but bounded). */
  readonly status: 'ok' | 'info' | 'info-bounded'
}

const shape: fc.Arbitrary<Shape> = fc.record({
  process: fc.integer({ min: 0, max: 2 }),
  key: fc.constantFrom('a', 'b'),
  // A narrow time range so that ties (a return at the instant of another call) happen often.
  call: fc.integer({ min: 0, max: 10 }),
  duration: fc.integer({ min: 0, max: 5 }),
  status: fc.constantFrom<Shape['status']>('ok', 'ok', 'ok', 'info', 'info-bounded'),
})

function operation(s: Shape, f: string, input: unknown, output: unknown): Operation {
  const ret = s.status === 'info' ? Infinity : s.call + s.duration
  const status = s.status === 'ok' ? 'ok' : 'info'
  const { process, key, call } = s
  return { process, key, call, ret, status, f, input, output: status === 'ok' ? output : undefined }
}

const small = fc.constantFrom(null, 0, 1)
const registerOp = fc.oneof(
  fc.tuple(shape, small).map(([s, v]) => operation(s, 'read', null, v)),
  fc.tuple(shape, small).map(([s, v]) => operation(s, 'write', v, v)),
  fc.tuple(shape, small, small).map(([s, a, b]) => operation(s, 'cas', [a, b], [a, b])),
)
const kvRegisterOp = fc.oneof(
  registerOp.filter((op) => op.f !== 'cas'),
  fc.tuple(shape, small, small, fc.boolean()).map(([s, a, b, ok]) => operation(s, 'cas', [a, b], [a, b, ok])),
)
const kvOp = fc.oneof(
  fc.tuple(shape, fc.constantFrom('', 'x', 'y', 'xy', 'yx')).map(([s, v]) => operation(s, 'get', null, v)),
  fc
    .tuple(shape, fc.constantFrom('put', 'append'), fc.constantFrom('x', 'y'))
    .map(([s, f, v]) => operation(s, f, v, v)),
)
const mutexOp = fc.oneof(
  fc.tuple(shape, fc.constantFrom(null, 1, 2, 3)).map(([s, token]) => operation(s, 'acquire', null, token)),
  shape.map((s) => operation(s, 'release', null, null)),
)

function agreesWithBruteForce<S, I, O>(model: Model<S, I, O>, op: fc.Arbitrary<Operation>): void {
  const verdicts = { ok: 0, illegal: 0 }
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 7 }), (ops) => {
      const expected = bruteForce(model, ops) ? 'ok' : 'illegal'
      const partitioned = checkLinearizability(model, ops, { timeoutMs: Infinity })
      expect(partitioned.result).toBe(expected)
      expect(checkLinearizability(model, ops, { partition: false, timeoutMs: Infinity }).result).toBe(expected)
      verdicts[expected]++
      if (expected === 'illegal') expect(ops).toContain(partitioned.counterexample?.stuck)
    }),
    { numRuns: 400 },
  )
  // Both verdicts must be common, or agreement would say little.
  expect(verdicts.ok).toBeGreaterThan(40)
  expect(verdicts.illegal).toBeGreaterThan(40)
}

describe('checker versus brute force (property)', () => {
  it('register', () => agreesWithBruteForce(registerModel, registerOp))
  it('kv register (cas reports true or false)', () => agreesWithBruteForce(kvRegisterModel, kvRegisterOp))
  it('kv strings', () => agreesWithBruteForce(kvModel, kvOp))
  it('mutex with fencing tokens', () => agreesWithBruteForce(mutexModel, mutexOp))
})
