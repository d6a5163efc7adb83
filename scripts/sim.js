// `npm run sim -- [--seeds N] [--seed S] [--seed-offset K] [vitest args…]`: runs the simulations (test/sim) over N
// seeds, or replays one seed, by setting SEEDS / SEED / SEED_OFFSET for `simSeeds` (src/sim/seeds.ts). Every other
// argument goes to vitest unchanged, e.g. `npm run sim -- --seed 42 -t raft`.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const USAGE =
  'usage: npm run sim -- [--seeds <count ≥ 1>] [--seed <integer>] [--seed-offset <integer ≥ 0>] [vitest args…]'

/** Flag → [environment variable, smallest accepted value, what it accepts]. */
const FLAGS = {
  '--seeds': ['SEEDS', 1, 'an integer >= 1'],
  '--seed': ['SEED', Number.MIN_SAFE_INTEGER, 'an integer'],
  '--seed-offset': ['SEED_OFFSET', 0, 'an integer >= 0'],
}

function fail(message) {
  process.stderr.write(`${message}\n${USAGE}\n`)
  process.exit(2)
}

function parse(argv) {
  const env = {}
  const rest = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg : arg.slice(0, eq)
    if (!Object.hasOwn(FLAGS, name)) {
      rest.push(arg)
      continue
    }
    const text = eq === -1 ? argv[++i] : arg.slice(eq + 1)
    const [variable, min, accepted] = FLAGS[name]
    const value = text !== undefined && /^-?\d+$/.test(text) ? Number(text) : Number.NaN
    if (!Number.isSafeInteger(value) || value < min) fail(`${name} needs ${accepted}, got '${text ?? ''}'`)
    env[variable] = String(value)
  }
  return { env, rest }
}

const { env, rest } = parse(process.argv.slice(2))
const vitest = fileURLToPath(new URL('../node_modules/.bin/vitest', import.meta.url))
const child = spawn(vitest, ['run', 'test/sim', ...rest], {
  stdio: 'inherit',
  env: { ...process.env, ...env },
  cwd: fileURLToPath(new URL('..', import.meta.url)),
  // node_modules/.bin/vitest is a .cmd shim on Windows, which only a shell can run.
  shell: process.platform === 'win32',
})
child.on('error', (err) => {
  process.stderr.write(`could not start vitest (${vitest}): ${err.message}\n`)
  process.exit(1)
})
child.on('exit', (code, signal) => {
  if (signal !== null) process.kill(process.pid, signal)
  else process.exit(code ?? 1)
})
