// SWIM + Lifeguard failure detection (src/membership/swim) in the deterministic simulator, at N = 50, 200 and 1000
// members, 0% and 5% message loss; tick 20 ms, period 5 ticks = 100 ms, link delay 1–10 ms, default SwimOptions.
// Measures:
// 1. detection of a crash, in protocol periods after it: the first ping any live member sends it, the first live
//    member to mark it suspect, the first to mark it dead, the last live member to mark it dead; and the first
//    suspicion in SWIM's own setting (periods aligned across members, crash just before a period starts);
// 2. false positives at constant load (no crash, no churn) with a few impaired members: either they stall (for 5–20
//    periods they read no message while their timers keep firing, then read the backlog; 10–30 periods of normal
//    running between stalls) or, at N ≤ 200, their links are slow (25–70 ms each way). Healthy members suspected /
//    declared dead, per member per period, with Lifeguard on (the defaults) and off (no Local Health Multiplier and a
//    fixed suspicion timeout: memberlist's SWIM before Lifeguard), and the two halves apart at N = 200;
// 3. messages sent per member per period (and piggybacked updates, full-view entries) in a steady, fault-free cluster;
// 4. dissemination: periods until a newcomer's join is known to every member, and until a crashed member's
//    suspicion has reached every member (from the first suspicion), against log2 N and ln N.
// Clusters start from a full roster (SwimCluster's `bootstrap: 'roster'`), so that no run pays for a join storm.
// Jobs run on SWIM_WORKERS worker threads (default 2); every job is seeded, so the numbers do not depend on it.
// Parameters (env): SWIM_SIZES (default "50,200,1000"), SWIM_SEED_SCALE (multiplies every seed count, default 1),
// SWIM_WORKERS.
// One file (over 400 lines): the scenarios, the worker pool that runs them and the report share the result types.
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import type { SwimOptions } from '../src/membership/swim/index.js'
import { summarize, type HistogramSnapshot } from '../src/metrics/index.js'
import {
  SwimCluster,
  type CrashReport,
  type StallSchedule,
  type SwimClusterOptions,
} from '../test/sim/support/swim-cluster.js'
import { markdownTable, resultsDir, writeResult, type BenchRow } from './support/report.js'

const int = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer, got ${process.env[name]}`)
  return v
}
const SIZES = (process.env['SWIM_SIZES'] ?? '50,200,1000').split(',').map(Number)
const SEED_SCALE = Number(process.env['SWIM_SEED_SCALE'] ?? 1)
const WORKERS = int('SWIM_WORKERS', 2)
const LOSSES = [0, 0.05] as const
const WORKER_TAG = 'membership-bench-worker'

/** Per size: seeds and crashes per seed for detection, joins per seed, and the false-positive runs. */
interface Plan {
  readonly detectionSeeds: number
  /** For SWIM's setting (aligned periods): only a few periods each. */
  readonly alignedSeeds: number
  readonly crashesPerSeed: number
  readonly joinsPerSeed: number
  readonly fpSeeds: number
  readonly fpPeriods: number
  readonly impaired: number
}
const plans = (
  detectionSeeds: number,
  alignedSeeds: number,
  crashesPerSeed: number,
  fpSeeds: number,
  fpPeriods: number,
  impaired: number,
): Plan => ({ detectionSeeds, alignedSeeds, crashesPerSeed, joinsPerSeed: 2, fpSeeds, fpPeriods, impaired })
const PLANS: Readonly<Record<number, Plan>> = {
  50: plans(30, 60, 3, 4, 300, 2),
  200: plans(8, 20, 5, 2, 200, 3),
  // A period costs ~60 ms of CPU here (1,000 cores, ~4,000 messages): fewer seeds and shorter runs.
  1000: plans(2, 5, 10, 1, 100, 5),
}

const STALLS = (count: number): StallSchedule => ({ count, stallPeriods: [5, 20], runPeriods: [10, 30] })
const SLOW_LINKS = { minDelayMs: 25, maxDelayMs: 70 }
const LIFEGUARD_OFF: Partial<SwimOptions> = { localHealth: false, suspicionMaxMult: 1 }
/** Longest wait for every member to mark every crash dead / to know every newcomer. */
const MAX_DETECTION_PERIODS = 120
const MAX_JOIN_PERIODS = 60
const TICK_MS = 20

function plan(size: number): Plan {
  const p = PLANS[size] ?? PLANS[200]
  if (p === undefined) throw new Error(`no plan for ${size}`)
  const scale = (n: number): number => Math.max(1, Math.round(n * SEED_SCALE))
  return {
    ...p,
    detectionSeeds: scale(p.detectionSeeds),
    alignedSeeds: scale(p.alignedSeeds),
    fpSeeds: scale(p.fpSeeds),
  }
}

// --- 1, 3, 4: detection, traffic and dissemination ---

interface DetectionRun {
  readonly crashes: CrashReport[]
  readonly joins: Array<number | null>
  readonly messagesPerMemberPeriod: number
  readonly piggybackedPerMemberPeriod: number
  readonly viewEntriesPerMemberPeriod: number
}

/** Steady traffic for 30 periods, then newcomers one by one, then simultaneous crashes. */
function detectionRun(seed: number, size: number, loss: number, p: Plan): DetectionRun {
  const cluster = new SwimCluster({ seed, size, network: { loss }, bootstrap: 'roster', tickMs: TICK_MS })
  cluster.runPeriods(10)
  cluster.resetTraffic()
  const window = 30
  cluster.runPeriods(window)
  const t = { ...cluster.traffic }
  const perMemberPeriod = (n: number): number => n / size / window
  for (let i = 0; i < p.joinsPerSeed; i++) {
    const [via] = cluster.pickHealthy(1)
    cluster.addMember(via ?? 'm0')
    cluster.sim.runUntil(() => cluster.allKnowJoins(), { maxMs: MAX_JOIN_PERIODS * cluster.periodMs })
    cluster.runPeriods(2)
  }
  cluster.kill(cluster.pickHealthy(p.crashesPerSeed))
  cluster.sim.runUntil(() => cluster.allDetected(), { maxMs: MAX_DETECTION_PERIODS * cluster.periodMs })
  return {
    crashes: cluster.crashReports(),
    joins: cluster.joinReports().map((r) => r.allKnow),
    messagesPerMemberPeriod: perMemberPeriod(t.messages),
    piggybackedPerMemberPeriod: perMemberPeriod(t.piggybacked),
    viewEntriesPerMemberPeriod: perMemberPeriod(t.viewEntries),
  }
}

/**
 * SWIM's own setting (the analysis of its §3.1): protocol periods aligned across members, the crash just before a
 * period starts. Periods from the crash to the first suspicion: e/(e − 1) ≈ 1.58 expected for uniform random targets.
 */
function alignedFirstSuspect(size: number, p: Plan): number[] {
  const out: number[] = []
  for (let seed = 1; seed <= p.alignedSeeds; seed++) {
    const cluster = new SwimCluster({
      seed,
      size,
      network: { loss: 0 },
      bootstrap: 'roster',
      alignedTicks: true,
      tickMs: TICK_MS,
    })
    // Ticks fall on multiples of TICK_MS from TICK_MS on, and a period starts every 5th from the first.
    const boundary = TICK_MS + cluster.periodMs * 10
    cluster.sim.runFor(boundary - 0.5 - cluster.sim.now)
    cluster.kill(cluster.pickHealthy(p.crashesPerSeed))
    cluster.sim.runUntil(() => cluster.allSuspected(), { maxMs: MAX_DETECTION_PERIODS * cluster.periodMs })
    for (const c of cluster.crashReports()) if (c.firstSuspect !== null) out.push(c.firstSuspect)
  }
  return out
}

interface DetectionResult {
  readonly size: number
  readonly loss: number
  readonly seeds: number
  readonly crashes: number
  /** Crashes that some live member had not marked dead after MAX_DETECTION_PERIODS. */
  readonly incompleteCrashes: number
  readonly firstPing: HistogramSnapshot
  readonly firstSuspect: HistogramSnapshot
  /** From the first ping to the first suspicion. */
  readonly pingToSuspect: HistogramSnapshot
  /** Only at 0% loss: see alignedFirstSuspect. */
  readonly alignedFirstSuspect: HistogramSnapshot | null
  readonly firstDead: HistogramSnapshot
  readonly allDead: HistogramSnapshot
  readonly suspicionSpread: HistogramSnapshot
  readonly joinSpread: HistogramSnapshot
  readonly incompleteJoins: number
  readonly messagesPerMemberPeriod: HistogramSnapshot
  readonly piggybackedPerMemberPeriod: number
  readonly viewEntriesPerMemberPeriod: number
}

function detection(size: number, loss: number): DetectionResult {
  const p = plan(size)
  const runs: DetectionRun[] = []
  for (let seed = 1; seed <= p.detectionSeeds; seed++) runs.push(detectionRun(seed, size, loss, p))
  const crashes = runs.flatMap((r) => r.crashes)
  const values = (pick: (c: CrashReport) => number | null): number[] =>
    crashes.map(pick).filter((v): v is number => v !== null)
  const joins = runs.flatMap((r) => r.joins)
  const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  return {
    size,
    loss,
    seeds: p.detectionSeeds,
    crashes: crashes.length,
    incompleteCrashes: crashes.filter((c) => c.allDead === null).length,
    firstPing: summarize(values((c) => c.firstPing)),
    firstSuspect: summarize(values((c) => c.firstSuspect)),
    pingToSuspect: summarize(
      values((c) => (c.firstPing === null || c.firstSuspect === null ? null : c.firstSuspect - c.firstPing)),
    ),
    alignedFirstSuspect: loss === 0 ? summarize(alignedFirstSuspect(size, p)) : null,
    firstDead: summarize(values((c) => c.firstDead)),
    allDead: summarize(values((c) => c.allDead)),
    suspicionSpread: summarize(
      values((c) => (c.allNoticed === null || c.firstSuspect === null ? null : c.allNoticed - c.firstSuspect)),
    ),
    joinSpread: summarize(joins.filter((v): v is number => v !== null)),
    incompleteJoins: joins.filter((v) => v === null).length,
    messagesPerMemberPeriod: summarize(runs.map((r) => r.messagesPerMemberPeriod)),
    piggybackedPerMemberPeriod: mean(runs.map((r) => r.piggybackedPerMemberPeriod)),
    viewEntriesPerMemberPeriod: mean(runs.map((r) => r.viewEntriesPerMemberPeriod)),
  }
}

// --- 2: false positives ---

type Impairment = 'stall' | 'slow' | 'none'
type Variant = 'lifeguard' | 'off' | 'no-lhm' | 'no-lha-suspicion'
const VARIANT_OPTIONS: Readonly<Record<Variant, Partial<SwimOptions>>> = {
  lifeguard: {},
  off: LIFEGUARD_OFF,
  'no-lhm': { localHealth: false },
  'no-lha-suspicion': { suspicionMaxMult: 1 },
}

interface FpResult {
  size: number
  loss: number
  impairment: Impairment
  impaired: number
  variant: Variant
  seeds: number
  periods: number
  healthyMembers: number
  falseSuspicionEpisodes: number
  falseSuspicionObservers: number
  falseDeathEpisodes: number
  falseDeathObservers: number
  falseDeathEpisodesSeenByHealthy: number
  impairedSuspicions: number
  impairedDeathEpisodes: number
  /** Episodes per healthy member per period. */
  suspectRate: number
  deadRate: number
  messagesPerMemberPeriod: number
}

function falsePositives(size: number, loss: number, impairment: Impairment, variant: Variant): FpResult {
  const p = plan(size)
  const r: FpResult = {
    size,
    loss,
    impairment,
    variant,
    seeds: p.fpSeeds,
    periods: p.fpPeriods,
    impaired: impairment === 'none' ? 0 : p.impaired,
    healthyMembers: size - (impairment === 'none' ? 0 : p.impaired),
    falseSuspicionEpisodes: 0,
    falseSuspicionObservers: 0,
    falseDeathEpisodes: 0,
    falseDeathObservers: 0,
    falseDeathEpisodesSeenByHealthy: 0,
    impairedSuspicions: 0,
    impairedDeathEpisodes: 0,
    suspectRate: 0,
    deadRate: 0,
    messagesPerMemberPeriod: 0,
  }
  for (let seed = 1; seed <= p.fpSeeds; seed++) {
    const options: SwimClusterOptions = {
      seed: 1000 + seed,
      size,
      network: { loss },
      bootstrap: 'roster',
      tickMs: TICK_MS,
      swim: VARIANT_OPTIONS[variant],
      ...(impairment === 'stall' ? { stalls: STALLS(p.impaired) } : {}),
      ...(impairment === 'slow' ? { slow: p.impaired, slowLinks: SLOW_LINKS } : {}),
    }
    const cluster = new SwimCluster(options)
    cluster.runPeriods(10)
    cluster.resetObservations()
    cluster.resetTraffic()
    cluster.runPeriods(p.fpPeriods)
    const o = cluster.observations
    r.falseSuspicionEpisodes += o.falseSuspicionEpisodes
    r.falseSuspicionObservers += o.falseSuspicions
    r.falseDeathEpisodes += o.falseDeathEpisodes
    r.falseDeathObservers += o.falseDeaths
    r.falseDeathEpisodesSeenByHealthy += o.falseDeathEpisodesSeenByHealthy
    r.impairedSuspicions += o.impairedSuspicions
    r.impairedDeathEpisodes += o.impairedDeathEpisodes
    r.messagesPerMemberPeriod += cluster.traffic.messages / size / p.fpPeriods / p.fpSeeds
  }
  const memberPeriods = r.healthyMembers * p.fpPeriods * p.fpSeeds
  r.suspectRate = r.falseSuspicionEpisodes / memberPeriods
  r.deadRate = r.falseDeathEpisodes / memberPeriods
  return r
}

// --- jobs, run on worker threads ---

type Job =
  | { readonly kind: 'detection'; readonly size: number; readonly loss: number }
  | {
      readonly kind: 'fp'
      readonly size: number
      readonly loss: number
      readonly impairment: Impairment
      readonly variant: Variant
    }

type JobResult =
  | { readonly kind: 'detection'; readonly result: DetectionResult; readonly ms: number }
  | { readonly kind: 'fp'; readonly result: FpResult; readonly ms: number }

/**
 * Stalls everywhere; at N ≤ 200 also slow links, and no impaired member at all (the baseline at 5% loss); Lifeguard's
 * halves apart at N = 200. Largest first, so that the last job to finish is a short one.
 */
function jobs(): Job[] {
  const out: Job[] = []
  for (const size of [...SIZES].sort((a, b) => b - a)) {
    for (const loss of LOSSES) out.push({ kind: 'detection', size, loss })
    for (const loss of LOSSES) {
      for (const variant of ['lifeguard', 'off'] as const) {
        out.push({ kind: 'fp', size, loss, impairment: 'stall', variant })
      }
    }
    if (size <= 200) {
      for (const impairment of ['slow', 'none'] as const) {
        for (const variant of ['lifeguard', 'off'] as const) {
          out.push({ kind: 'fp', size, loss: 0.05, impairment, variant })
        }
      }
    }
    if (size === 200) {
      for (const variant of ['no-lhm', 'no-lha-suspicion'] as const) {
        out.push({ kind: 'fp', size, loss: 0.05, impairment: 'stall', variant })
      }
    }
  }
  return out
}

function runJob(job: Job): JobResult {
  const t0 = performance.now()
  if (job.kind === 'detection') {
    const result = detection(job.size, job.loss)
    return { kind: 'detection', result, ms: Math.round(performance.now() - t0) }
  }
  const result = falsePositives(job.size, job.loss, job.impairment, job.variant)
  return { kind: 'fp', result, ms: Math.round(performance.now() - t0) }
}

/** Hands the jobs out to `WORKERS` threads, one at a time each; in this thread if WORKERS ≤ 1. */
async function runJobs(list: readonly Job[]): Promise<JobResult[]> {
  const count = Math.min(WORKERS, list.length)
  if (count <= 1) return list.map(runJob)
  const results: JobResult[] = []
  let next = 0
  const drain = (): Promise<void> =>
    new Promise((done, fail) => {
      const worker = new Worker(new URL(import.meta.url), { workerData: WORKER_TAG })
      worker.once('error', fail)
      const feed = (): void => {
        const i = next++
        const job = list[i]
        if (job === undefined) {
          worker.terminate().then(() => done(), fail)
          return
        }
        worker.once('message', (result: JobResult) => {
          results[i] = result
          feed()
        })
        worker.postMessage(job)
      }
      feed()
    })
  await Promise.all(Array.from({ length: count }, drain))
  return results
}

if (!isMainThread && workerData === WORKER_TAG) {
  parentPort?.on('message', (job: Job) => parentPort?.postMessage(runJob(job)))
}

// --- report ---

const pct = (loss: number): string => `${Math.round(loss * 100)}%`
const fixed = (v: number, digits = 2): string => v.toFixed(digits)

function distributionTable(rows: readonly BenchRow[]): string {
  const body = rows.map((r) => {
    const s = r.summary
    return [r.metric, String(s.count), ...[s.mean, s.p50, s.p95, s.p99, s.max].map((v) => fixed(v)), r.unit]
  })
  return markdownTable(['metric', 'n', 'mean', 'p50', 'p95', 'p99', 'max', 'unit'], body)
}

function detectionRows(results: readonly DetectionResult[]): BenchRow[] {
  return results.flatMap((r) => {
    const at = `N=${r.size}, ${pct(r.loss)} loss`
    const aligned = r.alignedFirstSuspect
    return [
      { metric: `${at}: first ping of the crashed member`, unit: 'periods', summary: r.firstPing },
      { metric: `${at}: first suspect`, unit: 'periods', summary: r.firstSuspect },
      { metric: `${at}: first ping → first suspect`, unit: 'periods', summary: r.pingToSuspect },
      ...(aligned === null
        ? []
        : [{ metric: `${at}: first suspect, SWIM's setting`, unit: 'periods', summary: aligned }]),
      { metric: `${at}: first dead`, unit: 'periods', summary: r.firstDead },
      { metric: `${at}: all live members dead`, unit: 'periods', summary: r.allDead },
      { metric: `${at}: suspicion reaches all (from first)`, unit: 'periods', summary: r.suspicionSpread },
      { metric: `${at}: join known to all`, unit: 'periods', summary: r.joinSpread },
      { metric: `${at}: messages sent`, unit: 'per member per period', summary: r.messagesPerMemberPeriod },
    ]
  })
}

function incompleteLine(results: readonly DetectionResult[]): string {
  const crashes = results.reduce((a, r) => a + r.incompleteCrashes, 0)
  const joins = results.reduce((a, r) => a + r.incompleteJoins, 0)
  return (
    `Crashes not marked dead by every live member within ${MAX_DETECTION_PERIODS} periods: ${crashes}; ` +
    `joins not known to every member within ${MAX_JOIN_PERIODS} periods: ${joins}.`
  )
}

function trafficTable(results: readonly DetectionResult[]): string {
  const body = results.map((r) => [
    String(r.size),
    pct(r.loss),
    fixed(r.messagesPerMemberPeriod.p50),
    fixed(r.piggybackedPerMemberPeriod),
    fixed(r.viewEntriesPerMemberPeriod),
  ])
  return markdownTable(['N', 'loss', 'messages (p50 of seeds)', 'piggybacked updates', 'full-view entries'], body)
}

function disseminationTable(results: readonly DetectionResult[]): string {
  const body = results.map((r) => [
    String(r.size),
    pct(r.loss),
    `${fixed(r.joinSpread.p50, 1)} / ${fixed(r.joinSpread.p95, 1)} / ${fixed(r.joinSpread.max, 1)}`,
    `${fixed(r.suspicionSpread.p50, 1)} / ${fixed(r.suspicionSpread.p95, 1)} / ${fixed(r.suspicionSpread.max, 1)}`,
    fixed(Math.log2(r.size), 1),
    fixed(Math.log(r.size), 1),
  ])
  return markdownTable(
    ['N', 'loss', 'join → all (p50 / p95 / max)', 'suspicion → all (p50 / p95 / max)', 'log2 N', 'ln N'],
    body,
  )
}

function fpTable(results: readonly FpResult[]): string {
  const head = [
    'N',
    'loss',
    'impaired',
    'variant',
    'member-periods',
    'suspected: episodes / observers',
    'per member-period',
    'dead: episodes / observers / seen by a healthy member',
    'per member-period',
    'impaired: suspected / dead episodes',
    'msgs/member/period',
  ]
  const body = results.map((r) => [
    String(r.size),
    pct(r.loss),
    r.impairment === 'none' ? 'none' : `${r.impaired} ${r.impairment}`,
    r.variant,
    String(r.healthyMembers * r.periods * r.seeds),
    `${r.falseSuspicionEpisodes} / ${r.falseSuspicionObservers}`,
    r.suspectRate.toExponential(2),
    `${r.falseDeathEpisodes} / ${r.falseDeathObservers} / ${r.falseDeathEpisodesSeenByHealthy}`,
    r.deadRate.toExponential(2),
    `${r.impairedSuspicions} / ${r.impairedDeathEpisodes}`,
    fixed(r.messagesPerMemberPeriod),
  ])
  return markdownTable(head, body)
}

/** "off / on", or a lower bound when Lifeguard had none. */
function ratio(off: number, on: number): string {
  if (on === 0) return off === 0 ? 'n/a (0 and 0)' : `≥ ${off} (${off} vs 0)`
  return `${fixed(off / on, 1)}× (${off} vs ${on})`
}

function lifeguardTable(results: readonly FpResult[]): string {
  const body: string[][] = []
  for (const on of results.filter((r) => r.variant === 'lifeguard')) {
    const off = results.find(
      (r) => r.variant === 'off' && r.size === on.size && r.loss === on.loss && r.impairment === on.impairment,
    )
    if (off === undefined) continue
    body.push([
      String(on.size),
      pct(on.loss),
      on.impairment,
      ratio(off.falseSuspicionEpisodes, on.falseSuspicionEpisodes),
      ratio(off.falseDeathEpisodes, on.falseDeathEpisodes),
      ratio(off.falseDeathEpisodesSeenByHealthy, on.falseDeathEpisodesSeenByHealthy),
    ])
  }
  const head = ['N', 'loss', 'impaired', 'suspected: off / on', 'dead: off / on', 'dead, seen by healthy']
  return markdownTable(head, body)
}

const NOTES = `## Notes

- **First detection vs SWIM's e/(e−1) ≈ 1.58.** SWIM's figure counts periods from the start of the period in which
  the crash happens, with every member's periods aligned: the dead member is pinged in a given period with probability
  1 − (1 − 1/N)^(N−1) ≈ 1 − 1/e, and declared at the end of that period. The "SWIM's setting" rows reproduce that
  (aligned ticks, crash just before a period starts; round-robin order instead of random targets, which is the same in
  the first round and slightly faster after). In the main rows members have random phases and the crash comes at a
  random moment: the first ping then comes after ~1 period (about one probe of the dead member per period arrives
  from somewhere, at a random time) and the suspicion one period after that ping (the prober waits the whole period for
  direct and indirect acks, as SWIM §3.1 and memberlist do), so ≈ 2 periods is the expected value, not a deviation.
  "First ping → first suspect" is one period (less when a probe was already under way at the crash). For random
  targets the aligned expectation is 1/(1 − (1 − 1/(N−1))^(N−1)) = 1.575, 1.579, 1.581 at N = 50, 200, 1000.
- **Dead.** The first \`dead\` follows the first suspicion by Lifeguard's suspicion timeout: α·log10 N periods
  (α = 4: 6.8, 9.2, 12 periods at N = 50, 200, 1000) once K = 3 other members have confirmed, up to 4× that with no
  confirmation. Every member has it a few periods later (the \`dead\` is gossiped).
- **Lifeguard off** = \`{ localHealth: false, suspicionMaxMult: 1 }\`: no Local Health Multiplier and a fixed
  suspicion timeout of α·log10 N periods, memberlist's SWIM before Lifeguard. The buddy system (a probe of a suspect
  carries the suspicion) and nacks have no switch and stay on in both variants.
- **Stalls** model Lifeguard's slow-message-processing case: the stalled member's timers fire, so it keeps probing,
  sees no ack (it reads nothing), and suspects healthy members; it cannot hear their refutations until the stall ends.
  Without Lifeguard its suspicion expires after α·log10 N periods and it declares them dead, mostly only in its own
  view ("seen by a healthy member" counts the episodes that some healthy member adopted). Suspicions and deaths of
  the impaired members themselves are counted apart: to the others such a member is, for the time being, failed.
- **Episodes** are distinct (member, incarnation) pairs; "observers" counts every member that adopted one. Rates are
  episodes per healthy member per period.
- **Joins** spread by gossip in O(log N) periods, but each member sends an update only λ·⌈log10(N + 1)⌉ = 6–12 times
  (memberlist's rule; SWIM's analysis uses λ·ln N), so now and then a member misses it and learns it from the next
  push-pull (every 20, 40, 60 periods at N = 50, 200, 1000): that is the tail of "join known to all".
- **Sizes.** N = 1000 runs 2 seeds × 10 crashes for detection (5 × 10 in SWIM's setting), 2 joins per seed, and
  1 seed × 100 periods per false-positive cell, and has no slow-link or baseline cells; N = 200 runs 8 × 5 (20 × 5),
  and 2 seeds × 200 periods; N = 50 runs 30 × 3 (60 × 3), and 4 seeds × 300 periods. \`SWIM_SEED_SCALE\` scales
  every seed count.
`

export async function run(): Promise<string> {
  const started = performance.now()
  const list = jobs()
  const results = await runJobs(list)
  const detections = results.flatMap((r) => (r.kind === 'detection' ? [r.result] : []))
  detections.sort((a, b) => a.size - b.size || a.loss - b.loss)
  const fps = results.flatMap((r) => (r.kind === 'fp' ? [r.result] : []))
  fps.sort((a, b) => a.size - b.size || a.impairment.localeCompare(b.impairment) || a.loss - b.loss)
  const rows = detectionRows(detections)
  const result = {
    parameters: {
      sizes: SIZES,
      losses: LOSSES,
      seedScale: SEED_SCALE,
      workers: WORKERS,
      plans: Object.fromEntries(SIZES.map((n) => [n, plan(n)])),
      tickMs: TICK_MS,
      periodTicks: 5,
      linkDelayMs: [1, 10],
      stalls: STALLS(0),
      slowLinks: SLOW_LINKS,
      lifeguardOff: LIFEGUARD_OFF,
    },
    wallMs: Math.round(performance.now() - started),
    jobMs: results.map((r, i) => ({ job: list[i], ms: r.ms })),
    detection: detections,
    falsePositives: fps,
  }
  writeResult('membership', result, rows)
  const md = [
    '# membership',
    '',
    'SWIM + Lifeguard (`src/membership/swim`) in the deterministic simulator: period 100 ms (5 ticks of 20 ms), links',
    '1–10 ms. See the header of `bench/membership.bench.ts` for the setup and `membership.json` for every number.',
    '',
    '## Detection, dissemination and load (protocol periods after the event)',
    '',
    distributionTable(rows),
    '',
    incompleteLine(detections),
    '',
    '## Messages per member per period (steady, no faults)',
    '',
    trafficTable(detections),
    '',
    '## Dissemination against log N (periods)',
    '',
    disseminationTable(detections),
    '',
    '## False positives at constant load (healthy members)',
    '',
    fpTable(fps),
    '',
    '### Lifeguard off / on',
    '',
    lifeguardTable(fps),
    '',
    NOTES,
  ].join('\n')
  writeFileSync(resolve(resultsDir, 'membership.md'), md)
  return md
}
