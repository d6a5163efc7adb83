import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeRendezvous,
  encodeRendezvous,
  RENDEZVOUS_LIMITS,
  roomKey,
  type RendezvousMessage,
  type RendezvousPeer,
} from '../../../src/transport/rendezvous/messages.js'
import { Writer } from '../../../src/transport/wire.js'

const L = RENDEZVOUS_LIMITS

/** Asserts that `fn` throws a DecodeError (matched by name, as the errors module asks) whose message matches. */
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

// Code points outside the BMP take two UTF-16 units; the limits count units, so cap code points at half the limit.
const text = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ minLength, maxLength }),
    fc.string({ unit: 'binary', minLength, maxLength: Math.floor(maxLength / 2) }).filter((s) => s.length >= minLength),
  )

const peerIdArb = text(1, L.maxPeerIdLength)
const addrArb = text(0, L.maxAddrLength - 1).map((s) => `/${s}`)
const addrsArb = fc.array(addrArb, { maxLength: L.maxAddrs })
const peerArb: fc.Arbitrary<RendezvousPeer> = fc.record({ id: peerIdArb, addrs: addrsArb })

const messageArb: fc.Arbitrary<RendezvousMessage> = fc.oneof(
  fc.record({ type: fc.constant('register' as const), room: text(1, L.maxRoomKeyLength), addrs: addrsArb }),
  fc.record({ type: fc.constant('peers' as const), peers: fc.array(peerArb, { maxLength: 8 }) }),
  fc.record({ type: fc.constant('joined' as const), peer: peerArb }),
  fc.record({ type: fc.constant('left' as const), id: peerIdArb }),
)

const sampleMessages: RendezvousMessage[] = [
  { type: 'register', room: 'a'.repeat(64), addrs: ['/ip4/1.2.3.4/tcp/1/p2p/x'] },
  { type: 'peers', peers: [] },
  { type: 'peers', peers: [{ id: 'p1', addrs: [] }, { id: 'p2', addrs: ['/a', '/b'] }] },
  { type: 'joined', peer: { id: 'p3', addrs: ['/dns4/x/tcp/443/wss'] } },
  { type: 'left', id: 'p4' },
]

describe('rendezvous messages: round trips', () => {
  it('decode(encode(m)) equals m for every message type', () => {
    fc.assert(
      fc.property(messageArb, (msg) => {
        expect(decodeRendezvous(encodeRendezvous(msg))).toEqual(msg)
      }),
      { numRuns: 500 },
    )
  })

  it.each(sampleMessages.map((m) => [m.type, m] as const))('round-trips a %s sample', (_, msg) => {
    expect(decodeRendezvous(encodeRendezvous(msg))).toEqual(msg)
  })

  it('accepts every field at exactly its limit', () => {
    const id = 'i'.repeat(L.maxPeerIdLength)
    const addrs = Array.from({ length: L.maxAddrs }, (_, i) => `/${String(i).padEnd(L.maxAddrLength - 1, 'x')}`)
    const peers = Array.from({ length: L.maxPeersPerFrame }, (_, i) => ({ id: `${i}`, addrs: ['/a'] }))
    const atLimit: RendezvousMessage[] = [
      { type: 'register', room: 'r'.repeat(L.maxRoomKeyLength), addrs },
      { type: 'joined', peer: { id, addrs } },
      { type: 'left', id },
      { type: 'peers', peers },
    ]
    for (const msg of atLimit) expect(decodeRendezvous(encodeRendezvous(msg))).toEqual(msg)
  })

  it('uses distinct type bytes 1 to 4', () => {
    expect(sampleMessages.map((m) => encodeRendezvous(m)[0])).toEqual([1, 2, 2, 3, 4])
  })
})

describe('rendezvous messages: rejection', () => {
  it('rejects empty input', () => {
    expectDecodeError(() => decodeRendezvous(new Uint8Array(0)))
  })

  it.each([0, 5, 6, 127, 255])('rejects unknown type byte %i', (type) => {
    // A payload that would be valid for 'left', so only the type byte can be at fault.
    expectDecodeError(() => decodeRendezvous(Uint8Array.of(type, 1, 0x61)), /unknown rendezvous message type/)
  })

  it('rejects every truncation of every message', () => {
    fc.assert(
      fc.property(messageArb, (msg) => {
        const bytes = encodeRendezvous(msg)
        for (let n = 0; n < bytes.length; n++) expectDecodeError(() => decodeRendezvous(bytes.subarray(0, n)))
      }),
      { numRuns: 200 },
    )
  })

  it('rejects trailing bytes after a valid message', () => {
    fc.assert(
      fc.property(messageArb, fc.uint8Array({ minLength: 1, maxLength: 16 }), (msg, extra) => {
        const bytes = encodeRendezvous(msg)
        const padded = new Uint8Array(bytes.length + extra.length)
        padded.set(bytes)
        padded.set(extra, bytes.length)
        expectDecodeError(() => decodeRendezvous(padded), /trailing bytes/)
      }),
    )
  })

  it('rejects a frame over maxFrameBytes before parsing it', () => {
    const big = new Uint8Array(L.maxFrameBytes + 1)
    big[0] = 2 // peers, with a zero count: valid up to its (huge) trailing padding
    expectDecodeError(() => decodeRendezvous(big), /exceeds/)
  })

  it('rejects more than maxAddrs addresses, in register and in a peer', () => {
    const addrs = Array.from({ length: L.maxAddrs + 1 }, (_, i) => `/a${i}`)
    expectDecodeError(
      () => decodeRendezvous(encodeRendezvous({ type: 'register', room: 'r', addrs })),
      /too many addresses/,
    )
    expectDecodeError(
      () => decodeRendezvous(encodeRendezvous({ type: 'joined', peer: { id: 'p', addrs } })),
      /too many addresses/,
    )
    expectDecodeError(
      () => decodeRendezvous(encodeRendezvous({ type: 'peers', peers: [{ id: 'p', addrs }] })),
      /too many addresses/,
    )
  })

  it('rejects a huge address count without allocating for it', () => {
    const bytes = new Writer().u8(1).string('room').varuint(Number.MAX_SAFE_INTEGER).finish()
    expectDecodeError(() => decodeRendezvous(bytes), /too many addresses/)
  })

  it('rejects more than maxPeersPerFrame peers in one frame', () => {
    const peers = Array.from({ length: L.maxPeersPerFrame + 1 }, (_, i) => ({ id: `p${i}`, addrs: [] }))
    expectDecodeError(() => decodeRendezvous(encodeRendezvous({ type: 'peers', peers })), /too many peers/)
    const huge = new Writer().u8(2).varuint(2 ** 40).finish()
    expectDecodeError(() => decodeRendezvous(huge), /too many peers/)
  })

  it('rejects an empty or oversized room key', () => {
    expectDecodeError(() => decodeRendezvous(encodeRendezvous({ type: 'register', room: '', addrs: [] })), /room key/)
    const long = 'r'.repeat(L.maxRoomKeyLength + 1)
    expectDecodeError(() => decodeRendezvous(encodeRendezvous({ type: 'register', room: long, addrs: [] })), /room key/)
  })

  it('rejects an address that does not start with "/"', () => {
    fc.assert(
      fc.property(
        text(1, 64).filter((s) => !s.startsWith('/')),
        (addr) => {
          const msg: RendezvousMessage = { type: 'register', room: 'r', addrs: ['/ok', addr] }
          expectDecodeError(() => decodeRendezvous(encodeRendezvous(msg)), /multiaddr/)
        },
      ),
    )
  })

  it('rejects an empty or oversized address', () => {
    expectDecodeError(() => decodeRendezvous(encodeRendezvous({ type: 'register', room: 'r', addrs: [''] })), /address/)
    const long = `/${'x'.repeat(L.maxAddrLength)}`
    expectDecodeError(
      () => decodeRendezvous(encodeRendezvous({ type: 'register', room: 'r', addrs: [long] })),
      /address/,
    )
  })

  it('rejects an empty or oversized peer id in peers, joined and left', () => {
    for (const id of ['', 'p'.repeat(L.maxPeerIdLength + 1)]) {
      const bad: RendezvousMessage[] = [
        { type: 'peers', peers: [{ id: 'fine', addrs: [] }, { id, addrs: [] }] },
        { type: 'joined', peer: { id, addrs: [] } },
        { type: 'left', id },
      ]
      for (const msg of bad) expectDecodeError(() => decodeRendezvous(encodeRendezvous(msg)), /peer id/)
    }
  })

  it('rejects malformed UTF-8 in a string field', () => {
    expectDecodeError(() => decodeRendezvous(Uint8Array.of(4, 2, 0xc3, 0x28)), /UTF-8/)
  })

  it('random bytes never throw anything but DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        try {
          decodeRendezvous(bytes)
        } catch (err) {
          expect((err as Error).name).toBe('DecodeError')
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('random bytes after a valid type byte never throw anything but DecodeError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.uint8Array({ maxLength: 512 }), (type, rest) => {
        const bytes = new Uint8Array(rest.length + 1)
        bytes[0] = type
        bytes.set(rest, 1)
        try {
          decodeRendezvous(bytes)
        } catch (err) {
          expect((err as Error).name).toBe('DecodeError')
        }
      }),
      { numRuns: 2000 },
    )
  })
})

describe('roomKey', () => {
  it('is 64 lowercase hex characters and deterministic', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 128 }), async (room) => {
        const key = await roomKey(room)
        expect(key).toMatch(/^[0-9a-f]{64}$/)
        expect(await roomKey(room)).toBe(key)
      }),
      { numRuns: 100 },
    )
  })

  it('differs per room', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 64 }), fc.string({ maxLength: 64 }), async (a, b) => {
        fc.pre(a !== b)
        expect(await roomKey(a)).not.toBe(await roomKey(b))
      }),
      { numRuns: 100 },
    )
  })

  it('does not leak the room name and fits in a register frame', async () => {
    const key = await roomKey('secret-room')
    expect(key).not.toContain('secret')
    expect(key.length).toBeLessThanOrEqual(L.maxRoomKeyLength)
    const msg: RendezvousMessage = { type: 'register', room: key, addrs: [] }
    expect(decodeRendezvous(encodeRendezvous(msg))).toEqual(msg)
  })
})
