// The SWIM failure detector in real Chromium processes against a real relay process. Four browsers meet; one page is
// frozen (its JavaScript paused through the DevTools protocol) for less than the suspicion timeout: the others suspect
// it, and it refutes when it resumes, never declared dead. Then one browser's page crashes (no goodbye): the others
// mark it dead within a bound, and the room's topology shows the survivors' direct links.
import { expect, test, type Browser, type Page } from '@playwright/test'
import { launchBrowser } from './support/browsers.js'
import { startRelayProcess, type RelayProcess } from './support/relay-process.js'

const PERIOD_MS = 500
const SUSPICION_MULT = 6

async function openPeer(browser: Browser, room: string, name: string, relay: RelayProcess): Promise<Page> {
  const page = await browser.newPage()
  page.on('pageerror', (err) => console.error(`[${name}] page error`, err))
  const query = new URLSearchParams({
    room,
    name,
    bootstrap: relay.bootstrapUrl,
    period: String(PERIOD_MS),
    suspicion: String(SUSPICION_MULT),
  })
  await page.goto(`/e2e/pages/peer.html?${query.toString()}`)
  await page.evaluate(() => window.synodTest.ready)
  return page
}

const stateSeen = async (page: Page, id: string): Promise<string | undefined> =>
  page.evaluate((peer) => window.synodTest.members().find((m) => m.id === peer)?.state, id)
const statesRecorded = async (page: Page, id: string): Promise<string[]> =>
  page.evaluate((peer) => window.synodTest.recorded.events.filter((e) => e.id === peer).map((e) => e.state), id)

test('a frozen browser is suspected and refutes; a crashed one is declared dead in bounded time', async () => {
  test.setTimeout(180_000)
  const relay = await startRelayProcess()
  const browsers = await Promise.all(Array.from({ length: 4 }, () => launchBrowser()))
  try {
    const pages = await Promise.all(browsers.map((b, i) => openPeer(b, 'swim', ['Ada', 'Grace', 'Linus', 'Barbara'][i] as string, relay)))
    const ids = await Promise.all(pages.map((p) => p.evaluate(() => window.synodTest.recorded.peerId)))
    for (const page of pages) {
      await expect.poll(async () => page.evaluate(() => window.synodTest.members().filter((m) => m.state === 'alive' && m.direct).length), { timeout: 60_000 }).toBe(3)
    }

    // Freeze one page for 2.5 s: past a probe period or two, well within the suspicion timeout (at least
    // SUSPICION_MULT periods = 3 s, and 4 times that without confirmations).
    const frozen = pages[3] as Page
    const frozenId = ids[3] as string
    const cdp = await frozen.context().newCDPSession(frozen)
    await cdp.send('Debugger.enable')
    await cdp.send('Debugger.pause')
    await new Promise((r) => setTimeout(r, 2500))
    await cdp.send('Debugger.resume')
    await cdp.detach()
    const observers = pages.slice(0, 3)
    for (const page of observers) {
      await expect.poll(async () => stateSeen(page, frozenId), { timeout: 20_000 }).toBe('alive')
    }
    const histories = await Promise.all(observers.map(async (p) => statesRecorded(p, frozenId)))
    // Suspected by at least one observer, declared dead by none.
    expect(histories.some((h) => h.includes('suspect'))).toBe(true)
    for (const h of histories) expect(h).not.toContain('dead')
    // It refuted: its incarnation went up.
    expect(await frozen.evaluate(() => window.synodTest.stats().membership.detector?.incarnation)).toBeGreaterThan(0)

    // Crash one page's renderer: no goodbye, its connections just die. The others declare it dead.
    const crashed = pages[2] as Page
    const crashedId = ids[2] as string
    const survivors = [pages[0], pages[1], pages[3]] as Page[]
    const crashSession = await crashed.context().newCDPSession(crashed)
    const crashedAt = Date.now()
    void crashSession.send('Page.crash').catch(() => undefined)
    for (const page of survivors) {
      await expect.poll(async () => (await statesRecorded(page, crashedId)).includes('dead'), { timeout: 30_000 }).toBe(true)
    }
    const detectionMs = Date.now() - crashedAt
    console.log(`crash to dead everywhere: ${detectionMs} ms (period ${PERIOD_MS} ms)`)
    for (const page of survivors) expect(await stateSeen(page, crashedId)).toMatch(/dead|undefined/)

    // The topology view: the three survivors linked directly to each other.
    const topology = await (survivors[0] as Page).evaluate(() => window.synodTest.room?.topology())
    const survivorIds = new Set([ids[0], ids[1], ids[3]])
    const direct = topology?.edges.filter((e) => e.via === 'direct' && survivorIds.has(e.a) && survivorIds.has(e.b)) ?? []
    expect(direct).toHaveLength(3)
    expect(String(topology?.nodes.find((n) => n.id === crashedId)?.state)).toMatch(/dead|undefined/) // gone after the retention
  } finally {
    await Promise.all(browsers.map(async (b) => b.close().catch(() => undefined)))
    await relay.kill()
  }
})
