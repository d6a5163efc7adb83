/**
 * A simulated KV server: a Raft core plus its driver, the way a real driver must behave (persist, then send, then
 * apply), on the simulator's clock, disk and network. It also serves clients: writes and CAS go through the log,
 * reads through the log, through ReadIndex, or, for the negative control, from the local state (not linearizable).
 */
import { RaftCore, type Ready } from '../../../src/consensus/raft/index.js'
import type { ClusterConfig, ConfigChange, Entry, HardState, Message, NodeId, Snapshot } from '../../../src/consensus/raft/types.js'
import { decodeCommand, encodeCommand, KvStore, type KvCommand, type KvResult } from './kv.js'
import type { SafetyMonitor } from './safety.js'

export type ReadMode = 'log' | 'readIndex' | 'localFollower'

export interface ClientRequest {
  readonly type: 'clientRequest'
  readonly from: NodeId
  readonly to: NodeId
  readonly command: KvCommand
}

export interface ClientResponse {
  readonly type: 'clientResponse'
  readonly from: NodeId
  readonly to: NodeId
  readonly client: string
  readonly seq: number
  /** `notLeader`: try `leader` (or anyone); the command was not started here. */
  readonly outcome: { ok: true; result: KvResult } | { ok: false; leader: NodeId | null }
}

export type SimMessage = Message | ClientRequest | ClientResponse

export interface NodeEnv {
  readonly id: NodeId
  readonly clock: { now(): number }
  readonly timer: { setTimeout(fn: () => void, ms: number): () => void }
  readonly random: { int(maxExclusive: number): number }
  readonly disk: {
    get(key: string): unknown
    set(key: string, value: unknown): void
    delete(key: string): boolean
    keys(prefix: string): string[]
  }
  send(to: NodeId, msg: SimMessage): void
}

export interface KvNodeOptions {
  readonly bootConfig: ClusterConfig
  readonly tickMs: number
  readonly readMode: ReadMode
  readonly compactEvery: number
  readonly monitor: SafetyMonitor
  readonly raft?: { readonly electionTicks?: number; readonly snapshotChunkBytes?: number; readonly maxInflight?: number }
}

function entryKey(index: number): string {
  return `e/${String(index).padStart(12, '0')}`
}

export class KvNode {
  readonly core: RaftCore
  private kv: KvStore
  /** The range of entries on disk. */
  private firstStored: number
  private lastStored: number
  /** Commands this node proposed, by client, so it can answer once they apply. */
  private readonly waiting = new Map<string, { seq: number; index: number; at: number }>()
  /** Simulated ms from proposal to apply, for the commands this node proposed (the benchmark reads it). */
  readonly commitLatencies: number[] = []
  /** ReadIndex reads: ctx → the request; then, once confirmed, waiting for `index` to be applied. */
  private readonly reads = new Map<string, { req: ClientRequest; index: number }>()
  private readonly cancelTick: { cancel: () => void }
  private stopped = false
  private nextCtx = 0

  constructor(
    private readonly env: NodeEnv,
    private readonly o: KvNodeOptions,
  ) {
    const snapshot = env.disk.get('snap') as Snapshot | undefined
    const entries = env.disk.keys('e/').map((k) => env.disk.get(k) as Entry)
    this.firstStored = (snapshot?.meta.index ?? 0) + 1
    this.lastStored = this.firstStored - 1 + entries.length
    this.kv = snapshot === undefined ? new KvStore() : KvStore.restore(snapshot.data)
    if (snapshot !== undefined) this.kv.skip(snapshot.meta.index)
    this.core = new RaftCore(
      { id: env.id, random: env.random, heartbeatTicks: 1, electionTicks: 10, ...o.raft },
      {
        hardState: (env.disk.get('hard') as HardState | undefined) ?? { term: 0, vote: null, commit: 0 },
        entries,
        config: o.bootConfig,
        ...(snapshot === undefined ? {} : { snapshot }),
      },
    )
    o.monitor.onRestart(env.id, this.kv.appliedIndex)
    this.cancelTick = { cancel: () => undefined }
    this.scheduleTick()
    this.process()
  }

  receive(from: NodeId, msg: SimMessage): void {
    if (this.stopped) return
    if (msg.type === 'clientRequest') this.handleClient(msg)
    else if (msg.type !== 'clientResponse') this.core.step(msg)
    this.process()
  }

  proposeConfigChange(change: ConfigChange): ReturnType<RaftCore['proposeConfigChange']> {
    const r = this.core.proposeConfigChange(change)
    this.process()
    return r
  }

  transferLeadership(target: NodeId): ReturnType<RaftCore['transferLeadership']> {
    const r = this.core.transferLeadership(target)
    this.process()
    return r
  }

  stop(): void {
    this.stopped = true
    this.cancelTick.cancel()
  }

  get appliedIndex(): number {
    return this.kv.appliedIndex
  }

  digest(): string {
    return this.kv.digest()
  }

  private scheduleTick(): void {
    this.cancelTick.cancel = this.env.timer.setTimeout(() => {
      if (this.stopped) return
      this.core.tick()
      this.process()
      this.scheduleTick()
    }, this.o.tickMs)
  }

  private handleClient(req: ClientRequest): void {
    const { command } = req
    if (command.op.f === 'read' && this.o.readMode !== 'log') {
      this.handleRead(req)
      return
    }
    const r = this.core.propose(encodeCommand(command))
    if (!r.ok) {
      this.reply(req, { ok: false, leader: r.leader })
      return
    }
    this.waiting.set(command.client, { seq: command.seq, index: r.index, at: this.env.clock.now() })
  }

  private handleRead(req: ClientRequest): void {
    const op = req.command.op
    if (this.o.readMode === 'localFollower') {
      // Negative control: a follower's local state may be arbitrarily stale. Not linearizable.
      this.reply(req, { ok: true, result: this.kv.read(op.key) })
      return
    }
    const ctx = `${this.env.id}:${this.nextCtx++}`
    if (!this.core.readIndex(ctx)) {
      this.reply(req, { ok: false, leader: this.core.status().leader })
      return
    }
    this.reads.set(ctx, { req, index: -1 })
  }

  /** The driver loop: persist, then send, then apply (DESIGN.md, "Drivers do I/O in the order persist, send, apply"). */
  private process(): void {
    while (!this.stopped && this.core.hasReady()) {
      const rd = this.core.ready()
      this.persist(rd)
      for (const m of rd.messages) this.env.send(m.to, m)
      this.apply(rd)
      this.core.advance(rd)
      this.maybeCompact()
    }
  }

  /**
   * One disk key per entry, so a write costs what changed rather than the whole log: `hard`, `snap`, and `e/<index>`
   * (zero-padded so that keys sort by index).
   */
  private persist(rd: Ready): void {
    const disk = this.env.disk
    if (rd.hardState !== null) disk.set('hard', rd.hardState)
    if (rd.snapshot !== null) {
      disk.set('snap', rd.snapshot)
      for (let i = this.firstStored; i <= this.lastStored; i++) disk.delete(entryKey(i))
      this.firstStored = rd.snapshot.meta.index + 1
      this.lastStored = rd.snapshot.meta.index
    }
    const first = rd.entries[0]
    if (first !== undefined) {
      for (let i = first.index; i <= this.lastStored; i++) disk.delete(entryKey(i))
      for (const e of rd.entries) disk.set(entryKey(e.index), e)
      this.lastStored = first.index + rd.entries.length - 1
    }
    if (rd.hardState !== null) this.o.monitor.onCommit(this.env.id, this.core, rd.hardState.commit)
  }

  private apply(rd: Ready): void {
    if (rd.softState !== null) this.o.monitor.onSoftState(this.env.id, rd.softState, this.core)
    if (rd.snapshot !== null) this.installSnapshot(rd.snapshot)
    for (const e of rd.committed) this.applyEntry(e)
    for (const rs of rd.readStates) {
      const pending = this.reads.get(rs.ctx)
      if (pending !== undefined) pending.index = rs.index
    }
    for (const ctx of rd.rejectedReads) {
      const pending = this.reads.get(ctx)
      this.reads.delete(ctx)
      if (pending !== undefined) this.reply(pending.req, { ok: false, leader: null })
    }
    this.serveReads()
  }

  private installSnapshot(s: Snapshot): void {
    this.kv = KvStore.restore(s.data)
    this.kv.skip(s.meta.index)
    this.o.monitor.onSnapshot(this.env.id, s.meta.index)
  }

  private applyEntry(e: Entry): void {
    this.o.monitor.onApply(this.env.id, e)
    if (e.kind !== 'normal') {
      this.kv.skip(e.index)
      return
    }
    const command = decodeCommand(e.data)
    const result = this.kv.apply(e.index, command)
    const w = this.waiting.get(command.client)
    if (w !== undefined && w.seq === command.seq) {
      this.waiting.delete(command.client)
      if (w.index === e.index) this.commitLatencies.push(this.env.clock.now() - w.at)
      if (result !== undefined) {
        this.env.send(command.client, {
          type: 'clientResponse',
          from: this.env.id,
          to: command.client,
          client: command.client,
          seq: command.seq,
          outcome: { ok: true, result },
        })
      }
    }
  }

  private serveReads(): void {
    for (const [ctx, pending] of this.reads) {
      if (pending.index < 0 || this.kv.appliedIndex < pending.index) continue
      this.reads.delete(ctx)
      const op = pending.req.command.op
      this.reply(pending.req, { ok: true, result: this.kv.read(op.key) })
    }
  }

  private maybeCompact(): void {
    const applied = this.kv.appliedIndex
    if (applied - (this.firstStored - 1) < this.o.compactEvery) return
    const snapshot = this.core.compact(applied, this.kv.snapshot())
    if (snapshot === null) return
    this.env.disk.set('snap', snapshot)
    for (let i = this.firstStored; i <= snapshot.meta.index; i++) this.env.disk.delete(entryKey(i))
    this.firstStored = snapshot.meta.index + 1
  }

  private reply(req: ClientRequest, outcome: ClientResponse['outcome']): void {
    const { client, seq } = req.command
    this.env.send(req.from, { type: 'clientResponse', from: this.env.id, to: req.from, client, seq, outcome })
  }
}
