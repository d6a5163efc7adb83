/**
 * Argument parsing for the `synod` command line. Pure: no I/O, no process globals, so every path is unit-tested.
 * It may import only Node built-ins; the CLI (cli.ts) turns a `UsageError` into exit code 2.
 */
import { isIP } from 'node:net'

/** Options of `synod relay`, after defaults are applied. */
export interface RelayCliOptions {
  /** Interface to listen on (IP address or hostname). Default `127.0.0.1`. */
  host: string
  /** WebSockets port; 0 picks any free port. Default 4001. */
  port: number
  /** Port of the HTTP server serving the bootstrap JSON; 0 picks any free port. Default `port + 1`, or 0 when `port` is 0. */
  httpPort: number
  /** Multiaddrs to advertise instead of the listen addresses (e.g. behind a proxy). Default none. */
  announce: string[]
  /** Most circuit-relay reservations held at once. Default 128. */
  maxReservations: number
  /** How long a reservation lasts, in milliseconds. Default 2 hours. */
  reservationTtlMs: number
  /** Most open connections. Default 1024. */
  maxConnections: number
  /** Log nothing beyond the startup and shutdown lines. Default false. */
  quiet: boolean
}

export type CliCommand =
  | { readonly command: 'help' }
  | { readonly command: 'relay'; readonly options: RelayCliOptions }

/** Bad command-line input. CLI-only (not a library error, so not in src/errors.ts): the CLI prints it with the usage. */
export class UsageError extends Error {
  override name = 'UsageError'
}

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE

const DEFAULT_HOST = '127.0.0.1'
const DEFAULT_PORT = 4001
const DEFAULT_MAX_RESERVATIONS = 128
const DEFAULT_RESERVATION_TTL_MS = 2 * HOUR
const DEFAULT_MAX_CONNECTIONS = 1024

const MAX_PORT = 65_535
const MAX_RESERVATIONS = 100_000
const MAX_CONNECTIONS = 1_000_000
const MIN_TTL_MS = SECOND
const MAX_TTL_MS = 24 * HOUR

export const USAGE = `Usage: synod <command> [options]

Commands:
  relay                       run a relay (WebSockets + circuit relay v2) that browsers use to find each other
  help                        print this text (also --help, -h)

Options of relay (--flag value or --flag=value):
  --host <ip|hostname>        interface to listen on (default ${DEFAULT_HOST})
  --port <0-65535>            WebSockets port, 0 for any free port (default ${DEFAULT_PORT})
  --http-port <0-65535>       HTTP port serving the bootstrap JSON, 0 for any free port
                              (default --port + 1, or 0 when --port is 0)
  --announce <multiaddr>      address to advertise instead of the listen ones, e.g. behind a proxy;
                              repeat for several (default the listen addresses)
  --max-reservations <n>      most relay reservations at once, 1-${MAX_RESERVATIONS} (default ${DEFAULT_MAX_RESERVATIONS})
  --reservation-ttl <time>    reservation lifetime: milliseconds or a number with s, m or h, e.g. 30s, 2h;
                              from 1s to 24h (default 2h)
  --max-connections <n>       most open connections, 1-${MAX_CONNECTIONS} (default ${DEFAULT_MAX_CONNECTIONS})
  --quiet                     log nothing beyond the startup and shutdown lines (default off)

On start the relay prints 'synod relay <peerId>', one 'listening <multiaddr>' line per address and
'bootstrap <url>'; it stops on SIGINT or SIGTERM.
`

type ValueFlag = 'host' | 'port' | 'http-port' | 'announce' | 'max-reservations' | 'reservation-ttl' | 'max-connections'
type BooleanFlag = 'quiet'

const VALUE_FLAGS: ReadonlySet<string> = new Set<ValueFlag>([
  'host',
  'port',
  'http-port',
  'announce',
  'max-reservations',
  'reservation-ttl',
  'max-connections',
])
const BOOLEAN_FLAGS: ReadonlySet<string> = new Set<BooleanFlag>(['quiet'])
const REPEATABLE_FLAGS: ReadonlySet<string> = new Set<ValueFlag>(['announce'])
const HELP_FLAGS: ReadonlySet<string> = new Set(['--help', '-h'])

/** Parses `argv` (without the node binary and script path) into a command. Throws `UsageError` on bad input. */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  const [command, ...rest] = argv
  if (command === undefined || command === 'help' || HELP_FLAGS.has(command)) return { command: 'help' }
  if (command === 'relay') {
    // `synod relay --help` asks for help, whatever else is on the line.
    if (rest.some((arg) => HELP_FLAGS.has(arg))) return { command: 'help' }
    return { command: 'relay', options: parseRelayOptions(rest) }
  }
  if (command.startsWith('-')) throw new UsageError(`unknown option '${command}' (expected a command first)`)
  throw new UsageError(`unknown command '${command}'`)
}

function parseRelayOptions(args: readonly string[]): RelayCliOptions {
  const values = collectFlags(args)
  const single = (flag: ValueFlag): string | undefined => values.get(flag)?.[0]

  const port = parseInteger('port', single('port'), 0, MAX_PORT) ?? DEFAULT_PORT
  const httpPort = parseInteger('http-port', single('http-port'), 0, MAX_PORT) ?? defaultHttpPort(port)
  if (httpPort !== 0 && httpPort === port) {
    throw new UsageError(`--http-port must differ from --port, both are ${port}`)
  }
  return {
    host: parseHost(single('host')) ?? DEFAULT_HOST,
    port,
    httpPort,
    announce: (values.get('announce') ?? []).map(parseAnnounce),
    maxReservations:
      parseInteger('max-reservations', single('max-reservations'), 1, MAX_RESERVATIONS) ?? DEFAULT_MAX_RESERVATIONS,
    reservationTtlMs: parseTtl(single('reservation-ttl')) ?? DEFAULT_RESERVATION_TTL_MS,
    maxConnections:
      parseInteger('max-connections', single('max-connections'), 1, MAX_CONNECTIONS) ?? DEFAULT_MAX_CONNECTIONS,
    quiet: values.has('quiet'),
  }
}

/** Groups raw flag values by flag name; validates names, presence of values and repetition, not the values. */
function collectFlags(args: readonly string[]): Map<string, string[]> {
  const values = new Map<string, string[]>()
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ''
    if (!arg.startsWith('--') || arg === '--') throw new UsageError(`unexpected argument '${arg}'`)
    const eq = arg.indexOf('=')
    const name = arg.slice(2, eq === -1 ? undefined : eq)
    const inline = eq === -1 ? undefined : arg.slice(eq + 1)

    let value: string
    if (BOOLEAN_FLAGS.has(name)) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value, got '${arg}'`)
      value = ''
    } else if (VALUE_FLAGS.has(name)) {
      const next = args[i + 1]
      if (inline !== undefined) {
        value = inline
      } else if (next === undefined || next.startsWith('--')) {
        // A following `--flag` is almost always a forgotten value, not a value that starts with dashes.
        throw new UsageError(`--${name} needs a value`)
      } else {
        value = next
        i++
      }
    } else {
      throw new UsageError(`unknown option '--${name}'`)
    }

    const seen = values.get(name)
    if (seen === undefined) {
      values.set(name, [value])
    } else if (REPEATABLE_FLAGS.has(name)) {
      seen.push(value)
    } else {
      // Refuse rather than let the last one win: a silently ignored port is a confusing way to fail.
      throw new UsageError(`--${name} given more than once`)
    }
  }
  return values
}

function defaultHttpPort(port: number): number {
  if (port === 0) return 0
  if (port === MAX_PORT) {
    throw new UsageError(`--http-port defaults to --port + 1, out of range for --port ${MAX_PORT}; pass --http-port`)
  }
  return port + 1
}

function parseInteger(flag: ValueFlag, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined
  // Digits only: Number() would also take '', ' 1', '1e3', '0x10' and '1.0'.
  const value = /^\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN
  if (!(value >= min && value <= max)) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got '${raw}'`)
  }
  return value
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: SECOND, m: MINUTE, h: HOUR }

function parseTtl(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  const match = /^(\d{1,12})(ms|s|m|h)?$/.exec(raw)
  const amount = match?.[1]
  const unit = DURATION_UNITS[match?.[2] ?? 'ms']
  const ms = amount === undefined || unit === undefined ? Number.NaN : Number(amount) * unit
  if (!(ms >= MIN_TTL_MS && ms <= MAX_TTL_MS)) {
    throw new UsageError(
      `--reservation-ttl must be a duration from 1s to 24h (milliseconds, or a number with s, m or h), got '${raw}'`,
    )
  }
  return ms
}

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens, at most 253 characters.
const HOSTNAME = /^(?=.{1,253}$)[a-z\d]([a-z\d-]{0,61}[a-z\d])?(\.[a-z\d]([a-z\d-]{0,61}[a-z\d])?)*$/i

function parseHost(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined
  if (isIP(raw) === 0 && !HOSTNAME.test(raw)) {
    throw new UsageError(`--host must be an IP address or a hostname, got '${raw}'`)
  }
  return raw
}

function parseAnnounce(raw: string): string {
  // Only a sanity check: the relay parses the multiaddr itself and reports what is wrong with it.
  if (!raw.startsWith('/') || /\s/.test(raw)) {
    throw new UsageError(`--announce must be a multiaddr such as /dns4/relay.example.com/tcp/443/wss, got '${raw}'`)
  }
  return raw
}
