/**
 * Histories of concurrent operations, in the formats Jepsen tools read and write: the `jepsen.util` log lines of the
 * old etcd tests, and one EDN map per line (`{:process 0, :type :invoke, :f :read, :key "k", :value nil}`), which is
 * also the format our simulations record, so that Knossos or Porcupine can check a Synod history too.
 *
 * Parsing is bounded: at most `maxLines` lines of at most MAX_LINE_LENGTH characters, values nested at most
 * MAX_VALUE_DEPTH deep. Malformed input is a DecodeError naming the line.
 */
import { DecodeError, InvalidOptionError } from '../../errors.js'

export type EventType = 'invoke' | 'ok' | 'fail' | 'info'

/** One line of a history: a process invoking an operation, or the operation's completion. */
export interface HistoryEvent {
  readonly process: number
  readonly type: EventType
  /** The operation's name (`read`, `write`, `cas`, `append`, ...). */
  readonly f: string
  /** The key the operation acts on; `''` for a single-register history. */
  readonly key: string
  /** See HistoryValue for what the formats can carry. */
  readonly value: unknown
}

/** An invocation paired with its completion. Operations that completed `fail` did not take effect and are dropped. */
export interface Operation {
  readonly process: number
  readonly f: string
  readonly key: string
  /** The value of the invoke event. */
  readonly input: unknown
  /** The value of the `ok` event; `undefined` when the outcome is unknown (`status: 'info'`). */
  readonly output: unknown
  /** When it was invoked and when it returned (event positions for parsed histories). */
  readonly call: number
  /** `Infinity` when the outcome is unknown: it may take effect at any time after `call`, or never. */
  readonly ret: number
  readonly status: 'ok' | 'info'
}

/** An EDN keyword such as `:timed-out` (Jepsen writes some completion values as keywords). */
export interface EdnKeyword {
  readonly keyword: string
}

/** The values our EDN reader and writer handle: nil, booleans, safe integers, strings, keywords and vectors. */
export type HistoryValue = null | boolean | number | string | EdnKeyword | readonly HistoryValue[]

export interface ParseOptions {
  /** Reject input with more lines than this (DecodeError). Default DEFAULT_MAX_LINES. */
  readonly maxLines?: number
}

export const DEFAULT_MAX_LINES = 1_000_000
/** In UTF-16 code units, which is what JavaScript strings count. */
export const MAX_LINE_LENGTH = 64 * 1024
export const MAX_VALUE_DEPTH = 32

const EVENT_TYPES: ReadonlySet<string> = new Set<EventType>(['invoke', 'ok', 'fail', 'info'])
const KEYWORD_NAME = /^[A-Za-z_*+!?<>=.-][\w*+!?<>=./#'-]*$/
const INTEGER = /^[+-]?\d+$/
/** Looks like a client event (a numeric process), as opposed to other log lines, including nemesis events. */
const ETCD_EVENT_START = /^INFO\s+jepsen\.util\s+-\s+\d/
// Greedy to the end (the reader skips trailing blanks): a lazy `.*?\s*$` would backtrack quadratically.
const ETCD_EVENT = /^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(\S+)\s+:(\S+)\s+(\S.*)$/

/** The keyword `:name`; throws a TypeError if `name` is not a valid keyword name. */
export function keyword(name: string): EdnKeyword {
  if (!KEYWORD_NAME.test(name)) throw new TypeError(`not a valid EDN keyword name: ${JSON.stringify(name)}`)
  return { keyword: name }
}

/**
 * Reads a log of the old Jepsen etcd test: `INFO  jepsen.util - 3\t:invoke\t:write\t4`, a single register (key
 * `''`). Other lines are skipped; a line that starts like a client event but does not parse is a DecodeError.
 */
export function parseJepsenEtcdLog(text: string, options: ParseOptions = {}): HistoryEvent[] {
  const events: HistoryEvent[] = []
  for (const [lineNo, line] of lines(text, options)) {
    if (!ETCD_EVENT_START.test(line)) continue
    const m = ETCD_EVENT.exec(line)
    if (m === null) throw new DecodeError(`line ${lineNo}: malformed jepsen.util event: ${clip(line)}`)
    const [, process, type, f, value] = m as unknown as [string, string, string, string, string]
    if (!EVENT_TYPES.has(type)) throw new DecodeError(`line ${lineNo}: unknown event type :${type}`)
    if (!KEYWORD_NAME.test(f)) throw new DecodeError(`line ${lineNo}: bad operation name :${f}`)
    const reader = new EdnReader(value, lineNo)
    const parsed = reader.readValue(0)
    reader.expectEnd()
    events.push({ process: toProcess(Number(process), lineNo), type: type as EventType, f, key: '', value: parsed })
  }
  return events
}

/**
 * Reads one EDN map per line, as Jepsen, Knossos and Porcupine write histories. `:process`, `:type` and `:f` are
 * required, `:key` defaults to `''` (an integer key becomes its decimal string), `:value` to nil; other entries
 * (`:time`, `:index`, `:error`, ...) are ignored. Events of a non-numeric process (`:nemesis`) are not client
 * operations and are skipped, as Knossos does. Blank lines and `;` comments are skipped.
 */
export function parseEdnHistory(text: string, options: ParseOptions = {}): HistoryEvent[] {
  const events: HistoryEvent[] = []
  for (const [lineNo, raw] of lines(text, options)) {
    const line = raw.trim()
    if (line === '' || line.startsWith(';')) continue
    const entries = new EdnReader(line, lineNo).readLineMap()
    const fail = (msg: string): never => {
      throw new DecodeError(`line ${lineNo}: ${msg}`)
    }
    const process = entries.get('process')
    if (isKeyword(process)) continue
    if (typeof process !== 'number') return fail(':process must be an integer')
    const type = entries.get('type')
    if (!isKeyword(type) || !EVENT_TYPES.has(type.keyword)) return fail(':type must be :invoke, :ok, :fail or :info')
    const f = entries.get('f')
    if (!isKeyword(f)) return fail(':f must be a keyword')
    const key = entries.get('key') ?? ''
    if (typeof key !== 'string' && typeof key !== 'number') return fail(':key must be a string or an integer')
    const value = entries.get('value') ?? null
    events.push({
      process: toProcess(process, lineNo),
      type: type.keyword as EventType,
      f: f.keyword,
      key: String(key),
      value,
    })
  }
  return events
}

/** Our own history format is Jepsen's EDN, so `parseHistory(formatHistory(events))` gives `events` back. */
export const parseHistory: (text: string, options?: ParseOptions) => HistoryEvent[] = parseEdnHistory

/**
 * Writes one EDN map per line (each ending in `\n`). Values must be HistoryValues (`undefined` is written as nil);
 * anything else, or a line over MAX_LINE_LENGTH, is a programmer error (TypeError / RangeError).
 */
export function formatHistory(events: readonly HistoryEvent[]): string {
  let out = ''
  for (const e of events) {
    if (!Number.isSafeInteger(e.process) || e.process < 0) throw new TypeError(`bad process ${e.process}`)
    if (!EVENT_TYPES.has(e.type)) throw new TypeError(`bad event type ${String(e.type)}`)
    const key = e.key === '' ? '' : `, :key ${formatValue(e.key)}`
    const f = formatValue(keyword(e.f))
    const line = `{:process ${e.process}, :type :${e.type}, :f ${f}${key}, :value ${formatValue(e.value)}}`
    if (line.length > MAX_LINE_LENGTH) throw new RangeError(`event of process ${e.process} is over MAX_LINE_LENGTH`)
    out += line + '\n'
  }
  return out
}

/**
 * The EDN text of a HistoryValue. Also a canonical key: two values are equal exactly when their texts are, which the
 * models use to compare and memoize values.
 */
export function formatValue(value: unknown, depth = 0): string {
  if (value === null || value === undefined) return 'nil'
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isSafeInteger(value)) throw new TypeError(`only safe integers can be written, got ${value}`)
      return String(value === 0 ? 0 : value) // -0 would not survive the trip
    case 'string':
      return formatString(value)
    case 'object':
      if (Array.isArray(value)) {
        // The same bound as the reader's, so that whatever is written can be read back.
        if (depth >= MAX_VALUE_DEPTH) throw new TypeError(`value nested deeper than ${MAX_VALUE_DEPTH}`)
        return `[${value.map((v: unknown) => formatValue(v, depth + 1)).join(' ')}]`
      }
      if (isKeyword(value)) return `:${keyword(value.keyword).keyword}`
  }
  throw new TypeError(`cannot write ${typeof value} values in a history`)
}

/**
 * Pairs each invoke with the next completion of the same process (a process has at most one operation open).
 * `fail` operations are dropped; `info` ones, and invocations never completed, get `ret: Infinity` and an unknown
 * output. Time is the event's position in `events`.
 */
export function toOperations(events: readonly HistoryEvent[]): Operation[] {
  const open = new Map<number, { readonly event: HistoryEvent; readonly index: number; readonly slot: number }>()
  // Slots keep operations in invocation order; a failed one leaves a hole that is filtered out at the end.
  const slots: (Operation | null)[] = []
  events.forEach((e, index) => {
    const pending = open.get(e.process)
    if (e.type === 'invoke') {
      if (pending !== undefined) {
        throw new DecodeError(`event ${index}: process ${e.process} invoked ${e.f} while ${pending.event.f} is open`)
      }
      open.set(e.process, { event: e, index, slot: slots.length })
      slots.push(null)
      return
    }
    if (pending === undefined) throw new DecodeError(`event ${index}: process ${e.process} completed without invoke`)
    if (pending.event.f !== e.f || pending.event.key !== e.key) {
      const completed = `${e.f} ${JSON.stringify(e.key)}`
      const invoked = `${pending.event.f} ${JSON.stringify(pending.event.key)}`
      throw new DecodeError(`event ${index}: process ${e.process} completed ${completed}, not ${invoked}`)
    }
    open.delete(e.process)
    if (e.type === 'fail') return
    slots[pending.slot] = operation(pending.event, pending.index, e.type === 'ok' ? { value: e.value, index } : null)
  })
  for (const pending of open.values()) slots[pending.slot] = operation(pending.event, pending.index, null)
  return slots.filter((op): op is Operation => op !== null)
}

function operation(invoke: HistoryEvent, call: number, ok: { value: unknown; index: number } | null): Operation {
  const { process, f, key } = invoke
  const input = invoke.value
  if (ok === null) return { process, f, key, input, output: undefined, call, ret: Infinity, status: 'info' }
  return { process, f, key, input, output: ok.value, call, ret: ok.index, status: 'ok' }
}

function isKeyword(v: unknown): v is EdnKeyword {
  return typeof v === 'object' && v !== null && typeof (v as { keyword?: unknown }).keyword === 'string'
}

function toProcess(n: number, lineNo: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new DecodeError(`line ${lineNo}: process ${n} is not a safe integer`)
  return n
}

/** Yields [1-based line number, line without its line ending], enforcing the line count and length limits. */
function* lines(text: string, options: ParseOptions): Generator<[number, string]> {
  const maxLines = options.maxLines ?? DEFAULT_MAX_LINES
  if (!Number.isSafeInteger(maxLines) || maxLines < 1) {
    throw new InvalidOptionError(`maxLines must be a positive safe integer, got ${maxLines}`)
  }
  let pos = 0
  let lineNo = 0
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos)
    const end = nl === -1 ? text.length : nl
    if (++lineNo > maxLines) throw new DecodeError(`history has more than ${maxLines} lines`)
    if (end - pos > MAX_LINE_LENGTH + 1) throw new DecodeError(`line ${lineNo} is over ${MAX_LINE_LENGTH} characters`)
    let line = text.slice(pos, end)
    if (line.endsWith('\r')) line = line.slice(0, -1)
    if (line.length > MAX_LINE_LENGTH) throw new DecodeError(`line ${lineNo} is over ${MAX_LINE_LENGTH} characters`)
    yield [lineNo, line]
    pos = end + 1
  }
}

function clip(line: string): string {
  return line.length > 80 ? `${line.slice(0, 80)}...` : line
}

const STRING_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
}
// Other control characters and unpaired surrogates are written as \u escapes (four hex digits) so that every string
// survives the trip.
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

function formatString(s: string): string {
  const escaped = s.replace(
    NEEDS_ESCAPE,
    (c) => STRING_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
  return `"${escaped}"`
}

const READ_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  f: '\f',
}

/** A cursor over one line of EDN: the subset HistoryValue covers, plus one level of map for the event itself. */
class EdnReader {
  private pos = 0

  constructor(
    private readonly s: string,
    private readonly lineNo: number,
  ) {}

  fail(msg: string): never {
    throw new DecodeError(`line ${this.lineNo}, column ${this.pos + 1}: ${msg}`)
  }

  expectEnd(): void {
    this.skipSpace()
    if (this.pos < this.s.length) this.fail(`unexpected ${JSON.stringify(this.s.slice(this.pos, this.pos + 20))}`)
  }

  /** `{:k v, ...}` filling the whole line; keys must be keywords and appear once. */
  readLineMap(): Map<string, HistoryValue> {
    this.skipSpace()
    if (this.s[this.pos] !== '{') this.fail('expected an EDN map')
    this.pos++
    const entries = new Map<string, HistoryValue>()
    for (;;) {
      this.skipSpace()
      if (this.pos >= this.s.length) this.fail('unterminated map')
      if (this.s[this.pos] === '}') break
      const k = this.readValue(0)
      if (!isKeyword(k)) this.fail('map keys must be keywords')
      if (entries.has(k.keyword)) this.fail(`duplicate key :${k.keyword}`)
      this.skipSpace()
      if (this.pos >= this.s.length || this.s[this.pos] === '}') this.fail(`no value for :${k.keyword}`)
      entries.set(k.keyword, this.readValue(0))
    }
    this.pos++
    this.expectEnd()
    return entries
  }

  readValue(depth: number): HistoryValue {
    this.skipSpace()
    const c = this.s[this.pos]
    if (c === undefined) return this.fail('expected a value')
    if (c === '"') return this.readString()
    if (c === '[' || c === '(') {
      if (depth >= MAX_VALUE_DEPTH) this.fail(`value nested deeper than ${MAX_VALUE_DEPTH}`)
      const close = c === '[' ? ']' : ')'
      this.pos++
      const items: HistoryValue[] = []
      for (;;) {
        this.skipSpace()
        if (this.pos >= this.s.length) this.fail(`unterminated ${c}`)
        if (this.s[this.pos] === close) break
        items.push(this.readValue(depth + 1))
      }
      this.pos++
      return items
    }
    const start = this.pos
    while (this.pos < this.s.length && !isDelimiter(this.s.charCodeAt(this.pos))) this.pos++
    const token = this.s.slice(start, this.pos)
    if (token === '') return this.fail(`unsupported ${JSON.stringify(c)}`)
    if (token.startsWith(':')) {
      if (!KEYWORD_NAME.test(token.slice(1))) this.fail(`bad keyword ${token}`)
      return { keyword: token.slice(1) }
    }
    if (token === 'nil') return null
    if (token === 'true' || token === 'false') return token === 'true'
    if (INTEGER.test(token)) {
      const n = Number(token)
      if (!Number.isSafeInteger(n)) this.fail(`integer ${token} is not a safe integer`)
      return n === 0 ? 0 : n
    }
    return this.fail(`unsupported value ${JSON.stringify(token.slice(0, 40))}`)
  }

  private readString(): string {
    this.pos++ // the opening quote
    let out = ''
    let chunk = this.pos
    while (this.pos < this.s.length) {
      const c = this.s[this.pos]
      if (c === '"') {
        out += this.s.slice(chunk, this.pos)
        this.pos++
        return out
      }
      if (c !== '\\') {
        this.pos++
        continue
      }
      out += this.s.slice(chunk, this.pos)
      const e = this.s[this.pos + 1] ?? ''
      if (e === 'u') {
        const hex = this.s.slice(this.pos + 2, this.pos + 6)
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape')
        out += String.fromCharCode(parseInt(hex, 16))
        this.pos += 6
      } else {
        const r = READ_ESCAPES[e]
        if (r === undefined) this.fail(`bad escape \\${e}`)
        out += r
        this.pos += 2
      }
      chunk = this.pos
    }
    return this.fail('unterminated string')
  }

  private skipSpace(): void {
    // EDN treats commas as whitespace.
    while (this.pos < this.s.length && isSpace(this.s.charCodeAt(this.pos))) this.pos++
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x2c
}

const DELIMITERS = new Set([...'";()[]{}'].map((c) => c.charCodeAt(0)))

function isDelimiter(c: number): boolean {
  return isSpace(c) || DELIMITERS.has(c)
}
