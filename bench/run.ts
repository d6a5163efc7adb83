// `npm run bench [-- name…]`: runs every bench/*.bench.ts (or the named ones), writes bench/results/<name>.json and
// .md, and prints each table.
import { readdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const dir = import.meta.dirname
const wanted = process.argv.slice(2)
const benches = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .filter((name) => wanted.length === 0 || wanted.includes(name))

if (benches.length === 0) {
  console.error(`no benchmark matches ${wanted.join(', ')}`)
  process.exit(2)
}
for (const name of benches) {
  console.log(`\n## ${name}\n`)
  const mod = (await import(pathToFileURL(resolve(dir, `${name}.bench.ts`)).href)) as { run(): Promise<string> }
  console.log(await mod.run())
}
