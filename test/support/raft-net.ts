/**
 * A synchronous in-memory network of Raft cores, in the style of etcd-io/raft's test network: messages are delivered
 * in order, at once, until none are left; links can be cut, nodes isolated, messages dropped by a filter, and nodes
 * crashed and restarted from what they persisted. For unit tests of the paper's rules; the seeded simulator covers
 * delays, loss and reordering.
 */
import { RaftCore, type RaftOptions } from '../../src/consensus/raft/index.js'
import { persistCompaction, persistReady, EMPTY_PERSISTED, type PersistedRaft } from '../../src/consensus/raft/persisted.js'
import type { ClusterConfig, Entry, Message, NodeId, ReadState } from '../../src/consensus/raft/types.js'
import { seededRandom } from '../../src/runtime/random.js'

export interface NetNode {
  core: RaftCore
  disk: PersistedRaft
  /** Data of the normal entries applied, in order. */
  applied: string[]
  appliedEntries: Entry[]
  readStates: ReadState[]
  rejectedReads: string[]
  snapshotsInstalled: number
}

export type NetOptions = Partial<Omit<RaftOptions, 'id' | 'random'>>

const enc = new TextEncoder()
const dec = new TextDecoder()

export function data(s: string): Uint8Array {
  return enc.encode(s)
}

export class RaftNet {
  readonly nodes = new Map<NodeId, NetNode>()
  /** The configuration each node was created with: part of its identity, so a restart uses it again. */
  private readonly bootConfig = new Map<NodeId, ClusterConfig>()
  private readonly cuts = new Set<string>()
  private readonly down = new Set<NodeId>()
  /** Return true to drop a message. */
  dropIf: ((m: Message) => boolean) | null = null
  /** Every message delivered, for assertions. */
  readonly delivered: Message[] = []
  private seed = 1

  constructor(
    ids: readonly NodeId[],
    private readonly options: NetOptions = {},
    config: ClusterConfig = { voters: ids, learners: [] },
  ) {
    for (const id of ids) this.addNode(id, config)
  }

  addNode(id: NodeId, config: ClusterConfig = { voters: [], learners: [] }): NetNode {
    this.bootConfig.set(id, config)
    const node: NetNode = {
      core: this.makeCore(id, { ...EMPTY_PERSISTED }, config),
      disk: EMPTY_PERSISTED,
      applied: [],
      appliedEntries: [],
      readStates: [],
      rejectedReads: [],
      snapshotsInstalled: 0,
    }
    this.nodes.set(id, node)
    return node
  }

  node(id: NodeId): NetNode {
    const n = this.nodes.get(id)
    if (n === undefined) throw new Error(`no node ${id}`)
    return n
  }

  core(id: NodeId): RaftCore {
    return this.node(id).core
  }

  leader(): NodeId | null {
    const leaders = [...this.nodes.entries()].filter(([id, n]) => !this.down.has(id) && n.core.status().role === 'leader')
    return leaders.length === 1 ? (leaders[0] as [NodeId, NetNode])[0] : null
  }

  /** Ticks `id` until it campaigns (a randomized timeout is below 2 × electionTicks), then delivers everything. */
  campaign(id: NodeId): void {
    const core = this.core(id)
    const limit = 2 * (this.options.electionTicks ?? 10)
    for (let i = 0; i < limit && core.status().role === 'follower'; i++) core.tick()
    this.deliverAll()
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.core(id).tick()
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const [id, node] of this.nodes) if (!this.down.has(id)) node.core.tick()
      this.deliverAll()
    }
  }

  propose(id: NodeId, value: string): ReturnType<RaftCore['propose']> {
    const r = this.core(id).propose(data(value))
    this.deliverAll()
    return r
  }

  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(`${a}>${b}`)
    this.cuts.add(`${b}>${a}`)
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.cuts.add(`${from}>${to}`)
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other)
  }

  recover(): void {
    this.cuts.clear()
    this.dropIf = null
  }

  crash(id: NodeId): void {
    this.down.add(id)
  }

  /** A new core from what `id` persisted; memory (applied state, pending messages) is lost. */
  restart(id: NodeId): void {
    const n = this.node(id)
    this.down.delete(id)
    n.core = this.makeCore(id, n.disk, this.bootConfig.get(id))
    // The state machine restarts from the persisted snapshot; the core then hands out the committed entries after it.
    n.applied = n.disk.snapshot === undefined ? [] : (JSON.parse(dec.decode(n.disk.snapshot.data)) as string[])
    n.appliedEntries = []
    n.snapshotsInstalled = 0
  }

  isDown(id: NodeId): boolean {
    return this.down.has(id)
  }

  /** Ticks every live node (delivering after each tick) until `done()` holds; returns the ticks it took. */
  tickUntil(done: () => boolean, maxTicks = 1000): number {
    for (let i = 0; i < maxTicks; i++) {
      if (done()) return i
      this.tickAll()
    }
    if (done()) return maxTicks
    throw new Error(`condition not reached within ${maxTicks} ticks`)
  }

  /** Runs every node's ready loop and delivers messages until the network is quiet. */
  deliverAll(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      const batch: Message[] = []
      for (const [id, n] of this.nodes) {
        if (this.down.has(id)) continue
        while (n.core.hasReady()) batch.push(...this.processReady(n))
      }
      if (batch.length === 0) return
      for (const m of batch) this.deliver(m)
    }
    throw new Error('network did not go quiet')
  }

  private deliver(m: Message): void {
    if (this.down.has(m.to) || this.cuts.has(`${m.from}>${m.to}`)) return
    if (this.dropIf?.(m) === true) return
    const target = this.nodes.get(m.to)
    if (target === undefined) return
    this.delivered.push(m)
    target.core.step(m)
  }

  private processReady(n: NetNode): Message[] {
    const rd = n.core.ready()
    n.disk = persistReady(n.disk, rd)
    if (rd.snapshot !== null) {
      n.snapshotsInstalled++
      n.applied = JSON.parse(dec.decode(rd.snapshot.data)) as string[]
    }
    for (const e of rd.committed) {
      n.appliedEntries.push(e)
      if (e.kind === 'normal') n.applied.push(dec.decode(e.data))
    }
    n.readStates.push(...rd.readStates)
    n.rejectedReads.push(...rd.rejectedReads)
    n.core.advance(rd)
    return [...rd.messages]
  }

  /** Snapshots `id`'s applied state (its list of values) and compacts its log up to what it applied. */
  compact(id: NodeId): void {
    const n = this.node(id)
    const applied = n.core.status().applied
    const snapshot = n.core.compact(applied, data(JSON.stringify(n.applied)))
    if (snapshot !== null) n.disk = persistCompaction(n.disk, snapshot)
  }

  private makeCore(id: NodeId, disk: PersistedRaft, config?: ClusterConfig): RaftCore {
    return new RaftCore(
      { electionTicks: 10, heartbeatTicks: 1, ...this.options, id, random: seededRandom(this.seed++) },
      {
        hardState: disk.hardState,
        ...(disk.snapshot === undefined ? {} : { snapshot: disk.snapshot }),
        entries: disk.entries,
        ...(config === undefined ? {} : { config }),
      },
    )
  }
}
