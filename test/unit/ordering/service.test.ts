/**
 * The ordering service end to end in memory: three super-peers run Raft (RaftDriver over the in-memory hub, in-memory
 * storage) and two plain peers submit through them; everything on one SimClock. Checks that every peer sees the same
 * entries in the same order, exactly once, also across the death of the leader, and that locks hand over in order.
 * Also the public LockHandle over it: holder(), on('change') and acquire({ wait: false }).
 */
import { describe, expect, it } from 'vitest'
import { LockHandle, type LockHolder } from '../../../src/api/ordering-handles.js'
import { RaftDriver } from '../../../src/consensus/raft/driver.js'
import { InvalidOptionError, LockBusyError } from '../../../src/errors.js'
import { RaftStorage } from '../../../src/consensus/raft/raft-storage.js'
import type { OrderedEntry } from '../../../src/ordering/ordered-state.js'
import { decodeOrderMessage } from '../../../src/ordering/order-messages.js'
import { OrderingService, type Submitted } from '../../../src/ordering/service.js'
import { seededRandom } from '../../../src/runtime/random.js'
import { SimClock } from '../../../src/runtime/sim-clock.js'
import { MemoryStorageAdapter } from '../../../src/storage/memory.js'
import { MemoryRaftHub } from '../../support/raft-transport-memory.js'

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
const SUPERS = ['s1', 's2', 's3']
const PEERS = ['p1', 'p2']
const ALL = [...SUPERS, ...PEERS]

class Room {
  readonly clock = new SimClock(1_700_000_000_000)
  readonly raftHub = new MemoryRaftHub()
  readonly orderHub = new MemoryRaftHub()
  readonly services = new Map<string, OrderingService>()
  readonly drivers = new Map<string, RaftDriver>()
  readonly seen = new Map<string, OrderedEntry[]>()
  /** What every service's `accepting` option answers (a group still settling refuses commands). */
  accepting = true
  private seed = 1

  async start(): Promise<void> {
    for (const id of ALL) await this.add(id, SUPERS.includes(id), { voters: SUPERS, learners: [] })
  }

  /** A super-peer that joins later: no bootstrap configuration, it waits to be added. */
  async addSuper(id: string): Promise<OrderingService> {
    await this.add(id, true, undefined)
    return this.services.get(id) as OrderingService
  }

  private async add(id: string, isSuper: boolean, bootstrap: { voters: string[]; learners: string[] } | undefined): Promise<void> {
    {
      const live = (): string[] => [...this.drivers.keys()]
      const service = new OrderingService({
        self: id,
        incarnation: 1,
        transport: this.orderHub.transport(id),
        wallClock: this.clock,
        timer: this.clock,
        random: seededRandom(this.seed++),
        superPeers: () => {
          const leader = live().find((s) => this.drivers.get(s)?.status().role === 'leader')
          return leader === undefined ? live() : [leader, ...live().filter((s) => s !== leader)]
        },
        members: () => ALL.filter((m) => m !== id),
        group: () => 'g',
        accepting: () => this.accepting,
      })
      this.services.set(id, service)
      this.seen.set(id, [])
      service.replica.events.on('event', (e) => {
        if (e.type === 'entry') this.seen.get(id)?.push(e.entry)
      })
      if (isSuper) {
        const driver = new RaftDriver({
          id,
          storage: new RaftStorage(new MemoryStorageAdapter(), { prefix: ['raft', 'room'] }),
          transport: this.raftHub.transport(id),
          timer: this.clock,
          clock: this.clock,
          random: seededRandom(this.seed++),
          tickMs: 100,
          ...(bootstrap === undefined ? {} : { bootstrap }),
          apply: service.applyFromRaft,
        })
        service.attachDriver(driver)
        this.drivers.set(id, driver)
        await driver.start()
      }
    }
  }

  leader(): string | undefined {
    return [...this.drivers].find(([, d]) => d.status().role === 'leader')?.[0]
  }

  async kill(id: string): Promise<void> {
    this.raftHub.isolate(id, ALL)
    this.orderHub.isolate(id, ALL)
    await this.drivers.get(id)?.stop()
    this.drivers.delete(id)
    this.services.get(id)?.close()
    this.services.delete(id)
  }

  async runUntil(done: () => boolean, maxMs = 60_000): Promise<void> {
    await settle()
    for (let t = 0; !done(); t += 10) {
      if (t >= maxMs) throw new Error(`not reached within ${maxMs} simulated ms`)
      this.clock.advance(10)
      await settle()
    }
  }

  async all<T>(ps: Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
    let done = 0
    for (const p of ps) p.then(() => done++, () => done++)
    await this.runUntil(() => done === ps.length)
    return Promise.allSettled(ps)
  }
}

describe('ordering service', () => {
  it('gives every peer the same entries in the same order, each once, with indexes as acknowledged', async () => {
    const room = new Room()
    await room.start()
    await room.runUntil(() => room.leader() !== undefined)
    const ps: Promise<{ index: number; by: string; value: string }>[] = []
    for (let i = 0; i < 20; i++) {
      for (const id of ALL) {
        const value = `${id}-${i}`
        ps.push(
          (room.services.get(id) as OrderingService)
            .submit({ type: 'append', log: 'moves', value })
            .then((r) => ({ index: (r.result as { index: number }).index, by: id, value })),
        )
      }
    }
    const results = await room.all(ps)
    const acked = results.map((r) => {
      if (r.status !== 'fulfilled') throw r.reason
      return r.value
    })
    await room.runUntil(() => ALL.every((id) => (room.seen.get(id) ?? []).length === 100))
    const reference = (room.seen.get('s1') ?? []).map((e) => e.value)
    expect(new Set(reference).size).toBe(100)
    for (const id of ALL) expect((room.seen.get(id) ?? []).map((e) => e.value)).toEqual(reference)
    for (const a of acked) expect(reference[a.index - 1]).toBe(a.value)
  })

  it('keeps going when the leader dies mid-stream: every acknowledged append stays, none twice', async () => {
    const room = new Room()
    await room.start()
    await room.runUntil(() => room.leader() !== undefined)
    const first = room.leader() as string
    const writers = [...PEERS, ...SUPERS.filter((s) => s !== first)]
    const ps: Promise<unknown>[] = []
    for (let i = 0; i < 10; i++) for (const id of writers) ps.push((room.services.get(id) as OrderingService).submit({ type: 'append', log: 'l', value: `${id}-${i}` }))
    await room.runUntil(() => (room.seen.get(writers[0] as string) ?? []).length >= 10)
    await room.kill(first)
    for (let i = 10; i < 20; i++) for (const id of writers) ps.push((room.services.get(id) as OrderingService).submit({ type: 'append', log: 'l', value: `${id}-${i}` }))
    const results = await room.all(ps)
    expect(results.filter((r) => r.status === 'rejected')).toEqual([])
    await room.runUntil(() => writers.every((id) => (room.seen.get(id) ?? []).length === 20 * writers.length))
    const reference = (room.seen.get(writers[0] as string) ?? []).map((e) => e.value)
    expect(new Set(reference).size).toBe(reference.length)
    for (const id of writers) expect((room.seen.get(id) ?? []).map((e) => e.value)).toEqual(reference)
    expect(room.leader()).not.toBe(first)
  })

  it('commits nothing while the leader is not accepting, and every waiting submit once it is', async () => {
    const room = new Room()
    await room.start()
    await room.runUntil(() => room.leader() !== undefined)
    room.accepting = false
    const leader = room.leader() as string
    const writers = ['p1', leader, SUPERS.find((s) => s !== leader) as string]
    const done: string[] = []
    const ps = writers.map((id) =>
      (room.services.get(id) as OrderingService).submit({ type: 'append', log: 'l', value: id }).then((r) => {
        done.push(id)
        return r
      }),
    )
    // Refused, retried, refused again: seconds pass with nothing committed anywhere.
    await room.runUntil(() => room.clock.now() >= 1_700_000_000_000 + 5_000)
    expect(done).toEqual([])
    for (const id of ALL) expect(room.services.get(id)?.replica.commands).toBe(0)
    room.accepting = true
    const results = await room.all(ps)
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled'])
    const indexes = results.map((r) => (r as PromiseFulfilledResult<Submitted>).value.index).sort((a, b) => a - b)
    expect(new Set(indexes).size).toBe(3)
  })

  it('applies a retried command once when its first answer was lost', async () => {
    const room = new Room()
    await room.start()
    await room.runUntil(() => room.leader() !== undefined)
    let lost = 0
    room.orderHub.dropIf = (m) => {
      // Lose the first three answers to p1: it retries elsewhere with the same seq.
      if (m.to !== 'p1' || lost >= 3 || decodeOrderMessage(m.bytes).type !== 'submitted') return false
      lost++
      return true
    }
    const p1 = room.services.get('p1') as OrderingService
    const results = await room.all([1, 2, 3].map((i) => p1.submit({ type: 'append', log: 'l', value: i })))
    expect(lost).toBe(3)
    expect(results.map((r) => (r.status === 'fulfilled' ? (r.value.result as { index: number }).index : String(r.reason)))).toEqual([1, 2, 3])
    await room.runUntil(() => ALL.every((id) => (room.seen.get(id) ?? []).length === 3))
    for (const id of ALL) expect((room.seen.get(id) ?? []).map((e) => e.value)).toEqual([1, 2, 3])
  })

  it('frees an expired lease on the leader’s clock even when nothing else happens, and hands it on', async () => {
    const room = new Room()
    await room.start()
    await room.runUntil(() => room.leader() !== undefined)
    const p1 = room.services.get('p1') as OrderingService
    const p2 = room.services.get('p2') as OrderingService
    await room.all([p1.submit({ type: 'acquire', lock: 'k', ttlMs: 1000 })])
    const [b] = await room.all([p2.submit({ type: 'acquire', lock: 'k', ttlMs: 1000 })])
    expect(b?.status === 'fulfilled' ? b.value.result.type : undefined).toBe('queued')
    // Nobody releases: after the lease, the leader's clock entry frees it for p2.
    await room.runUntil(() => {
      for (const s of room.services.values()) s.tickClock()
      return p2.replica.view.holder('k')?.holder === p2.client
    }, 5000)
    expect(room.clock.now()).toBeGreaterThanOrEqual(1_700_000_001_000)
  })

  it('brings a super-peer added after compaction up to date through a snapshot', async () => {
    const room = new Room()
    await room.start()
    await room.runUntil(() => room.leader() !== undefined)
    const p1 = room.services.get('p1') as OrderingService
    await room.all(Array.from({ length: 30 }, (_, i) => p1.submit({ type: 'append', log: 'l', value: i })))
    for (const id of SUPERS) {
      const driver = room.drivers.get(id) as RaftDriver
      const service = room.services.get(id) as OrderingService
      await room.all([driver.compact(service.replica.appliedIndex, service.replica.snapshotBytes())])
    }
    const late = await room.addSuper('s4')
    const leader = room.drivers.get(room.leader() as string) as RaftDriver
    await room.all([leader.proposeConfigChange({ type: 'addLearner', node: 's4' })])
    await room.runUntil(() => late.replica.view.logLength('l') === 30)
    const reference = (room.services.get('s1') as OrderingService).replica.view.entries('l').entries.map((e) => e.value)
    expect(late.replica.view.entries('l').entries.map((e) => e.value)).toEqual(reference)
    expect(new Set(reference).size).toBe(30)
  })

  it('hands a lock over in order with increasing tokens', async () => {
    const room = new Room()
    await room.start()
    await room.runUntil(() => room.leader() !== undefined)
    const p1 = room.services.get('p1') as OrderingService
    const p2 = room.services.get('p2') as OrderingService
    const [a] = await room.all([p1.submit({ type: 'acquire', lock: 'k', ttlMs: 60_000 })])
    const grantA = a?.status === 'fulfilled' ? a.value.result : undefined
    expect(grantA).toMatchObject({ type: 'granted' })
    const [b] = await room.all([p2.submit({ type: 'acquire', lock: 'k', ttlMs: 60_000 })])
    expect(b?.status === 'fulfilled' ? b.value.result : undefined).toMatchObject({ type: 'queued' })
    const grants: number[] = []
    p2.replica.events.on('event', (e) => {
      if (e.type === 'granted') grants.push(e.grant.token)
    })
    const [r] = await room.all([p1.submit({ type: 'release', lock: 'k', token: (grantA as { token: number }).token })])
    expect(r?.status === 'fulfilled' ? r.value.result : undefined).toEqual({ type: 'released' })
    await room.runUntil(() => grants.length === 1)
    expect(grants[0]).toBeGreaterThan((grantA as { token: number }).token)
    expect(p2.replica.view.holder('k')?.holder).toBe(p2.client)
  })
})

describe('LockHandle', () => {
  async function started(): Promise<{ room: Room; p1: OrderingService; p2: OrderingService }> {
    const room = new Room()
    await room.start()
    await room.runUntil(() => room.leader() !== undefined)
    return { room, p1: room.services.get('p1') as OrderingService, p2: room.services.get('p2') as OrderingService }
  }

  const settled = <T>(r: PromiseSettledResult<T> | undefined): T => {
    if (r === undefined) throw new Error('no result')
    if (r.status === 'rejected') throw r.reason
    return r.value
  }

  it('acquire({ wait: false }) is granted when free and rejects with LockBusyError, withdrawn, when held', async () => {
    const { room, p1, p2 } = await started()
    const l1 = new LockHandle(p1, 'card')
    const l2 = new LockHandle(p2, 'card')
    const changes: (LockHolder | null)[] = []
    l2.on('change', (h) => changes.push(h))
    expect(l2.holder()).toBeNull()

    const g1 = settled((await room.all([l1.acquire({ ttlMs: 60_000, wait: false })]))[0])
    await room.runUntil(() => l2.holder() !== null)
    expect(l2.holder()).toEqual({ peer: 'p1', token: g1.token, expiresAtMs: g1.expiresAtMs, mine: false })
    expect(l1.holder()).toMatchObject({ peer: 'p1', mine: true })
    expect(changes).toEqual([l2.holder()])

    const [busy] = await room.all([l2.acquire({ ttlMs: 60_000, wait: false })])
    expect(busy?.status).toBe('rejected')
    const err = (busy as PromiseRejectedResult).reason as LockBusyError
    expect(err.name).toBe('LockBusyError')
    expect(err).toMatchObject({ lock: 'card', holder: 'p1', expiresAtMs: g1.expiresAtMs })
    expect(err.message).toContain(new Date(g1.expiresAtMs).toISOString())
    expect(l2.grant).toBeNull()

    // The busy request was withdrawn: releasing frees the lock instead of handing it to p2.
    await room.all([l1.release()])
    await room.runUntil(() => changes.length === 2)
    expect(changes[1]).toBeNull()
    expect(l2.holder()).toBeNull()
    expect(p1.replica.view.holder('card')).toBeNull()

    const g2 = settled((await room.all([l2.acquire({ ttlMs: 60_000, wait: false })]))[0])
    expect(g2.token).toBeGreaterThan(g1.token)
    expect(l2.holder()).toEqual({ peer: 'p2', token: g2.token, expiresAtMs: g2.expiresAtMs, mine: true })
    expect(changes).toHaveLength(3)
    expect(changes[2]).toEqual(l2.holder())
  })

  it('a wait: false caller never keeps a lock it was told is busy, whatever the timing of the release', async () => {
    // 'queued': the holder releases the moment p2's replica applies p2's queued request, so the hand-over to p2 races
    // p2's withdrawal; the others release that many simulated ms after p2 asks.
    const outcomes = new Set<string>()
    for (const when of ['queued', 0, 10, 20, 40, 80] as const) {
      const { room, p1, p2 } = await started()
      const l1 = new LockHandle(p1, 'k')
      const l2 = new LockHandle(p2, 'k')
      settled((await room.all([l1.acquire({ ttlMs: 60_000 })]))[0])
      const release = new Promise<void>((resolve, reject) => {
        const go = (): void => void l1.release().then(resolve, reject)
        if (when !== 'queued') {
          room.clock.setTimeout(go, when)
          return
        }
        const off = p2.replica.events.on('reply', (r) => {
          if (r.client !== p2.client || r.result.type !== 'queued') return
          off()
          go()
        })
      })
      const attempt = l2.acquire({ ttlMs: 60_000, wait: false })
      const [r] = await room.all<unknown>([attempt, release]) as [PromiseSettledResult<{ token: number }>]
      // Let every peer apply everything (the withdrawal's own release included).
      await room.all([p2.submit({ type: 'append', log: 'sync', value: 1 })])
      await room.runUntil(() => p1.replica.appliedIndex === p2.replica.appliedIndex)
      const holder = p1.replica.view.holder('k')
      if (r?.status === 'fulfilled') {
        outcomes.add('granted')
        expect(holder).toMatchObject({ holder: p2.client, token: r.value.token })
      } else {
        outcomes.add('busy')
        expect((r?.reason as Error).name).toBe('LockBusyError')
        expect(holder).toBeNull()
      }
    }
    expect(outcomes.has('busy')).toBe(true)
  })

  it('validates wait, and stops reporting changes once closed', async () => {
    const { room, p1, p2 } = await started()
    const l1 = new LockHandle(p1, 'k')
    const l2 = new LockHandle(p2, 'k')
    await expect(l1.acquire({ wait: 'no' as unknown as boolean })).rejects.toBeInstanceOf(InvalidOptionError)
    const changes: unknown[] = []
    l2.on('change', (h) => changes.push(h))
    l2.close()
    settled((await room.all([l1.acquire()]))[0])
    await room.runUntil(() => p2.replica.view.holder('k') !== null)
    expect(changes).toEqual([])
  })

  it('reports a holder learned from a snapshot, which carries no grant event', async () => {
    const { room, p1 } = await started()
    settled((await room.all([new LockHandle(p1, 'k').acquire({ ttlMs: 60_000 })]))[0])
    for (const id of SUPERS) {
      const driver = room.drivers.get(id) as RaftDriver
      const service = room.services.get(id) as OrderingService
      await room.all([driver.compact(service.replica.appliedIndex, service.replica.snapshotBytes())])
    }
    const late = await room.addSuper('s4')
    const lock = new LockHandle(late, 'k')
    const changes: (LockHolder | null)[] = []
    lock.on('change', (h) => changes.push(h))
    const leader = room.drivers.get(room.leader() as string) as RaftDriver
    await room.all([leader.proposeConfigChange({ type: 'addLearner', node: 's4' })])
    await room.runUntil(() => changes.length > 0)
    expect(changes).toEqual([{ peer: 'p1', token: expect.any(Number) as number, expiresAtMs: expect.any(Number) as number, mine: false }])
    expect(lock.holder()).toEqual(changes[0])
  })
})
