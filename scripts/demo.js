// `npm run demo`: starts a relay and the Vite dev server together and prints the URL to open (in several tabs).
// Flags: --port <relay ws port> (default 4001, falls back to a free port when taken), --web-port <port> (default 5173).
import { startRelay } from '../dist/node/index.js'
import { createServer } from 'vite'

function flag(name, fallback) {
  const i = process.argv.indexOf(name)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}

async function relayOn(port) {
  try {
    return await startRelay({ port })
  } catch (err) {
    if (err?.code !== 'EADDRINUSE' && !String(err).includes('EADDRINUSE')) throw err
    console.log(`port ${port} is taken; starting the relay on a free port`)
    return startRelay({ port: 0 })
  }
}

const relay = await relayOn(flag('--port', 4001))
process.env.SYNOD_BOOTSTRAP_URL = relay.bootstrapUrl
const vite = await createServer({ server: { port: flag('--web-port', 5173) } })
await vite.listen()
const base = vite.resolvedUrls?.local[0] ?? 'http://127.0.0.1:5173/'
console.log('')
console.log(`  relay     ${relay.multiaddrs.join('\n            ')}`)
console.log(`  bootstrap ${relay.bootstrapUrl}`)
console.log('')
console.log(`  open      ${base}demo/?room=lobby   (in several tabs; the room is in the URL)`)
console.log('')

let stopping = false
async function stop() {
  if (stopping) process.exit(130)
  stopping = true
  await vite.close()
  await relay.stop()
  process.exit(0)
}
process.on('SIGINT', () => void stop())
process.on('SIGTERM', () => void stop())
