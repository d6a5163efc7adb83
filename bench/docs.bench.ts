// Documents benchmark, in real Chromium (one browser; every page in its own context, so its own renderer, peer and
// IndexedDB) against a real relay process, on a production build of the test page. Measures:
// 1. edit → remote-visible latency with 3 and with 6 peers: pages take turns setting `last = { seq, at, from }` on a
//    shared document, EDIT_INTERVAL_MS apart; every other page notes when each seq shows up in its change events;
// 2. catch-up on the full automerge-paper document (bench/fixtures): a Node peer holds it (built in batches of
//    PAPER_BATCH patches), a fresh page joins and, as soon as it is directly connected to the seeder, opens the
//    document; time until its text is complete (RUNS fresh pages). The seeder can only send its snapshot once the
//    page has answered with its heads, which it can do only once its Automerge is loaded; so the time splits into
//    direct connection → snapshot sent (the page loading Automerge, mostly) and snapshot sent → text complete;
// 3. loading that document from IndexedDB after a reload with no network: cold (Automerge's WebAssembly not yet
//    loaded) and warm (a small document opened first);
// 4. sync bytes sent per keystroke: one of 3 pages types KEYSTROKES characters into `room.text('notes')`,
//    KEYSTROKE_INTERVAL_MS apart; the rise of `sync.bytes_out` over all pages until all have the text, per keystroke.
// Same machine, so the pages' wall clocks (performance.timeOrigin + now) agree with each other and with Node's.
// Parameters (env): RUNS, EDITS, EDIT_INTERVAL_MS, PAPER_BATCH, KEYSTROKES, KEYSTROKE_INTERVAL_MS, KEYSTROKE_RUNS,
// PARTS (e.g. PARTS=paper to run only parts 2 and 3).
import { setTimeout as sleep } from 'node:timers/promises'
import type { Page } from '@playwright/test'
import { launchBrowser } from '../e2e/support/browsers.js'
import { startRelayProcess } from '../e2e/support/relay-process.js'
import { summarize } from '../src/metrics/index.js'
import { loadPaperTrace, startPaperSeeder, type PaperSeeder, type PaperTrace } from './support/paper-seeder.js'
import { Cleanup, closeAll, fullMesh, joined, openPage, pageUrl, synced, TIMEOUT_MS, type Env } from './support/doc-pages.js'
import { servePeerPage, type ServedPages } from './support/pages.js'
import { writeResult, type BenchRow } from './support/report.js'

const int = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${process.env[name]}`)
  return v
}
const RUNS = int('RUNS', 5)
const EDITS = int('EDITS', 60)
const EDIT_INTERVAL_MS = int('EDIT_INTERVAL_MS', 100)
const PAPER_BATCH = int('PAPER_BATCH', 1000)
const KEYSTROKES = int('KEYSTROKES', 300)
const KEYSTROKE_INTERVAL_MS = int('KEYSTROKE_INTERVAL_MS', 30)
const KEYSTROKE_RUNS = int('KEYSTROKE_RUNS', 3)
/** Which parts to run (comma-separated: edits, paper, keys); default all. Skipped parts have empty rows. */
const PARTS = new Set((process.env.PARTS ?? 'edits,paper,keys').split(',').map((p) => p.trim()))

/** What the edit-latency pages keep on the page's global object between evaluate() calls. */
interface EditSeen {
  seq: number
  from: number
  at: number
  seen: number
}
interface BenchGlobals {
  synodBench: { edits: EditSeen[] }
}
interface EditDoc {
  last?: { seq: number; at: number; from: number }
}

// 1. Edit → remote-visible latency.
interface EditLatency {
  latencies: number[]
  missing: number
  /** Every sample: [seq, sending page, receiving page, ms]. */
  detail: Array<[number, number, number, number]>
}

async function editLatency(env: Env, peers: number): Promise<EditLatency> {
  const pages: Page[] = []
  try {
    for (let i = 0; i < peers; i++) {
      pages.push(await openPage(env, pageUrl(env, { room: `edits-${peers}`, name: `p${i}`, expect: String(peers - 1) })))
    }
    await fullMesh(pages)
    await Promise.all(
      pages.map(async (p) =>
        p.evaluate(async () => {
          const doc = await window.synodTest.room!.doc<EditDoc>('edits', { initial: {} })
          const edits: EditSeen[] = []
          ;(globalThis as unknown as BenchGlobals).synodBench = { edits }
          const seen = new Set<number>()
          doc.on('change', ({ value, local }) => {
            const last = value.last
            if (local || last === undefined || seen.has(last.seq)) return
            seen.add(last.seq)
            edits.push({ seq: last.seq, from: last.from, at: last.at, seen: performance.timeOrigin + performance.now() })
          })
        }),
      ),
    )
    await synced(pages, 'edits')
    for (let seq = 0; seq < EDITS; seq++) {
      const from = seq % peers
      await pages[from]!.evaluate(
        async ({ seq, from }) => {
          const doc = await window.synodTest.room!.doc<EditDoc>('edits', { initial: {} })
          doc.change((d) => {
            d.last = { seq, at: performance.timeOrigin + performance.now(), from }
          })
        },
        { seq, from },
      )
      await sleep(EDIT_INTERVAL_MS)
    }
    // Each page should see every edit but its own; the last one may still be on its way.
    const latencies: number[] = []
    const detail: EditLatency['detail'] = []
    let missing = 0
    for (const [i, page] of pages.entries()) {
      const expected = Array.from({ length: EDITS }, (_, s) => s).filter((s) => s % peers !== i).length
      await page
        .waitForFunction((n) => (globalThis as unknown as BenchGlobals).synodBench.edits.length >= n, expected, { timeout: 10_000 })
        .catch(() => {})
      const edits = await page.evaluate(() => (globalThis as unknown as BenchGlobals).synodBench.edits)
      missing += expected - edits.length
      for (const e of edits) {
        latencies.push(e.seen - e.at)
        detail.push([e.seq, e.from, i, Math.round((e.seen - e.at) * 10) / 10])
      }
    }
    if (missing > 0) console.warn(`edits with ${peers} peers: ${missing} of ${EDITS * (peers - 1)} never showed up as 'last'`)
    return { latencies, missing, detail }
  } finally {
    await closeAll(pages)
  }
}

// 2 and 3. Catch-up on the paper, then loads from IndexedDB.
interface CatchUp {
  /** The seeder was already directly connected when the page could first look. */
  already: boolean
  /** room.doc() call (at the direct connection) → handle, and → complete text, ms. */
  openMs: number
  catchUpMs: number
  /** Page navigation start → complete text, ms. */
  pageOpenToTextMs: number
  /** Wall-clock time of the page's direct connection to the seeder, as the page saw it. */
  directAtWall: number
  doneAtWall: number
  snapshotsReceived: number
  bytesIn: number
  /** The document's text length when room.doc() resolved and at each change event after, ms after the call. */
  changes: Array<{ at: number; length: number }>
}

async function catchUp(page: Page, seederId: string, expected: number): Promise<CatchUp> {
  await joined(page)
  return page.evaluate(
    async ({ seederId, expected }) => {
      // No named functions in here: tsx wraps them in a `__name` helper that does not exist in the page.
      const room = window.synodTest.room!
      const already = room.members().some((m) => m.id === seederId && m.direct)
      if (!already) {
        await new Promise<void>((resolve) => {
          const offs = (['member:join', 'member:update'] as const).map((type) =>
            room.on(type, (m) => {
              if (m.id !== seederId || !m.direct) return
              for (const off of offs) off()
              resolve()
            }),
          )
        })
      }
      const start = performance.now()
      const doc = await room.doc<{ text: string }>('paper', { initial: { text: '' } })
      const opened = performance.now()
      const changes: Array<{ at: number; length: number }> = [{ at: opened - start, length: doc.value().text.length }]
      if (doc.value().text.length !== expected) {
        await new Promise<void>((resolve) => {
          const off = doc.on('change', ({ value }) => {
            changes.push({ at: performance.now() - start, length: value.text.length })
            if (value.text.length !== expected) return
            off()
            resolve()
          })
        })
      }
      const done = performance.now()
      const counters = room.stats().metrics.counters
      return {
        already,
        openMs: opened - start,
        catchUpMs: done - start,
        pageOpenToTextMs: done,
        directAtWall: performance.timeOrigin + start,
        doneAtWall: performance.timeOrigin + done,
        snapshotsReceived: counters['sync.snapshots_received'] ?? 0,
        bytesIn: counters['sync.bytes_in'] ?? 0,
        changes,
      }
    },
    { seederId, expected },
  )
}

/** Bytes the page's IndexedDB holds for the paper document, by kind of entry (snapshot or increment). */
async function storedBytes(page: Page): Promise<Record<string, number>> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('synod')
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error ?? new Error('indexedDB.open failed'))
    })
    const tx = db.transaction('entries', 'readonly')
    const store = tx.objectStore('entries')
    const [keys, values] = await Promise.all(
      [store.getAllKeys(), store.getAll()].map(
        async (req) =>
          new Promise<unknown[]>((resolve, reject) => {
            req.onsuccess = () => resolve(req.result as unknown[])
            req.onerror = () => reject(req.error ?? new Error('read failed'))
          }),
      ),
    )
    db.close()
    const out: Record<string, number> = {}
    keys!.forEach((key, i) => {
      const parts = String(key).split('\u0000')
      const value = values![i]
      if (parts[3] !== 'paper' || !(value instanceof Uint8Array)) return
      const kind = parts[4] ?? '?'
      out[kind] = (out[kind] ?? 0) + value.byteLength
      out[`${kind}Entries`] = (out[`${kind}Entries`] ?? 0) + 1
    })
    return out
  })
}

interface ReloadLoad {
  smallMs: number
  paperMs: number
  length: number
}

/** Reloads the page with no relay and opens the paper (after a small document when `warm`). */
async function reloadAndLoad(page: Page, url: string, warm: boolean): Promise<ReloadLoad> {
  await page.goto(url, { waitUntil: 'commit' })
  await joined(page)
  return page.evaluate(async (warm) => {
    const room = window.synodTest.room!
    const t0 = performance.now()
    if (warm) await room.doc('small', { initial: {} })
    const t1 = performance.now()
    const doc = await room.doc<{ text: string }>('paper', { initial: { text: '' } })
    const t2 = performance.now()
    return { smallMs: t1 - t0, paperMs: t2 - t1, length: doc.value().text.length }
  }, warm)
}

interface PaperRun {
  catchUp: CatchUp
  seederDirectToTextMs: number | undefined
  /** The page's direct connection (as it saw it) → the seeder sent its snapshot, ms. */
  directToSnapshotSentMs: number | undefined
  stored: Record<string, number>
  cold: ReloadLoad
  warm: ReloadLoad
}

async function paperRun(env: Env, seeder: PaperSeeder, trace: PaperTrace, run: number): Promise<PaperRun> {
  const params = { room: 'paper', name: `reader-${run}` }
  const sentBefore = seeder.snapshotsSentAt.length
  const page = await openPage(env, pageUrl(env, params))
  try {
    const result = await catchUp(page, seeder.peer.id, trace.endContent.length)
    const peerId = await page.evaluate(() => window.synodTest.recorded.peerId)
    const seederDirect = seeder.directAt.get(peerId)
    const snapshotSent = seeder.snapshotsSentAt[sentBefore]
    const same = await page.evaluate(async (expected) => {
      const room = window.synodTest.room!
      const doc = await room.doc<{ text: string }>('paper', { initial: { text: '' } })
      await room.flushed()
      return doc.value().text === expected
    }, trace.endContent)
    if (!same) throw new Error(`run ${run}: the page's text differs from the trace's endContent`)
    const stored = await storedBytes(page)
    const offline = pageUrl(env, { ...params, offline: '1' })
    const cold = await reloadAndLoad(page, offline, false)
    const warm = await reloadAndLoad(page, offline, true)
    for (const load of [cold, warm]) {
      if (load.length !== trace.endContent.length) throw new Error(`run ${run}: reloaded text has ${load.length} characters`)
    }
    return {
      catchUp: result,
      seederDirectToTextMs: seederDirect === undefined ? undefined : result.doneAtWall - seederDirect,
      directToSnapshotSentMs: snapshotSent === undefined ? undefined : snapshotSent - result.directAtWall,
      stored,
      cold,
      warm,
    }
  } finally {
    await closeAll([page])
  }
}

// 4. Bytes per keystroke.
interface KeystrokeRun {
  /** sync.bytes_out rise per page (the typist first) when every page had the text, and once all reported synced. */
  bytesAtText: number[]
  bytesSettled: number[]
  messagesSettled: number[]
  typingMs: number
}

async function counters(pages: readonly Page[]): Promise<Array<{ bytes: number; messages: number }>> {
  return Promise.all(
    pages.map(async (p) =>
      p.evaluate(() => {
        const c = window.synodTest.room!.stats().metrics.counters
        return { bytes: c['sync.bytes_out'] ?? 0, messages: c['sync.sent'] ?? 0 }
      }),
    ),
  )
}

async function keystrokeRun(env: Env, text: string, run: number): Promise<KeystrokeRun> {
  const pages: Page[] = []
  try {
    for (let i = 0; i < 3; i++) pages.push(await openPage(env, pageUrl(env, { room: `keys-${run}`, name: `k${i}`, expect: '2' })))
    await fullMesh(pages)
    await Promise.all(pages.map(async (p) => p.evaluate(async () => window.synodTest.room!.text('notes').whenReady())))
    await synced(pages, 'synod:text:notes')
    const before = await counters(pages)
    const typingMs = await pages[0]!.evaluate(
      async ({ text, interval }) => {
        const notes = window.synodTest.room!.text('notes')
        const start = performance.now()
        for (const ch of text) {
          notes.insert(notes.value().length, ch)
          await new Promise((resolve) => setTimeout(resolve, interval))
        }
        return performance.now() - start
      },
      { text, interval: KEYSTROKE_INTERVAL_MS },
    )
    await Promise.all(
      pages.map(async (p) =>
        p.waitForFunction((t) => window.synodTest.room!.text('notes').value() === t, text, { timeout: TIMEOUT_MS, polling: 10 }),
      ),
    )
    const atText = await counters(pages)
    await synced(pages, 'synod:text:notes')
    const settled = await counters(pages)
    return {
      bytesAtText: atText.map((c, i) => c.bytes - before[i]!.bytes),
      bytesSettled: settled.map((c, i) => c.bytes - before[i]!.bytes),
      messagesSettled: settled.map((c, i) => c.messages - before[i]!.messages),
      typingMs,
    }
  } finally {
    await closeAll(pages)
  }
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0)

export async function run(): Promise<string> {
  const cleanup = new Cleanup()
  try {
    const trace = loadPaperTrace()
    const served: ServedPages = await servePeerPage()
    cleanup.add('page server', async () => served.close())
    const relay = await startRelayProcess(['--port', '0', '--quiet'])
    cleanup.add('relay', async () => relay.kill('SIGTERM'))
    const browser = await launchBrowser()
    cleanup.add('browser', async () => browser.close())
    const env: Env = { browser, base: served.baseUrl, relay, pageErrors: [] }

    const none: EditLatency = { latencies: [], missing: 0, detail: [] }
    const edits3 = PARTS.has('edits') ? await editLatency(env, 3) : none
    console.log(`edit latency, 3 peers: ${edits3.latencies.length} samples`)
    const edits6 = PARTS.has('edits') ? await editLatency(env, 6) : none
    console.log(`edit latency, 6 peers: ${edits6.latencies.length} samples`)

    const paper: PaperRun[] = []
    let seeder: PaperSeeder | undefined
    if (PARTS.has('paper')) {
      seeder = await startPaperSeeder(relay.multiaddrs, 'paper', trace, PAPER_BATCH)
      cleanup.add('seeder', async () => seeder?.close())
      console.log(`seeder: built the paper from ${trace.patches.length} patches in ${seeder.changes} changes, ${seeder.buildMs.toFixed(0)} ms`)
    }
    for (let r = 0; seeder !== undefined && r < RUNS; r++) {
      const result = await paperRun(env, seeder, trace, r)
      paper.push(result)
      console.log(
        `paper run ${r + 1}/${RUNS}: catch-up ${result.catchUp.catchUpMs.toFixed(0)} ms, ` +
          `IndexedDB load cold ${result.cold.paperMs.toFixed(0)} ms, warm ${result.warm.paperMs.toFixed(0)} ms`,
      )
    }
    await seeder?.close()

    const typed = trace.endContent.slice(0, KEYSTROKES)
    const keys: KeystrokeRun[] = []
    for (let r = 0; PARTS.has('keys') && r < KEYSTROKE_RUNS; r++) {
      const result = await keystrokeRun(env, typed, r)
      keys.push(result)
      console.log(`keystrokes run ${r + 1}/${KEYSTROKE_RUNS}: ${(sum(result.bytesSettled) / KEYSTROKES).toFixed(1)} B/keystroke`)
    }
    if (env.pageErrors.length > 0) console.warn(`page errors: ${env.pageErrors.join('; ')}`)

    const perKey = (f: (k: KeystrokeRun) => number): number[] => keys.map((k) => f(k) / KEYSTROKES)
    const rows: BenchRow[] = [
      { metric: 'edit → visible remotely, 3 peers', unit: 'ms', summary: summarize(edits3.latencies) },
      { metric: 'edit → visible remotely, 6 peers', unit: 'ms', summary: summarize(edits6.latencies) },
      { metric: 'paper catch-up: direct connection → full text', unit: 'ms', summary: summarize(paper.map((p) => p.catchUp.catchUpMs)) },
      {
        metric: 'paper catch-up: direct connection → seeder sends snapshot',
        unit: 'ms',
        summary: summarize(paper.flatMap((p) => (p.directToSnapshotSentMs === undefined ? [] : [p.directToSnapshotSentMs]))),
      },
      { metric: 'paper catch-up: page open → full text', unit: 'ms', summary: summarize(paper.map((p) => p.catchUp.pageOpenToTextMs)) },
      { metric: 'paper from IndexedDB after reload, cold Automerge', unit: 'ms', summary: summarize(paper.map((p) => p.cold.paperMs)) },
      { metric: 'paper from IndexedDB after reload, warm Automerge', unit: 'ms', summary: summarize(paper.map((p) => p.warm.paperMs)) },
      { metric: 'small doc after reload (Automerge load + open)', unit: 'ms', summary: summarize(paper.map((p) => p.warm.smallMs)) },
      { metric: 'sync bytes out per keystroke, all 3 pages', unit: 'B', summary: summarize(perKey((k) => sum(k.bytesSettled))) },
      { metric: 'sync bytes out per keystroke, typist', unit: 'B', summary: summarize(perKey((k) => k.bytesSettled[0]!)) },
      { metric: 'sync bytes out per keystroke, all pages ÷ 2 receivers', unit: 'B', summary: summarize(perKey((k) => sum(k.bytesSettled) / 2)) },
    ]
    return writeResult(
      'docs',
      {
        browsers: '1 Chromium, each page in its own context',
        parameters: { RUNS, EDITS, EDIT_INTERVAL_MS, PAPER_BATCH, KEYSTROKES, KEYSTROKE_INTERVAL_MS, KEYSTROKE_RUNS },
        editLatency: {
          peers3: { missing: edits3.missing, samples: edits3.detail },
          peers6: { missing: edits6.missing, samples: edits6.detail },
        },
        paper: {
          patches: trace.patches.length,
          characters: trace.endContent.length,
          seederChanges: seeder?.changes,
          seederBuildMs: seeder?.buildMs,
          runs: paper,
        },
        keystrokes: { typed: KEYSTROKES, runs: keys },
        pageErrors: env.pageErrors,
      },
      rows,
    )
  } finally {
    await cleanup.run()
  }
}
