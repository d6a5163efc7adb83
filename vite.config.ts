import { resolve } from 'node:path'
import { defineConfig } from 'vite'

// One dev server for the demo (/demo/) and the end-to-end test pages (/e2e/pages/). The pages import the SDK from
// src/ directly, so edits show up without a build. SYNOD_BOOTSTRAP_URL (set by `npm run demo`) tells the demo where
// the relay serves its addresses.
export default defineConfig({
  root: resolve(import.meta.dirname),
  publicDir: 'public',
  clearScreen: false,
  define: {
    __SYNOD_BOOTSTRAP_URL__: JSON.stringify(process.env.SYNOD_BOOTSTRAP_URL ?? ''),
  },
  server: {
    host: '127.0.0.1',
    strictPort: false,
    watch: { ignored: ['**/test-results/**', '**/bench/results/**', '**/e2e/artifacts/**'] },
  },
  build: {
    target: 'es2022',
    outDir: 'demo-dist',
    rollupOptions: {
      input: { demo: resolve(import.meta.dirname, 'demo/index.html') },
    },
  },
})
