import { defineConfig } from '@playwright/test'

// End-to-end tests run real Chromium processes against a real relay process and the Vite dev server. Chromium is
// Debian's (/usr/bin/chromium) unless SYNOD_CHROMIUM names another; see e2e/support/browsers.ts.
const port = Number(process.env.SYNOD_E2E_PORT ?? 5199)

export default defineConfig({
  testDir: 'e2e',
  testMatch: '*.spec.ts',
  // Each test starts several browsers; on 2 cores they must not run side by side.
  workers: 1,
  fullyParallel: false,
  timeout: 180_000,
  expect: { timeout: 30_000 },
  retries: 0,
  reporter: process.env.CI === undefined ? 'list' : [['list'], ['html', { open: 'never' }]],
  outputDir: 'test-results',
  use: { baseURL: `http://127.0.0.1:${port}` },
  webServer: {
    command: `node node_modules/vite/bin/vite.js --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}/e2e/pages/peer.html`,
    reuseExistingServer: process.env.CI === undefined,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
})
