// The relay as a user runs it: `synod relay` in its own process. It prints its addresses, serves them as JSON over
// HTTP, refuses bad flags with exit code 2, and stops cleanly on SIGINT and SIGTERM.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'

const BIN = 'bin/synod.js'

interface Running {
  lines: string[]
  exit: Promise<{ code: number | null; stderr: string }>
  kill(signal: NodeJS.Signals): void
  waitFor(prefix: string): Promise<string>
}

function run(args: string[]): Running {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  const waiters: Array<() => void> = []
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line)
    for (const w of waiters.splice(0)) w()
  })
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stderr })),
  )
  return {
    lines,
    exit,
    kill: (signal) => child.kill(signal),
    async waitFor(prefix) {
      for (;;) {
        const found = lines.find((l) => l.startsWith(prefix))
        if (found !== undefined) return found
        if (child.exitCode !== null) throw new Error(`relay exited: ${stderr}`)
        await new Promise<void>((resolve) => waiters.push(resolve))
      }
    },
  }
}

describe('synod relay (process)', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`prints its addresses, serves them over HTTP and stops on ${signal}`, async () => {
      const relay = run(['relay', '--port', '0'])
      const listening = (await relay.waitFor('listening ')).slice('listening '.length)
      const url = (await relay.waitFor('bootstrap ')).slice('bootstrap '.length)
      expect(listening).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\/12D3KooW\w+$/)
      const res = await fetch(url)
      expect(res.status).toBe(200)
      expect(res.headers.get('access-control-allow-origin')).toBe('*')
      const body = (await res.json()) as { peerId: string; multiaddrs: string[] }
      expect(body.multiaddrs).toEqual([listening])
      expect(listening.endsWith(`/p2p/${body.peerId}`)).toBe(true)
      expect((await fetch(url.replace('/bootstrap', '/nope'))).status).toBe(404)

      relay.kill(signal)
      const { code } = await relay.exit
      expect(code).toBe(0)
      expect(relay.lines.at(-1)).toBe('synod relay stopped')
    })
  }

  it('rejects an unknown flag with a usage message and exit code 2', async () => {
    const { code, stderr } = await run(['relay', '--prot', '4001']).exit
    expect(code).toBe(2)
    expect(stderr).toContain('--prot')
    expect(stderr).toMatch(/usage/i)
  })

  it('rejects a bad port with exit code 2', async () => {
    const { code, stderr } = await run(['relay', '--port', '70000']).exit
    expect(code).toBe(2)
    expect(stderr).toContain('--port')
  })
})
