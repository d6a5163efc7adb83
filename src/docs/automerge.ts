/**
 * docs/: Automerge documents and the typed CRDT handles built on them, and the sync engine that keeps them converged
 * between peers (per-peer sync state, batching, snapshots). It may import transport/, storage/, metrics/, runtime/.
 *
 * This file: loading Automerge. We use the slim build with its WebAssembly inlined as base64, so the embedding
 * application's bundler needs no plugin, and we load it lazily, the first time a document is opened, so that its
 * compilation does not compete with connecting (it is ~1.2 MB of gzipped wasm).
 */
import * as Automerge from '@automerge/automerge/slim'

export type AutomergeModule = typeof Automerge

let loading: Promise<AutomergeModule> | undefined

/** Resolves once Automerge's WebAssembly is compiled; every later call returns the same module at once. */
export async function loadAutomerge(): Promise<AutomergeModule> {
  loading ??= (async () => {
    const { automergeWasmBase64 } = await import('@automerge/automerge/automerge.wasm.base64')
    await Automerge.initializeBase64Wasm(automergeWasmBase64)
    return Automerge
  })()
  return loading
}
