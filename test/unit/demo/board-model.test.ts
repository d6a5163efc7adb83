import * as A from '@automerge/automerge'
import { describe, expect, it } from 'vitest'
import {
  addCard,
  BoardError,
  cardsIn,
  cleanTitle,
  deleteCard,
  INITIAL_BOARD,
  MAX_CARDS,
  moveCard,
  stepTarget,
  type Board,
} from '../../../demo/board-model.js'

function board(): Board {
  return structuredClone(INITIAL_BOARD)
}

function titles(b: Board, column: string): string[] {
  return cardsIn(b, column).map((c) => c.title)
}

function withCards(...names: string[]): Board {
  const b = board()
  for (const n of names) addCard(b, { id: n, title: n, column: 'todo', createdBy: 'p' })
  return b
}

describe('board model', () => {
  it('adds cards at the end of their column, with a cleaned title', () => {
    const b = withCards('a', 'b')
    addCard(b, { id: 'c', title: '  many   spaces ', column: 'todo', createdBy: 'p' })
    expect(titles(b, 'todo')).toEqual(['a', 'b', 'many spaces'])
  })

  it('refuses an empty title, an unknown column and a full board with a BoardError', () => {
    expect(() => cleanTitle('   ')).toThrow(BoardError)
    expect(() => addCard(board(), { id: 'x', title: 'x', column: 'nope', createdBy: 'p' })).toThrow(BoardError)
    const full = withCards(...Array.from({ length: MAX_CARDS }, (_, i) => `c${i}`))
    expect(() => addCard(full, { id: 'one-more', title: 't', column: 'todo', createdBy: 'p' })).toThrow(/at most/)
  })

  it('moves a card between columns and before a given card', () => {
    const b = withCards('a', 'b', 'c')
    moveCard(b, 'c', 'todo', 'a')
    expect(titles(b, 'todo')).toEqual(['c', 'a', 'b'])
    moveCard(b, 'a', 'done', null)
    expect(titles(b, 'todo')).toEqual(['c', 'b'])
    expect(titles(b, 'done')).toEqual(['a'])
    expect(() => moveCard(b, 'gone', 'done', null)).toThrow(BoardError)
  })

  it('renumbers a column when positions can no longer be split, keeping the order', () => {
    const b = withCards('a', 'b', 'x')
    // Moving x between a and b again and again halves the gap until floats cannot split it.
    for (let i = 0; i < 80; i++) {
      moveCard(b, 'x', 'todo', 'b')
      moveCard(b, 'b', 'todo', 'x')
    }
    const order = titles(b, 'todo')
    expect(new Set(order).size).toBe(3)
    const positions = cardsIn(b, 'todo').map((c) => c.pos)
    expect(new Set(positions).size).toBe(3)
  })

  it('steps cards across and within columns, and not past the edges', () => {
    const b = withCards('a', 'b', 'c')
    expect(stepTarget(b, 'a', 'left')).toBeNull()
    expect(stepTarget(b, 'a', 'up')).toBeNull()
    expect(stepTarget(b, 'a', 'right')).toEqual({ column: 'doing', before: null })
    expect(stepTarget(b, 'a', 'down')).toEqual({ column: 'todo', before: 'c' })
    expect(stepTarget(b, 'b', 'down')).toEqual({ column: 'todo', before: null })
    expect(stepTarget(b, 'c', 'down')).toBeNull()
    const up = stepTarget(b, 'c', 'up')!
    moveCard(b, 'c', up.column, up.before)
    expect(titles(b, 'todo')).toEqual(['a', 'c', 'b'])
  })

  it('keeps both of two concurrent moves of different cards after an Automerge merge', () => {
    let base = A.from(withCards('a', 'b', 'c') as unknown as Record<string, unknown>) as A.Doc<Board>
    let left = A.clone(base)
    let right = A.clone(base)
    left = A.change(left, (d) => moveCard(d, 'a', 'doing', null))
    right = A.change(right, (d) => moveCard(d, 'c', 'todo', 'b'))
    base = A.merge(left, right)
    expect(titles(base, 'todo')).toEqual(['c', 'b'])
    expect(titles(base, 'doing')).toEqual(['a'])
    const both = A.merge(right, left)
    expect(titles(both, 'todo')).toEqual(titles(base, 'todo'))
  })

  it('deletes idempotently: a card deleted by two peers at once is simply gone', () => {
    const base = A.from(withCards('a', 'b') as unknown as Record<string, unknown>) as A.Doc<Board>
    const one = A.change(A.clone(base), (d) => deleteCard(d, 'a'))
    const two = A.change(A.clone(base), (d) => deleteCard(d, 'a'))
    expect(titles(A.merge(one, two), 'todo')).toEqual(['b'])
  })
})
