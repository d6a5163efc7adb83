/**
 * Runs several model operations inside ONE Automerge change, so that keystroke-rate edits become one change per
 * batch window instead of one per keystroke (each change costs bytes on the wire and time on every later load).
 *
 * Every model operation is written as `A.change(doc, options, draft => …)` over the document it is given. Here we
 * hand it the draft of an enclosing change as its "document" and a module whose `change` runs the callback on that
 * draft at once: reads see the batch's earlier operations, and nothing commits until the enclosing change ends.
 */
import type * as AM from '@automerge/automerge/slim'
import type { AutomergeModule } from '../automerge.js'

type ChangeFn<T> = (draft: T) => void

/** A module for model operations that mutates `draft` in place, with `actor` as this replica's actor id. */
export function draftModule(A: AutomergeModule, actor: string): AutomergeModule {
  const change = <T>(doc: AM.Doc<T>, optionsOrFn: unknown, maybeFn?: ChangeFn<T>): AM.Doc<T> => {
    const fn = (typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn) as ChangeFn<T>
    fn(doc)
    return doc
  }
  return { ...A, change, getActorId: () => actor } as AutomergeModule
}

/** Applies `ops` (model operations taking the module and a document) in one change of `doc`. */
export function applyBatch<T>(
  A: AutomergeModule,
  doc: AM.Doc<T>,
  ops: ReadonlyArray<(module: AutomergeModule, draft: AM.Doc<T>) => unknown>,
): AM.Doc<T> {
  if (ops.length === 0) return doc
  const module = draftModule(A, A.getActorId(doc))
  return A.change(doc, (draft) => {
    for (const op of ops) op(module, draft)
  })
}
