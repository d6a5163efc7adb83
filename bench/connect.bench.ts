// Connection and presence benchmark, in real Chromium against a real relay process, on a production build of the
// test page. Measures, over RUNS runs (default 10):
// - time from page open (navigation start) to the page's first direct WebRTC connection to a room member;
// - time from the first page opening to every page having a direct connection to every other (full mesh);
// and presence propagation latency (set in one page → seen in another) with 3 and with 6 peers.
import type { Browser, Page } from '@playwright/test'
import { launchBrowser } from '../e2e/support/browsers.js'
import { startRelayProcess, type RelayProcess } from '../e2e/support/relay-process.js'
import { summarize } from '../src/metrics/index.js'
import { servePeerPage } from './support/pages.js'
import { writeResult, type BenchRow } from './support/report.js'

const RUNS = Number(process.env.RUNS ?? 10)
const PRESENCE_UPDATES = Number(process.env.PRESENCE_UPDATES ?? 60)

interface PageTimes {
  origin: number
  firstDirect: number
  fullMesh: number
}

async function open(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(url, { waitUntil: 'commit' })
  return page
}

async function times(page: Page): Promise<PageTimes> {
  await page.waitForFunction(() => window.synodTest?.recorded.marks.fullMesh !== undefined && window.synodTest !== undefined, undefined, {
    timeout: 60_000,
    polling: 50,
  })
  return page.evaluate(() => ({
    origin: performance.timeOrigin,
    firstDirect: window.synodTest.recorded.marks.firstDirect ?? Number.NaN,
    fullMesh: window.synodTest.recorded.marks.fullMesh ?? Number.NaN,
  }))
}

async function connectRun(browsers: Browser[], base: string, relay: RelayProcess, run: number) {
  const n = browsers.length
  const q = (i: number): string =>
    new URLSearchParams({ room: `bench-${run}`, name: `p${i}`, bootstrap: relay.bootstrapUrl, expect: String(n - 1) }).toString()
  const pages = await Promise.all(browsers.map(async (b, i) => open(b, `${base}/e2e/pages/peer.html?${q(i)}`)))
  const t = await Promise.all(pages.map(times))
  const firstOpen = Math.min(...t.map((x) => x.origin))
  const meshAt = Math.max(...t.map((x) => x.origin + x.fullMesh))
  await Promise.all(pages.map(async (p) => p.context().close()))
  return { firstDirect: t.map((x) => x.firstDirect), fullMesh: meshAt - firstOpen }
}

async function presenceRun(browser: Browser, base: string, relay: RelayProcess, peers: number): Promise<number[]> {
  const q = (i: number): string =>
    new URLSearchParams({ room: `presence-${peers}`, name: `p${i}`, bootstrap: relay.bootstrapUrl, expect: String(peers - 1) }).toString()
  const pages = await Promise.all(Array.from({ length: peers }, async (_, i) => open(browser, `${base}/e2e/pages/peer.html?${q(i)}`)))
  await Promise.all(pages.map(times))
  for (let k = 0; k < PRESENCE_UPDATES; k++) {
    const sender = pages[k % peers]!
    await sender.evaluate((seq) => window.synodTest.setPresence({ seq, sentAt: performance.timeOrigin + performance.now() }), k)
    // Pace the updates beyond the presence throttle so each one is sent on its own.
    await sender.waitForTimeout(80)
  }
  const expected = PRESENCE_UPDATES * (peers - 1)
  const latencies: number[] = []
  for (const page of pages) {
    await page
      .waitForFunction((count) => window.synodTest.recorded.presence.length >= count, Math.floor(expected / peers) - 1, {
        timeout: 10_000,
      })
      .catch(() => {})
    const got = await page.evaluate(() =>
      window.synodTest.recorded.presence.map((p) => p.at - (p.value as { sentAt: number }).sentAt),
    )
    latencies.push(...got)
  }
  await Promise.all(pages.map(async (p) => p.context().close()))
  if (latencies.length < expected) console.warn(`presence with ${peers} peers: ${latencies.length}/${expected} updates arrived`)
  return latencies
}

export async function run(): Promise<string> {
  const served = await servePeerPage()
  const relay = await startRelayProcess()
  const browsers = await Promise.all([launchBrowser(), launchBrowser(), launchBrowser()])
  try {
    const firstDirect: number[] = []
    const fullMesh: number[] = []
    for (let r = 0; r < RUNS; r++) {
      const result = await connectRun(browsers, served.baseUrl, relay, r)
      firstDirect.push(...result.firstDirect)
      fullMesh.push(result.fullMesh)
      console.log(`run ${r + 1}/${RUNS}: full mesh ${result.fullMesh.toFixed(0)} ms`)
    }
    const presence3 = await presenceRun(browsers[0], served.baseUrl, relay, 3)
    const presence6 = await presenceRun(browsers[0], served.baseUrl, relay, 6)
    const rows: BenchRow[] = [
      { metric: 'page open → first direct connection (3 browsers)', unit: 'ms', summary: summarize(firstDirect) },
      { metric: 'first page open → full mesh (3 browsers)', unit: 'ms', summary: summarize(fullMesh) },
      { metric: 'presence propagation, 3 peers', unit: 'ms', summary: summarize(presence3) },
      { metric: 'presence propagation, 6 peers', unit: 'ms', summary: summarize(presence6) },
    ]
    return writeResult('connect', { runs: RUNS, presenceUpdates: PRESENCE_UPDATES, samples: { firstDirect, fullMesh } }, rows)
  } finally {
    await Promise.all(browsers.map(async (b) => b.close()))
    await relay.kill('SIGTERM')
    await served.close()
  }
}
