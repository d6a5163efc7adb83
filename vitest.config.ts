import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Unit tests (test/unit/**/*.test.ts) and simulations (test/sim/**/*.sim.test.ts); Playwright runs e2e/.
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'e2e/**'],
    environment: 'node',
    testTimeout: 30_000,
  },
})
