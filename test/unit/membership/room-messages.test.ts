import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeRoomMessage,
  encodeRoomMessage,
  ROOM_LIMITS,
  type RoomMessage,
} from '../../../src/membership/room-messages.js'
import { Writer } from '../../../src/transport/wire.js'

/** Asserts that `fn` throws a DecodeError (matched by name) whose message matches. */
function expectDecodeError(fn: () => unknown, message?: RegExp): void {
  let thrown: unknown
  try {
    fn()
  } catch (err) {
    thrown = err
  }
  expect(thrown, 'expected a DecodeError, nothing was thrown').toBeInstanceOf(Error)
  expect((thrown as Error).name).toBe('DecodeError')
  if (message !== undefined) expect((thrown as Error).message).toMatch(message)
}

const counter = fc.maxSafeNat()
// Names count UTF-16 units; astral code points take two, so cap code points at half the limit.
const nameArb = fc.oneof(
  fc.string({ maxLength: ROOM_LIMITS.maxNameLength }),
  fc.string({ unit: 'binary', maxLength: ROOM_LIMITS.maxNameLength / 2 }),
)
// JSON text of small values; fc.jsonValue can produce -0, which JSON.stringify writes as 0, so that is fine.
const presenceJsonArb = fc
  .jsonValue({ maxDepth: 3 })
  .map((v) => JSON.stringify(v))
  .filter((json) => new TextEncoder().encode(json).length <= ROOM_LIMITS.defaultMaxPresenceBytes)

const messageArb: fc.Arbitrary<RoomMessage> = fc.oneof(
  fc.record({
    type: fc.constant('heartbeat' as const),
    incarnation: counter,
    name: nameArb,
    presenceVersion: counter,
    ordering: fc.record({
      capability: fc.constantFrom('never' as const, 'auto' as const, 'prefer' as const),
      role: fc.constantFrom('peer' as const, 'super' as const, 'leader' as const),
      term: counter,
      directPeers: counter,
      group: fc.string({ maxLength: 40 }),
    }, { requiredKeys: ['capability', 'role', 'term', 'directPeers', 'group'] }).chain((o) =>
      fc.option(fc.record({ index: fc.integer({ min: 1, max: 2 ** 40 }), members: fc.array(fc.string({ minLength: 1, maxLength: 60 }), { maxLength: 8 }) }), { nil: undefined })
        .map((config) => (config === undefined ? o : { ...o, config })),
    ),
    links: fc.array(fc.record({ peer: fc.string({ minLength: 1, maxLength: 60 }), via: fc.constantFrom('direct' as const, 'relayed' as const) }), { maxLength: 8 }),
  }),
  fc.record({ type: fc.constant('presence' as const), incarnation: counter, version: counter, json: presenceJsonArb }),
  fc.record({ type: fc.constant('leave' as const), incarnation: counter }),
)

function presence(json: string): Uint8Array {
  return encodeRoomMessage({ type: 'presence', incarnation: 1, version: 1, json })
}

describe('room messages: round trips', () => {
  it('decode(encode(m)) equals m for every message type', () => {
    fc.assert(
      fc.property(messageArb, (msg) => {
        expect(decodeRoomMessage(encodeRoomMessage(msg))).toEqual(msg)
      }),
      { numRuns: 500 },
    )
  })

  it('accepts a name of exactly maxNameLength and presence of exactly the limit', () => {
    const heartbeat: RoomMessage = {
      type: 'heartbeat',
      incarnation: 1_700_000_000_000,
      name: 'n'.repeat(ROOM_LIMITS.maxNameLength),
      presenceVersion: 3,
      ordering: { capability: 'auto', role: 'leader', term: 4, directPeers: 2, group: '1:x' },
      links: [{ peer: 'p'.repeat(ROOM_LIMITS.maxPeerIdLength), via: 'relayed' }],
    }
    expect(decodeRoomMessage(encodeRoomMessage(heartbeat))).toEqual(heartbeat)
    // A JSON string: two quotes plus the body.
    const json = JSON.stringify('x'.repeat(ROOM_LIMITS.defaultMaxPresenceBytes - 2))
    expect(decodeRoomMessage(presence(json))).toMatchObject({ type: 'presence', json })
  })

  it('accepts null presence (it clears the value)', () => {
    expect(decodeRoomMessage(presence('null'))).toEqual({ type: 'presence', incarnation: 1, version: 1, json: 'null' })
  })
})

describe('room messages: rejection', () => {
  it('rejects a presence value over the default limit', () => {
    const json = JSON.stringify('x'.repeat(ROOM_LIMITS.defaultMaxPresenceBytes - 1))
    expectDecodeError(() => decodeRoomMessage(presence(json)), /exceeds the room's limit/)
  })

  it('counts the presence limit in UTF-8 bytes, not characters', () => {
    // 3000 × 'é' is 3002 characters of JSON but 6002 bytes.
    const json = JSON.stringify('é'.repeat(3000))
    expect(() => decodeRoomMessage(presence(json), 6002)).not.toThrow()
    expectDecodeError(() => decodeRoomMessage(presence(json), 6001), /exceeds the room's limit of 6001/)
  })

  it('honours a custom, smaller maxPresenceBytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 200 }), fc.integer({ min: 0, max: 300 }), (limit, bodyLength) => {
        const json = JSON.stringify('y'.repeat(bodyLength))
        const bytes = presence(json)
        if (json.length <= limit) expect(decodeRoomMessage(bytes, limit)).toMatchObject({ json })
        else expectDecodeError(() => decodeRoomMessage(bytes, limit), /exceeds the room's limit/)
      }),
    )
  })

  it.each(['', '{', 'undefined', "{'a':1}", '[1,]', 'NaN', '{"a":1}x'])('rejects invalid JSON presence %j', (json) => {
    expectDecodeError(() => decodeRoomMessage(presence(json)), /not valid JSON/)
  })

  it('rejects a name over maxNameLength', () => {
    const msg: RoomMessage = {
      type: 'heartbeat',
      incarnation: 1,
      name: 'n'.repeat(ROOM_LIMITS.maxNameLength + 1),
      presenceVersion: 0,
      ordering: { capability: 'never', role: 'peer', term: 0, directPeers: 0, group: '' },
      links: [],
    }
    expectDecodeError(() => decodeRoomMessage(encodeRoomMessage(msg)), /member name/)
  })

  it('bounds the configuration a heartbeat carries before reading it', () => {
    const heartbeat = (members: string[]): Uint8Array =>
      encodeRoomMessage({
        type: 'heartbeat',
        incarnation: 1,
        name: 'a',
        presenceVersion: 0,
        ordering: { capability: 'auto', role: 'leader', term: 2, directPeers: 1, group: 'g', config: { index: 7, members } },
        links: [],
      })
    const full = Array.from({ length: ROOM_LIMITS.maxConfigMembers }, (_, i) => `p${i}`)
    expect(decodeRoomMessage(heartbeat(full))).toMatchObject({ ordering: { config: { index: 7, members: full } } })
    expectDecodeError(() => decodeRoomMessage(heartbeat([...full, 'one-more'])), /configuration of 33 members/)
    expectDecodeError(() => decodeRoomMessage(heartbeat([''])), /member id is empty or too long/)
    expectDecodeError(() => decodeRoomMessage(heartbeat(['x'.repeat(ROOM_LIMITS.maxPeerIdLength + 1)])), /member id is empty or too long/)
  })

  it('bounds the links a heartbeat lists and rejects an unknown link kind', () => {
    const heartbeat = (links: { peer: string; via: 'direct' | 'relayed' }[]): Uint8Array =>
      encodeRoomMessage({
        type: 'heartbeat',
        incarnation: 1,
        name: 'a',
        presenceVersion: 0,
        ordering: { capability: 'auto', role: 'peer', term: 0, directPeers: 0, group: '' },
        links,
      })
    const full = Array.from({ length: ROOM_LIMITS.maxLinks }, (_, i) => ({ peer: `p${i}`, via: 'direct' as const }))
    expect(decodeRoomMessage(heartbeat(full))).toMatchObject({ links: full })
    expectDecodeError(() => decodeRoomMessage(heartbeat([...full, { peer: 'x', via: 'direct' }])), /65 links exceeds/)
    expectDecodeError(() => decodeRoomMessage(heartbeat([{ peer: '', via: 'direct' }])), /link peer id/)
    const bytes = heartbeat([{ peer: 'q', via: 'relayed' }])
    const bad = bytes.slice()
    bad[bad.length - 1] = 2
    expectDecodeError(() => decodeRoomMessage(bad), /unknown link kind/)
  })

  it('rejects an unknown capability or role', () => {
    const ok = encodeRoomMessage({
      type: 'heartbeat',
      incarnation: 1,
      name: 'a',
      presenceVersion: 0,
      ordering: { capability: 'auto', role: 'peer', term: 0, directPeers: 0, group: '' },
      links: [],
    })
    // [type][incarnation][name len][name][presenceVersion][capability][role][term][directPeers]
    const badCapability = ok.slice()
    badCapability[5] = 3
    expectDecodeError(() => decodeRoomMessage(badCapability), /capability or role/)
    const badRole = ok.slice()
    badRole[6] = 9
    expectDecodeError(() => decodeRoomMessage(badRole), /capability or role/)
  })

  it('rejects a message over maxMessageBytes', () => {
    const big = new Uint8Array(ROOM_LIMITS.maxMessageBytes + 1)
    big[0] = 3
    expectDecodeError(() => decodeRoomMessage(big), /exceeds/)
  })

  it('rejects empty input', () => {
    expectDecodeError(() => decodeRoomMessage(new Uint8Array(0)))
  })

  it.each([0, 4, 9, 255])('rejects unknown type %i', (type) => {
    // A payload that would be a valid 'leave' apart from the type byte.
    expectDecodeError(() => decodeRoomMessage(Uint8Array.of(type, 1)), /unknown room message type/)
  })

  it('rejects every truncation of every message', () => {
    fc.assert(
      fc.property(messageArb, (msg) => {
        const bytes = encodeRoomMessage(msg)
        for (let n = 0; n < bytes.length; n++) expectDecodeError(() => decodeRoomMessage(bytes.subarray(0, n)))
      }),
      { numRuns: 200 },
    )
  })

  it('rejects trailing bytes', () => {
    fc.assert(
      fc.property(messageArb, fc.uint8Array({ minLength: 1, maxLength: 8 }), (msg, extra) => {
        const bytes = encodeRoomMessage(msg)
        const padded = new Uint8Array(bytes.length + extra.length)
        padded.set(bytes)
        padded.set(extra, bytes.length)
        expectDecodeError(() => decodeRoomMessage(padded), /trailing bytes/)
      }),
    )
  })

  it('rejects a non-minimal varuint incarnation', () => {
    expectDecodeError(() => decodeRoomMessage(Uint8Array.of(3, 0x81, 0x00)), /not minimally encoded/)
  })

  it('rejects malformed UTF-8 in the name', () => {
    const bytes = new Writer().u8(1).varuint(1).bytes(Uint8Array.of(0xff)).varuint(0).finish()
    expectDecodeError(() => decodeRoomMessage(bytes), /UTF-8/)
  })

  it('random bytes never throw anything but DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.integer({ min: 0, max: 64 }), (bytes, limit) => {
        try {
          decodeRoomMessage(bytes, limit)
        } catch (err) {
          expect((err as Error).name).toBe('DecodeError')
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('random payloads after a valid type byte never throw anything but DecodeError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.uint8Array({ maxLength: 256 }), (type, rest) => {
        const bytes = new Uint8Array(rest.length + 1)
        bytes[0] = type
        bytes.set(rest, 1)
        try {
          decodeRoomMessage(bytes)
        } catch (err) {
          expect((err as Error).name).toBe('DecodeError')
        }
      }),
      { numRuns: 2000 },
    )
  })
})
