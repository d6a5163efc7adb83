/**
 * SWIM's gossip queue (§4.1) in memberlist's order: fewest transmissions first, newest first among equals, dropped
 * after the transmit limit, one pending update per member.
 */
import { describe, expect, it } from 'vitest'
import { BroadcastQueue } from '../../../src/membership/swim/broadcast-queue.js'
import type { SwimUpdate } from '../../../src/membership/swim/index.js'

const alive = (id: string, incarnation = 0): SwimUpdate => ({ id, state: 'alive', incarnation, from: id })
const ids = (updates: readonly SwimUpdate[]): string[] => updates.map((u) => u.id)

describe('BroadcastQueue', () => {
  it('sends the least-sent first and, among equals, the most recently queued or sent first', () => {
    const q = new BroadcastQueue()
    for (const id of ['a', 'b', 'c']) q.set(alive(id))
    expect(ids(q.take(2, 10))).toEqual(['c', 'b'])
    q.set(alive('d'))
    // d and a were never sent; c and b once.
    expect(ids(q.take(3, 10))).toEqual(['d', 'a', 'c'])
    // Sent once: b, then a and d, which have just joined it; c twice.
    expect(ids(q.take(10, 10))).toEqual(['d', 'a', 'b', 'c'])
  })

  it('never carries an update twice in one message, and drops it after the limit', () => {
    const q = new BroadcastQueue()
    q.set(alive('a'))
    q.set(alive('b'))
    for (let i = 0; i < 3; i++) expect(ids(q.take(8, 3)).sort()).toEqual(['a', 'b'])
    expect(q.take(8, 3)).toEqual([])
    expect(q.size).toBe(0)
  })

  it('keeps one update per member: a newer one replaces it and starts over', () => {
    const q = new BroadcastQueue()
    q.set(alive('a'))
    q.set(alive('b'))
    q.take(2, 3)
    q.set(alive('a', 1))
    expect(q.size).toBe(2)
    expect(q.take(1, 3)).toEqual([alive('a', 1)])
    q.delete('b')
    expect(q.has('b')).toBe(false)
    expect(q.take(8, 3)).toEqual([alive('a', 1)])
  })

  it('drops updates already sent as often as a lower limit allows (the cluster shrank)', () => {
    const q = new BroadcastQueue()
    q.set(alive('a'))
    q.take(1, 10)
    q.take(1, 10)
    q.set(alive('b'))
    expect(ids(q.take(8, 2))).toEqual(['b'])
    expect(q.has('a')).toBe(false)
  })

  it('stays correct across compactions of replaced entries', () => {
    const q = new BroadcastQueue()
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 10; i++) q.set(alive(`m${i}`, round))
    }
    expect(q.size).toBe(10)
    const sent = q.take(100, 5)
    expect(sent).toHaveLength(10)
    expect(new Set(ids(sent)).size).toBe(10)
    expect(sent.every((u) => u.incarnation === 49)).toBe(true)
  })
})
