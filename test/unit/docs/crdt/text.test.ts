import type * as AM from '@automerge/automerge/slim'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadAutomerge, type AutomergeModule } from '../../../../src/docs/automerge.js'
import { text, type TextDoc } from '../../../../src/docs/crdt/index.js'
import { Cluster, deliveryArb } from './cluster.js'

let A: AutomergeModule
beforeAll(async () => {
  A = await loadAutomerge()
})

const invalid = expect.objectContaining({ name: 'InvalidOptionError' })

// Includes characters outside the BMP, whose two UTF-16 code units Automerge stores as one code point.
const chunkArb = fc.string({ unit: fc.constantFrom('a', 'b', 'é', '😀', '\n', '𝄞'), maxLength: 4 })

type Edit =
  | { readonly kind: 'insert'; readonly replica: number; readonly at: number; readonly text: string }
  | { readonly kind: 'delete'; readonly replica: number; readonly at: number; readonly count: number }

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), replica: fc.nat(), at: fc.nat(), text: chunkArb }),
  fc.record({ kind: fc.constant('delete' as const), replica: fc.nat(), at: fc.nat(), count: fc.nat({ max: 5 }) }),
)

function splitsPair(s: string, i: number): boolean {
  return i > 0 && i < s.length && /[\uD800-\uDBFF]/.test(s[i - 1]!) && /[\uDC00-\uDFFF]/.test(s[i]!)
}

/** Turns a random edit into a valid one on `current`: a position in range, never inside a surrogate pair. */
function place(current: string, edit: Edit): { pos: number; count: number } {
  let pos = edit.at % (current.length + 1)
  if (splitsPair(current, pos)) pos--
  if (edit.kind === 'insert') return { pos, count: 0 }
  let end = Math.min(pos + edit.count, current.length)
  if (splitsPair(current, end)) end++
  return { pos, count: end - pos }
}

function applyEdit(doc: AM.Doc<TextDoc>, edit: Edit): AM.Doc<TextDoc> {
  const { pos, count } = place(text.read(doc), edit)
  return edit.kind === 'insert' ? text.insert(A, doc, pos, edit.text) : text.delete(A, doc, pos, count)
}

function applyToString(s: string, edit: Edit): string {
  const { pos, count } = place(s, edit)
  return edit.kind === 'insert' ? s.slice(0, pos) + edit.text + s.slice(pos) : s.slice(0, pos) + s.slice(pos + count)
}

describe('text', () => {
  it('matches a plain JS string under any sequence of valid local edits', () => {
    fc.assert(
      fc.property(fc.array(editArb, { maxLength: 40 }), (edits) => {
        let doc = text.init(A, 'text')
        let model = ''
        for (const edit of edits) {
          doc = applyEdit(doc, edit)
          model = applyToString(model, edit)
          expect(text.read(doc)).toBe(model)
        }
      }),
      { numRuns: 100 },
    )
  })

  it('rejects exactly the positions a JS string edit would not mean the same thing for', () => {
    fc.assert(
      fc.property(chunkArb, fc.integer({ min: -1, max: 10 }), fc.integer({ min: -1, max: 10 }), (s, pos, count) => {
        const doc = text.insert(A, text.init(A, 'text'), 0, s)
        const posOk = pos >= 0 && pos <= s.length && !splitsPair(s, pos)
        const endOk = count >= 0 && pos + count <= s.length && !splitsPair(s, pos + count)
        // Automerge documents are linear: each branch edits its own clone.
        if (posOk) expect(text.read(text.insert(A, A.clone(doc), pos, 'X'))).toBe(s.slice(0, pos) + 'X' + s.slice(pos))
        else expect(() => text.insert(A, doc, pos, 'X')).toThrow(invalid)
        if (posOk && endOk) {
          expect(text.read(text.delete(A, A.clone(doc), pos, count))).toBe(s.slice(0, pos) + s.slice(pos + count))
        }
        else expect(() => text.delete(A, doc, pos, count)).toThrow(invalid)
      }),
      { numRuns: 200 },
    )
    const doc = text.init(A, 'text')
    expect(() => text.insert(A, doc, 0.5, 'x')).toThrow(invalid)
    expect(() => text.insert(A, doc, 0, 'lone \uD800 surrogate')).toThrow(invalid)
    expect(() => text.insert(A, doc, 0, '\uDC00')).toThrow(invalid)
    expect(text.insert(A, doc, 0, '')).toBe(doc)
    expect(text.delete(A, doc, 0, 0)).toBe(doc)
  })

  it('converges on every replica under concurrent edits delivered in any order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 5 }),
        fc.integer(),
        fc.array(fc.oneof(editArb, editArb, deliveryArb), { maxLength: 40 }),
        (size, seed, cmds) => {
          const cluster = new Cluster<TextDoc, Edit>(A, size, seed, (actor) => text.init(A, 'text', { actor }))
          for (const cmd of cmds) {
            if (cmd.kind === 'deliver') cluster.deliver(cmd)
            else cluster.local(cmd.replica, cmd, (doc) => applyEdit(doc, cmd))
          }
          cluster.deliverAll()
          const final = cluster.expectConverged(text.read)
          // Every character left was inserted by someone; concurrent inserts are never lost, only deletes are.
          const inserted = cluster.pool.flatMap((sent) => (sent.op.kind === 'insert' ? [...sent.op.text] : []))
          for (const ch of new Set(final)) expect(inserted).toContain(ch)
          expect(final.length).toBeLessThanOrEqual(inserted.join('').length)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('behaves as one string when every edit reaches every replica before the next', () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(editArb, { maxLength: 30 }), (seed, edits) => {
        const cluster = new Cluster<TextDoc, Edit>(A, 3, seed, (actor) => text.init(A, 'text', { actor }))
        let model = ''
        for (const edit of edits) {
          cluster.local(edit.replica, edit, (doc) => applyEdit(doc, edit))
          model = applyToString(model, edit)
          cluster.deliverAll()
          for (let r = 0; r < 3; r++) expect(text.read(cluster.doc(r))).toBe(model)
        }
      }),
      { numRuns: 50 },
    )
  })
})
