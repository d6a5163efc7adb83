/**
 * Randomness as the rest of Synod sees it: injected, so a simulation replays exactly from its seed. This file is the
 * only place in Synod allowed to call `Math.random`.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { uniformInt } from 'pure-rand/distribution/uniformInt'
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus'
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator'
import { InvalidOptionError } from '../errors.js'

export interface Random {
  /** A float uniform in [0, 1). */
  next(): number
  /** An integer uniform in [0, maxExclusive); `maxExclusive` must be a positive safe integer. */
  int(maxExclusive: number): number
}

const TWO_POW_32 = 2 ** 32

/**
 * A deterministic generator (xoroshiro128+): the same seed always gives the same sequence, on every platform.
 * Not for anything security-related.
 *
 * @param seed any safe integer; seeds in the 32-bit range give the same stream as pure-rand's `xoroshiro128plus`
 *   (and therefore fast-check), larger ones keep their high bits instead of silently dropping them.
 */
export function seededRandom(seed: number): Random {
  if (!Number.isSafeInteger(seed)) {
    throw new InvalidOptionError(`seed must be a safe integer, got ${seed}`)
  }
  return fromGenerator(generatorFor(seed))
}

function generatorFor(seed: number): RandomGenerator {
  if (seed >= -(2 ** 31) && seed < 2 ** 31) return xoroshiro128plus(seed)
  // pure-rand's seeding keeps only `seed | 0`; put the high word in the otherwise-zero state word so that seeds
  // differing only above bit 32 still give different streams. s01 = -1 keeps the state from ever being all zero.
  const low = seed | 0
  const high = Math.floor(seed / TWO_POW_32) | 0
  return xoroshiro128plusFromState([-1, ~low, low, high])
}

function fromGenerator(rng: RandomGenerator): Random {
  return {
    // pure-rand's distributions advance `rng` in place, which is the stateful behaviour we want here.
    next: () => uniformFloat64(rng),
    int: (maxExclusive) => {
      checkMax(maxExclusive)
      // uniformInt rejects and redraws instead of taking a modulo, so every value is exactly equally likely.
      return uniformInt(rng, 0, maxExclusive - 1)
    },
  }
}

/** Math.random, for production. Not cryptographically secure: never use it for keys or tokens. */
export const realRandom: Random = {
  next: () => Math.random(),
  int: (maxExclusive) => {
    checkMax(maxExclusive)
    // The modulo-free scaling is biased by at most maxExclusive / 2^52, which is irrelevant for jitter and sampling.
    return Math.floor(Math.random() * maxExclusive)
  },
}

function checkMax(maxExclusive: number): void {
  if (!Number.isSafeInteger(maxExclusive) || maxExclusive < 1) {
    throw new InvalidOptionError(`maxExclusive must be a positive safe integer, got ${maxExclusive}`)
  }
}
