import { describe, expect, it } from 'vitest'
import { MetricsRegistry } from '../../../src/metrics/index.js'

describe('MetricsRegistry', () => {
  it('returns the same instance for the same name', () => {
    const r = new MetricsRegistry()
    expect(r.counter('presence.sent')).toBe(r.counter('presence.sent'))
    expect(r.histogram('dial.ms')).toBe(r.histogram('dial.ms'))
    expect(r.counter('a')).not.toBe(r.counter('b'))
  })

  it('prefixes names in scopes, and scopes nest', () => {
    const r = new MetricsRegistry()
    const presence = r.scope('presence')
    presence.counter('sent').inc(3)
    expect(r.counter('presence.sent').value()).toBe(3)
    presence.scope('throttle').histogram('wait_ms').record(5)
    expect(r.histogram('presence.throttle.wait_ms').count).toBe(1)
  })

  it('snapshots to plain, sorted, JSON-able data', () => {
    const r = new MetricsRegistry()
    r.counter('z.last').inc()
    r.counter('a.first').inc(2)
    r.histogram('lat').record(10)
    r.histogram('empty')
    const snap = r.snapshot()
    expect(Object.keys(snap.counters)).toEqual(['a.first', 'z.last'])
    expect(snap.counters).toEqual({ 'a.first': 2, 'z.last': 1 })
    expect(snap.histograms['lat']).toEqual({ count: 1, min: 10, max: 10, mean: 10, p50: 10, p95: 10, p99: 10 })
    expect(snap.histograms['empty']?.count).toBe(0)
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap)
    // A snapshot is a copy: later changes do not show up in it.
    r.counter('a.first').inc()
    expect(snap.counters['a.first']).toBe(2)
  })

  it('refuses one name for both a counter and a histogram', () => {
    const r = new MetricsRegistry()
    r.counter('x')
    expect(() => r.histogram('x')).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
    r.histogram('y')
    expect(() => r.counter('y')).toThrow(/already used by a histogram/)
  })

  it('bounds the number of distinct names, while existing names keep working', () => {
    const r = new MetricsRegistry({ maxNames: 3 })
    r.counter('a')
    r.histogram('b')
    r.scope('s').counter('c')
    expect(() => r.counter('d')).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
    expect(() => r.histogram('e')).toThrow(/maxNames/)
    r.counter('a').inc()
    expect(r.counter('s.c')).toBe(r.scope('s').counter('c'))
  })

  it('defaults to 1000 names', () => {
    const r = new MetricsRegistry()
    for (let i = 0; i < 1000; i++) r.counter(`c${i}`)
    expect(() => r.counter('one.too.many')).toThrow(/1000/)
  })

  it('rejects empty names and bad options', () => {
    const r = new MetricsRegistry()
    expect(() => r.counter('')).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
    expect(() => r.scope('')).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
    expect(() => r.scope('p').histogram('')).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
    expect(() => new MetricsRegistry({ maxNames: 0 })).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }))
  })
})
