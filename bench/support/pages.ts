// Builds the end-to-end test page for production (as an app would ship it: one minified bundle) and serves it, so
// that benchmarks measure Synod rather than the dev server's unbundled module loading.
import { resolve } from 'node:path'
import { build, preview, type PreviewServer } from 'vite'

const root = resolve(import.meta.dirname, '../..')
const outDir = resolve(root, 'bench/.build')

export interface ServedPages {
  readonly baseUrl: string
  close(): Promise<void>
}

export async function servePeerPage(): Promise<ServedPages> {
  await build({
    root,
    configFile: resolve(root, 'vite.config.ts'),
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: true,
      rollupOptions: { input: { peer: resolve(root, 'e2e/pages/peer.html') } },
    },
  })
  const server: PreviewServer = await preview({
    root,
    configFile: resolve(root, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false },
  })
  const url = server.resolvedUrls?.local[0]
  if (url === undefined) throw new Error('preview server has no URL')
  return {
    baseUrl: url.replace(/\/$/, ''),
    async close() {
      await server.close()
    },
  }
}
