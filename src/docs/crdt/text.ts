/**
 * Collaborative plain text: one Automerge text field edited with `A.splice`. Concurrent inserts and deletes merge
 * character by character; every replica that has applied the same changes reads the same string.
 *
 * Positions and counts are in UTF-16 code units, as JS string indices and `length` are (Automerge's JS build
 * indexes text in UTF-16 by default). Automerge stores Unicode code points, so an index between the two halves of
 * a surrogate pair (inside an emoji, say) has no meaning there: it would be moved silently. We reject such
 * positions, out-of-range positions and lone surrogates in inserted text with InvalidOptionError instead, so that a
 * local edit always does exactly what the same edit on a JS string would.
 */
import type * as AM from '@automerge/automerge/slim'
import { InvalidOptionError } from '../../errors.js'
import type { AutomergeModule } from '../automerge.js'
import { openGenesis, type OpenOptions } from './genesis.js'
import { assertSafeInteger, changeOptions, type CrdtChangeOptions } from './internal.js'

export interface TextDoc {
  text: string
}

/** The document's genesis root: the same on every peer. */
export function initialRoot(_A: AutomergeModule): TextDoc {
  return { text: '' }
}

/** A replica of the text `docName`, starting from its shared genesis (empty). */
export function init(A: AutomergeModule, docName: string, options: OpenOptions = {}): AM.Doc<TextDoc> {
  return openGenesis<TextDoc>(A, docName, initialRoot(A), options)
}

/**
 * Inserts `text` before UTF-16 index `pos` (0 ≤ pos ≤ length, not inside a surrogate pair). Inserting '' makes no
 * change. Throws InvalidOptionError for a bad `pos` or for `text` with a lone surrogate.
 */
export function insert(
  A: AutomergeModule,
  doc: AM.Doc<TextDoc>,
  pos: number,
  text: string,
  options: CrdtChangeOptions = {},
): AM.Doc<TextDoc> {
  assertPosition(doc.text, pos, 'pos')
  if (LONE_SURROGATE.test(text)) throw new InvalidOptionError('text must not contain a lone surrogate')
  if (text === '') return doc
  return A.change(doc, changeOptions(options), (d) => {
    A.splice(d, ['text'], pos, 0, text)
  })
}

/**
 * Deletes `count` UTF-16 code units from index `pos` (pos + count ≤ length, neither end inside a surrogate pair).
 * A count of 0 makes no change. Throws InvalidOptionError otherwise. Exported as `delete`.
 */
function deleteText(
  A: AutomergeModule,
  doc: AM.Doc<TextDoc>,
  pos: number,
  count: number,
  options: CrdtChangeOptions = {},
): AM.Doc<TextDoc> {
  assertPosition(doc.text, pos, 'pos')
  assertSafeInteger(count, 'count', 0)
  assertPosition(doc.text, pos + count, 'pos + count')
  if (count === 0) return doc
  return A.change(doc, changeOptions(options), (d) => {
    A.splice(d, ['text'], pos, count)
  })
}
export { deleteText as delete }

/**
 * Checks an edit of `current` (delete `count` at `pos`, then insert `text`) without making it: throws
 * InvalidOptionError exactly when insert()/delete() would. Handles validate against their optimistic value with it.
 */
export function assertEdit(current: string, pos: number, count: number, text: string): void {
  assertPosition(current, pos, 'pos')
  assertSafeInteger(count, 'count', 0)
  assertPosition(current, pos + count, 'pos + count')
  if (LONE_SURROGATE.test(text)) throw new InvalidOptionError('text must not contain a lone surrogate')
}

/** The text. */
export function read(doc: AM.Doc<TextDoc>): string {
  return doc.text
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

function assertPosition(text: string, pos: number, name: string): void {
  assertSafeInteger(pos, name, 0)
  if (pos > text.length) throw new InvalidOptionError(`${name} is ${pos}, past the end of the text (${text.length})`)
  if (pos > 0 && isHigh(text.charCodeAt(pos - 1)) && isLow(text.charCodeAt(pos))) {
    throw new InvalidOptionError(`${name} is ${pos}, inside a surrogate pair`)
  }
}

function isHigh(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

function isLow(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff
}
