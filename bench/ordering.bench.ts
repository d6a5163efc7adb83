// The ordered log between real peers: Node peers (real libp2p, WebRTC through node-datachannel, Noise, yamux) that
// meet through an in-process relay; three may serve as super-peers, a fourth may not ('never'). Measures:
// 1. append commit latency from the non-super-peer: APPENDS sequential appends, each timed from the call to its
//    resolution (committed by the group and applied on that peer);
// 2. appends per second with batching: the non-super-peer keeps IN_FLIGHT appends in flight for THROUGHPUT_MS;
// 3. failover: FAILOVERS times, a fresh room; the non-super-peer appends in a loop, the leader's peer is stopped
//    without a goodbye (its libp2p node stopped under it), and the time to the first append committed under a new
//    leader is taken (leader gone → first new commit).
// 4. a new room's first append: FIRSTS times, three peers join a fresh room at once with the default ordering options
//    (bootstrap delay 3 s, then the new group's settling time), and one appends at once: join → append resolved.
//    It also records how many groups were founded and dissolved on the way, and any split.
// Parameters (env): APPENDS, IN_FLIGHT, THROUGHPUT_MS, FAILOVERS, FIRSTS.
import { createPeer, type Peer, type Room } from '../src/index.js'
import { summarize } from '../src/metrics/index.js'
import { startRelay, type Relay } from '../src/node/relay.js'
import { writeResult, type BenchRow } from './support/report.js'

const int = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${process.env[name]}`)
  return v
}
const APPENDS = int('APPENDS', 300)
const IN_FLIGHT = int('IN_FLIGHT', 64)
const THROUGHPUT_MS = int('THROUGHPUT_MS', 5000)
const FAILOVERS = int('FAILOVERS', 5)
const FIRSTS = int('FIRSTS', 5)
const ORDERING = { ordering: { bootstrapDelayMs: 1000, quorumIntervalMs: 200 } }

async function waitFor(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const start = performance.now()
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

interface Group {
  readonly peers: Peer[]
  readonly rooms: Room[]
  /** The room of the peer that never serves. */
  readonly client: Room
}

async function group(relay: Relay, roomId: string): Promise<Group> {
  const peers = await Promise.all(
    ['s1', 's2', 's3', 'client'].map(async (name) =>
      createPeer({ bootstrap: relay.multiaddrs, name, superPeer: name === 'client' ? 'never' : 'auto' }),
    ),
  )
  const rooms = await Promise.all(peers.map(async (p) => p.join(roomId, ORDERING)))
  await waitFor(() => rooms.every((r) => r.members().length === 3), 'everyone to meet')
  await waitFor(() => rooms.some((r) => r.stats().ordering.superPeers.filter((s) => s.role !== 'learner').length === 3), 'three super-peers')
  const client = rooms[3] as Room
  await waitFor(() => client.members().filter((m) => m.role === 'leader').length === 1, 'the client to know the leader')
  return { peers, rooms, client }
}

async function closeAll(g: Group): Promise<void> {
  await Promise.all(g.peers.map(async (p) => p.close().catch(() => undefined)))
}

async function latencies(g: Group): Promise<number[]> {
  const log = g.client.log<number>('latency')
  const out: number[] = []
  for (let i = 0; i < APPENDS; i++) {
    const t0 = performance.now()
    await log.append(i)
    out.push(performance.now() - t0)
  }
  return out
}

async function throughput(g: Group): Promise<number> {
  const log = g.client.log<number>('throughput')
  let done = 0
  let next = 0
  const end = performance.now() + THROUGHPUT_MS
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      await log.append(next++)
      done++
    }
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  return done / ((performance.now() - start) / 1000)
}

/** Leader's node stopped under it (no goodbye) → the first append committed in a later term. */
async function failover(relay: Relay, run: number): Promise<number> {
  const g = await group(relay, `failover-${run}`)
  try {
    const leaderAt = g.rooms.findIndex((r) => r.stats().ordering.role === 'leader')
    const leaderTerm = g.rooms[leaderAt]?.stats().ordering.term ?? 0
    const log = g.client.log<number>('failover')
    await log.append(-1)
    let killedAt = 0
    let recoveredAt = 0
    let stop = false
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          await log.append(i)
        } catch {
          continue
        }
        const terms = g.rooms.filter((_, j) => j !== leaderAt).map((r) => r.stats().ordering.term)
        if (killedAt > 0 && recoveredAt === 0 && Math.max(...terms) > leaderTerm) recoveredAt = performance.now()
      }
    })()
    await new Promise((r) => setTimeout(r, 300))
    killedAt = performance.now()
    await (g.peers[leaderAt] as Peer).close()
    await waitFor(() => recoveredAt > 0, 'a commit under a new leader', 60_000)
    stop = true
    await loop
    return recoveredAt - killedAt
  } finally {
    await closeAll(g)
  }
}

/** Three peers join a fresh room together (default ordering options); one appends at once. */
async function firstAppend(relay: Relay, run: number): Promise<{ ms: number; dissolved: number; split: number }> {
  const peers = await Promise.all(['a', 'b', 'c'].map(async (name) => createPeer({ bootstrap: relay.multiaddrs, name })))
  try {
    const t0 = performance.now()
    const rooms = await Promise.all(peers.map(async (p) => p.join(`first-${run}`)))
    await (rooms[0] as Room).log<string>('first').append('hello')
    const ms = performance.now() - t0
    const count = (name: string): number => rooms.reduce((n, r) => n + (r.stats().metrics.counters[name] ?? 0), 0)
    return { ms, dissolved: count('ordering.dissolved'), split: count('ordering.split') }
  } finally {
    await Promise.all(peers.map(async (p) => p.close().catch(() => undefined)))
  }
}

export async function run(): Promise<string> {
  const relay = await startRelay({ port: 0 })
  try {
    const g = await group(relay, 'bench')
    const lat = await latencies(g)
    const perSecond = await throughput(g)
    await closeAll(g)
    const failovers: number[] = []
    for (let i = 0; i < FAILOVERS; i++) failovers.push(await failover(relay, i))
    const firsts: Awaited<ReturnType<typeof firstAppend>>[] = []
    for (let i = 0; i < FIRSTS; i++) firsts.push(await firstAppend(relay, i))
    const rows: BenchRow[] = [
      { metric: 'append commit latency from a non-super-peer', unit: 'ms', summary: summarize(lat) },
      { metric: 'failover: leader gone → first commit under a new leader', unit: 'ms', summary: summarize(failovers) },
      { metric: 'new room, 3 peers at once (default options): join → first append', unit: 'ms', summary: summarize(firsts.map((f) => f.ms)) },
    ]
    const result = {
      parameters: { appends: APPENDS, inFlight: IN_FLIGHT, throughputMs: THROUGHPUT_MS, failovers: FAILOVERS, firsts: FIRSTS },
      setup: 'Node peers over real libp2p (WebRTC via node-datachannel) through an in-process relay; 3 super-peers + 1 non-super-peer; Raft tick 100 ms, election timeout 1–2 s',
      appendsPerSecond: Math.round(perSecond),
      newRooms: { groupsDissolved: firsts.reduce((n, f) => n + f.dissolved, 0), splits: firsts.filter((f) => f.split > 0).length },
    }
    const table = writeResult('ordering', result, rows)
    return `${JSON.stringify(result, null, 2)}\n\n${table}`
  } finally {
    await relay.stop()
  }
}
