import { EventEmitter } from 'node:events'

import { describe, expect, it, vi } from 'vitest'

import { USAGE } from '../../../src/node/args.js'
import { main, type RunningRelay, type ShutdownSignal, type SignalSource, type StartRelay } from '../../../src/node/cli.js'

class Collector {
  text = ''
  write(chunk: string): boolean {
    this.text += chunk
    return true
  }
}

function fakeIo(extra: { signals?: SignalSource; startRelay?: StartRelay } = {}) {
  return { stdout: new Collector(), stderr: new Collector(), ...extra }
}

/** A signal source that records listeners, so a test can wait until main() is listening before signalling. */
class FakeSignals extends EventEmitter implements SignalSource {
  override on(event: ShutdownSignal, listener: () => void): this {
    return super.on(event, listener)
  }
  override off(event: ShutdownSignal, listener: () => void): this {
    return super.off(event, listener)
  }
  send(signal: ShutdownSignal): void {
    this.emit(signal)
  }
}

function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const RELAY: Omit<RunningRelay, 'stop'> = {
  peerId: '12D3KooWTestPeer',
  multiaddrs: ['/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooWTestPeer', '/ip4/127.0.0.1/tcp/4001/ws'],
  bootstrapUrl: 'http://127.0.0.1:4002/bootstrap.json',
}

describe('main: usage and help', () => {
  it('prints the error and the usage to stderr and returns 2 on a usage error', async () => {
    const io = fakeIo()
    expect(await main(['relay', '--port', 'abc'], io)).toBe(2)
    expect(io.stderr.text).toBe(`synod: --port must be an integer from 0 to 65535, got 'abc'\n\n${USAGE}`)
    expect(io.stdout.text).toBe('')
  })

  it('returns 2 on an unknown command', async () => {
    const io = fakeIo()
    expect(await main(['launch'], io)).toBe(2)
    expect(io.stderr.text).toContain("synod: unknown command 'launch'")
    expect(io.stderr.text).toContain(USAGE)
  })

  it.each([[[]], [['help']], [['--help']], [['-h']]])('prints the usage to stdout and returns 0 for %j', async (argv) => {
    const io = fakeIo()
    expect(await main(argv, io)).toBe(0)
    expect(io.stdout.text).toBe(USAGE)
    expect(io.stderr.text).toBe('')
  })
})

describe('main: relay lifecycle (with a fake relay)', () => {
  it('passes the options, prints the startup lines, stops on SIGTERM and returns 0', async () => {
    const signals = new FakeSignals()
    const stop = vi.fn(() => Promise.resolve())
    const startRelay = vi.fn<StartRelay>(() => Promise.resolve({ ...RELAY, stop }))
    const io = fakeIo({ signals, startRelay })

    const exit = main(['relay', '--port', '0', '--quiet'], io)
    await vi.waitFor(() => expect(io.stdout.text).toContain('bootstrap '))
    expect(io.stdout.text).toBe(
      [
        'synod relay 12D3KooWTestPeer',
        'listening /ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooWTestPeer',
        'listening /ip4/127.0.0.1/tcp/4001/ws',
        'bootstrap http://127.0.0.1:4002/bootstrap.json',
        '',
      ].join('\n'),
    )
    expect(startRelay).toHaveBeenCalledWith(expect.objectContaining({ port: 0, httpPort: 0, quiet: true }))
    expect(stop).not.toHaveBeenCalled()

    signals.send('SIGTERM')
    expect(await exit).toBe(0)
    expect(stop).toHaveBeenCalledOnce()
    expect(io.stdout.text.endsWith('synod relay stopped\n')).toBe(true)
    expect(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM')).toBe(0)
  })

  it('hands the relay a logger writing to stdout unless --quiet', async () => {
    for (const quiet of [false, true]) {
      const signals = new FakeSignals()
      let log: ((line: string) => void) | undefined
      const startRelay: StartRelay = (options) => {
        log = options.log
        return Promise.resolve({ ...RELAY, stop: () => Promise.resolve() })
      }
      const io = fakeIo({ signals, startRelay })
      const exit = main(['relay', '--port', '0', ...(quiet ? ['--quiet'] : [])], io)
      await vi.waitFor(() => expect(io.stdout.text).toContain('bootstrap '))
      expect(log === undefined).toBe(quiet)
      log?.('reservation /p2p/x')
      expect(io.stdout.text.includes('reservation /p2p/x\n')).toBe(!quiet)
      signals.send('SIGINT')
      expect(await exit).toBe(0)
    }
  })

  it('returns 130 at once on a second signal while stop() hangs', async () => {
    const signals = new FakeSignals()
    const stopping = deferred<undefined>()
    const stop = vi.fn(() => stopping.promise)
    const io = fakeIo({ signals, startRelay: () => Promise.resolve({ ...RELAY, stop }) })

    const exit = main(['relay'], io)
    await vi.waitFor(() => expect(io.stdout.text).toContain('bootstrap '))
    signals.send('SIGINT')
    await vi.waitFor(() => expect(stop).toHaveBeenCalledOnce())
    signals.send('SIGINT')
    expect(await exit).toBe(130)
    expect(io.stdout.text).not.toContain('stopped')
    expect(signals.listenerCount('SIGINT')).toBe(0)
  })

  it('aborts a start in progress on the first signal and returns 130', async () => {
    const signals = new FakeSignals()
    let signal: AbortSignal | undefined
    const startRelay: StartRelay = (options) => {
      signal = options.signal
      return new Promise((_, reject) => {
        options.signal?.addEventListener('abort', () => reject(new Error('aborted')))
      })
    }
    const io = fakeIo({ signals, startRelay })

    const exit = main(['relay'], io)
    await vi.waitFor(() => expect(signal).toBeDefined())
    signals.send('SIGINT')
    expect(await exit).toBe(130)
    expect(signal?.aborted).toBe(true)
    expect(io.stderr.text).toBe('synod: relay start interrupted\n')
    expect(io.stdout.text).toBe('')
  })

  it('stops without announcing a relay that finished starting after the first signal', async () => {
    const signals = new FakeSignals()
    const started = deferred<RunningRelay>()
    const stop = vi.fn(() => Promise.resolve())
    const io = fakeIo({ signals, startRelay: () => started.promise })

    const exit = main(['relay'], io)
    await vi.waitFor(() => expect(signals.listenerCount('SIGINT')).toBe(1))
    signals.send('SIGINT')
    started.resolve({ ...RELAY, stop })
    expect(await exit).toBe(130)
    expect(stop).toHaveBeenCalledOnce()
    expect(io.stdout.text).toBe('')
  })

  it('reports a failed start and returns 1', async () => {
    const io = fakeIo({
      signals: new FakeSignals(),
      startRelay: () => Promise.reject(new Error('listen EADDRINUSE: address already in use 127.0.0.1:4001')),
    })
    expect(await main(['relay'], io)).toBe(1)
    expect(io.stderr.text).toBe(
      'synod: could not start the relay: listen EADDRINUSE: address already in use 127.0.0.1:4001\n',
    )
  })

  it('reports a failed stop and returns 1', async () => {
    const signals = new FakeSignals()
    const stop = vi.fn(() => Promise.reject(new Error('socket hang up')))
    const io = fakeIo({ signals, startRelay: () => Promise.resolve({ ...RELAY, stop }) })

    const exit = main(['relay'], io)
    await vi.waitFor(() => expect(io.stdout.text).toContain('bootstrap '))
    signals.send('SIGTERM')
    expect(await exit).toBe(1)
    expect(io.stderr.text).toBe('synod: the relay did not stop cleanly: socket hang up\n')
  })
})
