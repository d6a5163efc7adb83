// Starts the real relay as a separate process (`node bin/synod.js relay`), as a user would, and reads the addresses it
// prints. Killing the process is how tests take the relay away.
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

export interface RelayProcess {
  readonly peerId: string
  readonly multiaddrs: string[]
  readonly bootstrapUrl: string
  readonly process: ChildProcess
  kill(signal?: NodeJS.Signals): Promise<number | null>
}

export async function startRelayProcess(args: string[] = ['--port', '0']): Promise<RelayProcess> {
  const child = spawn(process.execPath, ['bin/synod.js', 'relay', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const stderr: string[] = []
  child.stderr.on('data', (d: Buffer) => stderr.push(d.toString()))
  const lines = createInterface({ input: child.stdout })
  let peerId = ''
  let bootstrapUrl = ''
  const multiaddrs: string[] = []
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay did not start: ${stderr.join('')}`)), 30_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`relay exited with ${code}: ${stderr.join('')}`))
    })
    lines.on('line', (line) => {
      const [word = '', value = '', rest] = line.split(' ')
      if (word === 'synod' && value === 'relay' && rest !== undefined && rest !== 'stopped') peerId = rest
      else if (word === 'listening') multiaddrs.push(value)
      else if (word === 'bootstrap') {
        bootstrapUrl = value
        clearTimeout(timer)
        resolve()
      }
    })
  })
  return {
    peerId,
    multiaddrs,
    bootstrapUrl,
    process: child,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      // A process killed by a signal has a signalCode and no exitCode.
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
      child.kill(signal)
      return exited
    },
  }
}
