// Three separate Chromium processes and a real relay process: the peers find each other through the relay alone,
// connect directly over WebRTC, share presence, keep working after the relay dies, and notice a closed tab. A fourth
// peer in another room must see none of it.
import { expect, test, type Browser, type Page } from '@playwright/test'
import { launchBrowser } from './support/browsers.js'
import { startRelayProcess, type RelayProcess } from './support/relay-process.js'

interface MemberView {
  id: string
  name: string
  direct: boolean
}

async function openPeer(browser: Browser, room: string, name: string, relay: RelayProcess, expectDirect = 0): Promise<Page> {
  const page = await browser.newPage()
  page.on('pageerror', (err) => console.error(`[${name}] page error`, err))
  const query = new URLSearchParams({ room, name, bootstrap: relay.bootstrapUrl, expect: String(expectDirect) })
  await page.goto(`/e2e/pages/peer.html?${query.toString()}`)
  await page.evaluate(() => window.synodTest.ready)
  return page
}

const peerId = async (page: Page): Promise<string> => page.evaluate(() => window.synodTest.recorded.peerId)
const members = async (page: Page): Promise<MemberView[]> =>
  page.evaluate(() => window.synodTest.members().map((m) => ({ id: m.id, name: m.name, direct: m.direct })))

test('three browsers meet through the relay, talk directly, and outlive it', async () => {
  const relay = await startRelayProcess()
  const browsers = await Promise.all([launchBrowser(), launchBrowser(), launchBrowser()])
  const [b1, b2, b3] = browsers
  try {
    const pages = await Promise.all([
      openPeer(b1, 'lobby', 'Ada', relay, 2),
      openPeer(b2, 'lobby', 'Grace', relay, 2),
      openPeer(b3, 'lobby', 'Linus', relay, 2),
    ])
    const outsider = await openPeer(b1, 'elsewhere', 'Eve', relay)
    const ids = await Promise.all(pages.map(peerId))

    // Each sees exactly the other two, directly connected, with no help from the test.
    for (const [i, page] of pages.entries()) {
      const others = ids.filter((_, j) => j !== i).sort()
      await expect
        .poll(async () => (await members(page)).filter((m) => m.direct).map((m) => m.id).sort(), { timeout: 60_000 })
        .toEqual(others)
    }
    expect((await members(pages[0])).map((m) => m.name).sort()).toEqual(['Grace', 'Linus'])

    // Presence set in one reaches the other two.
    await pages[0].evaluate(() => window.synodTest.setPresence({ cursor: 42, color: 'teal' }))
    for (const page of pages.slice(1)) {
      await expect
        .poll(async () => page.evaluate((id) => window.synodTest.getPresence(id), ids[0]!))
        .toEqual({ cursor: 42, color: 'teal' })
    }

    // The peer in another room saw none of them and received none of their traffic.
    expect(await members(outsider)).toEqual([])
    expect(await outsider.evaluate(() => window.synodTest.recorded.presence.length)).toBe(0)
    expect(await outsider.evaluate(() => window.synodTest.recorded.events.length)).toBe(0)

    // Without the relay, presence still flows between the three over their direct connections.
    await relay.kill('SIGKILL')
    await pages[1].evaluate(() => window.synodTest.setPresence({ cursor: 7 }))
    for (const page of [pages[0], pages[2]]) {
      await expect
        .poll(async () => page.evaluate((id) => window.synodTest.getPresence(id), ids[1]!))
        .toEqual({ cursor: 7 })
    }

    // A closed tab leaves the others' member lists (and takes its presence with it).
    await pages[0].close({ runBeforeUnload: true })
    for (const page of pages.slice(1)) {
      await expect.poll(async () => (await members(page)).map((m) => m.id)).not.toContain(ids[0])
      expect(await page.evaluate((id) => window.synodTest.getPresence(id), ids[0]!)).toBeUndefined()
    }
    expect((await members(pages[1])).map((m) => m.id)).toEqual([ids[2]])
    for (const page of pages.slice(1)) {
      expect(await page.evaluate(() => window.synodTest.recorded.errors)).toEqual([])
    }
  } finally {
    await Promise.all(browsers.map(async (b) => b.close()))
    await relay.kill('SIGKILL')
  }
})
