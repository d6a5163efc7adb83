// The board's data and the pure rules for changing it. The board is one Automerge document shared by the room:
// columns in a fixed order and cards in a map keyed by id (a map, not a list, so that two peers moving or deleting
// different cards at once never fight over list positions). A card's place in its column is a number; a move picks a
// number between its new neighbours, so concurrent moves of different cards both survive the merge.
//
// No DOM here and no Synod import: the functions take and mutate plain drafts, so they are unit-tested on their own.

export interface Card {
  id: string
  title: string
  column: string
  /** Order within the column: smaller first; ties are broken by id, the same way on every peer. */
  pos: number
  createdBy: string
}

export interface Column {
  id: string
  title: string
}

export interface Board {
  columns: Column[]
  cards: Record<string, Card>
}

export const MAX_TITLE = 200
export const MAX_CARDS = 200

export const INITIAL_BOARD: Board = {
  columns: [
    { id: 'todo', title: 'To do' },
    { id: 'doing', title: 'Doing' },
    { id: 'done', title: 'Done' },
  ],
  cards: {},
}

export class BoardError extends Error {
  override readonly name = 'BoardError'
}

/** The cards of a column, in display order (a card whose column vanished counts in the first one). */
export function cardsIn(board: Board, column: string): Card[] {
  return Object.values(board.cards)
    .filter((c) => columnOf(board, c) === column)
    .sort((a, b) => a.pos - b.pos || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** The column a card sits in; a card whose column vanished shows in the first one rather than disappearing. */
export function columnOf(board: Board, card: Card): string {
  return board.columns.some((c) => c.id === card.column) ? card.column : (board.columns[0]?.id ?? card.column)
}

export function cleanTitle(title: string): string {
  const t = title.replace(/\s+/gu, ' ').trim()
  if (t === '') throw new BoardError('a card needs a title')
  return t.slice(0, MAX_TITLE)
}

export function addCard(draft: Board, card: { id: string; title: string; column: string; createdBy: string }): void {
  if (Object.keys(draft.cards).length >= MAX_CARDS) throw new BoardError(`a board holds at most ${MAX_CARDS} cards`)
  if (!draft.columns.some((c) => c.id === card.column)) throw new BoardError(`no column '${card.column}'`)
  const last = cardsIn(draft, card.column).at(-1)
  draft.cards[card.id] = { ...card, title: cleanTitle(card.title), pos: last === undefined ? 1 : last.pos + 1 }
}

/**
 * Moves a card into `column` before the card `before` (or to the end when null). The new position lies strictly
 * between its neighbours; when they are too close for a float to split (after very many moves) the column is
 * renumbered, which is rare and only touches that column.
 */
export function moveCard(draft: Board, id: string, column: string, before: string | null): void {
  const card = draft.cards[id]
  if (card === undefined) throw new BoardError('that card was deleted')
  if (!draft.columns.some((c) => c.id === column)) throw new BoardError(`no column '${column}'`)
  const others = cardsIn(draft, column).filter((c) => c.id !== id)
  let at = before === null ? others.length : others.findIndex((c) => c.id === before)
  if (at < 0) at = others.length
  const prev = others[at - 1]?.pos
  const next = others[at]?.pos
  let pos = prev === undefined ? (next === undefined ? 1 : next - 1) : next === undefined ? prev + 1 : (prev + next) / 2
  if ((prev !== undefined && pos <= prev) || (next !== undefined && pos >= next)) {
    others.forEach((c, i) => {
      const target = draft.cards[c.id]
      if (target !== undefined) target.pos = i < at ? i + 1 : i + 2
    })
    pos = at + 1
  }
  card.column = column
  card.pos = pos
}

/** Where a card goes when moved one step: across columns (left/right) or within its column (up/down). */
export function stepTarget(
  board: Board,
  id: string,
  direction: 'left' | 'right' | 'up' | 'down',
): { column: string; before: string | null } | null {
  const card = board.cards[id]
  if (card === undefined) return null
  const column = columnOf(board, card)
  const columns = board.columns.map((c) => c.id)
  const ci = columns.indexOf(column)
  if (direction === 'left' || direction === 'right') {
    const target = columns[ci + (direction === 'left' ? -1 : 1)]
    return target === undefined ? null : { column: target, before: null }
  }
  const list = cardsIn(board, column)
  const i = list.findIndex((c) => c.id === id)
  if (direction === 'up') {
    const above = list[i - 1]
    return above === undefined ? null : { column, before: above.id }
  }
  const below = list[i + 1]
  if (below === undefined) return null
  return { column, before: list[i + 2]?.id ?? null }
}

export function renameCard(draft: Board, id: string, title: string): void {
  const card = draft.cards[id]
  if (card === undefined) throw new BoardError('that card was deleted')
  card.title = title.slice(0, MAX_TITLE)
}

export function deleteCard(draft: Board, id: string): void {
  // Deleting a card someone else deleted at the same time is not an error: the outcome is the same.
  delete draft.cards[id]
}
