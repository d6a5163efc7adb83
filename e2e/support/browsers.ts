// Launches Chromium for the tests: Debian's build by default (Playwright cannot download its own here), or the one
// SYNOD_CHROMIUM names, or Playwright's bundled browser where neither exists.
import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext } from '@playwright/test'

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Keep timers and WebRTC running at full speed in pages that are not focused.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
]

export function chromiumPath(): string | undefined {
  const configured = process.env.SYNOD_CHROMIUM
  if (configured !== undefined && configured !== '') return configured
  return existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined
}

export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath()
  return chromium.launch({
    headless: true,
    args: CHROMIUM_ARGS,
    ...(executablePath === undefined ? {} : { executablePath }),
  })
}

/** A persistent context keeps IndexedDB across reloads and restarts of the same browser profile directory. */
export async function launchPersistent(userDataDir: string): Promise<BrowserContext> {
  const executablePath = chromiumPath()
  return chromium.launchPersistentContext(userDataDir, {
    headless: true,
    args: CHROMIUM_ARGS,
    ...(executablePath === undefined ? {} : { executablePath }),
  })
}
