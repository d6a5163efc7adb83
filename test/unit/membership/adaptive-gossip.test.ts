import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { gossipParameters } from '../../../src/membership/adaptive-gossip.js'

const base = { heartbeatIntervalMs: 1000, presenceThrottleMs: 50 }

describe('gossipParameters', () => {
  it('keeps gossipsub defaults in a small, lossless room', () => {
    expect(gossipParameters({ members: 4, loss: null }, base)).toEqual({
      D: 6,
      Dlo: 4,
      Dhi: 12,
      Dlazy: 6,
      gossipFactor: 0.25,
      heartbeatIntervalMs: 1000,
      presenceThrottleMs: 50,
    })
  })

  it('adds mesh links and lazy gossip as loss grows, and more links past 100 members', () => {
    expect(gossipParameters({ members: 10, loss: 0.1 }, base)).toMatchObject({ D: 8, Dlo: 6, Dhi: 16, Dlazy: 8, gossipFactor: 0.35 })
    expect(gossipParameters({ members: 500, loss: 0 }, base)).toMatchObject({ D: 8 })
    expect(gossipParameters({ members: 10, loss: 0.9 }, base)).toMatchObject({ D: 12, gossipFactor: 0.5 })
  })

  it('slows heartbeats and presence in large rooms, within caps', () => {
    expect(gossipParameters({ members: 64, loss: 0 }, base)).toMatchObject({ heartbeatIntervalMs: 2000, presenceThrottleMs: 400 })
    expect(gossipParameters({ members: 1000, loss: 0 }, base)).toMatchObject({ heartbeatIntervalMs: 5000, presenceThrottleMs: 1000 })
    // A configured value above the cap is kept, never lowered.
    expect(gossipParameters({ members: 1000, loss: 0 }, { heartbeatIntervalMs: 9000, presenceThrottleMs: 2000 })).toMatchObject({
      heartbeatIntervalMs: 9000,
      presenceThrottleMs: 2000,
    })
  })

  it('always gives a valid gossipsub configuration, whatever the inputs', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: false }), fc.option(fc.double(), { nil: null }), (members, loss) => {
        const p = gossipParameters({ members, loss }, base)
        expect(p.Dlo).toBeLessThanOrEqual(p.D)
        expect(p.D).toBeLessThanOrEqual(p.Dhi)
        expect(p.D).toBeGreaterThanOrEqual(6)
        expect(p.D).toBeLessThanOrEqual(12)
        expect(p.gossipFactor).toBeGreaterThanOrEqual(0.25)
        expect(p.gossipFactor).toBeLessThanOrEqual(0.5)
        expect(p.heartbeatIntervalMs).toBeGreaterThanOrEqual(1000)
        expect(p.presenceThrottleMs).toBeGreaterThanOrEqual(50)
      }),
    )
  })
})
