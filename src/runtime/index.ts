/**
 * runtime/: the injectable time and randomness layer. Pure cores take a Clock, Timer and Random instead of reading
 * `performance.now()`, `setTimeout` or `Math.random` themselves; drivers pass the real ones, tests and simulations
 * pass a SimClock and a seeded Random so that a run replays exactly from its seed.
 *
 * This folder imports nothing from other layers (only `src/errors.ts` and the `pure-rand` package).
 */
export { type Clock, realClock } from './clock.js'
export { type Random, seededRandom, realRandom } from './random.js'
export { type Timer, realTimer } from './timer.js'
export { SimClock } from './sim-clock.js'
