/**
 * Test harness: N replicas of one document and an adversarial network between them. Each local operation's change
 * goes into a shared pool, tagged with the operation; `deliver` hands a replica any changes from the pool, in any
 * order, duplicated, before their dependencies (Automerge queues those until the dependencies arrive); `deliverAll`
 * finally gives every replica everything, in a shuffled order. `applied(i)` lists the operations replica i has
 * actually applied, so a test can compare each replica with a reference model of exactly what it has seen.
 */
import type * as AM from '@automerge/automerge/slim'
import fc from 'fast-check'
import { expect } from 'vitest'
import type { AutomergeModule } from '../../../../src/docs/automerge.js'
import { seededRandom, type Random } from '../../../../src/runtime/index.js'

interface Sent<Op> {
  readonly change: AM.Change
  readonly hash: string
  readonly op: Op
  readonly origin: number
}

/** Delivery of pool entries `picks` (indices taken modulo the pool size) to replica `to`. */
export interface Delivery {
  readonly kind: 'deliver'
  readonly to: number
  readonly picks: readonly number[]
  /** One applyChanges call for all picks, or one per pick. */
  readonly batch: boolean
}

export const deliveryArb: fc.Arbitrary<Delivery> = fc.record({
  kind: fc.constant('deliver' as const),
  to: fc.nat(),
  picks: fc.array(fc.nat(), { maxLength: 8 }),
  batch: fc.boolean(),
})

/** `count` distinct random actor ids (32 hex digits), from `random`. */
export function randomActors(random: Random, count: number): string[] {
  const actors = new Set<string>()
  while (actors.size < count) {
    let hex = ''
    for (let i = 0; i < 32; i++) hex += random.int(16).toString(16)
    actors.add(hex)
  }
  return [...actors]
}

export class Cluster<T, Op> {
  readonly docs: AM.Doc<T>[]
  readonly pool: Sent<Op>[] = []
  private readonly random: Random

  constructor(
    private readonly A: AutomergeModule,
    size: number,
    seed: number,
    open: (actor: string) => AM.Doc<T>,
  ) {
    this.random = seededRandom(seed)
    this.docs = randomActors(this.random, size).map(open)
  }

  get size(): number {
    return this.docs.length
  }

  doc(i: number): AM.Doc<T> {
    return this.docs[i % this.size]!
  }

  /** Runs a local operation on replica i and puts the change it made, if any, into the pool. */
  local(i: number, op: Op, run: (doc: AM.Doc<T>) => AM.Doc<T>): void {
    const r = i % this.size
    const before = this.docs[r]!
    const after = run(before)
    this.docs[r] = after
    const changes = this.A.getChanges(before, after)
    expect(changes.length).toBeLessThanOrEqual(1)
    for (const change of changes) {
      this.pool.push({ change, hash: this.A.decodeChange(change).hash, op, origin: r })
    }
  }

  deliver(delivery: Delivery): void {
    if (this.pool.length === 0) return
    const r = delivery.to % this.size
    const changes = delivery.picks.map((p) => this.pool[p % this.pool.length]!.change)
    if (delivery.batch) {
      this.docs[r] = this.A.applyChanges(this.docs[r]!, changes)[0]
    } else {
      for (const change of changes) this.docs[r] = this.A.applyChanges(this.docs[r]!, [change])[0]
    }
  }

  /** Gives every replica every change, in a fresh shuffled order for each, some twice; `after(r)` follows each. */
  deliverAll(after: (r: number) => void = () => {}): void {
    for (let r = 0; r < this.size; r++) {
      const order = this.pool.map((_, k) => k)
      for (let k = order.length - 1; k > 0; k--) {
        const j = this.random.int(k + 1)
        ;[order[k], order[j]] = [order[j]!, order[k]!]
      }
      const dupes = order.filter(() => this.random.int(4) === 0)
      for (const k of [...order, ...dupes]) {
        this.docs[r] = this.A.applyChanges(this.docs[r]!, [this.pool[k]!.change])[0]
        after(r)
      }
    }
  }

  /** The operations replica i has applied (not merely received: queued changes are left out), in pool order. */
  applied(i: number): Sent<Op>[] {
    const doc = this.doc(i)
    return this.pool.filter((sent) => this.A.hasHeads(doc, [sent.hash]))
  }

  /** Asserts that every replica has the same heads and the same `read` value; returns that value. */
  expectConverged<V>(read: (doc: AM.Doc<T>) => V): V {
    const heads = this.docs.map((doc) => [...this.A.getHeads(doc)].sort())
    const values = this.docs.map(read)
    for (let r = 1; r < this.size; r++) {
      expect(heads[r]).toEqual(heads[0])
      expect(values[r]).toEqual(values[0])
    }
    // Every replica has applied everything: nothing is left queued.
    for (let r = 0; r < this.size; r++) expect(this.applied(r)).toHaveLength(this.pool.length)
    return values[0]!
  }
}
