/**
 * The `/synod/swim/1` codec: canonical round trips, every limit at and just past its edge, and hostile bytes, which
 * must only ever produce a DecodeError.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  SWIM_LIMITS,
  SWIM_PROTOCOL,
  decodeSwimMessage,
  encodeSwimMessage,
  type SwimMessage,
  type SwimState,
  type SwimUpdate,
} from '../../../src/membership/swim/index.js'
import { Writer } from '../../../src/transport/wire.js'

const { maxMessageBytes, maxUpdates, maxSyncMembers, maxIdLength } = SWIM_LIMITS
const STATES = ['alive', 'suspect', 'dead', 'left'] as const satisfies readonly SwimState[]
const TYPE = { ping: 1, ack: 2, nack: 3, pingReq: 4, join: 5, sync: 6 } as const

function expectError(name: string, fn: () => unknown, message?: RegExp): void {
  let thrown: unknown
  try {
    fn()
  } catch (err) {
    thrown = err
  }
  expect(thrown, `expected a ${name}, nothing was thrown`).toBeInstanceOf(Error)
  expect((thrown as Error).name, (thrown as Error).message).toBe(name)
  if (message !== undefined) expect((thrown as Error).message).toMatch(message)
}

const expectDecodeError = (fn: () => unknown, message?: RegExp): void => expectError('DecodeError', fn, message)
const expectRefused = (fn: () => unknown, message?: RegExp): void => expectError('InvalidOptionError', fn, message)

/** Decodes, and if that succeeds checks the encoding is canonical: the bytes are exactly what the encoder writes. */
function decodeOnlyDecodeError(bytes: Uint8Array): void {
  let msg: SwimMessage
  try {
    msg = decodeSwimMessage(bytes)
  } catch (err) {
    expect((err as Error).name, (err as Error).message).toBe('DecodeError')
    return
  }
  expect(encodeSwimMessage(msg)).toEqual(bytes)
}

// ---- arbitraries ----------------------------------------------------------------------------------------------------

// Ids count UTF-16 units; a 'binary' unit may be an astral code point (two units), so cap code points at half.
const idArb = fc.oneof(
  fc.string({ minLength: 1, maxLength: maxIdLength }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: maxIdLength / 2 }),
  fc.constantFrom('a', '\uFEFFa', '12D3KooWGzBkKcHfPxpBnEBqQhUTXn6MrqfTkKGa3v8nX2cGoNnW'),
)
const updateArb: fc.Arbitrary<SwimUpdate> = fc.record({
  id: idArb,
  state: fc.constantFrom(...STATES),
  incarnation: fc.oneof(fc.nat(300), fc.maxSafeNat()),
  from: idArb,
})
const seqArb = fc.oneof(fc.nat(300), fc.maxSafeNat())
const updatesArb = fc.array(updateArb, { maxLength: 12 })

const messageArbs = {
  ping: fc.record({ type: fc.constant('ping' as const), seq: seqArb, updates: updatesArb }),
  ack: fc.record({ type: fc.constant('ack' as const), seq: seqArb, updates: updatesArb }),
  nack: fc.record({ type: fc.constant('nack' as const), seq: seqArb }),
  pingReq: fc.record({ type: fc.constant('pingReq' as const), seq: seqArb, target: idArb, updates: updatesArb }),
  join: fc.record({ type: fc.constant('join' as const), updates: updatesArb }),
  sync: fc.record({ type: fc.constant('sync' as const), members: updatesArb }),
} satisfies Record<SwimMessage['type'], fc.Arbitrary<SwimMessage>>
const messageArb: fc.Arbitrary<SwimMessage> = fc.oneof(...Object.values(messageArbs))

// ---- fixtures -------------------------------------------------------------------------------------------------------

function update(i: number, idLength = 8, state: SwimState = 'alive'): SwimUpdate {
  const id = `m${i}`.padEnd(idLength, 'x')
  return { id, state, incarnation: i, from: id }
}

function updates(count: number, idLength = 8): SwimUpdate[] {
  return Array.from({ length: count }, (_, i) => update(i, idLength))
}

/** The message types that carry a list, with the list's limit, built around `list`. */
interface ListCase {
  readonly type: keyof typeof TYPE
  readonly max: number
  readonly make: (list: SwimUpdate[]) => SwimMessage
}
const LISTS: readonly ListCase[] = [
  { type: 'ping', max: maxUpdates, make: (list) => ({ type: 'ping', seq: 1, updates: list }) },
  { type: 'ack', max: maxUpdates, make: (list) => ({ type: 'ack', seq: 1, updates: list }) },
  { type: 'pingReq', max: maxUpdates, make: (list) => ({ type: 'pingReq', seq: 1, target: 't', updates: list }) },
  { type: 'join', max: maxSyncMembers, make: (list) => ({ type: 'join', updates: list }) },
  { type: 'sync', max: maxSyncMembers, make: (list) => ({ type: 'sync', members: list }) },
]

/** Hand-written bytes, for what the encoder refuses to write. `count` may differ from `list.length`. */
function rawList(type: number, count: number, list: readonly SwimUpdate[], stateCode?: number): Uint8Array {
  const w = new Writer().u8(type)
  if (type !== TYPE.join && type !== TYPE.sync) w.varuint(1)
  if (type === TYPE.pingReq) w.string('t')
  w.varuint(count)
  for (const u of list) w.string(u.id).u8(stateCode ?? STATES.indexOf(u.state)).varuint(u.incarnation).string(u.from)
  return w.finish()
}

/** The longest id whose length prefix is one byte (a length of 128 takes two). */
const ONE_BYTE_ID = 127
/** An update of two ONE_BYTE_ID ids at incarnation 0: two length bytes, the ids, a state and an incarnation byte. */
const FULL_UPDATE_BYTES = 2 * (1 + ONE_BYTE_ID) + 2

/** An update of exactly `size` bytes, for 6 <= size <= FULL_UPDATE_BYTES. */
function updateOfSize(i: number, size: number): SwimUpdate {
  const idLength = Math.ceil((size - 4) / 2)
  const from = 'f'.padEnd(size - 4 - idLength, 'z')
  return { id: `m${i}`.padEnd(idLength, 'x'), state: 'alive', incarnation: 0, from }
}

/**
 * A sync of exactly `size` bytes (for a count of 128..16383 members, whose varuint takes two bytes): full updates,
 * and two that share the rest (between one and two full updates' worth).
 */
function syncOfSize(size: number): SwimMessage {
  const header = 1 + 2
  const fullCount = Math.floor((size - header) / FULL_UPDATE_BYTES) - 1
  const rest = size - header - fullCount * FULL_UPDATE_BYTES
  const sizes = [...Array<number>(fullCount).fill(FULL_UPDATE_BYTES), Math.ceil(rest / 2), Math.floor(rest / 2)]
  return { type: 'sync', members: sizes.map((n, i) => updateOfSize(i, n)) }
}

function membersOf(msg: SwimMessage): readonly SwimUpdate[] {
  return msg.type === 'sync' ? msg.members : []
}

// ---- tests ----------------------------------------------------------------------------------------------------------

describe('swim codec: round trips', () => {
  it('names its protocol with a version', () => {
    expect(SWIM_PROTOCOL).toBe('/synod/swim/1')
  })

  it.each(Object.keys(messageArbs) as Array<keyof typeof messageArbs>)('decode(encode(m)) equals m for %s', (type) => {
    fc.assert(
      fc.property(messageArbs[type], (msg) => {
        const bytes = encodeSwimMessage(msg)
        expect(bytes[0]).toBe(TYPE[type])
        expect(decodeSwimMessage(bytes)).toEqual(msg)
      }),
      { numRuns: 300 },
    )
  })

  it('encodes a nack as exactly its type and seq', () => {
    expect(encodeSwimMessage({ type: 'nack', seq: 300 })).toEqual(Uint8Array.of(3, 0xac, 0x02))
  })

  it('keeps every state and extreme incarnation', () => {
    const members = STATES.map((state, i) => ({
      id: `s${i}`,
      state,
      incarnation: Number.MAX_SAFE_INTEGER - i,
      from: 'x',
    }))
    expect(decodeSwimMessage(encodeSwimMessage({ type: 'sync', members }))).toEqual({ type: 'sync', members })
  })

  it.each(LISTS)('accepts exactly the list limit of $type ($max)', ({ max, make }) => {
    const msg = make(updates(max))
    expect(decodeSwimMessage(encodeSwimMessage(msg))).toEqual(msg)
  })

  it('accepts the most updates with the longest ids in one piggyback message', () => {
    const msg: SwimMessage = { type: 'ping', seq: 1, updates: updates(maxUpdates, maxIdLength) }
    expect(decodeSwimMessage(encodeSwimMessage(msg))).toEqual(msg)
  })

  it.each([
    ['ASCII', 'a'.repeat(maxIdLength)],
    ['three-byte UTF-8', '€'.repeat(maxIdLength)],
    ['surrogate pairs', '😀'.repeat(maxIdLength / 2)],
  ])('accepts an id of exactly maxIdLength units (%s)', (_, id) => {
    expect(id.length).toBe(maxIdLength)
    const updates: SwimUpdate[] = [{ id, state: 'suspect', incarnation: 2, from: id }]
    const msg: SwimMessage = { type: 'pingReq', seq: 7, target: id, updates }
    expect(decodeSwimMessage(encodeSwimMessage(msg))).toEqual(msg)
  })

  it('accepts a message of exactly maxMessageBytes', () => {
    const msg = syncOfSize(maxMessageBytes)
    const bytes = encodeSwimMessage(msg)
    expect(bytes.length).toBe(maxMessageBytes)
    expect(decodeSwimMessage(bytes)).toEqual(msg)
  })
})

describe('swim codec: the decoder rejects', () => {
  it('a message one byte over maxMessageBytes, before reading it', () => {
    const bytes = encodeSwimMessage(syncOfSize(maxMessageBytes))
    const over = new Uint8Array(maxMessageBytes + 1)
    over.set(bytes)
    expectDecodeError(() => decodeSwimMessage(over), /65537 bytes exceeds the limit of 65536/)
    // Even one whose first bytes are a valid nack.
    over.set(Uint8Array.of(TYPE.nack, 1))
    expectDecodeError(() => decodeSwimMessage(over), /exceeds the limit/)
  })

  it('a message of maxMessageBytes + 1 encoded by hand', () => {
    const members = membersOf(syncOfSize(maxMessageBytes + 1))
    const bytes = rawList(TYPE.sync, members.length, members)
    expect(bytes.length).toBe(maxMessageBytes + 1)
    expectDecodeError(() => decodeSwimMessage(bytes), /exceeds the limit/)
  })

  it.each(LISTS)('a $type list one over its limit ($max)', ({ type, max }) => {
    const list = updates(max + 1, 1)
    expectDecodeError(() => decodeSwimMessage(rawList(TYPE[type], max + 1, list)), new RegExp(`${max + 1} \\w+ exceed`))
  })

  it.each(LISTS)('a $type list whose count is huge, without allocating for it', ({ type }) => {
    for (const count of [2 ** 31, Number.MAX_SAFE_INTEGER]) {
      expectDecodeError(() => decodeSwimMessage(rawList(TYPE[type], count, [])), /exceed the limit/)
    }
  })

  it.each(LISTS)('a $type count within the limit that the remaining bytes cannot hold', ({ type }) => {
    expectDecodeError(() => decodeSwimMessage(rawList(TYPE[type], 3, updates(1, 1))), /cannot fit in the remaining/)
  })

  it('an empty id, target or from', () => {
    const u: SwimUpdate = { id: 'abc', state: 'alive', incarnation: 0, from: 'abc' }
    expectDecodeError(() => decodeSwimMessage(rawList(TYPE.ping, 1, [{ ...u, id: '' }])), /update id of 0/)
    expectDecodeError(() => decodeSwimMessage(rawList(TYPE.ack, 1, [{ ...u, from: '' }])), /update from of 0/)
    const emptyTarget = new Writer().u8(TYPE.pingReq).varuint(1).string('').varuint(0).finish()
    expectDecodeError(() => decodeSwimMessage(emptyTarget), /target of 0/)
  })

  it('an id of maxIdLength + 1 units, ASCII or astral', () => {
    for (const id of ['a'.repeat(maxIdLength + 1), `${'😀'.repeat(maxIdLength / 2)}a`]) {
      const bytes = rawList(TYPE.sync, 1, [{ id, state: 'alive', incarnation: 0, from: 'f' }])
      expectDecodeError(() => decodeSwimMessage(bytes), /outside 1\.\.128/)
      const target = new Writer().u8(TYPE.pingReq).varuint(1).string(id).varuint(0).finish()
      expectDecodeError(() => decodeSwimMessage(target), /target of 129/)
    }
  })

  it('an id field longer than any id could be in UTF-8, before decoding it', () => {
    const field = new Uint8Array(maxIdLength * 3 + 1).fill(0x61)
    const bytes = new Writer().u8(TYPE.pingReq).varuint(1).bytes(field).varuint(0).finish()
    expectDecodeError(() => decodeSwimMessage(bytes), /exceeds the field limit of 384 bytes/)
  })

  it('an id that is not valid UTF-8', () => {
    const bytes = new Writer().u8(TYPE.pingReq).varuint(1).bytes(Uint8Array.of(0xed, 0xa0, 0x80)).varuint(0).finish()
    expectDecodeError(() => decodeSwimMessage(bytes), /UTF-8/)
  })

  it.each([0, 7, 8, 0x80, 255])('unknown message type %i', (type) => {
    // Followed by what would be a valid nack payload.
    expectDecodeError(() => decodeSwimMessage(Uint8Array.of(type, 1)), /unknown swim message type/)
  })

  it.each([4, 5, 0x80, 255])('unknown state code %i', (code) => {
    expectDecodeError(() => decodeSwimMessage(rawList(TYPE.ping, 1, updates(1), code)), /unknown swim state/)
  })

  it('empty input', () => {
    expectDecodeError(() => decodeSwimMessage(new Uint8Array(0)))
  })

  it('a non-minimal or oversized varuint seq or incarnation', () => {
    expectDecodeError(() => decodeSwimMessage(Uint8Array.of(TYPE.nack, 0x81, 0x00)), /not minimally encoded/)
    const tooBig = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]
    expectDecodeError(() => decodeSwimMessage(Uint8Array.of(TYPE.nack, ...tooBig)), /MAX_SAFE_INTEGER/)
    // sync, 1 member, id "a", alive, incarnation 2^56 - 1, from "a".
    const bytes = Uint8Array.of(TYPE.sync, 1, 1, 0x61, 0, ...tooBig, 1, 0x61)
    expectDecodeError(() => decodeSwimMessage(bytes), /MAX_SAFE_INTEGER/)
  })

  it('every truncation of every message', () => {
    fc.assert(
      fc.property(messageArb, (msg) => {
        const bytes = encodeSwimMessage(msg)
        for (let n = 0; n < bytes.length; n++) expectDecodeError(() => decodeSwimMessage(bytes.subarray(0, n)))
      }),
      { numRuns: 300 },
    )
  })

  it('trailing bytes', () => {
    fc.assert(
      fc.property(messageArb, fc.uint8Array({ minLength: 1, maxLength: 8 }), (msg, extra) => {
        const bytes = encodeSwimMessage(msg)
        const padded = new Uint8Array(bytes.length + extra.length)
        padded.set(bytes)
        padded.set(extra, bytes.length)
        expectDecodeError(() => decodeSwimMessage(padded), /trailing bytes/)
      }),
    )
  })
})

describe('swim codec: hostile bytes', () => {
  it('random bytes only ever throw DecodeError, and what decodes re-encodes to the same bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), decodeOnlyDecodeError), { numRuns: 3000 })
  })

  it('random payloads after a valid type byte likewise', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.uint8Array({ maxLength: 256 }), (type, rest) => {
        const bytes = new Uint8Array(rest.length + 1)
        bytes[0] = type
        bytes.set(rest, 1)
        decodeOnlyDecodeError(bytes)
      }),
      { numRuns: 3000 },
    )
  })

  it('valid messages with corrupted bytes likewise', () => {
    // [position modulo the length, new byte value]
    const editsArb = fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 })
    fc.assert(
      fc.property(messageArb, editsArb, (msg, edits) => {
        const bytes = encodeSwimMessage(msg)
        for (const [at, value] of edits) bytes[at % bytes.length] = value
        decodeOnlyDecodeError(bytes)
      }),
      { numRuns: 2000 },
    )
  })
})

describe('swim codec: the encoder refuses', () => {
  it.each(LISTS)('a $type list one over its limit ($max)', ({ max, make }) => {
    const message = new RegExp(`${max + 1} \\w+, over the limit of ${max}`)
    expectRefused(() => encodeSwimMessage(make(updates(max + 1, 1))), message)
  })

  it('a message over maxMessageBytes, though within the count limits', () => {
    const members = membersOf(syncOfSize(maxMessageBytes + 1))
    expect(rawList(TYPE.sync, members.length, members).length).toBe(maxMessageBytes + 1)
    expectRefused(() => encodeSwimMessage({ type: 'sync', members }), /65537 bytes, over the limit of 65536/)
    // The core's full view: 1024 members with 128-character ids is far over.
    const view = updates(maxSyncMembers, maxIdLength)
    expectRefused(() => encodeSwimMessage({ type: 'sync', members: view }), /over the limit of 65536/)
  })

  it.each([
    ['empty', ''],
    ['too long', 'a'.repeat(maxIdLength + 1)],
    ['a lone surrogate', 'a\uD800b'],
    ['a reversed surrogate pair', '\uDE00\uD83D'],
  ])('an id that is %s, wherever it appears', (_, bad) => {
    const ok: SwimUpdate = { id: 'a', state: 'alive', incarnation: 1, from: 'b' }
    expectRefused(() => encodeSwimMessage({ type: 'pingReq', seq: 1, target: bad, updates: [] }), /target/)
    expectRefused(() => encodeSwimMessage({ type: 'ping', seq: 1, updates: [ok, { ...ok, id: bad }] }), /update id/)
    expectRefused(() => encodeSwimMessage({ type: 'sync', members: [{ ...ok, from: bad }] }), /from of a/)
  })

  it.each([-1, 1.5, NaN, Infinity, Number.MAX_SAFE_INTEGER + 1])('seq or incarnation %d', (n) => {
    expectRefused(() => encodeSwimMessage({ type: 'nack', seq: n }), /seq must be a safe integer >= 0/)
    expectRefused(() => encodeSwimMessage({ type: 'ack', seq: n, updates: [] }), /seq must be/)
    const u: SwimUpdate = { id: 'a', state: 'dead', incarnation: n, from: 'b' }
    expectRefused(() => encodeSwimMessage({ type: 'join', updates: [u] }), /incarnation of a must be a safe integer/)
  })

  it('an unknown state or message type', () => {
    const u = { id: 'a', state: 'zombie', incarnation: 1, from: 'b' } as unknown as SwimUpdate
    expectRefused(() => encodeSwimMessage({ type: 'ping', seq: 1, updates: [u] }), /unknown state zombie/)
    const constructorState = { ...u, state: 'constructor' } as unknown as SwimUpdate
    expectRefused(() => encodeSwimMessage({ type: 'ping', seq: 1, updates: [constructorState] }), /unknown state/)
    const gossip = { type: 'gossip', seq: 1 } as unknown as SwimMessage
    expectRefused(() => encodeSwimMessage(gossip), /unknown message type gossip/)
  })
})
