// The demo's production build (`npm run demo:build`, minified, as a site would ship it): the size of what a first
// visit downloads before the board can start (HTML, CSS, the entry chunk and its static imports), and of what is
// loaded lazily afterwards (Automerge's WebAssembly, fetched the first time a document opens). Sizes are raw, gzip
// (level 9) and brotli (quality 11), the encodings a static host serves.
import { readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { build } from 'vite'
import { environment, resultsDir } from './support/report.js'

const root = resolve(import.meta.dirname, '..')
const outDir = resolve(root, 'bench/.build/demo')

interface ManifestChunk {
  file: string
  isEntry?: boolean
  imports?: string[]
  css?: string[]
}

interface FileSize {
  file: string
  part: 'initial' | 'lazy'
  raw: number
  gzip: number
  brotli: number
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : [path]
  })
}

/** The files a first visit loads: the HTML, the entry chunk, its static imports (transitively) and their CSS. */
function initialFiles(manifest: Record<string, ManifestChunk>): Set<string> {
  const initial = new Set<string>()
  const visit = (key: string): void => {
    const chunk = manifest[key]
    if (chunk === undefined || initial.has(chunk.file)) return
    initial.add(chunk.file)
    for (const css of chunk.css ?? []) initial.add(css)
    for (const imported of chunk.imports ?? []) visit(imported)
  }
  for (const [key, chunk] of Object.entries(manifest)) if (chunk.isEntry === true) visit(key)
  return initial
}

const kb = (n: number): string => (n / 1024).toFixed(1)

export async function run(): Promise<string> {
  await build({
    root,
    configFile: resolve(root, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, manifest: true },
  })
  const manifest = JSON.parse(readFileSync(join(outDir, '.vite/manifest.json'), 'utf8')) as Record<string, ManifestChunk>
  const initial = initialFiles(manifest)
  const sizes: FileSize[] = files(outDir)
    .filter((path) => !path.includes(`${join(outDir, '.vite')}`))
    .map((path): FileSize => {
      const file = relative(outDir, path)
      const body = readFileSync(path)
      return {
        file,
        part: file.endsWith('.html') || initial.has(file) ? 'initial' : 'lazy',
        raw: body.length,
        gzip: gzipSync(body, { level: 9 }).length,
        brotli: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
      }
    })
    .sort((a, b) => (a.part === b.part ? b.raw - a.raw : a.part === 'initial' ? -1 : 1))
  const total = (part: FileSize['part']) => {
    const of = sizes.filter((s) => s.part === part)
    return { raw: of.reduce((n, s) => n + s.raw, 0), gzip: of.reduce((n, s) => n + s.gzip, 0), brotli: of.reduce((n, s) => n + s.brotli, 0) }
  }
  const totals = { initial: total('initial'), lazy: total('lazy') }
  const lines = [
    '| file | part | raw KiB | gzip KiB | brotli KiB |',
    '|---|---|---|---|---|',
    ...sizes.map((s) => `| ${s.file} | ${s.part} | ${kb(s.raw)} | ${kb(s.gzip)} | ${kb(s.brotli)} |`),
    ...(['initial', 'lazy'] as const).map((p) => `| **total ${p}** | | ${kb(totals[p].raw)} | ${kb(totals[p].gzip)} | ${kb(totals[p].brotli)} |`),
  ]
  const table = lines.join('\n')
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(resolve(resultsDir, 'demo-size.json'), `${JSON.stringify({ name: 'demo-size', environment: environment(), totals, files: sizes }, null, 2)}\n`)
  writeFileSync(resolve(resultsDir, 'demo-size.md'), `# demo-size\n\nThe demo's production build (bytes in KiB).\n\n${table}\n`)
  return table
}
