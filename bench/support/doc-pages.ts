// Helpers for benchmarks that drive several test pages (e2e/pages/peer.html), each in its own browser context: open
// them, wait for a full mesh or for a document to be in sync, and close everything whatever happens.
import type { Browser, Page } from '@playwright/test'
import type { RelayProcess } from '../../e2e/support/relay-process.js'

export const TIMEOUT_MS = 60_000

/** Everything the bench opened, closed in reverse order whatever happens. */
export class Cleanup {
  private readonly steps: Array<[string, () => Promise<unknown>]> = []
  add(what: string, step: () => Promise<unknown>): void {
    this.steps.push([what, step])
  }
  async run(): Promise<void> {
    for (const [what, step] of this.steps.splice(0).reverse()) {
      await step().catch((err: unknown) => console.warn(`cleanup: ${what} failed: ${String(err)}`))
    }
  }
}

export interface Env {
  readonly browser: Browser
  readonly base: string
  readonly relay: RelayProcess
  readonly pageErrors: string[]
}

export function pageUrl(env: Env, params: Record<string, string>): string {
  return `${env.base}/e2e/pages/peer.html?${new URLSearchParams({ bootstrap: env.relay.bootstrapUrl, ...params }).toString()}`
}

export async function openPage(env: Env, url: string): Promise<Page> {
  const context = await env.browser.newContext()
  const page = await context.newPage()
  page.on('pageerror', (err) => env.pageErrors.push(String(err)))
  await page.goto(url, { waitUntil: 'commit' })
  return page
}

export async function closeAll(pages: readonly Page[]): Promise<void> {
  await Promise.all(pages.map(async (p) => p.context().close()))
}

export async function joined(page: Page): Promise<void> {
  await page.waitForFunction(() => window.synodTest?.room !== undefined, undefined, { timeout: TIMEOUT_MS, polling: 10 })
}

/** Every page holds a direct connection to every other. */
export async function fullMesh(pages: readonly Page[]): Promise<void> {
  await Promise.all(
    pages.map(async (p) =>
      p.waitForFunction((n) => window.synodTest?.members().filter((m) => m.direct).length === n, pages.length - 1, {
        timeout: TIMEOUT_MS,
        polling: 50,
      }),
    ),
  )
}

/** Every page reports `name` in sync with every peer (or we give up after the timeout and say so). */
export async function synced(pages: readonly Page[], name: string): Promise<void> {
  await Promise.all(
    pages.map(async (p) =>
      p
        .waitForFunction((doc) => window.synodTest.room?.stats().docs[doc]?.status === 'synced', name, { timeout: 10_000, polling: 20 })
        .catch(async () => {
          const state = await p.evaluate(() => {
            const stats = window.synodTest.room?.stats()
            return { docs: stats?.docs, members: window.synodTest.members(), counters: stats?.metrics.counters }
          })
          const all = await Promise.all(pages.map(async (q) => q.evaluate(() => [window.synodTest.recorded.peerId, window.synodTest.room?.stats().metrics.counters])))
          console.warn(`'${name}' did not report synced on a page: ${JSON.stringify(state)}\nall: ${JSON.stringify(all)}`)
        }),
    ),
  )
}
