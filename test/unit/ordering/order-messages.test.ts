import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeOrderMessage, encodeOrderMessage, type OrderMessage } from '../../../src/ordering/order-messages.js'

const bytes = (n: number): Uint8Array => new Uint8Array(n).fill(7)

const samples: OrderMessage[] = [
  { type: 'submit', id: 1, command: bytes(10) },
  { type: 'submitted', id: 2, index: 9, result: '{"type":"appended","log":"l","index":1}' },
  { type: 'refused', id: 3, leader: 'peer-x', mayHaveCommitted: true, reason: 'leader changed' },
  { type: 'refused', id: 4, leader: null, mayHaveCommitted: false, reason: 'no leader' },
  { type: 'fetch', id: 5, from: 1 },
  { type: 'entries', id: 6, group: 'g1', commit: 12, items: [{ index: 10, data: bytes(3) }, { index: 11, data: new Uint8Array(0) }] },
  { type: 'snapshot', id: 7, group: 'g1', index: 40, state: bytes(100) },
]

describe('order messages', () => {
  it('round-trip', () => {
    for (const m of samples) expect(decodeOrderMessage(encodeOrderMessage(m))).toEqual(m)
  })

  it('reject every truncation with DecodeError', () => {
    for (const m of samples) {
      const full = encodeOrderMessage(m)
      for (let n = 0; n < full.length; n++) expect(() => decodeOrderMessage(full.subarray(0, n))).toThrow(/./)
      for (let n = 0; n < full.length; n++) {
        try {
          decodeOrderMessage(full.subarray(0, n))
        } catch (err) {
          expect((err as Error).name).toBe('DecodeError')
        }
      }
    }
  })

  it('throw nothing but DecodeError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        try {
          decodeOrderMessage(b)
        } catch (err) {
          expect((err as Error).name).toBe('DecodeError')
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('reject non-contiguous entries, entries past the commit index and impossible counts', () => {
    const gap = encodeOrderMessage({ type: 'entries', id: 1, group: 'g', commit: 9, items: [{ index: 1, data: bytes(1) }, { index: 3, data: bytes(1) }] })
    expect(() => decodeOrderMessage(gap)).toThrow(/contiguous/)
    const past = encodeOrderMessage({ type: 'entries', id: 1, group: 'g', commit: 1, items: [{ index: 2, data: bytes(1) }] })
    expect(() => decodeOrderMessage(past)).toThrow(/past the commit/)
    // type 5, id 1, group '', commit 1, count 2^40 in a few bytes
    expect(() => decodeOrderMessage(new Uint8Array([5, 1, 0, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]))).toThrow(/count/)
    expect(() => decodeOrderMessage(new Uint8Array([99, 1]))).toThrow(/unknown/)
    expect(() => decodeOrderMessage(new Uint8Array([4, 1, 0]))).toThrow(/from/)
    expect(() => encodeOrderMessage({ type: 'fetch', id: 1, from: 0 })).toThrow(/index/)
  })
})
