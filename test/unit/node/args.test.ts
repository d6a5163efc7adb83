import { describe, expect, it } from 'vitest'

import { parseCliArgs, USAGE, UsageError, type RelayCliOptions } from '../../../src/node/args.js'

function relayOptions(...args: string[]): RelayCliOptions {
  const parsed = parseCliArgs(['relay', ...args])
  if (parsed.command !== 'relay') throw new Error(`expected the relay command, got ${parsed.command}`)
  return parsed.options
}

function usageError(argv: readonly string[]): UsageError {
  try {
    parseCliArgs(argv)
  } catch (err) {
    if (err instanceof UsageError) return err
    throw err
  }
  throw new Error(`expected a UsageError for ${JSON.stringify(argv)}`)
}

describe('parseCliArgs: commands', () => {
  it.each([[[]], [['help']], [['--help']], [['-h']], [['relay', '--port', '5000', '--help']], [['relay', '-h']]])(
    'returns help for %j',
    (argv) => {
      expect(parseCliArgs(argv)).toEqual({ command: 'help' })
    },
  )

  it('rejects an unknown command', () => {
    expect(usageError(['serve']).message).toBe("unknown command 'serve'")
  })

  it('rejects an option before the command', () => {
    expect(usageError(['--port', '4001', 'relay']).message).toBe("unknown option '--port' (expected a command first)")
  })

  it('throws errors named UsageError', () => {
    expect(usageError(['nope']).name).toBe('UsageError')
  })
})

describe('parseCliArgs: relay defaults', () => {
  it('applies every default', () => {
    expect(relayOptions()).toEqual({
      host: '127.0.0.1',
      port: 4001,
      httpPort: 4002,
      announce: [],
      maxReservations: 128,
      reservationTtlMs: 2 * 60 * 60 * 1000,
      maxConnections: 1024,
      quiet: false,
    })
  })

  it('defaults --http-port to --port + 1', () => {
    expect(relayOptions('--port', '9000').httpPort).toBe(9001)
  })

  it('defaults --http-port to 0 when --port is 0', () => {
    expect(relayOptions('--port', '0')).toMatchObject({ port: 0, httpPort: 0 })
  })

  it('keeps an explicit --http-port', () => {
    expect(relayOptions('--port', '9000', '--http-port', '8080')).toMatchObject({ port: 9000, httpPort: 8080 })
    expect(relayOptions('--port', '0', '--http-port', '8080')).toMatchObject({ port: 0, httpPort: 8080 })
  })

  it('asks for --http-port when --port + 1 would be out of range', () => {
    expect(usageError(['relay', '--port', '65535']).message).toMatch(/--http-port defaults to --port \+ 1/)
    expect(relayOptions('--port', '65535', '--http-port', '65534').httpPort).toBe(65534)
  })

  it('rejects the same non-zero port for WebSockets and HTTP', () => {
    expect(usageError(['relay', '--port', '5000', '--http-port', '5000']).message).toBe(
      '--http-port must differ from --port, both are 5000',
    )
    expect(relayOptions('--port', '0', '--http-port', '0').httpPort).toBe(0)
  })
})

describe('parseCliArgs: relay flags', () => {
  it('accepts every flag in the --flag value form', () => {
    expect(
      relayOptions(
        '--host', '0.0.0.0',
        '--port', '443',
        '--http-port', '8443',
        '--announce', '/dns4/relay.example.com/tcp/443/wss',
        '--max-reservations', '5',
        '--reservation-ttl', '90s',
        '--max-connections', '64',
        '--quiet',
      ),
    ).toEqual({
      host: '0.0.0.0',
      port: 443,
      httpPort: 8443,
      announce: ['/dns4/relay.example.com/tcp/443/wss'],
      maxReservations: 5,
      reservationTtlMs: 90_000,
      maxConnections: 64,
      quiet: true,
    })
  })

  it('accepts every flag in the --flag=value form', () => {
    expect(
      relayOptions(
        '--host=relay.local',
        '--port=0',
        '--http-port=0',
        '--announce=/ip4/203.0.113.7/tcp/4001/ws',
        '--max-reservations=100000',
        '--reservation-ttl=24h',
        '--max-connections=1',
      ),
    ).toEqual({
      host: 'relay.local',
      port: 0,
      httpPort: 0,
      announce: ['/ip4/203.0.113.7/tcp/4001/ws'],
      maxReservations: 100_000,
      reservationTtlMs: 24 * 60 * 60 * 1000,
      maxConnections: 1,
      quiet: false,
    })
  })

  it('keeps an = inside a --flag=value value', () => {
    expect(usageError(['relay', '--port=1=2']).message).toBe("--port must be an integer from 0 to 65535, got '1=2'")
  })

  it('collects a repeated --announce in order, mixing both forms', () => {
    expect(relayOptions('--announce', '/ip4/1.2.3.4/tcp/1/ws', '--announce=/dns4/a.example/tcp/443/wss').announce)
      .toEqual(['/ip4/1.2.3.4/tcp/1/ws', '/dns4/a.example/tcp/443/wss'])
  })

  it.each(['::1', '::', '192.168.1.10', 'localhost', 'relay-1.example.com'])('accepts --host %s', (host) => {
    expect(relayOptions('--host', host).host).toBe(host)
  })

  it.each(['', 'not a host', 'http://example.com', '-bad.example', 'a..b'])('rejects --host %j', (host) => {
    expect(usageError(['relay', `--host=${host}`]).message).toBe(
      `--host must be an IP address or a hostname, got '${host}'`,
    )
  })

  it.each(['ip4/1.2.3.4/tcp/1/ws', 'ws://1.2.3.4:1', '/ip4/1.2.3.4 /tcp/1'])('rejects --announce %j', (addr) => {
    expect(usageError(['relay', `--announce=${addr}`]).message).toMatch(/^--announce must be a multiaddr/)
  })

  it('rejects a value given to --quiet', () => {
    expect(usageError(['relay', '--quiet=true']).message).toBe("--quiet takes no value, got '--quiet=true'")
  })
})

describe('parseCliArgs: --reservation-ttl durations', () => {
  it.each([
    ['1000', 1000],
    ['1000ms', 1000],
    ['1s', 1000],
    ['30s', 30_000],
    ['15m', 15 * 60_000],
    ['2h', 2 * 3_600_000],
    ['86400000', 86_400_000],
    ['24h', 86_400_000],
    ['1440m', 86_400_000],
  ])('parses %s as %d ms', (raw, ms) => {
    expect(relayOptions('--reservation-ttl', raw).reservationTtlMs).toBe(ms)
  })

  it.each(['999', '0s', '25h', '86400001', '1d', '1.5h', '-1s', 'h', '2 h', '', 'abc', '99999999999999h'])(
    'rejects %j',
    (raw) => {
      expect(usageError(['relay', `--reservation-ttl=${raw}`]).message).toBe(
        `--reservation-ttl must be a duration from 1s to 24h (milliseconds, or a number with s, m or h), got '${raw}'`,
      )
    },
  )
})

describe('parseCliArgs: relay errors', () => {
  it('rejects an unknown flag', () => {
    expect(usageError(['relay', '--verbose']).message).toBe("unknown option '--verbose'")
    expect(usageError(['relay', '--prot=4001']).message).toBe("unknown option '--prot'")
  })

  it.each([['-p'], ['4001'], ['--'], ['extra']])('rejects the stray argument %j', (arg) => {
    expect(usageError(['relay', arg]).message).toBe(`unexpected argument '${arg}'`)
  })

  it.each(['host', 'port', 'http-port', 'announce', 'max-reservations', 'reservation-ttl', 'max-connections'])(
    'rejects --%s without a value',
    (flag) => {
      expect(usageError(['relay', `--${flag}`]).message).toBe(`--${flag} needs a value`)
      expect(usageError(['relay', `--${flag}`, '--quiet']).message).toBe(`--${flag} needs a value`)
    },
  )

  it.each([
    ['port', 'abc', 0, 65535],
    ['port', '65536', 0, 65535],
    ['port', '-1', 0, 65535],
    ['port', '80.5', 0, 65535],
    ['port', '1e3', 0, 65535],
    ['port', '0x10', 0, 65535],
    ['port', ' 80', 0, 65535],
    ['port', '', 0, 65535],
    ['http-port', '70000', 0, 65535],
    ['max-reservations', '0', 1, 100000],
    ['max-reservations', '100001', 1, 100000],
    ['max-connections', '0', 1, 1000000],
    ['max-connections', '12345678901234567890', 1, 1000000],
  ])('rejects --%s %j', (flag, value, min, max) => {
    expect(usageError(['relay', `--${flag}=${value}`]).message).toBe(
      `--${flag} must be an integer from ${min} to ${max}, got '${value}'`,
    )
  })

  it('reports a bad value in the --flag value form too', () => {
    expect(usageError(['relay', '--port', 'abc']).message).toBe("--port must be an integer from 0 to 65535, got 'abc'")
  })

  it.each(['--port', '--host', '--quiet'])('rejects %s given twice', (flag) => {
    const args = flag === '--quiet' ? [flag, flag] : [flag, '1', flag, '2']
    expect(usageError(['relay', ...args]).message).toBe(`${flag} given more than once`)
  })
})

describe('USAGE', () => {
  it.each([
    ['--host', '127.0.0.1'],
    ['--port', '4001'],
    ['--http-port', '--port + 1'],
    ['--announce', 'the listen addresses'],
    ['--max-reservations', '128'],
    ['--reservation-ttl', '2h'],
    ['--max-connections', '1024'],
    ['--quiet', 'off'],
  ])('documents %s with its default %s', (flag, fallback) => {
    const line = USAGE.indexOf(`  ${flag} `)
    expect(line).toBeGreaterThan(-1)
    // The default is on the flag's line or the continuation line after it.
    const text = USAGE.slice(line).split('\n').slice(0, 2).join(' ')
    expect(text).toContain(`default ${fallback}`)
  })
})
