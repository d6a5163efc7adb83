// The IndexedDB adapter in real Chromium: it passes the same compliance suite as the memory adapter, what it saves
// survives a reload and a browser restart, a write over the (DevTools-lowered) quota fails whole with
// StorageQuotaError, and the Storage API calls work.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test, type Browser, type Page } from '@playwright/test'
import { launchBrowser, launchPersistent } from './support/browsers.js'

let browser: Browser

test.beforeAll(async () => {
  browser = await launchBrowser()
})

test.afterAll(async () => {
  await browser.close()
})

async function openStoragePage(page: Page, query = ''): Promise<Page> {
  page.on('pageerror', (err) => console.error('[storage page] page error', err))
  await page.goto(`/e2e/pages/storage.html${query}`)
  await page.waitForFunction(() => window.storageTest !== undefined)
  return page
}

test('IndexedDB passes every storage compliance check', async () => {
  const page = await openStoragePage(await browser.newPage(), '?suite')
  const names = await page.evaluate(() => window.storageTest.checkNames)
  const results = await page.evaluate(() => window.storageResults)
  expect(names.length).toBeGreaterThan(0)
  expect(results.map((r) => r.name)).toEqual(names)
  expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error ?? '?'}`)).toEqual([])
  await page.close()
})

test('saved data survives a page reload', async () => {
  const page = await openStoragePage(await browser.newPage())
  // Neither awaited one by one nor closed before the reload: what a page does right before the user reloads it.
  const saved = await page.evaluate(async () =>
    Promise.all([
      window.storageTest.save('reload', ['doc', 'a'], [1, 2, 3, 0, 255]),
      window.storageTest.batch('reload', [
        { type: 'save', key: ['doc', 'b'], data: { size: 100_000, byte: 7 } },
        { type: 'save', key: ['doc', 'c'], data: [] },
      ]),
    ]),
  )
  expect(saved.every((o) => o.ok)).toBe(true)
  await page.reload()
  await page.waitForFunction(() => window.storageTest !== undefined)
  expect(await page.evaluate(() => window.storageTest.load('reload', ['doc', 'a']))).toEqual({
    ok: true,
    value: [1, 2, 3, 0, 255],
  })
  expect(await page.evaluate(() => window.storageTest.keys('reload', ['doc']))).toEqual({
    ok: true,
    value: [
      ['doc', 'a'],
      ['doc', 'b'],
      ['doc', 'c'],
    ],
  })
  const b = await page.evaluate(async () => {
    const outcome = await window.storageTest.load('reload', ['doc', 'b'])
    if (!outcome.ok || outcome.value === null) return outcome
    return { length: outcome.value.length, all7: outcome.value.every((x) => x === 7) }
  })
  expect(b).toEqual({ length: 100_000, all7: true })
  await page.close()
})

test('saved data survives closing and relaunching the browser', async () => {
  const profile = await mkdtemp(join(tmpdir(), 'synod-storage-'))
  try {
    const first = await launchPersistent(profile)
    const page1 = await openStoragePage(first.pages()[0] ?? (await first.newPage()))
    expect(await page1.evaluate(() => window.storageTest.save('restart', ['k'], [4, 2]))).toEqual({ ok: true })
    await first.close()

    const second = await launchPersistent(profile)
    const page2 = await openStoragePage(second.pages()[0] ?? (await second.newPage()))
    expect(await page2.evaluate(() => window.storageTest.load('restart', ['k']))).toEqual({ ok: true, value: [4, 2] })
    await second.close()
  } finally {
    await rm(profile, { recursive: true, force: true })
  }
})

test('a write over the quota rejects with StorageQuotaError and changes nothing', async () => {
  // A profile on disk: Chromium keeps an incognito context's IndexedDB in memory and ignores the quota override there.
  const profile = await mkdtemp(join(tmpdir(), 'synod-storage-'))
  const context = await launchPersistent(profile)
  try {
    const page = await openStoragePage(context.pages()[0] ?? (await context.newPage()))
    // Chromium's quota is a share of the disk; DevTools can lower it for this origin so the test can reach it. It
    // must come before the page first uses IndexedDB: once the origin's storage is open (in this Chromium at least),
    // later overrides are reported by DevTools but not enforced.
    const cdp = await context.newCDPSession(page)
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(page.url()).origin, quotaSize: 1024 * 1024 })
    expect(await page.evaluate(() => window.storageTest.save('quota', ['small'], [1, 2, 3]))).toEqual({ ok: true })

    const tooBig = { size: 4 * 1024 * 1024, random: true } as const
    const save = await page.evaluate((data) => window.storageTest.save('quota', ['big'], data), tooBig)
    expect(save).toMatchObject({ ok: false, name: 'StorageQuotaError' })
    // Compaction's shape: the removal alone would succeed, but the batch fails whole.
    const batch = await page.evaluate(
      (data) =>
        window.storageTest.batch('quota', [
          { type: 'remove', key: ['small'] },
          { type: 'save', key: ['snapshot'], data },
        ]),
      tooBig,
    )
    expect(batch).toMatchObject({ ok: false, name: 'StorageQuotaError' })
    expect(await page.evaluate(() => window.storageTest.keys('quota', []))).toEqual({ ok: true, value: [['small']] })
    expect(await page.evaluate(() => window.storageTest.load('quota', ['small']))).toEqual({
      ok: true,
      value: [1, 2, 3],
    })
    // A write that fits still works after the failures.
    expect(await page.evaluate(() => window.storageTest.save('quota', ['next'], [9]))).toEqual({ ok: true })
  } finally {
    await context.close()
    await rm(profile, { recursive: true, force: true })
  }
})

test('requestPersistence and estimate can be called', async () => {
  const page = await openStoragePage(await browser.newPage())
  const persisted = await page.evaluate(() => window.storageTest.requestPersistence())
  expect(persisted.ok).toBe(true)
  expect(persisted.ok && typeof persisted.value).toBe('boolean')
  expect(await page.evaluate(() => window.storageTest.save('estimate', ['k'], { size: 50_000, byte: 3 }))).toEqual({
    ok: true,
  })
  const estimate = await page.evaluate(() => window.storageTest.estimate('estimate'))
  expect(estimate).toMatchObject({ ok: true, value: { usage: expect.any(Number), quota: expect.any(Number) } })
  if (estimate.ok && estimate.value !== undefined) {
    expect(estimate.value.usage).toBeGreaterThan(0)
    expect(estimate.value.quota).toBeGreaterThan(estimate.value.usage)
  }
  await page.close()
})
