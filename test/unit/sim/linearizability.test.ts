// The linearizability checker against labelled real histories (Porcupine's test data: Jepsen's etcd runs and
// generated key-value histories; see test/fixtures/linearizability/NOTICE.md) and against small handcrafted ones
// whose verdict follows from the definition (Herlihy and Wing 1990).
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  checkLinearizability,
  formatHistory,
  kvModel,
  kvRegisterModel,
  mutexModel,
  parseEdnHistory,
  parseHistory,
  parseJepsenEtcdLog,
  registerModel,
  toOperations,
  type CheckResult,
  type EventType,
  type HistoryEvent,
  type Model,
  type Operation,
} from '../../../src/sim/linearizability/index.js'

const FIXTURES = new URL('../../fixtures/linearizability/', import.meta.url)

const labels = readFileSync(new URL('LABELS.tsv', FIXTURES), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [file, linearizable] = line.split('\t') as [string, string]
    return { file, linearizable: linearizable === 'true' }
  })

function operationsOf(file: string): Operation[] {
  const text = readFileSync(new URL(file, FIXTURES), 'utf8')
  return toOperations(file.startsWith('etcd-jepsen/') ? parseJepsenEtcdLog(text) : parseEdnHistory(text))
}

function checkFile(file: string, options: { partition?: boolean } = {}): CheckResult {
  const ops = operationsOf(file)
  return file.startsWith('etcd-jepsen/')
    ? checkLinearizability(registerModel, ops, options)
    : checkLinearizability(kvModel, ops, options)
}

describe('labelled histories', () => {
  it('labels every history in the fixtures but etcd_095.log', () => {
    const files = [
      ...readdirSync(new URL('etcd-jepsen/', FIXTURES)).map((f) => `etcd-jepsen/${f}`),
      ...readdirSync(new URL('kv/', FIXTURES)).map((f) => `kv/${f}`),
    ]
    expect(files).toHaveLength(109)
    expect(files.filter((f) => !labels.some((l) => l.file === f))).toEqual(['etcd-jepsen/etcd_095.log'])
    // Both verdicts are well represented, so a checker answering always the same would fail many tests below.
    expect(labels.filter((l) => l.linearizable)).toHaveLength(26)
    expect(labels.filter((l) => !l.linearizable)).toHaveLength(82)
  })

  for (const { file, linearizable } of labels) {
    it(`${file} is ${linearizable ? '' : 'not '}linearizable`, () => {
      const r = checkFile(file)
      expect(r.result).toBe(linearizable ? 'ok' : 'illegal')
      // An illegal key ends the check: the keys after it are not searched.
      if (linearizable) expect(r.checked).toBe(r.partitions)
      else expect(r.checked).toBeLessThan(r.partitions)
      if (linearizable) {
        expect(r.counterexample).toBeUndefined()
        return
      }
      const c = r.counterexample
      if (c === undefined) throw new Error('an illegal verdict must come with a counterexample')
      expect(c.stuck.key).toBe(c.key)
      expect(c.linearized.every((op) => op.key === c.key)).toBe(true)
      expect(c.linearized).not.toContain(c.stuck)
      expect(c.message).toContain('not linearizable')
    })
  }

  it('etcd_095.log (unlabelled) is an empty file: no operations, trivially linearizable', () => {
    // The file is 0 bytes here (and the label file says it has no label), so the only thing to check is that an
    // empty history parses and is accepted without searching anything.
    expect(readFileSync(new URL('etcd-jepsen/etcd_095.log', FIXTURES), 'utf8')).toBe('')
    const r = checkFile('etcd-jepsen/etcd_095.log')
    expect(r).toMatchObject({ result: 'ok', partitions: 0, checked: 0, operations: 0 })
  })

  it('parses the etcd logs into the operations they contain', () => {
    // etcd_000.log: 65 operations left once the 37 failed ones are dropped; the register starts unset (nil).
    const ops = operationsOf('etcd-jepsen/etcd_000.log')
    expect(ops).toHaveLength(65)
    expect(ops[0]).toEqual({
      process: 0,
      f: 'read',
      key: '',
      input: null,
      output: null,
      call: 0,
      ret: 6,
      status: 'ok',
    })
    const cas = ops.find((op) => op.f === 'cas' && op.status === 'ok')
    expect(cas?.input).toEqual([3, 0])
    expect(ops.filter((op) => op.status === 'info').every((op) => op.ret === Infinity && op.output === undefined)).toBe(
      true,
    )
  })

  it('gives the same verdicts without partitioning by key', () => {
    // The c10 files take seconds unpartitioned (P-compositionality is what makes them fast), so only the small ones.
    for (const file of ['kv/c01-ok.txt', 'kv/c01-bad.txt', 'etcd-jepsen/etcd_000.log', 'etcd-jepsen/etcd_018.log']) {
      const whole = checkFile(file, { partition: false })
      expect(whole.result, file).toBe(checkFile(file).result)
      expect(whole.partitions).toBe(1)
      if (whole.result === 'illegal') expect(whole.counterexample?.key).toBeNull()
    }
  })

  it('answers unknown when the time or the cache runs out', () => {
    // etcd_002.log is one of the slowest (~1e6 search steps), so 1 ms is not enough.
    const slow = operationsOf('etcd-jepsen/etcd_002.log')
    expect(checkLinearizability(registerModel, slow, { timeoutMs: 1 })).toMatchObject({
      result: 'unknown',
      reason: 'timeout',
    })
    expect(checkLinearizability(registerModel, slow, { maxCacheEntries: 10 })).toMatchObject({
      result: 'unknown',
      reason: 'cache-limit',
    })
  })
})

/** A history from `[process, type, f, value]` rows (key `''`) or `[process, type, f, value, key]`. */
function history(...rows: [number, EventType, string, unknown, string?][]): Operation[] {
  const events: HistoryEvent[] = rows.map(([process, type, f, value, key]) => ({
    process,
    type,
    f,
    key: key ?? '',
    value,
  }))
  return toOperations(events)
}

function verdict<S, I, O>(model: Model<S, I, O>, ops: readonly Operation[]): CheckResult['result'] {
  return checkLinearizability(model, ops).result
}

describe('register histories', () => {
  it('rejects a stale read after a completed write, naming the read', () => {
    const ops = history(
      [0, 'invoke', 'write', 1],
      [0, 'ok', 'write', 1],
      [1, 'invoke', 'write', 2],
      [1, 'ok', 'write', 2],
      [2, 'invoke', 'read', null],
      [2, 'ok', 'read', 1],
    )
    const r = checkLinearizability(registerModel, ops)
    expect(r.result).toBe('illegal')
    expect(r.counterexample?.stuck).toBe(ops[2])
    expect(r.counterexample?.linearized).toEqual([ops[0], ops[1]])
    expect(r.counterexample?.states).toEqual(['2'])
    expect(r.counterexample?.message).toContain('p2 read nil -> 1')
  })

  it('linearizes concurrent writes in either order', () => {
    const concurrent: [number, EventType, string, unknown][] = [
      [0, 'invoke', 'write', 1],
      [1, 'invoke', 'write', 2],
      [0, 'ok', 'write', 1],
      [1, 'ok', 'write', 2],
    ]
    for (const seen of [1, 2]) {
      const ops = history(...concurrent, [2, 'invoke', 'read', null], [2, 'ok', 'read', seen])
      expect(verdict(registerModel, ops)).toBe('ok')
    }
    // ...but once one order is observed, it is fixed.
    const flipFlop = history(
      ...concurrent,
      [2, 'invoke', 'read', null],
      [2, 'ok', 'read', 2],
      [2, 'invoke', 'read', null],
      [2, 'ok', 'read', 1],
    )
    expect(verdict(registerModel, flipFlop)).toBe('illegal')
  })

  it('lets a read concurrent with a write see the old or the new value, but nothing else', () => {
    for (const [seen, expected] of [
      [null, 'ok'],
      [1, 'ok'],
      [7, 'illegal'],
    ] as const) {
      const ops = history(
        [0, 'invoke', 'write', 1],
        [1, 'invoke', 'read', null],
        [1, 'ok', 'read', seen],
        [0, 'ok', 'write', 1],
      )
      expect(verdict(registerModel, ops)).toBe(expected)
    }
  })

  it('accepts an info write whose value appears later, and then keeps it', () => {
    const base: [number, EventType, string, unknown][] = [
      [0, 'invoke', 'write', 1],
      [0, 'info', 'write', 1],
      [1, 'invoke', 'read', null],
      [1, 'ok', 'read', null],
      [1, 'invoke', 'read', null],
      [1, 'ok', 'read', 1],
    ]
    expect(verdict(registerModel, history(...base))).toBe('ok')
    // It took effect once, and nothing else wrote: the register cannot go back to unset.
    expect(verdict(registerModel, history(...base, [1, 'invoke', 'read', null], [1, 'ok', 'read', null]))).toBe(
      'illegal',
    )
  })

  it('accepts an info write that never appears, and a write that never completed', () => {
    for (const end of ['info', 'none'] as const) {
      const rows: [number, EventType, string, unknown][] = [[0, 'invoke', 'write', 1]]
      if (end === 'info') rows.push([0, 'info', 'write', 1])
      for (let i = 0; i < 3; i++) rows.push([1, 'invoke', 'read', null], [1, 'ok', 'read', null])
      expect(verdict(registerModel, history(...rows)), end).toBe('ok')
    }
  })

  it('ignores failed operations: they did not take effect', () => {
    const ops = history(
      [0, 'invoke', 'write', 1],
      [0, 'fail', 'write', 1],
      [1, 'invoke', 'read', null],
      [1, 'ok', 'read', 1],
    )
    expect(ops).toHaveLength(1)
    expect(verdict(registerModel, ops)).toBe('illegal')
  })

  it('rejects a read of a value never written', () => {
    expect(verdict(registerModel, history([0, 'invoke', 'read', null], [0, 'ok', 'read', 3]))).toBe('illegal')
    expect(verdict(registerModel, history([0, 'invoke', 'read', null], [0, 'ok', 'read', null]))).toBe('ok')
  })

  it('applies a cas that completed ok and lets an info cas go either way', () => {
    const casOk = history(
      [0, 'invoke', 'write', 1],
      [0, 'ok', 'write', 1],
      [0, 'invoke', 'cas', [1, 2]],
      [0, 'ok', 'cas', [1, 2]],
      [1, 'invoke', 'read', null],
      [1, 'ok', 'read', 2],
    )
    expect(verdict(registerModel, casOk)).toBe('ok')
    // A cas whose expected value is not there cannot have succeeded.
    const wrongFrom = history([0, 'invoke', 'cas', [5, 2]], [0, 'ok', 'cas', [5, 2]])
    expect(verdict(registerModel, wrongFrom)).toBe('illegal')
    for (const seen of [1, 2]) {
      const maybe = history(
        [0, 'invoke', 'write', 1],
        [0, 'ok', 'write', 1],
        [0, 'invoke', 'cas', [1, 2]],
        [0, 'info', 'cas', [1, 2]],
        [1, 'invoke', 'read', null],
        [1, 'ok', 'read', seen],
      )
      expect(verdict(registerModel, maybe)).toBe('ok')
    }
  })

  it('checks each key on its own (a write to one key is not seen in another)', () => {
    const ops = history(
      [0, 'invoke', 'write', 1, 'a'],
      [0, 'ok', 'write', 1, 'a'],
      [1, 'invoke', 'read', null, 'b'],
      [1, 'ok', 'read', 1, 'b'],
    )
    const r = checkLinearizability(registerModel, ops)
    expect(r).toMatchObject({ result: 'illegal', partitions: 2 })
    expect(r.counterexample?.key).toBe('b')
  })

  it('treats operations that only touch in time as concurrent', () => {
    // Write returns at 5, read is invoked at 5: either order is allowed.
    const touching: Operation[] = [
      { process: 0, f: 'write', key: '', input: 1, output: 1, call: 0, ret: 5, status: 'ok' },
      { process: 1, f: 'read', key: '', input: null, output: null, call: 5, ret: 9, status: 'ok' },
    ]
    expect(verdict(registerModel, touching)).toBe('ok')
    const strictlyAfter = [touching[0] as Operation, { ...(touching[1] as Operation), call: 6 }]
    expect(verdict(registerModel, strictlyAfter)).toBe('illegal')
  })
})

describe('kv histories', () => {
  it('starts every key empty, appends and puts', () => {
    const ops = history(
      [0, 'invoke', 'get', null, 'k'],
      [0, 'ok', 'get', '', 'k'],
      [0, 'invoke', 'append', 'ab', 'k'],
      [0, 'ok', 'append', 'ab', 'k'],
      [0, 'invoke', 'append', 'c', 'k'],
      [0, 'ok', 'append', 'c', 'k'],
      [1, 'invoke', 'get', null, 'k'],
      [1, 'ok', 'get', 'abc', 'k'],
      [1, 'invoke', 'put', 'z', 'k'],
      [1, 'ok', 'put', 'z', 'k'],
      [1, 'invoke', 'get', null, 'k'],
      [1, 'ok', 'get', 'z', 'k'],
    )
    expect(verdict(kvModel, ops)).toBe('ok')
    const lostAppend = history(
      [0, 'invoke', 'append', 'ab', 'k'],
      [0, 'ok', 'append', 'ab', 'k'],
      [0, 'invoke', 'append', 'c', 'k'],
      [0, 'ok', 'append', 'c', 'k'],
      [1, 'invoke', 'get', null, 'k'],
      [1, 'ok', 'get', 'c', 'k'],
    )
    expect(verdict(kvModel, lostAppend)).toBe('illegal')
  })
})

describe('kv registers (Raft simulation)', () => {
  it('accepts a cas that reports false exactly when the value did not match', () => {
    const setup: [number, EventType, string, unknown, string][] = [
      [0, 'invoke', 'write', 3, 'k0'],
      [0, 'ok', 'write', 3, 'k0'],
    ]
    const cas = (expected: number, applied: boolean) =>
      history(...setup, [1, 'invoke', 'cas', [expected, 9], 'k0'], [1, 'ok', 'cas', [expected, 9, applied], 'k0'])
    expect(verdict(kvRegisterModel, cas(3, true))).toBe('ok')
    expect(verdict(kvRegisterModel, cas(4, false))).toBe('ok')
    expect(verdict(kvRegisterModel, cas(3, false))).toBe('illegal')
    expect(verdict(kvRegisterModel, cas(4, true))).toBe('illegal')
  })

  it('accepts a bare boolean as cas output, and reads see the applied value', () => {
    const ops = history(
      [0, 'invoke', 'cas', [null, 1], 'k'],
      [0, 'ok', 'cas', true, 'k'],
      [1, 'invoke', 'read', null, 'k'],
      [1, 'ok', 'read', 1, 'k'],
    )
    expect(verdict(kvRegisterModel, ops)).toBe('ok')
  })
})

describe('a recorded simulation history', () => {
  it('is checked the same after a trip through our EDN format', () => {
    // Recorded as test/sim's KV client does: cas values [expected new] on invoke, [expected new applied] on ok; an
    // operation open when the simulation stops is recorded as info.
    const events: HistoryEvent[] = [
      { process: 0, type: 'invoke', f: 'write', key: 'k1', value: 7 },
      { process: 1, type: 'invoke', f: 'cas', key: 'k1', value: [null, 3] },
      { process: 0, type: 'ok', f: 'write', key: 'k1', value: 7 },
      { process: 1, type: 'ok', f: 'cas', key: 'k1', value: [null, 3, true] },
      { process: 0, type: 'invoke', f: 'read', key: 'k1', value: null },
      { process: 0, type: 'ok', f: 'read', key: 'k1', value: 7 },
      { process: 2, type: 'invoke', f: 'read', key: 'k2', value: null },
      { process: 2, type: 'info', f: 'read', key: 'k2', value: null },
    ]
    const text = formatHistory(events)
    expect(parseHistory(text)).toEqual(events)
    // The cas applied on the unset register before the write; the read sees the write.
    expect(verdict(kvRegisterModel, toOperations(parseHistory(text)))).toBe('ok')
    const staleRead = events.map((e, i) => (i === 5 ? { ...e, value: 3 } : e))
    expect(verdict(kvRegisterModel, toOperations(parseHistory(formatHistory(staleRead))))).toBe('illegal')
  })
})

describe('mutex histories', () => {
  const acquire = (p: number, token: number | null): [number, EventType, string, unknown][] => [
    [p, 'invoke', 'acquire', null],
    [p, 'ok', 'acquire', token],
  ]
  const release = (p: number, token: number | null): [number, EventType, string, unknown][] => [
    [p, 'invoke', 'release', token],
    [p, 'ok', 'release', token],
  ]

  it('accepts holders one after the other with increasing tokens', () => {
    expect(verdict(mutexModel, history(...acquire(0, 1), ...release(0, 1), ...acquire(1, 2), ...release(1, 2)))).toBe(
      'ok',
    )
  })

  it('rejects overlapping holders', () => {
    expect(verdict(mutexModel, history(...acquire(0, 1), ...acquire(1, 2), ...release(0, 1)))).toBe('illegal')
    // Without tokens too.
    expect(verdict(mutexModel, history(...acquire(0, null), ...acquire(1, null)))).toBe('illegal')
  })

  it('allows an acquire concurrent with the release that frees the lock', () => {
    const ops = history(
      ...acquire(0, 1),
      [0, 'invoke', 'release', 1],
      [1, 'invoke', 'acquire', null],
      [1, 'ok', 'acquire', 2],
      [0, 'ok', 'release', 1],
    )
    expect(verdict(mutexModel, ops)).toBe('ok')
  })

  it('rejects a fencing token that does not increase', () => {
    for (const token of [1, 0]) {
      const ops = history(...acquire(0, 1), ...release(0, 1), ...acquire(1, token))
      expect(verdict(mutexModel, ops), `token ${token}`).toBe('illegal')
    }
  })

  it('rejects a release by a process that does not hold the lock', () => {
    expect(verdict(mutexModel, history(...acquire(0, 1), ...release(1, 1)))).toBe('illegal')
    expect(verdict(mutexModel, history(...release(0, null)))).toBe('illegal')
  })

  it('lets an info acquire either hold the lock forever or never have happened', () => {
    // p0's acquire timed out; p1 later gets the lock: p0's acquire must not have taken effect (or not yet).
    const ops = history([0, 'invoke', 'acquire', null], [0, 'info', 'acquire', null], ...acquire(1, 5))
    expect(verdict(mutexModel, ops)).toBe('ok')
    // But if p0 then releases it, p0's acquire took effect, and p0 and p1 held the lock at the same time: illegal.
    const timedOut: [number, EventType, string, unknown][] = [
      [0, 'invoke', 'acquire', null],
      [0, 'info', 'acquire', null],
    ]
    expect(verdict(mutexModel, history(...timedOut, ...acquire(1, 5), ...release(0, null)))).toBe('illegal')
    // If p1 has released by then, it is fine: p0's acquire took effect after p1's release.
    const afterP1 = history(...timedOut, ...acquire(1, 5), ...release(1, 5), ...release(0, null))
    expect(verdict(mutexModel, afterP1)).toBe('ok')
  })
})

describe('checkLinearizability arguments', () => {
  it('accepts an empty history', () => {
    expect(checkLinearizability(registerModel, [])).toMatchObject({ result: 'ok', partitions: 0, operations: 0 })
  })

  it('rejects bad options and impossible operations with InvalidOptionError', () => {
    const read: Operation = { process: 0, f: 'read', key: '', input: null, output: null, call: 1, ret: 2, status: 'ok' }
    const nameOf = (fn: () => unknown): string => {
      try {
        fn()
      } catch (err) {
        return (err as Error).name
      }
      return 'nothing thrown'
    }
    expect(nameOf(() => checkLinearizability(registerModel, [read], { timeoutMs: 0 }))).toBe('InvalidOptionError')
    const fractional = { maxCacheEntries: 0.5 }
    expect(nameOf(() => checkLinearizability(registerModel, [read], fractional))).toBe('InvalidOptionError')
    expect(nameOf(() => checkLinearizability(registerModel, [{ ...read, ret: 0 }]))).toBe('InvalidOptionError')
    expect(nameOf(() => checkLinearizability(registerModel, [{ ...read, ret: Infinity }]))).toBe('InvalidOptionError')
    // An operation the model does not know is a DecodeError, even when another key is already illegal.
    const illegal = { ...read, key: 'a', output: 5 }
    expect(nameOf(() => checkLinearizability(registerModel, [illegal, { ...read, key: 'b', f: 'incr' }]))).toBe(
      'DecodeError',
    )
  })
})
