/**
 * Seeds: which ones a simulation run uses (from the environment, so `SEED=42 npm run sim` replays one failure), how a
 * failing seed is reported, and how independent random streams are derived from one seed.
 */
import { InvalidOptionError, SeedFailedError } from '../errors.js'

export interface SimSeedsOptions {
  /** How many seeds to run when neither `SEED` nor `SEEDS` is set. */
  readonly defaultCount: number
  /** Where to read `SEED`, `SEEDS` and `SEED_OFFSET`. Default: `process.env` (empty outside Node). */
  readonly env?: Readonly<Record<string, string | undefined>>
}

/**
 * The seeds to run: `[SEED]` if `SEED` is set (replaying one failure); otherwise `SEED_OFFSET + 1 … SEED_OFFSET + N`
 * with N from `SEEDS` or `defaultCount`, so a nightly job can cover new seeds by moving the offset.
 */
export function simSeeds(options: SimSeedsOptions): number[] {
  const env = options.env ?? processEnv()
  const single = env['SEED']
  if (single !== undefined && single !== '') return [parseInteger('SEED', single, Number.MIN_SAFE_INTEGER)]
  const countText = env['SEEDS']
  const count =
    countText !== undefined && countText !== '' ? parseInteger('SEEDS', countText, 1) : options.defaultCount
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new InvalidOptionError(`defaultCount must be a positive integer, got ${count}`)
  }
  const offsetText = env['SEED_OFFSET']
  const offset = offsetText !== undefined && offsetText !== '' ? parseInteger('SEED_OFFSET', offsetText, 0) : 0
  const seeds: number[] = []
  for (let i = 1; i <= count; i++) seeds.push(offset + i)
  return seeds
}

function processEnv(): Readonly<Record<string, string | undefined>> {
  // src/ is also bundled for browsers, where there is no `process`.
  return typeof process === 'undefined' ? {} : process.env
}

function parseInteger(name: string, text: string, min: number): number {
  const value = /^-?\d+$/.test(text.trim()) ? Number(text) : Number.NaN
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidOptionError(`${name} must be an integer >= ${min}, got '${text}'`)
  }
  return value
}

/**
 * What `runSeeds` gives each run: `attach` registers a context provider (for instance the nemesis log) that is called
 * only if the run fails, so passing runs pay nothing for it.
 */
export interface SeedRun {
  readonly seed: number
  attach(label: string, describe: () => string): void
}

/**
 * A seed's run failed. `message` starts with the replay command; `cause` is the original error. Defined here rather
 * than in src/errors.ts because only the simulator (a test tool) throws it.
 */
/**
 * Runs `fn` once per seed, stopping at the first failure with a SeedFailedError whose message starts with
 * `seed N failed — replay with SEED=N npm run sim`, followed by the original message, the attached context and a
 * `simLog` property of the thrown error if it has one (string or string array, for errors built deep inside a check).
 */
export function runSeeds(seeds: readonly number[], fn: (seed: number, run: SeedRun) => void): void {
  for (const seed of seeds) {
    const attached: Array<{ label: string; describe: () => string }> = []
    const run: SeedRun = { seed, attach: (label, describe) => attached.push({ label, describe }) }
    try {
      const result: unknown = fn(seed, run)
      if (result instanceof Promise) {
        throw new InvalidOptionError('runSeeds runs synchronous simulations; fn returned a Promise')
      }
    } catch (err) {
      throw new SeedFailedError(seed, failureMessage(seed, err, attached), err)
    }
  }
}

function failureMessage(
  seed: number,
  err: unknown,
  attached: ReadonlyArray<{ label: string; describe: () => string }>,
): string {
  const parts = [`seed ${seed} failed — replay with SEED=${seed} npm run sim`, errorText(err)]
  const simLog = err instanceof Object && 'simLog' in err ? err.simLog : undefined
  if (typeof simLog === 'string') parts.push(`--- simLog ---\n${simLog}`)
  else if (Array.isArray(simLog)) parts.push(`--- simLog ---\n${simLog.map(String).join('\n')}`)
  for (const { label, describe } of attached) {
    let text: string
    try {
      text = describe()
    } catch (describeErr) {
      // The original failure matters more than a broken report; say what went wrong instead of hiding it.
      text = `(could not describe: ${errorText(describeErr)})`
    }
    parts.push(`--- ${label} ---\n${text}`)
  }
  return parts.join('\n')
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}

const TWO_POW_32 = 2 ** 32

/**
 * A seed for an independent random stream, derived from the run's seed and a label (`'net/a'`, `'node/a/0'`,
 * `'nemesis'`). Deriving by label, rather than drawing seeds from one shared stream in creation order, means that
 * adding a node or a nemesis leaves every other stream exactly as it was. The result is a 32-bit integer, which
 * `seededRandom` accepts on its fast path.
 */
export function deriveSeed(seed: number, label: string): number {
  if (!Number.isSafeInteger(seed)) throw new InvalidOptionError(`seed must be a safe integer, got ${seed}`)
  const low = seed | 0
  const high = Math.floor(seed / TWO_POW_32) | 0
  // Mix the seed first and hash the label on top (FNV-1a), then finalise, so that no simple relation between two
  // (seed, label) pairs makes their streams collide.
  let h = fmix32(low ^ fmix32(high ^ 0x5bd1e995))
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193)
  return fmix32(h)
}

/** MurmurHash3's 32-bit finaliser: every input bit affects every output bit. */
function fmix32(x: number): number {
  let h = x
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) | 0
}
