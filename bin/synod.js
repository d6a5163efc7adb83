#!/usr/bin/env node
// Thin shim: the CLI lives in dist/node/cli.js (compiled from src/node/cli.ts) and returns an exit code.
import { existsSync } from 'node:fs'

const [major = 0] = process.versions.node.split('.').map(Number)
if (major < 22) {
  // libp2p 3 needs Node 22 (Promise.withResolvers, a global WebSocket); fail clearly instead of deep inside it.
  process.stderr.write(`synod: Node 22 or later is required, this is Node ${process.versions.node}\n`)
  process.exit(1)
}

const cli = new URL('../dist/node/cli.js', import.meta.url)
if (!existsSync(cli)) {
  process.stderr.write(`synod: ${cli.pathname} is missing; build the package first with \`npm run build\`\n`)
  process.exit(1)
}

const { main } = await import(cli.href)
const code = await main(process.argv.slice(2))
process.exitCode = code
// 130 means a second signal asked to quit during shutdown: leave now, even with sockets still open.
if (code === 130) process.exit(code)
