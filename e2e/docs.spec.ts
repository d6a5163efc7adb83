// Documents and typed CRDTs across three separate Chromium processes and a real relay process: concurrent editing
// converges; a browser cut off from the others keeps editing, reloads while cut off without losing anything, and
// merges when it comes back; a late joiner catches up; sync continues after the relay is killed.
//
// How the browser is cut off, for real: `peer.goOffline()` closes every connection (WebRTC included) and makes the
// connection gater refuse all dials and inbound connections; the reload while cut off starts the page with no relay
// address at all (`offline=1`), so nobody can reach it and it can reach nobody. Playwright's setOffline() would not
// do: it does not stop WebRTC data channels.
import { expect, test, type Browser, type Page } from '@playwright/test'
import { launchBrowser } from './support/browsers.js'
import { startRelayProcess, type RelayProcess } from './support/relay-process.js'

interface State {
  items: string[]
  votes: number
  views: number
  tags: string[]
  owner: string | null
  notes: string
}

const ROOM = 'docs-e2e'

function url(relay: RelayProcess, name: string, offline = false): string {
  const q = new URLSearchParams({ room: ROOM, name, bootstrap: relay.bootstrapUrl, ...(offline ? { offline: '1' } : {}) })
  return `/e2e/pages/peer.html?${q.toString()}`
}

async function open(browser: Browser, relay: RelayProcess, name: string): Promise<Page> {
  const page = await browser.newPage()
  page.on('pageerror', (err) => console.error(`[${name}]`, err))
  await page.goto(url(relay, name))
  await page.evaluate(() => window.synodTest.ready)
  return page
}

async function state(page: Page): Promise<State> {
  return page.evaluate(async () => {
    const room = window.synodTest.room!
    const doc = await room.doc<{ items: string[] }>('board', { initial: { items: [] } })
    await Promise.all([
      room.counter('votes').whenReady(),
      room.gcounter('views').whenReady(),
      room.set('tags').whenReady(),
      room.register('owner').whenReady(),
      room.text('notes').whenReady(),
    ])
    return {
      items: [...doc.value().items].sort(),
      votes: room.counter('votes').value(),
      views: room.gcounter('views').value(),
      tags: room.set<string>('tags').values().sort(),
      owner: room.register<string>('owner').get() ?? null,
      notes: room.text('notes').value(),
    }
  })
}

async function push(page: Page, item: string): Promise<void> {
  await page.evaluate(async (value) => {
    const doc = await window.synodTest.room!.doc<{ items: string[] }>('board', { initial: { items: [] } })
    doc.change((d) => void d.items.push(value))
  }, item)
}

/** Each page edits everything concurrently for `ms`, then reports what it did. */
async function editFor(page: Page, name: string, ms: number): Promise<{ items: number; votes: number; views: number; chars: number }> {
  return page.evaluate(
    async ({ name, ms }) => {
      const room = window.synodTest.room!
      const doc = await room.doc<{ items: string[] }>('board', { initial: { items: [] } })
      const done = { items: 0, votes: 0, views: 0, chars: 0 }
      const end = performance.now() + ms
      for (let i = 0; performance.now() < end; i++) {
        doc.change((d) => void d.items.push(`${name}-${i}`))
        done.items++
        if (i % 3 === 0) {
          room.counter('votes').decrement(1)
          done.votes--
        } else {
          room.counter('votes').increment(2)
          done.votes += 2
        }
        room.gcounter('views').increment(1)
        done.views++
        room.set<string>('tags').add(`${name}-${i % 4}`)
        if (i % 4 === 3) room.set<string>('tags').delete(`${name}-${(i + 1) % 4}`)
        room.register<string>('owner').set(`${name}-${i}`)
        const notes = room.text('notes')
        notes.insert(Math.floor(Math.random() * (notes.value().length + 1)), name[0] ?? '?')
        done.chars++
        await new Promise((resolve) => setTimeout(resolve, 40))
      }
      await room.flushed()
      return done
    },
    { name, ms },
  )
}

async function converged(pages: Page[]): Promise<State> {
  let first: State | undefined
  await expect
    .poll(
      async () => {
        const states = await Promise.all(pages.map(state))
        first = states[0]
        return states.every((s) => JSON.stringify(s) === JSON.stringify(states[0]))
      },
      { timeout: 60_000, intervals: [250] },
    )
    .toBe(true)
  return first!
}

test('documents and typed CRDTs converge, survive a real cut-off and a reload, and outlive the relay', async () => {
  test.setTimeout(240_000)
  const relay = await startRelayProcess()
  const browsers = await Promise.all([launchBrowser(), launchBrowser(), launchBrowser()])
  const names = ['ada', 'grace', 'linus']
  try {
    const pages = await Promise.all(browsers.map(async (b, i) => open(b, relay, names[i]!)))
    const ids = await Promise.all(pages.map(async (p) => p.evaluate(() => window.synodTest.recorded.peerId)))
    for (const page of pages) {
      await expect.poll(async () => page.evaluate(() => window.synodTest.members().filter((m) => m.direct).length), { timeout: 60_000 }).toBe(2)
    }

    // 1. Concurrent editing of one document and every typed CRDT.
    const did = await Promise.all(pages.map(async (p, i) => editFor(p, names[i]!, 3000)))
    const s1 = await converged(pages)
    expect(s1.items).toHaveLength(did.reduce((n, d) => n + d.items, 0))
    expect(s1.votes).toBe(did.reduce((n, d) => n + d.votes, 0))
    expect(s1.views).toBe(did.reduce((n, d) => n + d.views, 0))
    expect(s1.notes).toHaveLength(did.reduce((n, d) => n + d.chars, 0))
    expect(s1.owner).not.toBeNull()

    // 2. Cut the third browser off for real.
    const [p1, p2, p3] = pages as [Page, Page, Page]
    await p3.evaluate(async () => window.synodTest.peer!.goOffline())
    await expect.poll(async () => (await p1.evaluate(() => window.synodTest.members().map((m) => m.id))).includes(ids[2]!), { timeout: 30_000 }).toBe(false)
    await push(p3, 'offline-1')
    await p3.evaluate(async () => {
      window.synodTest.room!.counter('votes').increment(100)
      await window.synodTest.room!.flushed()
    })
    await push(p1, 'online-1')
    await expect.poll(async () => (await state(p2)).items.includes('online-1')).toBe(true)
    expect((await state(p2)).items).not.toContain('offline-1')
    expect((await state(p3)).items).not.toContain('online-1')

    // Nothing failed to reach storage (a failed write would be counted here).
    expect(await p3.evaluate(() => (window.synodTest.stats() as { metrics: { counters: Record<string, number> } }).metrics.counters['docs.storage_errors'] ?? 0)).toBe(0)
    // 3. Reload while cut off: everything is still there, from IndexedDB, with no network at all.
    await p3.goto(url(relay, 'linus', true))
    await p3.evaluate(() => window.synodTest.ready)
    const offline = await state(p3)
    expect(offline.items).toContain('offline-1')
    expect(offline.votes).toBe(s1.votes + 100)
    await push(p3, 'offline-2')
    await p3.evaluate(async () => window.synodTest.room!.flushed())

    // 4. Back online: it merges both ways.
    await p3.goto(url(relay, 'linus'))
    await p3.evaluate(() => window.synodTest.ready)
    const s2 = await converged(pages)
    for (const item of ['offline-1', 'offline-2', 'online-1']) expect(s2.items).toContain(item)
    expect(s2.votes).toBe(s1.votes + 100)

    // 5. A late joiner catches up.
    const late = await open(browsers[0], relay, 'late')
    await expect.poll(async () => JSON.stringify(await state(late)), { timeout: 60_000 }).toBe(JSON.stringify(s2))

    // 6. Without the relay, sync between the browsers goes on.
    await relay.kill('SIGKILL')
    await push(p1, 'after-relay')
    for (const page of [p2, p3, late]) {
      await expect.poll(async () => (await state(page)).items.includes('after-relay'), { timeout: 30_000 }).toBe(true)
    }
    for (const page of [p1, p2]) expect(await page.evaluate(() => window.synodTest.recorded.errors)).toEqual([])
  } finally {
    await Promise.all(browsers.map(async (b) => b.close()))
    await relay.kill('SIGKILL')
  }
})
