// The `/synod/raft/1` codec and the persisted Raft records: exact round trips (properties per message type and per
// record, and every message a real cluster exchanges), one encoding per value, hostile input that only ever surfaces
// as a DecodeError (matched by err.name, as callers do), and each rule for impossible values, checked on both sides:
// the encoder refuses the value and the decoder refuses hand-written bytes carrying it.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeConfig,
  decodeEntry,
  decodeHardState,
  decodeRaftMessage,
  decodeSnapshotMeta,
  encodeConfig,
  encodeEntry,
  encodeHardState,
  encodeRaftMessage,
  encodeSnapshotMeta,
  RAFT_LIMITS,
  RAFT_PROTOCOL,
  type RaftLimits,
} from '../../../src/consensus/raft/codec.js'
import type {
  AppendMessage,
  ClusterConfig,
  Entry,
  HardState,
  Message,
  MessageType,
  SnapshotMeta,
} from '../../../src/consensus/raft/types.js'
import { Writer } from '../../../src/transport/wire.js'
import { RaftNet } from '../../support/raft-net.js'

const MAX = Number.MAX_SAFE_INTEGER
const MiB = 1024 * 1024

/** Runs `fn` and returns the error's name, failing the test if nothing was thrown. */
function errorName(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as Error).name
  }
  throw new Error('expected an error, none was thrown')
}

/** Runs `fn`, expects a DecodeError, and returns its message (so a test can check it names the problem). */
function decodeErrorMessage(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect((err as Error).name).toBe('DecodeError')
    return (err as Error).message
  }
  throw new Error('expected a DecodeError, none was thrown')
}

/** Decodes `bytes`; anything but a DecodeError fails, and whatever decodes must re-encode to exactly `bytes`. */
function decodesCanonicallyOrRejects(bytes: Uint8Array, decode: (b: Uint8Array) => unknown, encode: (v: never) => Uint8Array): void {
  let value: unknown
  try {
    value = decode(bytes)
  } catch (err) {
    expect((err as Error).name).toBe('DecodeError')
    return
  }
  expect(encode(value as never)).toEqual(bytes)
}

// ---- the layout, written out independently and without any checks ---------------------------------------------------

const CODES: Record<MessageType, number> = {
  append: 1,
  appendResponse: 2,
  vote: 3,
  voteResponse: 4,
  heartbeat: 5,
  heartbeatResponse: 6,
  snapshot: 7,
  snapshotResponse: 8,
  timeoutNow: 9,
  readIndex: 10,
  readIndexResponse: 11,
}

function rawConfig(w: Writer, c: ClusterConfig): void {
  w.varuint(c.voters.length)
  for (const id of c.voters) w.string(id)
  w.varuint(c.learners.length)
  for (const id of c.learners) w.string(id)
}

function rawEntry(w: Writer, e: Entry): void {
  w.u8({ normal: 1, config: 2, noop: 3 }[e.kind]).varuint(e.index).varuint(e.term)
  if (e.kind === 'normal') w.bytes(e.data)
  if (e.kind === 'config') rawConfig(w, e.config)
}

function rawOptional(w: Writer, s: string | null): void {
  if (s === null) w.u8(0)
  else w.u8(1).string(s)
}

/** Writes `m` in the wire layout with no validation, so that values the encoder refuses can reach the decoder. */
function rawMessage(m: Message): Uint8Array {
  const w = new Writer().u8(CODES[m.type]).string(m.from).string(m.to).varuint(m.term)
  switch (m.type) {
    case 'append':
      w.varuint(m.prevIndex).varuint(m.prevTerm).varuint(m.commit).varuint(m.entries.length)
      for (const e of m.entries) rawEntry(w, e)
      break
    case 'appendResponse':
      w.u8(m.reject ? 1 : 0).varuint(m.index).varuint(m.hintIndex).varuint(m.hintTerm)
      break
    case 'vote':
      w.u8((m.pre ? 1 : 0) | (m.transfer ? 2 : 0)).varuint(m.lastIndex).varuint(m.lastTerm)
      break
    case 'voteResponse':
      w.u8((m.pre ? 1 : 0) | (m.granted ? 2 : 0))
      break
    case 'heartbeat':
      w.varuint(m.commit)
      rawOptional(w, m.ctx)
      break
    case 'heartbeatResponse':
      rawOptional(w, m.ctx)
      break
    case 'snapshot':
      w.varuint(m.meta.index).varuint(m.meta.term)
      rawConfig(w, m.meta.config)
      w.varuint(m.offset).varuint(m.total).bytes(m.chunk)
      break
    case 'snapshotResponse':
      w.varuint(m.index).varuint(m.offset)
      break
    case 'timeoutNow':
      break
    case 'readIndex':
      w.string(m.ctx)
      break
    case 'readIndexResponse':
      w.string(m.ctx).varuint(m.index + 1)
      break
  }
  return w.finish()
}

/** The header of a message, for hand-written bodies. */
function head(type: MessageType, term = 5, from = 'a', to = 'b'): Writer {
  return new Writer().u8(CODES[type]).string(from).string(to).varuint(term)
}

// ---- arbitraries: valid values only ---------------------------------------------------------------------------------

const idArb = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }),
  // Any code point, so multi-byte UTF-8, astral characters and U+FEFF are covered.
  fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
  fc.constant('n'.repeat(RAFT_LIMITS.maxNodeIdLength)),
)
const ctxArb = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constant('c'.repeat(RAFT_LIMITS.maxReadCtxLength)),
)
const natArb = fc.oneof(fc.nat(20), fc.maxSafeNat())
const termArb = fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: MAX }))
const envArb = fc.tuple(fc.uniqueArray(idArb, { minLength: 2, maxLength: 2 }), natArb).map(([[from = 'a', to = 'b'], term]) => ({ from, to, term }))
const leaderEnvArb = fc.tuple(envArb, termArb).map(([env, term]) => ({ ...env, term }))

const configArb: fc.Arbitrary<ClusterConfig> = fc
  .uniqueArray(idArb, { maxLength: 8 })
  .chain((ids) => fc.nat(ids.length).map((k) => ({ voters: ids.slice(0, k), learners: ids.slice(k) })))

function entryArb(index: number, term: number): fc.Arbitrary<Entry> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 64 }).map((data): Entry => ({ index, term, kind: 'normal', data })),
    configArb.map((config): Entry => ({ index, term, kind: 'config', config })),
    fc.constant<Entry>({ index, term, kind: 'noop' }),
  )
}

/** An index and term as a log has them: index 0 has term 0, any other index a term in [1, maxTerm]. */
function positionArb(maxTerm: number, maxIndex = MAX): fc.Arbitrary<[number, number]> {
  return fc.oneof(
    fc.constant<[number, number]>([0, 0]),
    fc.tuple(fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: maxIndex })), fc.integer({ min: 1, max: maxTerm })),
  )
}

const appendArb: fc.Arbitrary<Message> = leaderEnvArb.chain((env) =>
  fc.tuple(positionArb(env.term, MAX - 16), natArb).chain(([[prevIndex, prevTerm], commit]) =>
    fc
      .array(fc.integer({ min: Math.max(prevTerm, 1), max: env.term }), { maxLength: 8 })
      .chain((terms) => fc.tuple(...[...terms].sort((a, b) => a - b).map((t, i) => entryArb(prevIndex + 1 + i, t))))
      .map((entries): Message => ({ type: 'append', ...env, prevIndex, prevTerm, entries, commit })),
  ),
)

const appendResponseArb: fc.Arbitrary<Message> = envArb.chain((env) =>
  fc.oneof(
    natArb.map((index): Message => ({ type: 'appendResponse', ...env, reject: false, index, hintIndex: 0, hintTerm: 0 })),
    natArb.chain((index) =>
      fc
        .tuple(fc.nat({ max: index }), fc.nat({ max: env.term }))
        .map(([hintIndex, hintTerm]): Message => ({
          type: 'appendResponse',
          ...env,
          reject: true,
          index,
          hintIndex,
          hintTerm: hintIndex === 0 ? 0 : hintTerm,
        })),
    ),
  ),
)

const voteArb: fc.Arbitrary<Message> = leaderEnvArb.chain((env) =>
  fc
    .tuple(positionArb(env.term), fc.constantFrom([false, false], [true, false], [false, true]))
    .map(([[lastIndex, lastTerm], [pre, transfer]]): Message => ({ type: 'vote', ...env, pre, lastIndex, lastTerm, transfer })),
)

const voteResponseArb: fc.Arbitrary<Message> = fc
  .tuple(envArb, fc.boolean(), fc.boolean())
  .map(([env, pre, granted]): Message => ({ type: 'voteResponse', ...env, term: granted ? Math.max(env.term, 1) : env.term, pre, granted }))

const snapshotArb: fc.Arbitrary<Message> = leaderEnvArb.chain((env) =>
  fc
    .tuple(
      fc.integer({ min: 1, max: MAX }),
      fc.integer({ min: 1, max: env.term }),
      configArb,
      fc.uint8Array({ maxLength: 64 }),
      fc.oneof(fc.nat(40), fc.integer({ min: 0, max: RAFT_LIMITS.maxSnapshotTotalBytes })),
    )
    .chain(([index, term, config, chunk, slack]) =>
      fc.integer({ min: 0, max: RAFT_LIMITS.maxSnapshotTotalBytes - chunk.length }).map((offset): Message => ({
        type: 'snapshot',
        ...env,
        meta: { index, term, config },
        offset,
        total: Math.min(offset + chunk.length + slack, RAFT_LIMITS.maxSnapshotTotalBytes),
        chunk,
      })),
    ),
)

const messageArbs: Record<MessageType, fc.Arbitrary<Message>> = {
  append: appendArb,
  appendResponse: appendResponseArb,
  vote: voteArb,
  voteResponse: voteResponseArb,
  heartbeat: fc
    .tuple(leaderEnvArb, natArb, fc.option(ctxArb, { nil: null }))
    .map(([env, commit, ctx]): Message => ({ type: 'heartbeat', ...env, commit, ctx })),
  heartbeatResponse: fc
    .tuple(envArb, fc.option(ctxArb, { nil: null }))
    .map(([env, ctx]): Message => ({ type: 'heartbeatResponse', ...env, ctx })),
  snapshot: snapshotArb,
  snapshotResponse: fc
    .tuple(envArb, fc.integer({ min: 1, max: MAX }), fc.nat({ max: RAFT_LIMITS.maxSnapshotTotalBytes }))
    .map(([env, index, offset]): Message => ({ type: 'snapshotResponse', ...env, index, offset })),
  timeoutNow: leaderEnvArb.map((env): Message => ({ type: 'timeoutNow', ...env })),
  readIndex: fc.tuple(envArb, ctxArb).map(([env, ctx]): Message => ({ type: 'readIndex', ...env, ctx })),
  readIndexResponse: fc
    .tuple(envArb, ctxArb, fc.oneof(fc.constant(-1), fc.nat(20), fc.integer({ min: -1, max: MAX - 1 })))
    .map(([env, ctx, index]): Message => ({ type: 'readIndexResponse', ...env, ctx, index })),
}
const TYPES = Object.keys(messageArbs) as MessageType[]
const messageArb = fc.oneof(...TYPES.map((t) => messageArbs[t]))

const entryRecordArb = fc.tuple(fc.integer({ min: 1, max: MAX }), termArb).chain(([index, term]) => entryArb(index, term))
const hardStateArb: fc.Arbitrary<HardState> = fc
  .tuple(natArb, natArb, fc.option(idArb, { nil: null }))
  .map(([term, commit, vote]) => ({ term, commit, vote: term === 0 ? null : vote }))
const snapshotMetaArb: fc.Arbitrary<SnapshotMeta> = fc
  .tuple(positionArb(MAX), configArb)
  .map(([[index, term], config]) => ({ index, term, config }))

// ---- fixed examples -------------------------------------------------------------------------------------------------

const config3: ClusterConfig = { voters: ['a', 'b', 'c'], learners: ['d'] }
/** One message of each type, typed by its type so that variants can be spread from it. */
const examples: { readonly [K in MessageType]: Extract<Message, { type: K }> } = {
  append: {
    type: 'append',
    from: 'a',
    to: 'b',
    term: 7,
    prevIndex: 10,
    prevTerm: 3,
    entries: [
      { index: 11, term: 3, kind: 'normal', data: new Uint8Array([1, 2, 3]) },
      { index: 12, term: 7, kind: 'noop' },
      { index: 13, term: 7, kind: 'config', config: config3 },
    ],
    commit: 11,
  },
  appendResponse: { type: 'appendResponse', from: 'b', to: 'a', term: 7, reject: true, index: 10, hintIndex: 8, hintTerm: 2 },
  vote: { type: 'vote', from: 'a', to: 'b', term: 8, pre: true, lastIndex: 13, lastTerm: 7, transfer: false },
  voteResponse: { type: 'voteResponse', from: 'b', to: 'a', term: 8, pre: true, granted: true },
  heartbeat: { type: 'heartbeat', from: 'a', to: 'b', term: 7, commit: 12, ctx: 'read-1' },
  heartbeatResponse: { type: 'heartbeatResponse', from: 'b', to: 'a', term: 7, ctx: 'read-1' },
  snapshot: {
    type: 'snapshot',
    from: 'a',
    to: 'd',
    term: 7,
    meta: { index: 100, term: 6, config: config3 },
    offset: 64,
    total: 200,
    chunk: new Uint8Array(64).fill(9),
  },
  snapshotResponse: { type: 'snapshotResponse', from: 'd', to: 'a', term: 7, index: 100, offset: 128 },
  timeoutNow: { type: 'timeoutNow', from: 'a', to: 'b', term: 7 },
  readIndex: { type: 'readIndex', from: 'b', to: 'a', term: 7, ctx: 'read-2' },
  readIndexResponse: { type: 'readIndexResponse', from: 'a', to: 'b', term: 7, ctx: 'read-2', index: -1 },
}
const exampleList = TYPES.map((t) => examples[t])

const entryExamples: Entry[] = [
  { index: 1, term: 1, kind: 'normal', data: new Uint8Array([0, 255]) },
  { index: 2, term: 1, kind: 'config', config: config3 },
  { index: 3, term: 2, kind: 'noop' },
]
const hardStateExamples: HardState[] = [
  { term: 0, vote: null, commit: 0 },
  { term: 4, vote: 'b', commit: 17 },
]
const metaExamples: SnapshotMeta[] = [
  { index: 0, term: 0, config: { voters: [], learners: [] } },
  { index: 50, term: 3, config: config3 },
]

/** Each record kind, for the tests they all share. */
const records = [
  { name: 'entry', encode: encodeEntry, decode: decodeEntry, arb: entryRecordArb, examples: entryExamples },
  { name: 'hard state', encode: encodeHardState, decode: decodeHardState, arb: hardStateArb, examples: hardStateExamples },
  { name: 'snapshot meta', encode: encodeSnapshotMeta, decode: decodeSnapshotMeta, arb: snapshotMetaArb, examples: metaExamples },
  { name: 'config', encode: encodeConfig, decode: decodeConfig, arb: configArb, examples: [config3, { voters: ['x'], learners: [] }] },
] as const

// ---- tests ----------------------------------------------------------------------------------------------------------

describe('messages round trip', () => {
  it('names the protocol with its version', () => {
    expect(RAFT_PROTOCOL).toBe('/synod/raft/1')
  })

  it.each(TYPES)('decodes an encoded %s example to an equal message', (type) => {
    const m = examples[type]
    expect(decodeRaftMessage(encodeRaftMessage(m))).toEqual(m)
  })

  it.each(TYPES)('round-trips arbitrary %s messages (property)', (type) => {
    fc.assert(
      fc.property(messageArbs[type], (m) => {
        expect(m.type).toBe(type)
        const bytes = encodeRaftMessage(m)
        expect(bytes[0]).toBe(CODES[type])
        expect(decodeRaftMessage(bytes)).toEqual(m)
      }),
      { numRuns: 300 },
    )
  })

  it('writes exactly the documented layout (property)', () => {
    // Pins the wire format: changing it needs a new protocol id, not a silent edit.
    fc.assert(
      fc.property(messageArb, (m) => {
        expect(encodeRaftMessage(m)).toEqual(rawMessage(m))
      }),
      { numRuns: 500 },
    )
    expect([...encodeRaftMessage({ type: 'timeoutNow', from: 'a', to: 'b', term: 300 })]).toEqual([9, 1, 0x61, 1, 0x62, 0xac, 0x02])
  })

  it('encodes a refused read as index 0 and index n as n + 1', () => {
    const refused = encodeRaftMessage(examples.readIndexResponse)
    expect(refused.at(-1)).toBe(0)
    const served = encodeRaftMessage({ ...examples.readIndexResponse, index: 0 })
    expect(served.at(-1)).toBe(1)
    expect(decodeRaftMessage(served)).toMatchObject({ index: 0 })
  })

  it('accepts every limit exactly', () => {
    const id = 'x'.repeat(RAFT_LIMITS.maxNodeIdLength)
    const members = Array.from({ length: RAFT_LIMITS.maxConfigMembers }, (_, i) => `node-${i}`)
    const config = { voters: members.slice(0, 40), learners: members.slice(40) }
    const big: Message[] = [
      { type: 'timeoutNow', from: id, to: `${id.slice(1)}y`, term: MAX },
      { type: 'readIndex', from: 'a', to: 'b', term: 0, ctx: 'c'.repeat(RAFT_LIMITS.maxReadCtxLength) },
      { type: 'readIndexResponse', from: 'a', to: 'b', term: 1, ctx: '', index: MAX - 1 },
      {
        type: 'snapshot',
        from: 'a',
        to: 'b',
        term: 2,
        meta: { index: MAX, term: 2, config },
        offset: RAFT_LIMITS.maxSnapshotTotalBytes - RAFT_LIMITS.maxSnapshotChunkBytes,
        total: RAFT_LIMITS.maxSnapshotTotalBytes,
        chunk: new Uint8Array(RAFT_LIMITS.maxSnapshotChunkBytes),
      },
      {
        type: 'append',
        from: 'a',
        to: 'b',
        term: 2,
        prevIndex: 0,
        prevTerm: 0,
        commit: 0,
        entries: Array.from({ length: RAFT_LIMITS.maxEntriesPerAppend }, (_, i): Entry => ({ index: i + 1, term: 2, kind: 'noop' })),
      },
      // 4 MiB of data in full-size entries: the header allowance covers the overhead.
      {
        type: 'append',
        from: 'a',
        to: 'b',
        term: 2,
        prevIndex: MAX - 10,
        prevTerm: 1,
        commit: 0,
        entries: Array.from({ length: 4 }, (_, i): Entry => ({ index: MAX - 9 + i, term: 2, kind: 'normal', data: new Uint8Array(MiB) })),
      },
    ]
    for (const m of big) {
      const bytes = encodeRaftMessage(m)
      expect(bytes.length).toBeLessThanOrEqual(RAFT_LIMITS.maxMessageBytes)
      expect(decodeRaftMessage(bytes)).toEqual(m)
    }
  })

  it('keeps a leading U+FEFF and other code points in ids and ctx', () => {
    const m: Message = { type: 'readIndex', from: '\uFEFFa', to: 'a', term: 1, ctx: '\uFEFF日本😀' }
    expect(decodeRaftMessage(encodeRaftMessage(m))).toEqual(m)
  })

  it('returns copies of entry data and chunks, not views of the input', () => {
    const bytes = encodeRaftMessage(examples.append)
    const decoded = decodeRaftMessage(bytes)
    const snapBytes = encodeRaftMessage(examples.snapshot)
    const snap = decodeRaftMessage(snapBytes)
    bytes.fill(0)
    snapBytes.fill(0)
    expect(decoded).toEqual(examples.append)
    expect(snap).toEqual(examples.snapshot)
  })

  it('round-trips every message and persisted record of a running cluster', () => {
    // Elections with PreVote, replication, a rejected append with a hint, ReadIndex from a follower and the leader,
    // a learner caught up by a chunked snapshot, a promotion, and a leadership transfer.
    const net = new RaftNet(['a', 'b', 'c'], { snapshotChunkBytes: 16 })
    net.campaign('a')
    for (let i = 0; i < 5; i++) net.propose('a', `v${i}`)
    net.isolate('c')
    for (let i = 5; i < 10; i++) net.propose('a', `v${i}`)
    net.recover()
    net.tickAll(3)
    net.core('b').readIndex('from-b')
    net.core('a').readIndex('from-a')
    net.tickAll(2)
    net.compact('a')
    net.addNode('d')
    net.core('a').proposeConfigChange({ type: 'addLearner', node: 'd' })
    net.tickAll(20)
    net.core('a').proposeConfigChange({ type: 'promote', node: 'd' })
    net.tickAll(3)
    net.core('a').transferLeadership('b')
    net.tickAll(5)
    net.crash('b')
    net.tickAll(40)
    net.restart('b')
    net.tickAll(10)

    const seen = new Set(net.delivered.map((m) => m.type))
    expect([...seen].sort()).toEqual([...TYPES].sort())
    for (const m of net.delivered) expect(decodeRaftMessage(encodeRaftMessage(m))).toEqual(m)
    expect(net.delivered.some((m) => m.type === 'appendResponse' && m.reject)).toBe(true)
    expect(net.delivered.some((m) => m.type === 'vote' && m.transfer)).toBe(true)

    for (const [, node] of net.nodes) {
      const { hardState, snapshot, entries } = node.disk
      expect(decodeHardState(encodeHardState(hardState))).toEqual(hardState)
      if (snapshot !== undefined) expect(decodeSnapshotMeta(encodeSnapshotMeta(snapshot.meta))).toEqual(snapshot.meta)
      for (const e of entries) {
        expect(decodeEntry(encodeEntry(e))).toEqual(e)
        if (e.kind === 'config') expect(decodeConfig(encodeConfig(e.config))).toEqual(e.config)
      }
    }
  })
})

describe('records round trip', () => {
  for (const rec of records) {
    it(`round-trips ${rec.name} examples, version byte first`, () => {
      for (const v of rec.examples) {
        const bytes = (rec.encode as (v: unknown) => Uint8Array)(v)
        expect(bytes[0]).toBe(1)
        expect(rec.decode(bytes)).toEqual(v)
      }
    })

    it(`round-trips arbitrary ${rec.name} records (property)`, () => {
      fc.assert(
        fc.property(rec.arb as fc.Arbitrary<unknown>, (v) => {
          const bytes = (rec.encode as (v: unknown) => Uint8Array)(v)
          expect(bytes[0]).toBe(1)
          expect(rec.decode(bytes)).toEqual(v)
        }),
        { numRuns: 300 },
      )
    })
  }

  it('stores entries and snapshot meta in the layout messages carry them in', () => {
    for (const e of entryExamples) {
      const w = new Writer()
      rawEntry(w, e)
      expect(encodeEntry(e).subarray(1)).toEqual(w.finish())
    }
    const meta = metaExamples[1] as SnapshotMeta
    const w = new Writer().varuint(meta.index).varuint(meta.term)
    rawConfig(w, meta.config)
    expect(encodeSnapshotMeta(meta).subarray(1)).toEqual(w.finish())
  })
})

describe('malformed messages are a DecodeError', () => {
  it('rejects an empty message', () => {
    expect(errorName(() => decodeRaftMessage(new Uint8Array(0)))).toBe('DecodeError')
  })

  it.each([0, 12, 13, 127, 255])('rejects unknown message type %i', (type) => {
    const bytes = new Writer().u8(type).string('a').string('b').varuint(1).finish()
    expect(decodeErrorMessage(() => decodeRaftMessage(bytes))).toMatch(/unknown raft message type/)
  })

  it.each(TYPES)('rejects trailing bytes after a %s message', (type) => {
    const bytes = encodeRaftMessage(examples[type])
    expect(decodeErrorMessage(() => decodeRaftMessage(new Uint8Array([...bytes, 0])))).toMatch(/trailing/)
  })

  it.each(TYPES)('rejects every truncation of a %s message', (type) => {
    const bytes = encodeRaftMessage(examples[type])
    for (let n = 0; n < bytes.length; n++) {
      expect(errorName(() => decodeRaftMessage(bytes.subarray(0, n)))).toBe('DecodeError')
    }
  })

  it('rejects every truncation of arbitrary messages (property)', () => {
    fc.assert(
      fc.property(messageArb, fc.nat(), (m, cut) => {
        const bytes = encodeRaftMessage(m)
        expect(errorName(() => decodeRaftMessage(bytes.subarray(0, cut % bytes.length)))).toBe('DecodeError')
      }),
      { numRuns: 1000 },
    )
  })

  it('only ever throws DecodeError on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
        decodesCanonicallyOrRejects(bytes, (b) => decodeRaftMessage(b), encodeRaftMessage)
      }),
      { numRuns: 5000 },
    )
  })

  it('only ever throws DecodeError on random bodies behind a valid header (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TYPES), fc.nat(12), fc.uint8Array({ maxLength: 96 }), (type, term, body) => {
        const bytes = new Uint8Array([...head(type, term).finish(), ...body])
        decodesCanonicallyOrRejects(bytes, (b) => decodeRaftMessage(b), encodeRaftMessage)
      }),
      { numRuns: 5000 },
    )
  })

  it('only ever throws DecodeError on mutated valid messages (property)', () => {
    fc.assert(
      fc.property(messageArb, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), (m, edits) => {
        const bytes = encodeRaftMessage(m)
        for (const [at, value] of edits) bytes[at % bytes.length] = value
        decodesCanonicallyOrRejects(bytes, (b) => decodeRaftMessage(b), encodeRaftMessage)
      }),
      { numRuns: 3000 },
    )
  })

  it('rejects unknown flag bits and presence bytes', () => {
    const cases = [
      head('appendResponse').u8(2).varuint(1).varuint(0).varuint(0),
      head('vote').u8(4).varuint(0).varuint(0),
      head('voteResponse').u8(0x80),
      head('heartbeat').varuint(0).u8(2),
      head('heartbeatResponse').u8(7),
    ]
    for (const w of cases) expect(decodeErrorMessage(() => decodeRaftMessage(w.finish()))).toMatch(/flags|presence/)
  })

  it.each([0, 4, 255])('rejects unknown entry kind %i', (kind) => {
    const bytes = head('append').varuint(0).varuint(0).varuint(0).varuint(1).u8(kind).varuint(1).varuint(1).finish()
    expect(decodeErrorMessage(() => decodeRaftMessage(bytes))).toMatch(/entry kind/)
  })

  it('rejects ids and ctx that are not UTF-8, or too many bytes to be within the length limit', () => {
    const bad = new Uint8Array([0xc3, 0x28])
    expect(errorName(() => decodeRaftMessage(new Writer().u8(9).bytes(bad).string('b').varuint(1).finish()))).toBe('DecodeError')
    expect(errorName(() => decodeRaftMessage(head('readIndex').bytes(bad).finish()))).toBe('DecodeError')
    const long = new Writer().u8(9).string('a'.repeat(3 * RAFT_LIMITS.maxNodeIdLength + 1)).string('b').varuint(1).finish()
    expect(decodeErrorMessage(() => decodeRaftMessage(long))).toMatch(/cannot be within/)
  })

  it('rejects a message longer than the limit it is decoded under', () => {
    const bytes = encodeRaftMessage(examples.append)
    expect(decodeErrorMessage(() => decodeRaftMessage(bytes, { maxMessageBytes: bytes.length - 1 }))).toMatch(/exceeds/)
    expect(decodeRaftMessage(bytes, { maxMessageBytes: bytes.length })).toEqual(examples.append)
  })

  describe('oversized counts fail before any loop or allocation', () => {
    // Each claims far more items than the bytes could hold; a decoder that looped or pre-sized an array would hang
    // or run out of memory here instead of failing at once.
    it('an append claiming 2^40 entries in a few bytes', () => {
      const bytes = head('append').varuint(0).varuint(0).varuint(0).varuint(2 ** 40).finish()
      expect(bytes.length).toBeLessThan(16)
      expect(decodeErrorMessage(() => decodeRaftMessage(bytes))).toMatch(/exceed the limit/)
      // With the limit lifted, the remaining-bytes check still refuses before looping.
      const lifted = { maxEntriesPerAppend: 2 ** 50 }
      expect(decodeErrorMessage(() => decodeRaftMessage(bytes, lifted))).toMatch(/cannot fit in the remaining/)
    })

    it('an append claiming entries within the limit but more than the bytes can hold', () => {
      const bytes = head('append').varuint(0).varuint(0).varuint(0).varuint(4000).u8(3).varuint(1).varuint(1).finish()
      expect(decodeErrorMessage(() => decodeRaftMessage(bytes))).toMatch(/cannot fit in the remaining/)
    })

    it('a config claiming 2^40 voters or too many learners', () => {
      const voters = head('snapshot').varuint(1).varuint(1).varuint(2 ** 40).finish()
      expect(decodeErrorMessage(() => decodeRaftMessage(voters))).toMatch(/voters exceed the limit/)
      const lifted = { maxConfigMembers: 2 ** 50 }
      expect(decodeErrorMessage(() => decodeRaftMessage(voters, lifted))).toMatch(/cannot fit/)
      // 60 voters leave room for 4 learners, not 5.
      const w = new Writer().u8(1).varuint(60)
      for (let i = 0; i < 60; i++) w.string(`v${i}`)
      w.varuint(5)
      for (let i = 0; i < 5; i++) w.string(`l${i}`)
      expect(decodeErrorMessage(() => decodeConfig(w.finish()))).toMatch(/learners exceed the limit of 4/)
    })

    it('a field length of 2^40', () => {
      const bytes = head('append').varuint(0).varuint(0).varuint(0).varuint(1).u8(1).varuint(1).varuint(1).varuint(2 ** 40).finish()
      expect(errorName(() => decodeRaftMessage(bytes))).toBe('DecodeError')
    })
  })
})

/** A value no correct node produces: the encoder must refuse it, and the decoder must refuse its raw bytes. */
interface BadCase {
  readonly name: string
  readonly message: Message
  /** What the DecodeError's message must mention. */
  readonly reason: RegExp
  readonly limits?: Partial<RaftLimits>
}

const appendBase: AppendMessage = examples.append
const noop = (index: number, term: number): Entry => ({ index, term, kind: 'noop' })
const withConfig = (config: ClusterConfig): Message => ({ ...appendBase, entries: [{ index: 11, term: 3, kind: 'config', config }] })

const badCases: BadCase[] = [
  // Envelope.
  { name: 'from equal to to', message: { ...examples.timeoutNow, to: 'a' }, reason: /both a/ },
  { name: 'an empty from', message: { ...examples.timeoutNow, from: '' }, reason: /from is empty/ },
  { name: 'an empty to', message: { ...examples.voteResponse, to: '' }, reason: /to is empty/ },
  { name: 'an id over the length limit', message: { ...examples.timeoutNow, to: 'b'.repeat(129) }, reason: /over the limit of 128/ },
  { name: 'an append in term 0', message: { ...appendBase, term: 0, prevIndex: 0, prevTerm: 0, entries: [] }, reason: /term 0/ },
  { name: 'a heartbeat in term 0', message: { ...examples.heartbeat, term: 0 }, reason: /term 0/ },
  { name: 'a vote in term 0', message: { ...examples.vote, term: 0, lastIndex: 0, lastTerm: 0 }, reason: /term 0/ },
  { name: 'a timeoutNow in term 0', message: { ...examples.timeoutNow, term: 0 }, reason: /term 0/ },
  // Append.
  { name: 'entries with a gap', message: { ...appendBase, entries: [noop(11, 3), noop(13, 3)] }, reason: /expected 12/ },
  { name: 'entries not starting at prevIndex + 1', message: { ...appendBase, entries: [noop(12, 3)] }, reason: /expected 11/ },
  { name: 'entries going backwards', message: { ...appendBase, entries: [noop(11, 3), noop(11, 3)] }, reason: /expected 12/ },
  { name: 'decreasing entry terms', message: { ...appendBase, entries: [noop(11, 5), noop(12, 4)] }, reason: /below the term 5/ },
  { name: 'an entry term below prevTerm', message: { ...appendBase, entries: [noop(11, 2)] }, reason: /below the term 3/ },
  { name: 'an entry term above the message term', message: { ...appendBase, entries: [noop(11, 8)] }, reason: /above the message term/ },
  { name: 'an entry in term 0', message: { ...appendBase, prevIndex: 0, prevTerm: 0, entries: [noop(1, 0)] }, reason: /only index 0 has term 0/ },
  { name: 'prevIndex 0 with prevTerm 2', message: { ...appendBase, prevIndex: 0, prevTerm: 2, entries: [] }, reason: /prev index 0 with term 2/ },
  { name: 'prevIndex 4 with prevTerm 0', message: { ...appendBase, prevIndex: 4, prevTerm: 0, entries: [] }, reason: /prev index 4 with term 0/ },
  { name: 'prevTerm above the message term', message: { ...appendBase, prevTerm: 9, entries: [] }, reason: /prevTerm 9 is above/ },
  {
    name: 'more entries than the limit',
    message: { ...appendBase, entries: [noop(11, 3), noop(12, 3), noop(13, 3)] },
    reason: /3 entries exceed the limit of 2/,
    limits: { maxEntriesPerAppend: 2 },
  },
  {
    name: 'entry data over the limit',
    message: { ...appendBase, entries: [{ index: 11, term: 3, kind: 'normal', data: new Uint8Array(5) }] },
    reason: /5 bytes, over the limit of 4/,
    limits: { maxEntryDataBytes: 4 },
  },
  // Configurations.
  { name: 'a duplicate voter', message: withConfig({ voters: ['a', 'b', 'a'], learners: [] }), reason: /voter a is listed twice/ },
  { name: 'a duplicate learner', message: withConfig({ voters: ['a'], learners: ['d', 'd'] }), reason: /learner d is listed twice/ },
  { name: 'a voter that is also a learner', message: withConfig({ voters: ['a', 'b'], learners: ['b'] }), reason: /b is both a voter and a learner/ },
  { name: 'an empty member id', message: withConfig({ voters: ['a', ''], learners: [] }), reason: /voter id is empty/ },
  {
    name: 'a config over the member limit',
    message: withConfig({ voters: ['a', 'b', 'c'], learners: ['d'] }),
    reason: /learners exceed the limit of 0/,
    limits: { maxConfigMembers: 3 },
  },
  // AppendResponse.
  { name: 'an accepting response with a hint', message: { ...examples.appendResponse, reject: false }, reason: /carries a hint/ },
  { name: 'a hint past the rejected index', message: { ...examples.appendResponse, hintIndex: 11 }, reason: /past the rejected index/ },
  { name: 'a hint term above the message term', message: { ...examples.appendResponse, hintTerm: 8 }, reason: /hintTerm 8 is above/ },
  { name: 'a hint at index 0 with a term', message: { ...examples.appendResponse, hintIndex: 0, hintTerm: 1 }, reason: /hint index 0/ },
  // Vote.
  { name: 'a lastTerm above the campaign term', message: { ...examples.vote, lastTerm: 9 }, reason: /above the campaign term/ },
  { name: 'lastIndex 0 with a lastTerm', message: { ...examples.vote, lastIndex: 0, lastTerm: 1 }, reason: /last index 0 with term 1/ },
  { name: 'a PreVote that is a transfer', message: { ...examples.vote, pre: true, transfer: true }, reason: /transfer/ },
  { name: 'a vote granted in term 0', message: { ...examples.voteResponse, term: 0 }, reason: /granted in term 0/ },
  // Snapshots.
  { name: 'a chunk ending past the total', message: { ...examples.snapshot, offset: 137 }, reason: /ends past the total of 200/ },
  { name: 'a total over the limit', message: { ...examples.snapshot, total: 256 * MiB + 1 }, reason: /total .* over the limit/ },
  { name: 'a chunk over the limit', message: examples.snapshot, reason: /chunk of 64 bytes is over the limit of 32/, limits: { maxSnapshotChunkBytes: 32 } },
  { name: 'a snapshot at index 0', message: { ...examples.snapshot, meta: { index: 0, term: 0, config: config3 } }, reason: /snapshot index 0/ },
  { name: 'a snapshot term above the message term', message: { ...examples.snapshot, meta: { index: 100, term: 8, config: config3 } }, reason: /above the message term/ },
  { name: 'a snapshot index with term 0', message: { ...examples.snapshot, meta: { index: 100, term: 0, config: config3 } }, reason: /only index 0 has term 0/ },
  {
    name: 'a snapshot config with a voter-learner',
    message: { ...examples.snapshot, meta: { index: 100, term: 6, config: { voters: ['a'], learners: ['a'] } } },
    reason: /both a voter and a learner/,
  },
  { name: 'a snapshot response for index 0', message: { ...examples.snapshotResponse, index: 0 }, reason: /snapshot index 0/ },
  { name: 'a snapshot response offset past any snapshot', message: { ...examples.snapshotResponse, offset: 256 * MiB + 1 }, reason: /past the largest snapshot/ },
  // ReadIndex.
  { name: 'a readIndex ctx over the limit', message: { ...examples.readIndex, ctx: 'c'.repeat(129) }, reason: /ctx is 129 characters/ },
  { name: 'a heartbeat ctx over the limit', message: { ...examples.heartbeat, ctx: 'c'.repeat(129) }, reason: /ctx is 129 characters/ },
]

describe('impossible values are refused on both sides', () => {
  it.each(badCases)('$name', ({ message, reason, limits }) => {
    expect(errorName(() => encodeRaftMessage(message, limits))).toBe('InvalidOptionError')
    expect(decodeErrorMessage(() => decodeRaftMessage(rawMessage(message), limits))).toMatch(reason)
  })

  it('accepts each base message the bad cases start from', () => {
    // So that each bad case fails for its own reason, not for one the base already had.
    for (const m of exampleList) expect(decodeRaftMessage(rawMessage(m))).toEqual(m)
  })

  it('refuses a ReadIndexResponse index the wire cannot carry', () => {
    for (const index of [-2, -1.5, 0.5, MAX, Number.NaN]) {
      expect(errorName(() => encodeRaftMessage({ ...examples.readIndexResponse, index }))).toBe('InvalidOptionError')
    }
    // The smallest value on the wire is -1: no bytes decode to an index below it.
    expect(decodeRaftMessage(head('readIndexResponse').string('x').varuint(0).finish())).toMatchObject({ index: -1 })
  })

  it('refuses numbers that are negative, fractional, unsafe or not numbers', () => {
    for (const bad of [-1, 1.5, MAX + 1, Number.NaN, Infinity]) {
      expect(errorName(() => encodeRaftMessage({ ...examples.timeoutNow, term: bad }))).toBe('InvalidOptionError')
      expect(errorName(() => encodeRaftMessage({ ...examples.snapshotResponse, offset: bad }))).toBe('InvalidOptionError')
      expect(errorName(() => encodeRaftMessage({ ...appendBase, commit: bad }))).toBe('InvalidOptionError')
    }
  })

  it('refuses ids and ctx with a lone surrogate, which UTF-8 would silently replace', () => {
    expect(errorName(() => encodeRaftMessage({ ...examples.timeoutNow, from: 'a\uD800' }))).toBe('InvalidOptionError')
    expect(errorName(() => encodeRaftMessage({ ...examples.readIndex, ctx: '\uDC00' }))).toBe('InvalidOptionError')
    expect(errorName(() => encodeConfig({ voters: ['\uD83D'], learners: [] }))).toBe('InvalidOptionError')
  })

  it('refuses unknown message types and entry kinds', () => {
    expect(errorName(() => encodeRaftMessage({ ...examples.timeoutNow, type: 'gossip' } as unknown as Message))).toBe('InvalidOptionError')
    const odd = { index: 11, term: 3, kind: 'blob' } as unknown as Entry
    expect(errorName(() => encodeRaftMessage({ ...appendBase, entries: [odd] }))).toBe('InvalidOptionError')
    expect(errorName(() => encodeEntry(odd))).toBe('InvalidOptionError')
  })

  it('refuses a message over the size limit with MessageTooLargeError, before writing it', () => {
    const entries = Array.from({ length: 5 }, (_, i): Entry => ({ index: 11 + i, term: 3, kind: 'normal', data: new Uint8Array(MiB) }))
    expect(errorName(() => encodeRaftMessage({ ...appendBase, entries }))).toBe('MessageTooLargeError')
    const small = encodeRaftMessage(examples.heartbeat)
    expect(errorName(() => encodeRaftMessage(examples.heartbeat, { maxMessageBytes: small.length - 1 }))).toBe('MessageTooLargeError')
    expect(encodeRaftMessage(examples.heartbeat, { maxMessageBytes: small.length })).toEqual(small)
  })

  it('refuses invalid limits', () => {
    for (const limits of [{ maxEntriesPerAppend: -1 }, { maxNodeIdLength: 1.5 }, { maxMessageBytes: Number.NaN }]) {
      expect(errorName(() => encodeRaftMessage(examples.timeoutNow, limits))).toBe('InvalidOptionError')
      expect(errorName(() => decodeRaftMessage(encodeRaftMessage(examples.timeoutNow), limits))).toBe('InvalidOptionError')
    }
  })
})

describe('malformed records are a DecodeError', () => {
  for (const rec of records) {
    const valid = (rec.encode as (v: unknown) => Uint8Array)(rec.examples[1])

    it(`rejects ${rec.name} records of an unknown version`, () => {
      for (const version of [0, 2, 255]) {
        const bytes = new Uint8Array([version, ...valid.subarray(1)])
        expect(decodeErrorMessage(() => rec.decode(bytes))).toMatch(/unknown version/)
      }
    })

    it(`rejects every truncation of a ${rec.name} record, and trailing bytes`, () => {
      for (let n = 0; n < valid.length; n++) expect(errorName(() => rec.decode(valid.subarray(0, n)))).toBe('DecodeError')
      expect(decodeErrorMessage(() => rec.decode(new Uint8Array([...valid, 0])))).toMatch(/trailing/)
    })

    it(`only ever throws DecodeError on random ${rec.name} records (property)`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 48 }), fc.boolean(), (body, versioned) => {
          const bytes = versioned ? new Uint8Array([1, ...body]) : body
          decodesCanonicallyOrRejects(bytes, (b) => rec.decode(b), rec.encode)
        }),
        { numRuns: 2000 },
      )
    })
  }

  const recordCases: {
    name: string
    encode: () => unknown
    decode: (b: Uint8Array) => unknown
    bytes: Uint8Array
    reason: RegExp
  }[] = [
    {
      name: 'an entry at index 0',
      encode: () => encodeEntry(noop(0, 0)),
      decode: decodeEntry,
      bytes: new Writer().u8(1).u8(3).varuint(0).varuint(0).finish(),
      reason: /index 0 does not exist/,
    },
    {
      name: 'an entry in term 0',
      encode: () => encodeEntry(noop(4, 0)),
      decode: decodeEntry,
      bytes: new Writer().u8(1).u8(3).varuint(4).varuint(0).finish(),
      reason: /only index 0 has term 0/,
    },
    {
      name: 'entry data over the limit',
      encode: () => encodeEntry({ index: 1, term: 1, kind: 'normal', data: new Uint8Array(RAFT_LIMITS.maxEntryDataBytes + 1) }),
      decode: decodeEntry,
      bytes: new Writer().u8(1).u8(1).varuint(1).varuint(1).bytes(new Uint8Array(RAFT_LIMITS.maxEntryDataBytes + 1)).finish(),
      reason: /limit/,
    },
    {
      name: 'a vote for an empty id',
      encode: () => encodeHardState({ term: 2, vote: '', commit: 0 }),
      decode: decodeHardState,
      bytes: new Writer().u8(1).varuint(2).varuint(0).u8(1).string('').finish(),
      reason: /vote is empty/,
    },
    {
      name: 'a vote cast in term 0',
      encode: () => encodeHardState({ term: 0, vote: 'a', commit: 0 }),
      decode: decodeHardState,
      bytes: new Writer().u8(1).varuint(0).varuint(0).u8(1).string('a').finish(),
      reason: /cannot be cast in term 0/,
    },
    {
      name: 'a commit that is not a number, or a vote presence byte of 2',
      encode: () => encodeHardState({ term: 2, vote: null, commit: Number.NaN }),
      decode: decodeHardState,
      bytes: new Writer().u8(1).varuint(2).varuint(0).u8(2).finish(),
      reason: /presence/,
    },
    {
      name: 'snapshot meta at index 0 with a term',
      encode: () => encodeSnapshotMeta({ index: 0, term: 1, config: config3 }),
      decode: decodeSnapshotMeta,
      bytes: (() => {
        const w = new Writer().u8(1).varuint(0).varuint(1)
        rawConfig(w, config3)
        return w.finish()
      })(),
      reason: /only index 0 has term 0/,
    },
    {
      name: 'a config with a duplicate voter',
      encode: () => encodeConfig({ voters: ['a', 'a'], learners: [] }),
      decode: decodeConfig,
      bytes: new Writer().u8(1).varuint(2).string('a').string('a').varuint(0).finish(),
      reason: /voter a is listed twice/,
    },
    {
      name: 'a config over the member limit',
      encode: () => encodeConfig({ voters: Array.from({ length: 65 }, (_, i) => `n${i}`), learners: [] }),
      decode: decodeConfig,
      bytes: (() => {
        const w = new Writer().u8(1).varuint(65)
        for (let i = 0; i < 65; i++) w.string(`n${i}`)
        return w.varuint(0).finish()
      })(),
      reason: /65 voters exceed the limit of 64/,
    },
  ]

  it.each(recordCases)('refuses $name on both sides', ({ encode, decode, bytes, reason }) => {
    expect(errorName(encode)).toBe('InvalidOptionError')
    expect(decodeErrorMessage(() => decode(bytes))).toMatch(reason)
  })
})

describe('core limits stay within the codec limits', () => {
  it('every message the core may build is one the codec accepts', async () => {
    const { CORE_LIMITS, MAX_READ_CTX_LENGTH } = await import('../../../src/consensus/raft/options.js')
    const { RAFT_LIMITS } = await import('../../../src/consensus/raft/codec.js')
    expect(CORE_LIMITS.maxEntryBytes).toBeLessThanOrEqual(RAFT_LIMITS.maxEntryDataBytes)
    expect(CORE_LIMITS.maxEntriesPerAppend).toBeLessThanOrEqual(RAFT_LIMITS.maxEntriesPerAppend)
    expect(CORE_LIMITS.snapshotChunkBytes).toBeLessThanOrEqual(RAFT_LIMITS.maxSnapshotChunkBytes)
    // A full append: maxBytesPerAppend of entries, or one entry of maxEntryBytes, plus per-entry headers.
    expect(Math.max(CORE_LIMITS.maxBytesPerAppend, CORE_LIMITS.maxEntryBytes)).toBeLessThanOrEqual(
      RAFT_LIMITS.maxMessageBytes - 32 * CORE_LIMITS.maxEntriesPerAppend,
    )
    expect(MAX_READ_CTX_LENGTH).toBeLessThanOrEqual(RAFT_LIMITS.maxReadCtxLength)
  })
})
