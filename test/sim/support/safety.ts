/**
 * Raft's safety properties (Figure 3 of the paper), checked as the simulation runs: Election Safety (at most one
 * leader per term), Log Matching on committed prefixes, Leader Completeness (a new leader holds every committed
 * entry), and State Machine Safety (every node applies the same entry at each index, in order, with nothing lost
 * across crashes). A violation throws at once, so the failing event is the one that broke the rule.
 */
import type { RaftCore, SoftState } from '../../../src/consensus/raft/index.js'
import type { Entry, NodeId } from '../../../src/consensus/raft/types.js'

export class SafetyViolation extends Error {
  override readonly name = 'SafetyViolation'
}

interface Fingerprint {
  readonly term: number
  readonly body: string
}

const dec = new TextDecoder()

function fingerprint(e: Entry): Fingerprint {
  switch (e.kind) {
    case 'normal':
      return { term: e.term, body: `n:${dec.decode(e.data)}` }
    case 'config':
      return { term: e.term, body: `c:${JSON.stringify(e.config)}` }
    case 'noop':
      return { term: e.term, body: 'noop' }
  }
}

export class SafetyMonitor {
  private readonly leaders = new Map<number, NodeId>()
  /** The one entry committed at each index, as first seen by any node. */
  private readonly committed: Fingerprint[] = [{ term: 0, body: 'origin' }]
  private readonly lastApplied = new Map<NodeId, number>()
  private readonly lastCommit = new Map<NodeId, number>()
  /** How many times each index was applied, per node, to prove no node skipped or repeated one. */
  applies = 0
  elections = 0

  get highestCommitted(): number {
    return this.committed.length - 1
  }

  onSoftState(id: NodeId, soft: SoftState, core: RaftCore): void {
    if (soft.role !== 'leader') return
    this.elections++
    const other = this.leaders.get(soft.term)
    if (other !== undefined && other !== id) {
      throw new SafetyViolation(`election safety: ${other} and ${id} both lead term ${soft.term}`)
    }
    this.leaders.set(soft.term, id)
    const st = core.status()
    for (let i = st.snapshotIndex + 1; i < this.committed.length; i++) {
      const e = core.entry(i)
      const want = this.committed[i] as Fingerprint
      if (e === undefined || !same(fingerprint(e), want)) {
        throw new SafetyViolation(`leader completeness: new leader ${id} of term ${soft.term} lacks committed ${i}`)
      }
    }
  }

  /** A node's commit index moved: every entry it now calls committed must be the committed one. */
  onCommit(id: NodeId, core: RaftCore, commit: number): void {
    const prev = this.lastCommit.get(id) ?? 0
    for (let i = prev + 1; i <= commit; i++) {
      const e = core.entry(i)
      if (e !== undefined) this.record(id, i, fingerprint(e), 'commit')
    }
    this.lastCommit.set(id, commit)
  }

  onApply(id: NodeId, e: Entry): void {
    const last = this.lastApplied.get(id) ?? 0
    if (e.index !== last + 1) {
      throw new SafetyViolation(`state machine safety: ${id} applied ${e.index} right after ${last}`)
    }
    this.record(id, e.index, fingerprint(e), 'apply')
    this.lastApplied.set(id, e.index)
    this.applies++
  }

  onSnapshot(id: NodeId, index: number): void {
    if (index > this.highestCommitted) {
      throw new SafetyViolation(`${id} installed a snapshot at ${index}, past anything committed`)
    }
    this.lastApplied.set(id, index)
    this.lastCommit.set(id, Math.max(this.lastCommit.get(id) ?? 0, index))
  }

  /** After a crash a node starts over from its snapshot (and re-applies its committed entries). */
  onRestart(id: NodeId, appliedIndex: number): void {
    this.lastApplied.set(id, appliedIndex)
    this.lastCommit.set(id, appliedIndex)
  }

  private record(id: NodeId, index: number, f: Fingerprint, what: string): void {
    const known = this.committed[index]
    if (known === undefined) {
      if (index !== this.committed.length) {
        throw new SafetyViolation(`${id} ${what} ${index} while only ${this.highestCommitted} is known committed`)
      }
      this.committed.push(f)
      return
    }
    if (!same(known, f)) {
      throw new SafetyViolation(
        `log matching: ${id} ${what} index ${index} as term ${f.term} ${f.body}, committed was term ${known.term} ${known.body}`,
      )
    }
  }
}

function same(a: Fingerprint, b: Fingerprint): boolean {
  return a.term === b.term && a.body === b.body
}
