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
