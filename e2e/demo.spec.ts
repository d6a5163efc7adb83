// The demo app in three separate Chromium processes against a real relay process, driven only through its UI
// (clicks and typing, reading what the page shows): a card added and edited in one browser appears in the others;
// a card claimed in one cannot be claimed in another; a browser cut off for real keeps working, reloads without
// losing anything, and merges when it reconnects; the consensus panel shows three peers, direct links and one leader;
// when the leader's tab closes, the two others elect a new one.
//
// The cut-off is the demo's own "Go offline" button: it calls `peer.goOffline()`, which closes every connection
// (WebRTC included) and makes the connection gater refuse all dials and inbound connections until "Go online".
// Screenshots of the three browsers are attached to the test's results.
import { expect, test, type Browser, type Locator, type Page } from '@playwright/test'
import { launchBrowser } from './support/browsers.js'
import { startRelayProcess, type RelayProcess } from './support/relay-process.js'

const NAMES = ['Ada', 'Grace', 'Alan'] as const
/** A fresh room per run (and per repeat), so no state from an earlier run can leak in. */
let room = ''
const SLOW = { timeout: 45_000 }

let relay: RelayProcess
const browsers: Browser[] = []
const errors: string[] = []

test.beforeAll(async () => {
  relay = await startRelayProcess()
  for (let i = 0; i < NAMES.length; i++) browsers.push(await launchBrowser())
})

test.afterAll(async () => {
  await Promise.all(browsers.map(async (b) => b.close()))
  await relay.kill()
})

function demoUrl(name: string): string {
  const base = test.info().project.use.baseURL ?? ''
  const q = new URLSearchParams({ room, name, bootstrap: relay.bootstrapUrl })
  return `${base}/demo/?${q.toString()}`
}

async function open(browser: Browser, name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  page.on('pageerror', (err) => errors.push(`[${name}] ${err.message}`))
  await page.goto(demoUrl(name))
  await expect(page.getByRole('heading', { name: /To do/ })).toBeVisible(SLOW)
  return page
}

function card(page: Page, title: string): Locator {
  return page.getByRole('article', { name: `Card: ${title}` })
}

async function addCard(page: Page, column: string, title: string): Promise<void> {
  const input = page.getByLabel(`New card in ${column}`)
  await input.fill(title)
  await input.press('Enter')
  await expect(card(page, title)).toBeVisible()
}

async function openDetails(page: Page, title: string): Promise<Locator> {
  const c = card(page, title)
  const toggle = c.getByRole('button', { name: 'Details' })
  if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click()
  const description = c.getByLabel('Description')
  await expect(description).toBeEnabled(SLOW)
  return description
}

/** What the consensus panel's table says: one row per peer, with its role and state. */
async function panelRows(page: Page): Promise<{ role: string; state: string }[]> {
  const table = page.getByRole('table', { name: 'Peers' })
  const rows = await table.locator('tbody tr').all()
  return Promise.all(
    rows.map(async (row) => {
      const headers = await table.locator('thead th').allTextContents()
      const cells = await row.locator('td, th').allTextContents()
      const at = (h: string): string => cells[headers.findIndex((x) => x.trim() === h)]?.trim() ?? ''
      return { role: at('Role'), state: at('State') }
    }),
  )
}

async function expectHealthyPanel(page: Page): Promise<void> {
  await expect
    .poll(async () => {
      const rows = await panelRows(page)
      return {
        peers: rows.length,
        alive: rows.filter((r) => r.state === 'alive').length,
        leaders: rows.filter((r) => r.role === 'leader').length,
      }
    }, { timeout: 90_000, intervals: [500] })
    .toEqual({ peers: 3, alive: 3, leaders: 1 })
  await expect(page.getByTestId('links-summary')).toContainText('3 direct links', SLOW)
}

async function feed(page: Page): Promise<string[]> {
  return page.locator('#activity li.entry .text').allTextContents()
}

test('three browsers share a board through the demo UI, with claims, a real cut-off and the consensus panel', async () => {
  test.setTimeout(300_000)
  room = `demo-e2e-${process.pid}-${Date.now()}`
  const pages = await Promise.all(NAMES.map(async (n, i) => open(browsers[i]!, n)))
  try {
    await scenario(pages[0]!, pages[1]!, pages[2]!)
  } finally {
    await Promise.all(pages.map(async (p) => p.context().close()))
  }
})

async function scenario(ada: Page, grace: Page, alan: Page): Promise<void> {
  const pages = [ada, grace, alan]
  for (const p of pages) await expect(p.locator('#peer-status')).toContainText('Online · 2 direct', SLOW)

  // The consensus panel: three peers, all alive, directly linked, one leader.
  for (const p of pages) await expectHealthyPanel(p)

  // A card added in one browser appears in the others; edited in another, the edits appear everywhere.
  await addCard(ada, 'To do', 'Plan the launch')
  for (const p of [grace, alan]) await expect(card(p, 'Plan the launch')).toBeVisible(SLOW)
  await card(grace, 'Plan the launch').getByRole('textbox', { name: 'Card title' }).fill('Plan the launch party')
  for (const p of pages) await expect(card(p, 'Plan the launch party')).toBeVisible(SLOW)
  const adaDescription = await openDetails(ada, 'Plan the launch party')
  const graceDescription = await openDetails(grace, 'Plan the launch party')
  await graceDescription.click()
  await graceDescription.pressSequentially('Ship it on Friday.')
  await expect(adaDescription).toHaveValue('Ship it on Friday.', SLOW)
  // Presence: Ada sees Grace's caret in the description and "editing" next to her name.
  await expect(card(ada, 'Plan the launch party').locator('.caret-label', { hasText: 'Grace' })).toBeVisible(SLOW)
  await expect(ada.locator('#people')).toContainText('editing “Plan the launch party”', SLOW)

  // A card claimed in one browser cannot be claimed in another.
  await card(ada, 'Plan the launch party').getByRole('button', { name: 'Claim' }).click()
  await expect(card(ada, 'Plan the launch party')).toContainText('Claimed by you', SLOW)
  await expect(card(alan, 'Plan the launch party')).toContainText('Claimed by Ada', SLOW)
  await card(alan, 'Plan the launch party').getByRole('button', { name: 'Claim' }).click()
  await expect(card(alan, 'Plan the launch party').getByRole('status')).toContainText('Already claimed by Ada', SLOW)
  await expect(card(alan, 'Plan the launch party').getByRole('button', { name: 'Claim' })).toBeVisible()
  await expect(card(ada, 'Plan the launch party').getByRole('button', { name: 'Release' })).toBeVisible()

  // The activity feed is one order for everyone.
  await ada.getByRole('textbox', { name: 'Chat message' }).fill('hello from Ada')
  await ada.getByRole('textbox', { name: 'Chat message' }).press('Enter')
  // (Committed entries only: until the log commits it, the sender shows its message as pending.)
  for (const p of pages) await expect.poll(async () => feed(p), SLOW).toContain('hello from Ada')
  const order = await feed(ada)
  for (const p of [grace, alan]) await expect.poll(async () => feed(p), SLOW).toEqual(order)

  // Alan is cut off for real, edits, reloads while cut off, edits again; the others edit meanwhile.
  await alan.getByRole('button', { name: 'Go offline' }).click()
  await expect(alan.locator('#peer-status')).toContainText('Offline', SLOW)
  await addCard(alan, 'Doing', 'Written offline')
  await alan.getByRole('textbox', { name: 'Chat message' }).fill('said while offline')
  await alan.getByRole('textbox', { name: 'Chat message' }).press('Enter')
  await addCard(ada, 'To do', 'Written online')
  await card(grace, 'Plan the launch party').getByRole('button', { name: 'Move right' }).click()
  for (const p of [ada, grace]) await expect(card(p, 'Written online')).toBeVisible(SLOW)
  await expect(card(grace, 'Written offline')).toHaveCount(0)
  await expect(card(ada, 'Written offline')).toHaveCount(0)
  await expect(card(alan, 'Written online')).toHaveCount(0)

  await alan.reload()
  await expect(card(alan, 'Written offline')).toBeVisible(SLOW)
  await expect(alan.locator('#peer-status')).toContainText('Offline', SLOW)
  await expect(await openDetails(alan, 'Plan the launch party')).toHaveValue('Ship it on Friday.')
  await expect(alan.locator('#activity')).toContainText('said while offline')
  const offlineNotes = await openDetails(alan, 'Written offline')
  await offlineNotes.click()
  await offlineNotes.pressSequentially('Drafted on a plane.')

  await alan.getByRole('button', { name: 'Go online' }).click()
  for (const p of pages) {
    await expect(card(p, 'Written offline')).toBeVisible(SLOW)
    await expect(card(p, 'Written online')).toBeVisible(SLOW)
    await expect(p.getByRole('list', { name: /Doing/ }).getByRole('article', { name: 'Card: Plan the launch party' })).toBeVisible(SLOW)
  }
  await expect(await openDetails(ada, 'Written offline')).toHaveValue('Drafted on a plane.', SLOW)
  for (const p of pages) await expect(p.locator('#activity')).toContainText('said while offline', SLOW)

  // After the reconnection: three peers again (Alan's old session gone), direct links, one leader.
  for (const p of pages) await expectHealthyPanel(p)

  // Kept in the test's output folder (test-results/…) and attached to the report.
  for (const [i, p] of pages.entries()) {
    const path = test.info().outputPath(`demo-${NAMES[i]}.png`)
    await p.screenshot({ path, fullPage: true })
    await test.info().attach(`demo-${NAMES[i]}`, { path, contentType: 'image/png' })
  }

  // "Close the tab of the leader": the two others elect a new leader among themselves, and their panels show it.
  const leaderAt = await Promise.all(pages.map(async (p) => (await p.getByTestId('raft-line').textContent())?.includes('you are the leader') === true))
  const leader = pages[leaderAt.indexOf(true)]
  expect(leader).toBeDefined()
  await leader!.close({ runBeforeUnload: true })
  for (const p of pages.filter((x) => x !== leader)) {
    await expect
      .poll(async () => {
        const rows = await panelRows(p)
        const alive = rows.filter((r) => r.state === 'alive')
        return { alive: alive.length, leaders: alive.filter((r) => r.role === 'leader').length }
      }, { timeout: 90_000, intervals: [500] })
      .toEqual({ alive: 2, leaders: 1 })
  }
  expect(errors).toEqual([])
}
