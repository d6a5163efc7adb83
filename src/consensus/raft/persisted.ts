/**
 * What a Raft node keeps on disk, as one plain value, and how a `Ready` changes it. Drivers with a real store
 * (ordering/) write the same changes as records; tests and the simulator keep this value on a simulated disk.
 */
import type { Ready } from './core.js'
import type { Entry, HardState, Snapshot } from './types.js'

export interface PersistedRaft {
  readonly hardState: HardState
  readonly snapshot: Snapshot | undefined
  readonly entries: readonly Entry[]
}

export const EMPTY_PERSISTED: PersistedRaft = {
  hardState: { term: 0, vote: null, commit: 0 },
  snapshot: undefined,
  entries: [],
}

/** The state after persisting `rd` (snapshot first, then entries, which may overwrite a suffix). */
export function persistReady(state: PersistedRaft, rd: Ready): PersistedRaft {
  let { hardState, snapshot, entries } = state
  if (rd.hardState !== null) hardState = rd.hardState
  if (rd.snapshot !== null) {
    snapshot = rd.snapshot
    entries = []
  }
  const first = rd.entries[0]
  if (first !== undefined) {
    const base = snapshot?.meta.index ?? 0
    entries = [...entries.slice(0, Math.max(0, first.index - base - 1)), ...rd.entries]
  }
  return { hardState, snapshot, entries }
}

/** The state after the application compacted the log into `snapshot`. */
export function persistCompaction(state: PersistedRaft, snapshot: Snapshot): PersistedRaft {
  const base = state.snapshot?.meta.index ?? 0
  return {
    hardState: state.hardState,
    snapshot,
    entries: state.entries.slice(Math.max(0, snapshot.meta.index - base)),
  }
}
