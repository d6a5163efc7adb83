// Replays a real concurrent editing trace (friendsforever: two people typing at once, 26,078 transactions). Each agent
// edits its own Automerge replica exactly as recorded: a transaction is applied on a replica holding precisely the
// merge of its parents (the other agent's changes are delivered just in time). Then the replicas, plus a newcomer that
// has nothing, sync through the real sync engine and wire encoding, and all must equal the trace's endContent.
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadAutomerge, type AutomergeModule } from '../../../src/docs/automerge.js'
import type { AnyDoc } from '../../../src/docs/sync-engine.js'
import { createSyncNet } from '../../support/sync-net.js'

interface Txn {
  readonly agent: number
  readonly parents: readonly number[]
  readonly patches: ReadonlyArray<readonly [number, number, string]>
}
interface Trace {
  readonly endContent: string
  readonly numAgents: number
  readonly txns: readonly Txn[]
}

const trace = JSON.parse(
  gunzipSync(readFileSync(new URL('../../fixtures/friendsforever.json.gz', import.meta.url))).toString('utf8'),
) as Trace

let A: AutomergeModule
beforeAll(async () => {
  A = await loadAutomerge()
})

type TextDoc = { text: string }

/** Replays the trace; returns each agent's replica. */
function replay(): AnyDoc[] {
  // The trace's positions count code points; this trace is all in the BMP, where they equal UTF-16 indices.
  expect([...trace.endContent].length).toBe(trace.endContent.length)
  const n = trace.numAgents
  const genesis = A.save(A.change(A.init<TextDoc>({ actor: '00' }), { time: 0 }, (d) => (d.text = '')))
  const replicas = Array.from({ length: n }, (_, a) =>
    A.load<TextDoc>(genesis, { actor: (a + 1).toString(16).padStart(2, '0').repeat(16) }),
  )
  // Each agent's transactions form a chain, so the causal past of a set of transactions is a version vector:
  // for each agent, how many of its transactions it includes.
  const vv: number[][] = []
  const changesOf: Uint8Array[][] = Array.from({ length: n }, () => [])
  const delivered = replicas.map(() => new Array<number>(n).fill(0))
  for (const [i, txn] of trace.txns.entries()) {
    const want = new Array<number>(n).fill(0)
    for (const p of txn.parents) for (let a = 0; a < n; a++) want[a] = Math.max(want[a]!, vv[p]![a]!)
    const a = txn.agent
    const have = delivered[a]!
    for (let other = 0; other < n; other++) {
      if (other === a) continue
      if (have[other]! > want[other]!) throw new Error(`txn ${i}: replica ${a} is ahead of its parents`)
      const missing = changesOf[other]!.slice(have[other], want[other])
      if (missing.length > 0) [replicas[a]] = A.applyChanges(replicas[a]!, missing)
      have[other] = want[other]!
    }
    replicas[a] = A.change(replicas[a]!, { time: 0 }, (d) => {
      for (const [pos, del, ins] of txn.patches) A.splice(d, ['text'], pos, del, ins)
    })
    const change = A.getLastLocalChange(replicas[a])
    if (change === undefined) throw new Error(`txn ${i} made no change`)
    changesOf[a]!.push(change)
    have[a] = changesOf[a]!.length
    want[a] = have[a]!
    vv.push(want)
  }
  return replicas
}

describe('friendsforever trace', () => {
  it('replays faithfully and converges to endContent through the sync engine', () => {
    const replicas = replay()
    const net = createSyncNet(A)
    const names = replicas.map((_, i) => `agent${i}`)
    for (const [i, name] of names.entries()) net.add(name).open('doc', replicas[i]!)
    const late = net.add('late')
    for (const name of names) net.connect(name, 'late')
    for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) net.connect(names[i]!, names[j]!)
    net.settle()
    for (const [id, engine] of net.engines) {
      const text = (engine.doc('doc') as { text?: string } | undefined)?.text
      expect(text?.length, id).toBe(trace.endContent.length)
      expect(text === trace.endContent, `${id} ends with endContent`).toBe(true)
    }
    // The newcomer started from nothing: it should have been sent the saved document, not 26k changes one by one.
    expect(late.has('doc')).toBe(true)
    expect(net.metrics.get('late')?.snapshot().counters['sync.snapshots_received']).toBeGreaterThanOrEqual(1)
    const heads = A.getHeads(net.engines.get('agent0')!.doc('doc')!)
    for (const engine of net.engines.values()) expect(A.getHeads(engine.doc('doc')!).sort()).toEqual([...heads].sort())
  }, 120_000)
})
