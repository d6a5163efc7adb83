import { describe, expect, it } from 'vitest'
import { RaftCore } from '../../../src/consensus/raft/index.js'
import { seededRandom } from '../../../src/runtime/random.js'
import { RaftNet } from '../../support/raft-net.js'

describe('Raft core limits', () => {
  it('refuses a proposal over maxEntryBytes with tooLarge and appends nothing', () => {
    const net = new RaftNet(['a', 'b', 'c'], { maxEntryBytes: 100 })
    net.campaign('a')
    const before = net.core('a').status().lastIndex
    const r = net.core('a').propose(new Uint8Array(101))
    expect(r).toMatchObject({ ok: false, reason: 'tooLarge' })
    expect(net.core('a').status().lastIndex).toBe(before)
    expect(net.core('a').propose(new Uint8Array(100)).ok).toBe(true)
  })

  it('rejects options above what the codec can carry', () => {
    const make = (o: object): RaftCore => new RaftCore({ id: 'a', random: seededRandom(1), ...o })
    expect(() => make({ maxEntryBytes: 2 * 1024 * 1024 })).toThrow(/maxEntryBytes must be at most/)
    expect(() => make({ maxEntriesPerAppend: 5000 })).toThrow(/maxEntriesPerAppend must be at most/)
    expect(() => make({ snapshotChunkBytes: 2 * 1024 * 1024 })).toThrow(/snapshotChunkBytes must be at most/)
  })

  it('rejects an empty or overlong ReadIndex ctx', () => {
    const core = new RaftCore({ id: 'a', random: seededRandom(1) }, { config: { voters: ['a'], learners: [] } })
    expect(() => core.readIndex('')).toThrow(/ctx/)
    expect(() => core.readIndex('x'.repeat(129))).toThrow(/ctx/)
  })
})

describe('Raft core and a follower from another log', () => {
  it('ignores an acknowledgement past its own log instead of trusting it', () => {
    const net = new RaftNet(['a', 'b', 'c'])
    net.campaign('a')
    const last = net.core('a').status().lastIndex
    net.core('a').step({ type: 'appendResponse', from: 'b', to: 'a', term: net.core('a').status().term, reject: false, index: last + 50, hintIndex: 0, hintTerm: 0 })
    expect(net.core('a').status().refused).toBe(1)
    expect(net.core('a').status().progress.b?.match).toBeLessThanOrEqual(last)
    expect(net.propose('a', 'still works').ok).toBe(true)
    net.tickAll(2)
    expect(net.node('c').applied).toContain('still works')
  })
})
