/**
 * OR-Set (observed-remove set), add-wins. Every `add` creates a fresh, globally unique tag for the element; `delete`
 * removes only the tags of that element that this replica has observed. An element is present while it has at
 * least one tag, so an add concurrent with a delete survives it (add wins), and a delete that observed every add
 * of an element removes it for good (until it is added again).
 *
 * Elements are JSON values, identified by their canonical JSON (sorted object keys), so `{a:1,b:2}` and `{b:2,a:1}`
 * are the same element.
 *
 * Layout: one flat map `tags: { [tag]: canonical JSON of the element }`, not `elements[key][tag]`. With nested
 * maps, two peers that first add the same element concurrently each create a map at `elements[key]`; Automerge
 * keeps one and hides the other, so a tag in the hidden map is lost to a delete that observed only the visible one,
 * and a concurrent add no longer wins. A flat map never creates an object concurrently: every key is a fresh tag.
 * The cost is that `has` and `delete` scan the live tags, O(live tags).
 *
 * Tags are `<actor>:<n>`, where n counts this actor's adds (`seq[actor]`, written only by that actor), so they are
 * unique without any randomness. Element JSON is stored as an `ImmutableString`: an atomic value, where a plain
 * string would become collaborative text at one operation per character.
 */
import type * as AM from '@automerge/automerge/slim'
import type { AutomergeModule } from '../automerge.js'
import { canonicalJson, type JsonValue } from './canonical-json.js'
import { openGenesis, type OpenOptions } from './genesis.js'
import { changeOptions, storedNumber, storedString, type CrdtChangeOptions } from './internal.js'

export interface ORSetDoc {
  /** tag → canonical JSON of the element it was added for. */
  tags: Record<string, AM.ImmutableString>
  /** actor → how many adds that actor has made (the n of its last tag). */
  seq: Record<string, number>
}

/** The document's genesis root: the same on every peer. */
export function initialRoot(_A: AutomergeModule): ORSetDoc {
  return { tags: {}, seq: {} }
}

/** A replica of the OR-Set `docName`, starting from its shared genesis (empty). */
export function init(A: AutomergeModule, docName: string, options: OpenOptions = {}): AM.Doc<ORSetDoc> {
  return openGenesis<ORSetDoc>(A, docName, initialRoot(A), options)
}

/**
 * Adds `value` under a fresh tag, even if it is already present (so that this add wins over deletes concurrent
 * with it). Throws InvalidOptionError if `value` is not JSON (see canonicalJson).
 */
export function add(
  A: AutomergeModule,
  doc: AM.Doc<ORSetDoc>,
  value: JsonValue,
  options: CrdtChangeOptions = {},
): AM.Doc<ORSetDoc> {
  const key = canonicalJson(value)
  const actor = A.getActorId(doc)
  const n = (storedNumber(doc.seq[actor]) ?? 0) + 1
  return A.change(doc, changeOptions(options), (d) => {
    d.seq[actor] = n
    d.tags[`${actor}:${n}`] = new A.ImmutableString(key)
  })
}

/**
 * Removes the tags of `value` that this replica has observed; an add it has not seen survives. Makes no change if
 * `value` is absent. Throws InvalidOptionError if `value` is not JSON. Exported as `delete`.
 */
function deleteValue(
  A: AutomergeModule,
  doc: AM.Doc<ORSetDoc>,
  value: JsonValue,
  options: CrdtChangeOptions = {},
): AM.Doc<ORSetDoc> {
  return deleteTags(A, doc, value, observedTags(doc, value), options)
}
export { deleteValue as delete }

/** The tags of `value` in `doc`: what a delete made now would remove. */
export function observedTags(doc: AM.Doc<ORSetDoc>, value: JsonValue): string[] {
  const key = canonicalJson(value)
  return Object.keys(doc.tags).filter((tag) => storedString(doc.tags[tag]) === key)
}

/**
 * Removes those of `tags` that still tag `value` (a delete decided earlier, against what was observed then: adds
 * that arrived since are not in `tags` and survive).
 */
export function deleteTags(
  A: AutomergeModule,
  doc: AM.Doc<ORSetDoc>,
  value: JsonValue,
  tags: readonly string[],
  options: CrdtChangeOptions = {},
): AM.Doc<ORSetDoc> {
  const key = canonicalJson(value)
  const present = tags.filter((tag) => storedString(doc.tags[tag]) === key)
  if (present.length === 0) return doc
  return A.change(doc, changeOptions(options), (d) => {
    for (const tag of present) delete d.tags[tag]
  })
}

/** The sequence number of `actor`'s latest tag (its next add uses this + 1). */
export function lastSeq(doc: AM.Doc<ORSetDoc>, actor: string): number {
  return storedNumber(doc.seq[actor]) ?? 0
}

/** Whether `value` has at least one tag. Throws InvalidOptionError if `value` is not JSON. */
export function has(doc: AM.Doc<ORSetDoc>, value: JsonValue): boolean {
  const key = canonicalJson(value)
  return Object.values(doc.tags).some((stored) => storedString(stored) === key)
}

/**
 * The elements present, each once, ordered by their canonical JSON (UTF-16 code-unit order): the same everywhere.
 * A tag whose element is not valid JSON (only a faulty peer writes one) is left out.
 */
export function values(doc: AM.Doc<ORSetDoc>): JsonValue[] {
  const keys = new Set<string>()
  for (const stored of Object.values(doc.tags)) {
    const key = storedString(stored)
    if (key !== undefined) keys.add(key)
  }
  const out: JsonValue[] = []
  for (const key of [...keys].sort()) {
    const value = parse(key)
    if (value !== undefined) out.push(value)
  }
  return out
}

/** The set's plain value: `values(doc)`. */
export function read(doc: AM.Doc<ORSetDoc>): JsonValue[] {
  return values(doc)
}

function parse(key: string): JsonValue | undefined {
  try {
    return JSON.parse(key) as JsonValue
  } catch {
    return undefined
  }
}
