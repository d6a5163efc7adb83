import { describe, expect, it } from 'vitest'
import { RaftNet } from '../../support/raft-net.js'

describe('raft smoke', () => {
  it('elects a leader and replicates', () => {
    const net = new RaftNet(['a', 'b', 'c'])
    net.campaign('a')
    expect(net.leader()).toBe('a')
    expect(net.propose('a', 'x').ok).toBe(true)
    net.tickAll(2)
    for (const id of ['a', 'b', 'c']) expect(net.node(id).applied).toEqual(['x'])
  })
})
