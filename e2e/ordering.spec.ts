// The ordered log and locks in real Chromium processes against a real relay process. Five browsers elect three
// super-peers, append concurrently and all see one order; the leader's browser is killed mid-stream and the group
// carries on, replacing it; a reloaded super-peer recovers from IndexedDB and rejoins. Two browsers contend for a lock
// in a loop: their acquisitions never overlap, and the history passes the linearizability checker.
import { expect, test, type Browser, type Page } from '@playwright/test'
import { checkLinearizability, mutexModel, toOperations, type HistoryEvent } from '../src/sim/linearizability/index.js'
import { launchBrowser } from './support/browsers.js'
import { startRelayProcess, type RelayProcess } from './support/relay-process.js'

async function openPeer(browser: Browser, room: string, name: string, relay: RelayProcess): Promise<Page> {
  const page = await browser.newPage()
  page.on('pageerror', (err) => console.error(`[${name}] page error`, err))
  const query = new URLSearchParams({ room, name, bootstrap: relay.bootstrapUrl, bootstrapDelay: '1500' })
  await page.goto(`/e2e/pages/peer.html?${query.toString()}`)
  await page.evaluate(() => window.synodTest.ready)
  return page
}

interface OrderingView {
  role: string
  term: number
  voters: number
}

const ordering = async (page: Page): Promise<OrderingView> =>
  page.evaluate(() => {
    const o = window.synodTest.room?.stats().ordering
    return { role: o?.role ?? 'none', term: o?.term ?? 0, voters: o?.superPeers.filter((s) => s.role !== 'learner').length ?? 0 }
  })
const logValues = async (page: Page, name: string): Promise<unknown[]> =>
  page.evaluate((n) => window.synodTest.recorded.logs[n] ?? [], name)

/** Appends `count` values from the page, at most `parallel` at a time; resolves with what was acknowledged. */
async function appendMany(page: Page, prefix: string, count: number, parallel: number): Promise<{ value: string; index: number }[]> {
  return page.evaluate(
    async ({ prefix, count, parallel }) => {
      const log = window.synodTest.room?.log<string>('moves')
      if (log === undefined) throw new Error('not joined')
      const acked: { value: string; index: number }[] = []
      let next = 0
      const worker = async (): Promise<void> => {
        while (next < count) {
          const value = `${prefix}-${next++}`
          try {
            const { index } = await log.append(value)
            acked.push({ value, index })
          } catch {
            // Not acknowledged: the test only checks what was.
          }
        }
      }
      await Promise.all(Array.from({ length: parallel }, worker))
      return acked
    },
    { prefix, count, parallel },
  )
}

test('five browsers share one ordered log, survive the leader dying, and a reloaded super-peer rejoins', async () => {
  test.setTimeout(300_000)
  const relay = await startRelayProcess()
  const browsers = await Promise.all(Array.from({ length: 5 }, () => launchBrowser()))
  try {
    const names = ['Ada', 'Grace', 'Linus', 'Barbara', 'Edsger']
    const pages = await Promise.all(browsers.map((b, i) => openPeer(b, 'ordered', names[i] as string, relay)))
    for (const page of pages) {
      await expect.poll(async () => page.evaluate(() => window.synodTest.members().length), { timeout: 60_000 }).toBe(4)
    }
    // Three super-peers, one of them the leader.
    await expect.poll(async () => (await Promise.all(pages.map(ordering))).filter((o) => o.role !== 'peer').length, { timeout: 60_000 }).toBe(3)
    await expect.poll(async () => (await Promise.all(pages.map(ordering))).filter((o) => o.role === 'leader').length).toBe(1)
    for (const page of pages) await page.evaluate(() => window.synodTest.watchLog('moves'))

    // All five append concurrently.
    const acked = (await Promise.all(pages.map((p, i) => appendMany(p, names[i] as string, 40, 4)))).flat()
    expect(acked).toHaveLength(200)
    for (const page of pages) await expect.poll(async () => (await logValues(page, 'moves')).length, { timeout: 60_000 }).toBe(200)
    const reference = await logValues(pages[0] as Page, 'moves')
    expect(new Set(reference).size).toBe(200)
    for (const page of pages.slice(1)) expect(await logValues(page, 'moves')).toEqual(reference)
    for (const a of acked) expect(reference[a.index - 1]).toBe(a.value)

    // Kill the leader's browser while the others append.
    const views = await Promise.all(pages.map(ordering))
    const leaderAt = views.findIndex((v) => v.role === 'leader')
    const leaderTerm = views[leaderAt]?.term ?? 0
    const survivors = pages.filter((_, i) => i !== leaderAt)
    const stream = Promise.all(survivors.map((p, i) => appendMany(p, `after${i}`, 30, 2)))
    await expect.poll(async () => (await logValues(survivors[0] as Page, 'moves')).length, { timeout: 60_000 }).toBeGreaterThan(220)
    await browsers[leaderAt]?.close()
    const ackedAfter = (await stream).flat()
    // A new leader in a later term, and the quorum manager back at three super-peers among the survivors.
    await expect.poll(async () => (await Promise.all(survivors.map(ordering))).filter((o) => o.role === 'leader' && o.term > leaderTerm).length, { timeout: 60_000 }).toBe(1)
    await expect.poll(async () => (await Promise.all(survivors.map(ordering))).filter((o) => o.role !== 'peer').length, { timeout: 90_000 }).toBe(3)
    const finalLength = 200 + ackedAfter.length
    for (const page of survivors) {
      await expect.poll(async () => (await logValues(page, 'moves')).length, { timeout: 60_000 }).toBeGreaterThanOrEqual(finalLength)
    }
    const after = await logValues(survivors[0] as Page, 'moves')
    expect(new Set(after).size).toBe(after.length)
    for (const a of [...acked, ...ackedAfter]) expect(after[a.index - 1]).toBe(a.value)
    for (const page of survivors.slice(1)) expect((await logValues(page, 'moves')).slice(0, after.length)).toEqual(after)

    // Reload a super-peer that is not the leader: it recovers from IndexedDB and is a super-peer again.
    const survivorViews = await Promise.all(survivors.map(ordering))
    const superAt = survivorViews.findIndex((v) => v.role === 'super')
    const reloaded = survivors[superAt] as Page
    await reloaded.reload()
    await reloaded.evaluate(() => window.synodTest.ready)
    await reloaded.evaluate(() => window.synodTest.watchLog('moves'))
    await expect.poll(async () => (await ordering(reloaded)).role, { timeout: 60_000 }).toMatch(/super|leader/)
    await expect.poll(async () => (await logValues(reloaded, 'moves')).length, { timeout: 60_000 }).toBe(after.length)
    expect(await logValues(reloaded, 'moves')).toEqual(after)
  } finally {
    await Promise.all(browsers.map(async (b) => b.close().catch(() => undefined)))
    await relay.kill()
  }
})

test('two browsers contend for a lock: acquisitions never overlap and the history is linearizable', async () => {
  test.setTimeout(240_000)
  const relay = await startRelayProcess()
  const browsers = await Promise.all(Array.from({ length: 3 }, () => launchBrowser()))
  try {
    const pages = await Promise.all(browsers.map((b, i) => openPeer(b, 'locks', `p${i}`, relay)))
    for (const page of pages) {
      await expect.poll(async () => page.evaluate(() => window.synodTest.members().length), { timeout: 60_000 }).toBe(2)
    }
    await expect.poll(async () => (await Promise.all(pages.map(ordering))).filter((o) => o.role === 'leader').length, { timeout: 60_000 }).toBe(1)
    const rounds = 12
    const histories = await Promise.all(
      pages.slice(0, 2).map(async (page, process) =>
        page.evaluate(
          async ({ process, rounds }) => {
            const lock = window.synodTest.room?.lock('editor')
            if (lock === undefined) throw new Error('not joined')
            const now = (): number => performance.timeOrigin + performance.now()
            const events: { at: number; process: number; type: string; f: string; value: number | null }[] = []
            for (let i = 0; i < rounds; i++) {
              events.push({ at: now(), process, type: 'invoke', f: 'acquire', value: null })
              const { token } = await lock.acquire({ ttlMs: 60_000 })
              events.push({ at: now(), process, type: 'ok', f: 'acquire', value: token })
              await new Promise((r) => setTimeout(r, 20))
              events.push({ at: now(), process, type: 'invoke', f: 'release', value: null })
              await lock.release()
              events.push({ at: now(), process, type: 'ok', f: 'release', value: null })
            }
            return events
          },
          { process, rounds },
        ),
      ),
    )
    const all = histories.flat().sort((a, b) => a.at - b.at)
    // No overlap: between an acquire's ok and the matching release's invoke, nobody else acquires.
    let holder: number | null = null
    for (const e of all) {
      if (e.f === 'acquire' && e.type === 'ok') {
        expect(holder).toBeNull()
        holder = e.process
      }
      if (e.f === 'release' && e.type === 'invoke') {
        expect(holder).toBe(e.process)
        holder = null
      }
    }
    const history: HistoryEvent[] = all.map((e) => ({ process: e.process, type: e.type as HistoryEvent['type'], f: e.f, key: 'editor', value: e.value }))
    const verdict = checkLinearizability(mutexModel, toOperations(history))
    expect(verdict.result).toBe('ok')
    expect(all.filter((e) => e.f === 'acquire' && e.type === 'ok')).toHaveLength(2 * rounds)
  } finally {
    await Promise.all(browsers.map(async (b) => b.close().catch(() => undefined)))
    await relay.kill()
  }
})
