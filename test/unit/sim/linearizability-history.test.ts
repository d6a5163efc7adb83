// History formats: the jepsen.util log lines, Jepsen's EDN lines (ours too), and pairing events into operations.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  formatHistory,
  keyword,
  MAX_LINE_LENGTH,
  parseEdnHistory,
  parseHistory,
  parseJepsenEtcdLog,
  toOperations,
  type HistoryEvent,
  type HistoryValue,
} from '../../../src/sim/linearizability/index.js'

/** Runs `fn` and returns the name and message of what it throws (errors are matched by name, as callers do). */
function thrown(fn: () => unknown): { name: string; message: string } {
  try {
    fn()
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message }
  }
  throw new Error('expected an error, none was thrown')
}

describe('parseJepsenEtcdLog', () => {
  it('reads invoke, ok, fail and info lines, tab- or space-separated, and skips other lines', () => {
    const log = [
      'INFO  jepsen.core - Running test',
      'INFO  jepsen.util - 0\t:invoke\t:read\tnil',
      'INFO  jepsen.util - 0   :ok     :read   -3',
      'INFO  jepsen.util - :nemesis\t:info\t:start\tnil',
      '',
      'INFO  jepsen.util - 12\t:invoke\t:cas\t[1 4]',
      'INFO  jepsen.util - 12\t:info\t:cas\t:timed-out',
      'WARN  something else entirely',
      'INFO  jepsen.util - 3\t:fail\t:read\t:timed-out\r',
    ].join('\n')
    expect(parseJepsenEtcdLog(log)).toEqual([
      { process: 0, type: 'invoke', f: 'read', key: '', value: null },
      { process: 0, type: 'ok', f: 'read', key: '', value: -3 },
      { process: 12, type: 'invoke', f: 'cas', key: '', value: [1, 4] },
      { process: 12, type: 'info', f: 'cas', key: '', value: keyword('timed-out') },
      { process: 3, type: 'fail', f: 'read', key: '', value: keyword('timed-out') },
    ])
  })

  it.each([
    ['no value', 'INFO  jepsen.util - 3\t:invoke\t:write'],
    ['an unknown type', 'INFO  jepsen.util - 3\t:done\t:write\t4'],
    ['junk after the value', 'INFO  jepsen.util - 3\t:invoke\t:write\t4 5'],
    ['a malformed number', 'INFO  jepsen.util - 3\t:invoke\t:write\t4x'],
    ['an unterminated vector', 'INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4'],
    ['an unsafe integer', 'INFO  jepsen.util - 3\t:invoke\t:write\t99999999999999999999'],
    ['a float', 'INFO  jepsen.util - 3\t:invoke\t:write\t1.5'],
    ['a process that is not a number', 'INFO  jepsen.util - 3a\t:invoke\t:write\t1'],
    ['an operation that is not a keyword', 'INFO  jepsen.util - 3\t:invoke\twrite\t1'],
  ])('rejects an event line with %s, naming the line', (_, line) => {
    const e = thrown(() => parseJepsenEtcdLog(`INFO  jepsen.util - 1\t:invoke\t:read\tnil\n${line}\n`))
    expect(e.name).toBe('DecodeError')
    expect(e.message).toMatch(/^line 2\b/)
  })
})

describe('parseEdnHistory', () => {
  it('reads Jepsen EDN lines, ignoring extra entries, comments, blank lines and nemesis events', () => {
    const text = [
      '; a comment',
      '{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}',
      '',
      '{:type :ok :process 0 :f :append :key "0" :value "x 0 0 y" :time 123 :index 1}',
      '{:process :nemesis, :type :info, :f :start, :value nil}',
      '{:process 7, :type :invoke, :f :read, :key 5}',
      '{:process 7, :type :ok, :f :read, :value [1 [2 "a\\"b\\n"] true false nil :k]}',
    ].join('\r\n')
    expect(parseEdnHistory(text)).toEqual([
      { process: 0, type: 'invoke', f: 'append', key: '0', value: 'x 0 0 y' },
      { process: 0, type: 'ok', f: 'append', key: '0', value: 'x 0 0 y' },
      { process: 7, type: 'invoke', f: 'read', key: '5', value: null },
      { process: 7, type: 'ok', f: 'read', key: '', value: [1, [2, 'a"b\n'], true, false, null, keyword('k')] },
    ])
  })

  it.each([
    ['not a map', '[:process 0]'],
    ['no closing brace', '{:process 0, :type :ok, :f :read'],
    ['a missing :process', '{:type :ok, :f :read}'],
    ['a negative :process', '{:process -1, :type :ok, :f :read}'],
    ['an unknown :type', '{:process 0, :type :done, :f :read}'],
    ['a string :f', '{:process 0, :type :ok, :f "read"}'],
    ['a vector :key', '{:process 0, :type :ok, :f :read, :key [1]}'],
    ['a duplicate entry', '{:process 0, :process 1, :type :ok, :f :read}'],
    ['a key without a value', '{:process 0, :type :ok, :f}'],
    ['a non-keyword map key', '{"process" 0, :type :ok, :f :read}'],
    ['junk after the map', '{:process 0, :type :ok, :f :read} x'],
    ['an unterminated string', '{:process 0, :type :ok, :f :read, :value "abc}'],
    ['a bad escape', '{:process 0, :type :ok, :f :read, :value "a\\qb"}'],
    ['a bad \\u escape', '{:process 0, :type :ok, :f :read, :value "a\\u12"}'],
    ['a map value', '{:process 0, :type :ok, :f :read, :value {:a 1}}'],
    ['a symbol value', '{:process 0, :type :ok, :f :read, :value foo}'],
    ['a value nested too deep', `{:process 0, :type :ok, :f :read, :value ${'['.repeat(40)}${']'.repeat(40)}}`],
  ])('rejects a line with %s', (_, line) => {
    const e = thrown(() => parseEdnHistory(`{:process 0, :type :invoke, :f :read}\n${line}`))
    expect(e.name).toBe('DecodeError')
    expect(e.message).toMatch(/^line 2\b/)
  })
})

describe('parser limits', () => {
  const line = '{:process 0, :type :invoke, :f :read}\n'

  it('rejects more than maxLines lines (a final newline does not start another line)', () => {
    expect(parseEdnHistory(line.repeat(3), { maxLines: 3 })).toHaveLength(3)
    expect(thrown(() => parseEdnHistory(line.repeat(4), { maxLines: 3 })).name).toBe('DecodeError')
    expect(thrown(() => parseJepsenEtcdLog('x\n'.repeat(4), { maxLines: 3 })).name).toBe('DecodeError')
    expect(thrown(() => parseEdnHistory(line, { maxLines: 0 })).name).toBe('InvalidOptionError')
  })

  it('rejects a line over MAX_LINE_LENGTH, even one that would be skipped', () => {
    const pad = (n: number) => `{:process 0, :type :invoke, :f :read, :value "${'a'.repeat(n)}"}`
    const fits = pad(MAX_LINE_LENGTH - pad(0).length)
    expect(fits).toHaveLength(MAX_LINE_LENGTH)
    expect(parseEdnHistory(fits)).toHaveLength(1)
    expect(thrown(() => parseEdnHistory(`${fits}a`)).name).toBe('DecodeError')
    expect(thrown(() => parseJepsenEtcdLog('#'.repeat(MAX_LINE_LENGTH + 1))).name).toBe('DecodeError')
  })
})

describe('formatHistory', () => {
  it('writes one Jepsen EDN map per line, leaving out an empty key', () => {
    const events: HistoryEvent[] = [
      { process: 0, type: 'invoke', f: 'cas', key: 'k1', value: [null, 4] },
      { process: 0, type: 'ok', f: 'cas', key: 'k1', value: [null, 4, true] },
      { process: 1, type: 'info', f: 'write', key: '', value: 'tab\there "q"' },
    ]
    expect(formatHistory(events)).toBe(
      '{:process 0, :type :invoke, :f :cas, :key "k1", :value [nil 4]}\n' +
        '{:process 0, :type :ok, :f :cas, :key "k1", :value [nil 4 true]}\n' +
        '{:process 1, :type :info, :f :write, :value "tab\\there \\"q\\""}\n',
    )
    expect(formatHistory([])).toBe('')
  })

  it('rejects what the format cannot carry', () => {
    const event = { process: 0, type: 'invoke', f: 'read', key: '' } as const
    expect(thrown(() => formatHistory([{ ...event, value: 1.5 }])).name).toBe('TypeError')
    expect(thrown(() => formatHistory([{ ...event, value: { a: 1 } }])).name).toBe('TypeError')
    expect(thrown(() => formatHistory([{ ...event, value: 2n }])).name).toBe('TypeError')
    expect(thrown(() => formatHistory([{ ...event, value: null, f: 'not a keyword' }])).name).toBe('TypeError')
    expect(thrown(() => formatHistory([{ ...event, value: null, process: -1 }])).name).toBe('TypeError')
    expect(thrown(() => formatHistory([{ ...event, value: 'a'.repeat(MAX_LINE_LENGTH) }])).name).toBe('RangeError')
    // undefined is written as nil, for events recorded before their value was known.
    expect(formatHistory([{ ...event, value: undefined }])).toBe('{:process 0, :type :invoke, :f :read, :value nil}\n')
  })

  it('round-trips through parseHistory (property)', () => {
    // Any UTF-16 code unit, lone surrogates and control characters included.
    const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c))
    const anyString = fc.string({ unit: codeUnit, maxLength: 12 })
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/)
    const { value } = fc.letrec<{ value: HistoryValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.maxSafeInteger(),
        anyString,
        name.map(keyword),
        fc.array(tie('value'), { maxLength: 4 }),
      ),
    }))
    const event: fc.Arbitrary<HistoryEvent> = fc.record({
      process: fc.nat(),
      type: fc.constantFrom('invoke', 'ok', 'fail', 'info'),
      f: name,
      key: anyString,
      value,
    })
    fc.assert(
      fc.property(fc.array(event, { maxLength: 20 }), (events) => {
        expect(parseHistory(formatHistory(events))).toEqual(events)
      }),
      { numRuns: 500 },
    )
  })
})

describe('toOperations', () => {
  const ev = (process: number, type: HistoryEvent['type'], f: string, value: unknown, key = ''): HistoryEvent => ({
    process,
    type,
    f,
    key,
    value,
  })

  it('pairs each invoke with its completion, drops failures, and leaves info and open ones pending forever', () => {
    const ops = toOperations([
      ev(0, 'invoke', 'write', 1),
      ev(1, 'invoke', 'read', null),
      ev(2, 'invoke', 'cas', [1, 2]),
      ev(0, 'ok', 'write', 1),
      ev(2, 'fail', 'cas', [1, 2]),
      ev(3, 'invoke', 'write', 5),
      ev(1, 'ok', 'read', 1),
      ev(3, 'info', 'write', keyword('timed-out')),
      ev(4, 'invoke', 'read', null, 'k'),
    ])
    expect(ops).toEqual([
      { process: 0, f: 'write', key: '', input: 1, output: 1, call: 0, ret: 3, status: 'ok' },
      { process: 1, f: 'read', key: '', input: null, output: 1, call: 1, ret: 6, status: 'ok' },
      { process: 3, f: 'write', key: '', input: 5, output: undefined, call: 5, ret: Infinity, status: 'info' },
      { process: 4, f: 'read', key: 'k', input: null, output: undefined, call: 8, ret: Infinity, status: 'info' },
    ])
  })

  it('lets a process invoke again after an info completion', () => {
    const ops = toOperations([ev(0, 'invoke', 'write', 1), ev(0, 'info', 'write', 1), ev(0, 'invoke', 'write', 2)])
    expect(ops.map((op) => [op.input, op.status])).toEqual([
      [1, 'info'],
      [2, 'info'],
    ])
  })

  it.each([
    ['a completion without an invoke', [ev(0, 'ok', 'read', 1)]],
    ['two open invokes on one process', [ev(0, 'invoke', 'read', null), ev(0, 'invoke', 'read', null)]],
    ['a completion of another operation', [ev(0, 'invoke', 'read', null), ev(0, 'ok', 'write', 1)]],
    ['a completion on another key', [ev(0, 'invoke', 'read', null, 'a'), ev(0, 'ok', 'read', 1, 'b')]],
  ])('rejects %s with DecodeError', (_, events) => {
    expect(thrown(() => toOperations(events)).name).toBe('DecodeError')
  })
})
