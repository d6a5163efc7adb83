// Raft in the deterministic simulator (no browsers; simulated time). Measures:
// 1. simulator speed: events per wall-clock second over the fault-injection scenario of test/sim (SEEDS seeds);
// 2. throughput: commits per simulated second with 3 and 5 nodes, CLIENTS (and CLIENTS_HIGH) closed-loop clients,
//    no faults, link delay uniform in 1–10 ms, for SIM_SECONDS simulated seconds;
// 3. message rounds per commit: with a constant 5 ms link delay, the leader's propose → apply time divided by one
//    round trip (10 ms); and Raft messages sent per committed entry.
// Parameters (env): SEEDS, CLIENTS, CLIENTS_HIGH, SIM_SECONDS.
import { summarize } from '../src/metrics/index.js'
import { RaftKvCluster } from '../test/sim/support/raft-cluster.js'
import { KvNode } from '../test/sim/support/raft-kv-node.js'
import { writeResult, type BenchRow } from './support/report.js'

const int = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${process.env[name]}`)
  return v
}
const SEEDS = int('SEEDS', 200)
const CLIENTS = int('CLIENTS', 32)
/** The high-load run: enough clients that the leader batches many proposals per append. */
const CLIENTS_HIGH = int('CLIENTS_HIGH', 256)
const SIM_SECONDS = int('SIM_SECONDS', 10)

function simulatorSpeed(): { eventsPerSecond: number; perSeedMs: number[] } {
  let events = 0
  const perSeedMs: number[] = []
  const start = performance.now()
  for (let seed = 1; seed <= SEEDS; seed++) {
    const t0 = performance.now()
    const c = new RaftKvCluster({
      seed,
      servers: seed % 3 === 0 ? 5 : 3,
      clients: 3,
      opsPerClient: 25,
      thinkMs: 20,
      readMode: seed % 2 === 0 ? 'readIndex' : 'log',
      faultMs: 5000,
      network: { minDelayMs: 1, maxDelayMs: 15, loss: 0.02, duplicate: 0.02, reorder: 0.05 },
    })
    c.run()
    events += c.sim.events
    perSeedMs.push(performance.now() - t0)
  }
  return { eventsPerSecond: events / ((performance.now() - start) / 1000), perSeedMs }
}

interface Throughput {
  commitsPerSimSecond: number
  latencies: number[]
  messagesPerCommit: number
}

function throughput(servers: number, delay: { minDelayMs: number; maxDelayMs: number }, clients: number): Throughput {
  const c = new RaftKvCluster({
    seed: 42,
    servers,
    clients,
    opsPerClient: 1_000_000,
    thinkMs: 1,
    readMode: 'log',
    faultMs: 0,
    network: delay,
  })
  // Let a leader emerge, then measure a window of steady state.
  c.sim.runUntil(() => c.leader() !== null, { maxMs: 10_000 })
  const startCommitted = c.monitor.highestCommitted
  const startSent = c.sim.network.stats().sent
  const startMs = c.sim.now
  c.sim.runFor(SIM_SECONDS * 1000)
  const commits = c.monitor.highestCommitted - startCommitted
  const latencies = c.servers.flatMap((id) => {
    const n = c.sim.node(id)
    return n instanceof KvNode ? n.commitLatencies : []
  })
  // Client requests and responses are two messages per operation; the rest is Raft.
  const sent = c.sim.network.stats().sent - startSent
  const ops = commits
  return {
    commitsPerSimSecond: commits / ((c.sim.now - startMs) / 1000),
    latencies,
    messagesPerCommit: (sent - 2 * ops) / commits,
  }
}

export async function run(): Promise<string> {
  await Promise.resolve()
  const speed = simulatorSpeed()
  const t3 = throughput(3, { minDelayMs: 1, maxDelayMs: 10 }, CLIENTS)
  const t5 = throughput(5, { minDelayMs: 1, maxDelayMs: 10 }, CLIENTS)
  const h3 = throughput(3, { minDelayMs: 1, maxDelayMs: 10 }, CLIENTS_HIGH)
  const h5 = throughput(5, { minDelayMs: 1, maxDelayMs: 10 }, CLIENTS_HIGH)
  const rtt = 10
  const r3 = throughput(3, { minDelayMs: 5, maxDelayMs: 5 }, 1)
  const r5 = throughput(5, { minDelayMs: 5, maxDelayMs: 5 }, 1)
  const rows: BenchRow[] = [
    { metric: 'wall time per fault-injection seed', unit: 'ms', summary: summarize(speed.perSeedMs) },
    { metric: 'propose → apply at leader, 3 nodes (delay 1–10 ms)', unit: 'sim ms', summary: summarize(t3.latencies) },
    { metric: 'propose → apply at leader, 5 nodes (delay 1–10 ms)', unit: 'sim ms', summary: summarize(t5.latencies) },
    { metric: `propose → apply at leader, 3 nodes, ${CLIENTS_HIGH} clients`, unit: 'sim ms', summary: summarize(h3.latencies) },
    { metric: 'rounds per commit, 3 nodes (5 ms links, 1 client)', unit: 'round trips', summary: summarize(r3.latencies.map((l) => l / rtt)) },
    { metric: 'rounds per commit, 5 nodes (5 ms links, 1 client)', unit: 'round trips', summary: summarize(r5.latencies.map((l) => l / rtt)) },
  ]
  const result = {
    parameters: { seeds: SEEDS, clients: CLIENTS, clientsHigh: CLIENTS_HIGH, simSeconds: SIM_SECONDS },
    simulatedEventsPerSecond: Math.round(speed.eventsPerSecond),
    commitsPerSimulatedSecond: { nodes3: Math.round(t3.commitsPerSimSecond), nodes5: Math.round(t5.commitsPerSimSecond) },
    commitsPerSimulatedSecondHighLoad: {
      nodes3: Math.round(h3.commitsPerSimSecond),
      nodes5: Math.round(h5.commitsPerSimSecond),
    },
    raftMessagesPerCommit: {
      nodes3: Number(t3.messagesPerCommit.toFixed(2)),
      nodes5: Number(t5.messagesPerCommit.toFixed(2)),
      nodes3HighLoad: Number(h3.messagesPerCommit.toFixed(2)),
      nodes5HighLoad: Number(h5.messagesPerCommit.toFixed(2)),
      nodes3SingleClient: Number(r3.messagesPerCommit.toFixed(2)),
      nodes5SingleClient: Number(r5.messagesPerCommit.toFixed(2)),
    },
  }
  const table = writeResult('raft-sim', result, rows)
  return `${JSON.stringify(result, null, 2)}\n\n${table}`
}
