/**
 * The `synod` command line: parses arguments, runs the relay until SIGINT or SIGTERM, and returns an exit code.
 * It writes only to the streams it is given (never `console`) and never calls `process.exit`: bin/synod.js does.
 */
import { parseCliArgs, USAGE, UsageError, type CliCommand, type RelayCliOptions } from './args.js'

/** Where the CLI writes; `process.stdout` and `process.stderr` fit, and so does a test's string collector. */
export interface TextSink {
  write(text: string): unknown
}

export type ShutdownSignal = 'SIGINT' | 'SIGTERM'

/** Where shutdown signals come from; `process` fits, and so does an `EventEmitter` in tests. */
export interface SignalSource {
  on(event: ShutdownSignal, listener: () => void): unknown
  off(event: ShutdownSignal, listener: () => void): unknown
}

/** What the CLI needs of a started relay (the shape `startRelay` in ./relay.ts returns). */
export interface RunningRelay {
  readonly peerId: string
  readonly multiaddrs: readonly string[]
  readonly bootstrapUrl: string
  stop(): Promise<void>
}

export type StartRelay = (
  options: RelayCliOptions & { signal?: AbortSignal; log?: (line: string) => void },
) => Promise<RunningRelay>

export interface CliIo {
  readonly stdout: TextSink
  readonly stderr: TextSink
  /** Source of SIGINT and SIGTERM. Default `process`. */
  readonly signals?: SignalSource
  /** Starts the relay. Default `startRelay` from ./relay.js, loaded only when needed so `synod help` never loads libp2p. */
  readonly startRelay?: StartRelay
}

/** Exit code after an interrupted start or a forced (second-signal) shutdown, as shells report SIGINT: 128 + 2. */
const EXIT_INTERRUPTED = 130
const EXIT_FAILURE = 1
const EXIT_USAGE = 2

/** Runs the CLI with `argv` (without the node binary and script path) and resolves to the process exit code. */
export async function main(
  argv: readonly string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let command: CliCommand
  try {
    command = parseCliArgs(argv)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    io.stderr.write(`synod: ${err.message}\n\n${USAGE}`)
    return EXIT_USAGE
  }
  switch (command.command) {
    case 'help':
      io.stdout.write(USAGE)
      return 0
    case 'relay':
      return runRelay(command.options, io)
  }
}

async function runRelay(options: RelayCliOptions, io: CliIo): Promise<number> {
  const signals = io.signals ?? process
  const shutdown = watchSignals(signals)
  try {
    // Prevents an unhandled rejection if a second signal wins the race while the start is still pending
    // (the process is about to exit with 130 then; the start's outcome no longer matters).
    const starting = startWith(io, options, shutdown.requested)
    starting.catch(() => undefined)

    let relay: RunningRelay
    try {
      const started = await Promise.race([starting, shutdown.forced])
      if (started === FORCED) return EXIT_INTERRUPTED
      relay = started
    } catch (err) {
      if (shutdown.requested.aborted) {
        io.stderr.write('synod: relay start interrupted\n')
        return EXIT_INTERRUPTED
      }
      io.stderr.write(`synod: could not start the relay: ${describe(err)}\n`)
      return EXIT_FAILURE
    }

    // A relay that finished starting after the first signal is stopped without being announced: a script waiting
    // for its `listening` lines would otherwise try to use a relay that is going away.
    const interruptedDuringStart = shutdown.requested.aborted
    if (!interruptedDuringStart) {
      io.stdout.write(
        [
          `synod relay ${relay.peerId}`,
          ...relay.multiaddrs.map((addr) => `listening ${addr}`),
          `bootstrap ${relay.bootstrapUrl}`,
        ].join('\n') + '\n',
      )
      await shutdown.first
    }

    const stopping = relay.stop().then(
      () => undefined,
      (err: unknown) => ({ err }),
    )
    const stopped = await Promise.race([stopping, shutdown.forced])
    if (stopped === FORCED) return EXIT_INTERRUPTED
    if (stopped !== undefined) {
      io.stderr.write(`synod: the relay did not stop cleanly: ${describe(stopped.err)}\n`)
      return EXIT_FAILURE
    }
    if (interruptedDuringStart) {
      io.stderr.write('synod: relay start interrupted\n')
      return EXIT_INTERRUPTED
    }
    io.stdout.write('synod relay stopped\n')
    return 0
  } finally {
    // Restores Node's default handling, so a signal after main() returns still ends the process.
    shutdown.dispose()
  }
}

async function startWith(io: CliIo, options: RelayCliOptions, signal: AbortSignal): Promise<RunningRelay> {
  const start = io.startRelay ?? (await import('./relay.js')).startRelay
  // Unless --quiet, the relay reports reservations and room registrations as they happen.
  const log = options.quiet ? undefined : (line: string): void => void io.stdout.write(`${line}\n`)
  return start({ ...options, signal, ...(log === undefined ? {} : { log }) })
}

const FORCED = Symbol('forced')

interface Shutdown {
  /** Aborted on the first signal; passed to the relay so it can give up a start in progress. */
  readonly requested: AbortSignal
  /** Resolves on the first signal. */
  readonly first: Promise<void>
  /** Resolves on the second signal: the user wants out now, whatever is still pending. */
  readonly forced: Promise<typeof FORCED>
  dispose(): void
}

function watchSignals(signals: SignalSource): Shutdown {
  const controller = new AbortController()
  // Promise.withResolvers is ES2024, past the tsconfig's lib.
  let resolveFirst = (): void => undefined
  let resolveForced = (_: typeof FORCED): void => undefined
  const first = new Promise<void>((resolve) => (resolveFirst = resolve))
  const forced = new Promise<typeof FORCED>((resolve) => (resolveForced = resolve))
  let count = 0
  const onSignal = (): void => {
    count++
    if (count === 1) {
      controller.abort()
      resolveFirst()
    } else {
      resolveForced(FORCED)
    }
  }
  signals.on('SIGINT', onSignal)
  signals.on('SIGTERM', onSignal)
  return {
    requested: controller.signal,
    first,
    forced,
    dispose() {
      signals.off('SIGINT', onSignal)
      signals.off('SIGTERM', onSignal)
    },
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
