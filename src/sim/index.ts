/**
 * sim/: the deterministic simulator. One seed decides every message delay, loss, duplication, reordering, partition,
 * crash and timer race, so a failing run replays exactly with `SEED=… npm run sim`. It is generic over the protocol:
 * nodes are objects built by a user factory, messages are opaque values, and nothing here knows about Raft or SWIM.
 *
 * May import: runtime/ (Clock, Timer, Random, SimClock) and src/errors.ts. Nothing above it imports sim/ except tests
 * and benchmarks.
 */
export {
  DEFAULT_LINK_FAULTS,
  SimNetwork,
  type DropReason,
  type LinkFaults,
  type NetworkStats,
  type NodeId,
  type SimNetworkOptions,
} from './network.js'
export { SimDisk, type SimDiskOptions, type SimDiskStats } from './disk.js'
export {
  Simulation,
  type NodeContext,
  type RunUntilOptions,
  type SimNode,
  type SimulationOptions,
} from './simulation.js'
export {
  Nemesis,
  type BuiltinNemesisAction,
  type MsRange,
  type NemesisAction,
  type NemesisLogEntry,
  type NemesisOptions,
} from './nemesis.js'
export { SeedFailedError } from '../errors.js'
export { deriveSeed, runSeeds, simSeeds, type SeedRun, type SimSeedsOptions } from './seeds.js'
