import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MemoryStorageAdapter } from '../../../src/storage/memory.js'
import {
  resolveRoomOptions,
  validatePeerOptions,
  validateRoomId,
  type JoinOptions,
  type PeerOptions,
} from '../../../src/api/options.js'
import { DEFAULT_ROOM_OPTIONS } from '../../../src/room/room-session.js'

/** Asserts an InvalidOptionError (matched by name) whose message matches. */
function expectInvalid(fn: () => unknown, message: RegExp): void {
  let thrown: unknown
  try {
    fn()
  } catch (err) {
    thrown = err
  }
  expect(thrown, 'expected an InvalidOptionError, nothing was thrown').toBeInstanceOf(Error)
  expect((thrown as Error).name).toBe('InvalidOptionError')
  expect((thrown as Error).message).toMatch(message)
}

describe('validateRoomId', () => {
  it.each(['a', 'room-1', 'Team_Room.v2', 'urn:synod:x', '~home', 'x'.repeat(128), '0', '...'])('accepts %j', (id) => {
    expect(validateRoomId(id)).toBe(id)
  })

  it.each([
    ['the empty string', ''],
    ['129 characters', 'x'.repeat(129)],
    ['a space', 'my room'],
    ['a slash', 'a/b'],
    ['a trailing newline', 'room\n'],
    ['a non-ASCII letter', 'café'],
    ['an emoji', 'room🎉'],
    ['a percent sign', '100%'],
  ])('rejects %s', (_, id) => {
    expectInvalid(() => validateRoomId(id), /room id must be 1 to 128 characters/)
  })

  it.each([undefined, null, 42, {}, ['room']])('rejects the non-string %j', (id) => {
    expectInvalid(() => validateRoomId(id), /room id/)
  })

  it('accepts exactly the strings of 1 to 128 allowed characters', () => {
    const allowed = /^[A-Za-z0-9_.:~-]{1,128}$/
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 140 }), fc.stringMatching(/^[\w.:~-]{0,130}$/)), (id) => {
        if (allowed.test(id)) expect(validateRoomId(id)).toBe(id)
        else expectInvalid(() => validateRoomId(id), /room id/)
      }),
    )
  })

  it('quotes the rejected value in the message', () => {
    expectInvalid(() => validateRoomId('a b'), /got "a b"/)
  })
})

describe('resolveRoomOptions', () => {
  it('fills in the defaults', () => {
    expect(resolveRoomOptions({})).toEqual(DEFAULT_ROOM_OPTIONS)
    expect(DEFAULT_ROOM_OPTIONS).toEqual({
      heartbeatIntervalMs: 1000,
      memberTimeoutMs: 5000,
      presenceThrottleMs: 50,
      maxPresenceBytes: 8 * 1024,
      inboundRatePerSecond: 50,
      batchWindowMs: 25,
      ordering: { tickMs: 100, bootstrapDelayMs: 3000, quorumIntervalMs: 1000 },
      membership: { periodMs: 1000, suspicionMult: 4, indirectChecks: 3, deadRetentionMs: 10_000, adaptive: true },
    })
  })

  it('keeps given values and ignores the signal', () => {
    const options: JoinOptions = {
      heartbeatIntervalMs: 200,
      memberTimeoutMs: 401,
      presenceThrottleMs: 0,
      maxPresenceBytes: 1,
      inboundRatePerSecond: 100_000,
      batchWindowMs: 0,
      ordering: { tickMs: 50 },
      membership: { periodMs: 200, adaptive: false },
      signal: new AbortController().signal,
    }
    expect(resolveRoomOptions(options)).toEqual({
      heartbeatIntervalMs: 200,
      memberTimeoutMs: 401,
      presenceThrottleMs: 0,
      maxPresenceBytes: 1,
      inboundRatePerSecond: 100_000,
      batchWindowMs: 0,
      ordering: { tickMs: 50, bootstrapDelayMs: 3000, quorumIntervalMs: 1000 },
      membership: { periodMs: 200, suspicionMult: 4, indirectChecks: 3, deadRetentionMs: 10_000, adaptive: false },
    })
  })

  it('rejects bad membership options', () => {
    expectInvalid(() => resolveRoomOptions({ membership: { periodMs: 10 } }), /membership.periodMs must be a number from 50/)
    expectInvalid(() => resolveRoomOptions({ membership: { suspicionMult: 2.5 } }), /membership.suspicionMult must be an integer/)
    expectInvalid(() => resolveRoomOptions({ membership: { indirectChecks: 0 } }), /membership.indirectChecks/)
    expectInvalid(() => resolveRoomOptions({ membership: { adaptive: 'yes' as never } }), /membership.adaptive must be a boolean/)
  })

  it('rejects bad ordering options and a bad superPeer capability', () => {
    expect(() => resolveRoomOptions({ ordering: { tickMs: 1 } })).toThrow(/ordering.tickMs/)
    expect(() => validatePeerOptions({ superPeer: 'sometimes' as never })).toThrow(/superPeer/)
  })

  it.each<[string, JoinOptions]>([
    ['heartbeatIntervalMs', { heartbeatIntervalMs: 49 }],
    ['heartbeatIntervalMs', { heartbeatIntervalMs: 3_600_001 }],
    ['heartbeatIntervalMs', { heartbeatIntervalMs: Number.NaN }],
    ['heartbeatIntervalMs', { heartbeatIntervalMs: Number.POSITIVE_INFINITY }],
    ['memberTimeoutMs', { memberTimeoutMs: 99 }],
    ['memberTimeoutMs', { memberTimeoutMs: -5000 }],
    ['presenceThrottleMs', { presenceThrottleMs: -1 }],
    ['maxPresenceBytes', { maxPresenceBytes: 0 }],
    ['maxPresenceBytes', { maxPresenceBytes: 60 * 1024 + 1 }],
    ['inboundRatePerSecond', { inboundRatePerSecond: 0 }],
    ['inboundRatePerSecond', { inboundRatePerSecond: 100_001 }],
    ['batchWindowMs', { batchWindowMs: -1 }],
    ['batchWindowMs', { batchWindowMs: 10_001 }],
  ])('rejects an out-of-range %s (%j)', (name, options) => {
    expectInvalid(() => resolveRoomOptions(options), new RegExp(`^${name} must be a number from`))
  })

  it('rejects a non-number', () => {
    const options = { presenceThrottleMs: '50' } as unknown as JoinOptions
    expectInvalid(() => resolveRoomOptions(options), /presenceThrottleMs must be a number from 0 to 3600000, got "50"/)
  })

  it('requires memberTimeoutMs to exceed twice heartbeatIntervalMs', () => {
    expectInvalid(
      () => resolveRoomOptions({ heartbeatIntervalMs: 1000, memberTimeoutMs: 2000 }),
      /memberTimeoutMs \(2000\) must exceed twice heartbeatIntervalMs \(1000\)/,
    )
    expect(resolveRoomOptions({ heartbeatIntervalMs: 1000, memberTimeoutMs: 2001 }).memberTimeoutMs).toBe(2001)
    // Against the default timeout (5000), a slow heartbeat alone is enough to fail.
    expectInvalid(() => resolveRoomOptions({ heartbeatIntervalMs: 2500 }), /must exceed twice heartbeatIntervalMs/)
    // And a short timeout alone, against the default heartbeat (1000).
    expectInvalid(() => resolveRoomOptions({ memberTimeoutMs: 2000 }), /must exceed twice heartbeatIntervalMs/)
  })

  it('accepts a pair exactly when both are in range and the timeout exceeds twice the heartbeat', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 40_000 }), (hb, timeout) => {
        const ok = hb >= 50 && timeout >= 100 && timeout > 2 * hb
        const options = { heartbeatIntervalMs: hb, memberTimeoutMs: timeout }
        if (ok) expect(resolveRoomOptions(options)).toMatchObject(options)
        else expectInvalid(() => resolveRoomOptions(options), /(heartbeatIntervalMs|memberTimeoutMs)/)
      }),
    )
  })
})

describe('validatePeerOptions', () => {
  it.each<PeerOptions>([
    {},
    { storage: 'memory' },
    { storage: 'indexeddb' },
    { storage: new MemoryStorageAdapter() },
    { name: '' },
    { name: 'n'.repeat(128) },
    { dialTimeoutMs: 100 },
    { dialTimeoutMs: 120_000 },
    { bootstrap: [] },
    { bootstrap: ['/dns4/relay.example/tcp/443/wss/p2p/12D3KooW'] },
  ])('accepts %j', (options) => {
    expect(() => validatePeerOptions(options)).not.toThrow()
  })

  it.each([['localstorage'], [null], [42], [true], ['']])('rejects storage %j', (storage) => {
    expectInvalid(
      () => validatePeerOptions({ storage } as unknown as PeerOptions),
      /^storage must be 'indexeddb', 'memory' or a StorageAdapter, got /,
    )
  })

  it.each([['n'.repeat(129)], [42], [null]])('rejects name %j', (name) => {
    expectInvalid(
      () => validatePeerOptions({ name } as unknown as PeerOptions),
      /^name must be a string of at most 128/,
    )
  })

  it.each([[99], [120_001], [0], [-1], [Number.NaN], ['5000']])('rejects dialTimeoutMs %j', (dialTimeoutMs) => {
    expectInvalid(
      () => validatePeerOptions({ dialTimeoutMs } as unknown as PeerOptions),
      /^dialTimeoutMs must be a number from 100 to 120000/,
    )
  })

  it('rejects a bootstrap that is not an array', () => {
    expectInvalid(
      () => validatePeerOptions({ bootstrap: '/dns4/relay' } as unknown as PeerOptions),
      /^bootstrap must be an array/,
    )
  })
})
