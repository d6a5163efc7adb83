/**
 * The Raft core running a replicated KV store in the deterministic simulator, under random partitions (symmetric and
 * asymmetric), crashes and restarts, message loss, delay, duplication and reordering, leader isolation and leadership
 * transfers. Each seed checks Raft's safety properties at every step, liveness and convergence after the faults stop,
 * and the clients' history with the linearizability checker. `SEEDS=N` runs more seeds; `SEED=S` replays one.
 */
import { describe, expect, it } from 'vitest'
import { runSeeds, simSeeds } from '../../src/sim/index.js'
import { checkLinearizability, kvRegisterModel, toOperations, formatHistory } from '../../src/sim/linearizability/index.js'
import { RaftKvCluster, type ClusterOptions } from './support/raft-cluster.js'

/** The seed picks the cluster's shape and its network too, so that the seeds cover more than one setting. */
function scenario(seed: number): ClusterOptions {
  const lossy = seed % 4 === 1
  return {
    seed,
    servers: seed % 3 === 0 ? 5 : 3,
    // Every other seed has two spare servers and reconfigures the group while faults go on.
    spares: seed % 2 === 1 ? 2 : 0,
    clients: 4,
    opsPerClient: 40,
    thinkMs: 20,
    readMode: seed % 2 === 0 ? 'readIndex' : 'log',
    faultMs: 8000,
    compactEvery: seed % 5 === 0 ? 16 : 64,
    network: lossy
      ? { minDelayMs: 1, maxDelayMs: 40, delayDistribution: 'long-tail', loss: 0.1, duplicate: 0.05, reorder: 0.2 }
      : { minDelayMs: 1, maxDelayMs: 15, loss: 0.02, duplicate: 0.02, reorder: 0.05 },
  }
}

function checkHistory(cluster: RaftKvCluster): ReturnType<typeof checkLinearizability> {
  return checkLinearizability(kvRegisterModel, toOperations(cluster.history), { timeoutMs: 20_000 })
}

describe('Raft KV store in the simulator', () => {
  it('keeps every safety property and linearizability under random faults', () => {
    const seeds = simSeeds({ defaultCount: 500 })
    let commits = 0
    runSeeds(seeds, (seed, run) => {
      const cluster = new RaftKvCluster(scenario(seed))
      run.attach('nemesis', () => cluster.nemesis.formatLog())
      run.attach('history', () => formatHistory(cluster.history))
      cluster.run()
      const verdict = checkHistory(cluster)
      if (verdict.result !== 'ok') throw new Error(`history is ${verdict.result}: ${JSON.stringify(verdict.counterexample)}`)
      commits += cluster.monitor.highestCommitted
    })
    expect(commits).toBeGreaterThan(seeds.length * 10)
  }, 600_000)

  it('catches the negative control: reads served from a follower’s local state are not linearizable', () => {
    let caught = 0
    const seeds = Array.from({ length: 40 }, (_, i) => 10_000 + i)
    for (const seed of seeds) {
      const cluster = new RaftKvCluster({ ...scenario(seed), readMode: 'localFollower', opsPerClient: 20 })
      cluster.run()
      if (checkHistory(cluster).result === 'illegal') caught++
    }
    expect(caught).toBeGreaterThan(0)
  }, 120_000)
})
