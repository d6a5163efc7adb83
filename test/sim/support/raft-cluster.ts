/**
 * A Raft-replicated KV store under a seeded nemesis: servers `n1…nN` (KvNode), clients `c1…cM` (KvClient), one
 * simulation. `run()` lets the nemesis loose for `faultMs`, then heals everything and waits until every client has
 * finished (liveness) and every server has applied the same state (convergence). Safety is checked inline, at every
 * step, by the SafetyMonitor; the recorded history is returned for the linearizability checker.
 */
import { Nemesis, Simulation, type LinkFaults, type NemesisAction } from '../../../src/sim/index.js'
import type { HistoryEvent } from '../../../src/sim/linearizability/index.js'
import type { ConfigChange } from '../../../src/consensus/raft/types.js'
import { KvClient } from './kv-client.js'
import { KvNode, type ReadMode, type SimMessage } from './raft-kv-node.js'
import { SafetyMonitor } from './safety.js'

export interface ClusterOptions {
  readonly seed: number
  readonly servers: number
  /**
   * Servers outside the initial configuration, which membership changes add (as learners, then voters) and remove
   * again. With spares the nemesis also reconfigures the group. Default 0.
   */
  readonly spares?: number
  readonly clients: number
  readonly opsPerClient: number
  readonly keys?: number
  readonly readMode: ReadMode
  /** How long the nemesis runs; 0 for a fault-free run. */
  readonly faultMs: number
  readonly network?: Partial<LinkFaults>
  readonly tickMs?: number
  readonly compactEvery?: number
  readonly snapshotChunkBytes?: number
  /** Client pause between operations. */
  readonly thinkMs?: number
  /** Give up waiting for clients after this much simulated time once faults stop. */
  readonly settleMs?: number
}

type Actor = KvNode | KvClient

export class RaftKvCluster {
  readonly sim: Simulation<SimMessage, Actor>
  readonly monitor = new SafetyMonitor()
  readonly history: HistoryEvent[] = []
  readonly nemesis: Nemesis<SimMessage, Actor>
  readonly servers: string[]
  readonly clients: string[]
  private readonly o: Required<Omit<ClusterOptions, 'network'>> & Pick<ClusterOptions, 'network'>

  constructor(options: ClusterOptions) {
    this.o = {
      keys: 3,
      spares: 0,
      tickMs: 20,
      compactEvery: 64,
      snapshotChunkBytes: 256,
      thinkMs: 5,
      settleMs: 120_000,
      ...options,
    }
    this.servers = Array.from({ length: this.o.servers + this.o.spares }, (_, i) => `n${i + 1}`)
    this.clients = Array.from({ length: this.o.clients }, (_, i) => `c${i + 1}`)
    const initial = { voters: this.servers.slice(0, this.o.servers), learners: [] }
    // A spare starts knowing no configuration, as a new server does: it learns one from the leader's log.
    const empty = { voters: [], learners: [] }
    this.sim = new Simulation<SimMessage, Actor>({
      seed: this.o.seed,
      ...(this.o.network === undefined ? {} : { network: this.o.network }),
      createNode: (ctx) => {
        if (ctx.id.startsWith('n')) {
          return new KvNode(ctx, {
            bootConfig: initial.voters.includes(ctx.id) ? initial : empty,
            tickMs: this.o.tickMs,
            readMode: this.o.readMode,
            compactEvery: this.o.compactEvery,
            monitor: this.monitor,
            raft: { snapshotChunkBytes: this.o.snapshotChunkBytes },
          })
        }
        return new KvClient(ctx, {
          process: this.clients.indexOf(ctx.id),
          servers: this.servers,
          ops: this.o.opsPerClient,
          keys: this.o.keys,
          timeoutMs: 25 * this.o.tickMs,
          thinkMs: this.o.thinkMs,
          history: this.history,
          readsAnywhere: this.o.readMode === 'localFollower',
        })
      },
    })
    for (const id of [...this.servers, ...this.clients]) this.sim.addNode(id)
    this.nemesis = new Nemesis(this.sim, {
      intervalMs: { minMs: 50, maxMs: 500 },
      maxDown: Math.floor((this.o.servers - 1) / 2) + 1,
      crashable: (id) => id.startsWith('n'),
      actions: [
        this.isolateLeader(),
        this.partitionLeaderWithClient(),
        this.transferLeadership(),
        ...(this.o.spares > 0 ? [this.reconfigure()] : []),
      ],
    })
  }

  /** The leader of the highest term among servers that are up, if any. */
  leader(): KvNode | null {
    let best: KvNode | null = null
    for (const id of this.servers) {
      const node = this.sim.node(id)
      if (!(node instanceof KvNode)) continue
      const st = node.core.status()
      if (st.role === 'leader' && (best === null || st.term > best.core.status().term)) best = node
    }
    return best
  }

  /** Runs the whole scenario; throws on any safety or liveness failure. */
  run(): void {
    if (this.o.faultMs > 0) {
      this.nemesis.start()
      this.sim.runFor(this.o.faultMs)
      this.nemesis.stop()
    }
    const finished = this.sim.runUntil(() => this.clientsFinished(), { maxMs: this.o.settleMs })
    if (!finished) {
      throw new Error(`liveness: clients did not finish ${this.o.settleMs} ms after faults stopped (${this.progress()})`)
    }
    for (const id of this.clients) this.client(id).stop()
    const converged = this.sim.runUntil(() => this.converged(), { maxMs: 20 * 25 * this.o.tickMs })
    if (!converged) throw new Error(`convergence: servers did not reach the same state (${this.progress()})`)
  }

  completedOps(): number {
    return this.clients.reduce((sum, id) => sum + this.client(id).completed, 0)
  }

  private clientsFinished(): boolean {
    return this.clients.every((id) => this.client(id).finished)
  }

  /** The members in the configuration of the leader (every server when there is none). */
  members(): string[] {
    const leader = this.leader()
    if (leader === null) return this.servers
    const { voters, learners } = leader.core.status().config
    return [...voters, ...learners]
  }

  private converged(): boolean {
    const nodes = this.members().map((id) => this.sim.node(id) as KvNode)
    const first = nodes[0] as KvNode
    const applied = first.appliedIndex
    // Cheap comparisons first: this runs after every event.
    if (!nodes.every((n) => n.appliedIndex === applied)) return false
    if (!nodes.every((n) => n.core.status().commit === applied)) return false
    const digest = first.digest()
    return nodes.every((n) => n.digest() === digest)
  }

  private client(id: string): KvClient {
    return this.sim.node(id) as KvClient
  }

  private progress(): string {
    const servers = this.servers
      .map((id) => {
        const n = this.sim.node(id)
        if (!(n instanceof KvNode)) return `${id}:down`
        const st = n.core.status()
        return `${id}:${st.role}@${st.term} commit ${st.commit} applied ${n.appliedIndex}`
      })
      .join(', ')
    return `t=${this.sim.now} ms; ${servers}; ops done ${this.completedOps()}`
  }

  private isolateLeader(): NemesisAction<SimMessage, Actor> {
    return {
      name: 'isolateLeader',
      weight: 1,
      run: (sim) => {
        const leader = this.leader()
        if (leader === null) return null
        sim.network.isolate(leader.core.id)
        return leader.core.id
      },
    }
  }

  /**
   * One membership change at a time, through the leader: promote a learner, else remove a voter (the leader
   * included) while more than three remain, else add a spare as a learner. Removed servers keep running on their
   * old disk, and may be added back later.
   */
  private reconfigure(): NemesisAction<SimMessage, Actor> {
    return {
      name: 'reconfigure',
      weight: 2,
      run: (_sim, random) => {
        const leader = this.leader()
        if (leader === null) return null
        const { voters, learners } = leader.core.status().config
        const outside = this.servers.filter((id) => !voters.includes(id) && !learners.includes(id))
        let change: ConfigChange
        if (learners.length > 0) change = { type: 'promote', node: learners[0] as string }
        else if (voters.length > 3) change = { type: 'remove', node: voters[random.int(voters.length)] as string }
        else if (outside.length > 0) change = { type: 'addLearner', node: outside[random.int(outside.length)] as string }
        else return null
        const r = leader.proposeConfigChange(change)
        return `${leader.core.id}: ${change.type} ${change.node}: ${r.ok ? `at ${r.index}` : r.reason}`
      },
    }
  }

  /**
   * The leader and one client on the minority side: the client keeps talking to a leader that is about to be
   * deposed, the other clients write through the new one. This is where stale reads would show.
   */
  private partitionLeaderWithClient(): NemesisAction<SimMessage, Actor> {
    return {
      name: 'partitionLeaderWithClient',
      weight: 2,
      run: (sim, random) => {
        const leader = this.leader()
        if (leader === null) return null
        const client = this.clients[random.int(this.clients.length)] as string
        const minority = [leader.core.id, client]
        sim.network.partition([minority, sim.ids().filter((id) => !minority.includes(id))])
        return minority.join(',')
      },
    }
  }

  private transferLeadership(): NemesisAction<SimMessage, Actor> {
    return {
      name: 'transferLeadership',
      weight: 1,
      run: (_sim, random) => {
        const leader = this.leader()
        if (leader === null) return null
        const others = this.servers.filter((id) => id !== leader.core.id)
        const target = others[random.int(others.length)] as string
        const r = leader.transferLeadership(target)
        return `${leader.core.id} -> ${target}: ${r.ok ? 'started' : r.reason}`
      },
    }
  }
}
