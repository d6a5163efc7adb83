import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { deriveSeed, runSeeds, SeedFailedError, simSeeds } from '../../../src/sim/index.js'

const invalid = expect.objectContaining({ name: 'InvalidOptionError' })

describe('simSeeds', () => {
  it('runs 1..defaultCount when nothing is set', () => {
    expect(simSeeds({ defaultCount: 4, env: {} })).toEqual([1, 2, 3, 4])
  })

  it('takes the count from SEEDS and shifts by SEED_OFFSET', () => {
    expect(simSeeds({ defaultCount: 4, env: { SEEDS: '2' } })).toEqual([1, 2])
    expect(simSeeds({ defaultCount: 3, env: { SEED_OFFSET: '100' } })).toEqual([101, 102, 103])
    expect(simSeeds({ defaultCount: 3, env: { SEEDS: '2', SEED_OFFSET: '10' } })).toEqual([11, 12])
  })

  it('replays just SEED when it is set, whatever else is', () => {
    expect(simSeeds({ defaultCount: 50, env: { SEED: '1234', SEEDS: '9', SEED_OFFSET: '7' } })).toEqual([1234])
    expect(simSeeds({ defaultCount: 50, env: { SEED: '-5' } })).toEqual([-5])
  })

  it('ignores empty variables', () => {
    expect(simSeeds({ defaultCount: 2, env: { SEED: '', SEEDS: '', SEED_OFFSET: '' } })).toEqual([1, 2])
  })

  it('rejects values that are not integers in range', () => {
    const bad = [{ SEED: 'abc' }, { SEED: '1.5' }, { SEED: '1e3' }, { SEEDS: '0' }, { SEEDS: '-2' }, { SEEDS: 'x' }]
    for (const env of bad) {
      expect(() => simSeeds({ defaultCount: 1, env })).toThrow(invalid)
    }
    expect(() => simSeeds({ defaultCount: 1, env: { SEED_OFFSET: '-1' } })).toThrow(invalid)
    expect(() => simSeeds({ defaultCount: 1, env: { SEED: '99999999999999999999' } })).toThrow(invalid)
    expect(() => simSeeds({ defaultCount: 0, env: {} })).toThrow(invalid)
  })

  it('reads process.env by default', () => {
    const saved = process.env['SEED']
    process.env['SEED'] = '77'
    try {
      expect(simSeeds({ defaultCount: 5 })).toEqual([77])
    } finally {
      if (saved === undefined) delete process.env['SEED']
      else process.env['SEED'] = saved
    }
  })
})

describe('runSeeds', () => {
  it('runs every seed in order when all pass, without describing anything', () => {
    const ran: number[] = []
    let described = 0
    runSeeds([3, 1, 2], (seed, run) => {
      expect(run.seed).toBe(seed)
      run.attach('log', () => String(++described))
      ran.push(seed)
    })
    expect(ran).toEqual([3, 1, 2])
    expect(described).toBe(0)
  })

  it('stops at the first failure with the replay command, the original message and the attached context', () => {
    const ran: number[] = []
    let caught: unknown
    const original = new Error('two leaders in term 3')
    try {
      runSeeds([1, 2, 3], (seed, run) => {
        ran.push(seed)
        run.attach('nemesis log', () => '10.0ms crash: n2\n20.0ms heal: healed')
        if (seed === 2) throw original
      })
    } catch (err) {
      caught = err
    }
    expect(ran).toEqual([1, 2])
    expect(caught).toBeInstanceOf(SeedFailedError)
    const err = caught as SeedFailedError
    expect(err.name).toBe('SeedFailedError')
    expect(err.seed).toBe(2)
    expect(err.cause).toBe(original)
    expect(err.message.startsWith('seed 2 failed — replay with SEED=2 npm run sim')).toBe(true)
    expect(err.message).toContain('Error: two leaders in term 3')
    expect(err.message).toContain('--- nemesis log ---\n10.0ms crash: n2\n20.0ms heal: healed')
  })

  it('includes a simLog carried by the thrown error, and survives a broken describer', () => {
    const failure = Object.assign(new Error('diverged'), { simLog: ['line one', 'line two'] })
    expect(() =>
      runSeeds([9], (_seed, run) => {
        run.attach('broken', () => {
          throw new Error('no log')
        })
        throw failure
      }),
    ).toThrow(
      [
        'seed 9 failed — replay with SEED=9 npm run sim',
        'Error: diverged',
        '--- simLog ---\nline one\nline two',
        '--- broken ---\n(could not describe: Error: no log)',
      ].join('\n'),
    )
    expect(() =>
      runSeeds([4], () => {
        throw Object.assign(new Error('x'), { simLog: 'as a string' })
      }),
    ).toThrow(/--- simLog ---\nas a string/)
  })

  it('refuses asynchronous runs instead of passing them unchecked', () => {
    // Passing an async function is exactly the mistake under test.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    expect(() => runSeeds([1], () => Promise.resolve())).toThrow(/returned a Promise/)
  })
})

describe('deriveSeed', () => {
  it('is deterministic, 32-bit, and differs by label and by seed (including its high bits)', () => {
    expect(deriveSeed(1, 'net')).toBe(deriveSeed(1, 'net'))
    const seeds = new Set<number>()
    for (let seed = 0; seed < 50; seed++) {
      for (const label of ['net', 'nemesis', 'node/a/0', 'node/a/1', 'net/a', 'net/b']) {
        const derived = deriveSeed(seed, label)
        expect(derived | 0).toBe(derived)
        seeds.add(derived)
      }
    }
    expect(seeds.size).toBe(300)
    expect(deriveSeed(2 ** 40 + 1, 'x')).not.toBe(deriveSeed(1, 'x'))
    expect(() => deriveSeed(1.5, 'x')).toThrow(invalid)
  })
})

describe('scripts/sim.js', () => {
  const script = fileURLToPath(new URL('../../../scripts/sim.js', import.meta.url))

  it('rejects bad values with a usage message and exit code 2, before starting vitest', () => {
    for (const args of [['--seeds', 'ten'], ['--seeds', '0'], ['--seed=1.5'], ['--seed'], ['--seed-offset', '-3']]) {
      const result = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' })
      expect(result.status).toBe(2)
      expect(result.stderr).toContain('usage: npm run sim --')
      expect(result.stdout).toBe('')
    }
  })
})
