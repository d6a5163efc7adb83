// Things a test started (relays, peers) and must stop afterwards, newest first, whether the test passed or not.
import { afterEach } from 'vitest'
import { startRelay, type Relay } from '../../src/node/relay.js'

export interface Cleanups {
  /** Registers something to stop after the current test. */
  add(stop: () => Promise<void>): void
  /** A relay on a free port, stopped after the test. */
  relay(): Promise<Relay>
}

export function useCleanups(): Cleanups {
  const stops: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop()
  })
  return {
    add: (stop) => void stops.push(stop),
    async relay() {
      const r = await startRelay({ port: 0 })
      stops.push(async () => r.stop())
      return r
    },
  }
}
