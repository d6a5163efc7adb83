// The board: a column per board column, each with its cards in order and a form to add one. It redraws from the
// document on every change (local or from a peer), keeping each card's element (and so the focus and the caret of
// whoever is typing in it) across redraws.
import { addCard, BoardError, cardsIn, moveCard, type Board, type Column } from './board-model.js'
import { CardView, type BoardContext } from './card-view.js'
import { editingRedraw } from './presence.js'
import { h } from './dom.js'
import { describeError, notify } from './ui.js'

interface ColumnView {
  readonly section: HTMLElement
  readonly list: HTMLOListElement
  readonly count: HTMLElement
  readonly heading: HTMLElement
}

export class BoardView {
  private readonly columns = new Map<string, ColumnView>()
  private readonly cards = new Map<string, CardView>()
  private readonly offs: (() => void)[] = []
  /** What the cards get: the board's context plus moving, which the board does (it also serves drag and drop). */
  private readonly context: BoardContext

  constructor(
    private readonly root: HTMLElement,
    private readonly ctx: Omit<BoardContext, 'move'>,
  ) {
    this.context = { ...ctx, move: (id, column, before) => this.move(id, column, before) }
    this.offs.push(ctx.doc.on('change', ({ value }) => this.render(value)))
    // The cards show who (alive, by name) edits what: checked on presence, and on member events (a suspect member
    // back alive, a name arriving).
    const editing = editingRedraw(ctx.room, () => this.renderPresence())
    this.offs.push(ctx.room.presence.on('change', editing.check))
    this.offs.push(ctx.room.on('member:leave', editing.check))
    for (const e of ['member:join', 'member:update'] as const) {
      this.offs.push(
        ctx.room.on(e, () => {
          editing.check()
          // A claim shows its holder's name, which arrives with the holder's heartbeat, maybe after the claim itself.
          this.cards.forEach((view) => view.renderClaim())
        }),
      )
    }
    this.render(ctx.doc.value())
  }

  /** The title of a card, for the people list ("editing …"). */
  titleOf(id: string): string | undefined {
    return this.ctx.doc.value().cards[id]?.title
  }

  private render(board: Board): void {
    for (const column of board.columns) this.columnView(column)
    const seen = new Set<string>()
    for (const [columnId, view] of this.columns) {
      const cards = cardsIn(board, columnId)
      view.count.textContent = String(cards.length)
      cards.forEach((card, i) => {
        seen.add(card.id)
        let cardView = this.cards.get(card.id)
        if (cardView === undefined) {
          cardView = new CardView(card, this.context)
          this.cards.set(card.id, cardView)
        } else cardView.update(card)
        // Only move elements that are out of place: moving an element takes the focus out of it.
        if (view.list.children[i] !== cardView.li) view.list.insertBefore(cardView.li, view.list.children[i] ?? null)
      })
    }
    for (const [id, view] of this.cards) {
      if (seen.has(id)) continue
      if (view.li.contains(document.activeElement)) notify('The card you were working on was deleted by someone else.')
      view.destroy()
      this.cards.delete(id)
    }
    this.renderPresence()
  }

  private renderPresence(): void {
    for (const view of this.cards.values()) view.renderPresence()
  }

  private columnView(column: Column): ColumnView {
    const existing = this.columns.get(column.id)
    if (existing !== undefined) return existing
    const headingId = `column-${column.id}`
    const inputId = `new-card-${column.id}`
    const count = h('span', { class: 'count' })
    const heading = h('h2', { id: headingId }, column.title, ' ', count, h('span', { class: 'sr-only' }, ' cards'))
    const list = h('ol', { class: 'cards', 'aria-labelledby': headingId })
    const input = h('input', { id: inputId, maxlength: 200, autocomplete: 'off', placeholder: 'Add a card…' })
    const form = h(
      'form',
      { class: 'add-card' },
      h('label', { for: inputId, class: 'sr-only' }, `New card in ${column.title}`),
      input,
      h('button', { type: 'submit' }, 'Add'),
    )
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      if (this.add(column, input.value)) input.value = ''
    })
    const section = h('section', { class: 'column', 'aria-labelledby': headingId }, heading, list, form)
    this.acceptDrops(section, list, column.id)
    this.root.append(section)
    const view = { section, list, count, heading }
    this.columns.set(column.id, view)
    return view
  }

  private add(column: Column, title: string): boolean {
    const id = newId()
    try {
      this.ctx.doc.change((d) => addCard(d, { id, title, column: column.id, createdBy: this.ctx.self.id }), { message: 'add card' })
    } catch (err) {
      notify(err instanceof BoardError ? err.message : `The card could not be added: ${describeError(err)}`)
      return false
    }
    notify('')
    this.ctx.announce(`added “${this.titleOf(id) ?? title}” to ${column.title}`)
    return true
  }

  private move(id: string, column: string, before: string | null): void {
    const board = this.ctx.doc.value()
    const card = board.cards[id]
    if (card === undefined) return
    const from = card.column
    try {
      this.ctx.doc.change((d) => moveCard(d, id, column, before), { message: 'move card' })
    } catch (err) {
      notify(describeError(err))
      return
    }
    if (from !== column) {
      const title = board.columns.find((c) => c.id === column)?.title ?? column
      this.ctx.announce(`moved “${card.title}” to ${title}`)
    }
  }

  /** Drag and drop for pointer users (the arrow buttons do the same from the keyboard). */
  private acceptDrops(section: HTMLElement, list: HTMLOListElement, column: string): void {
    section.addEventListener('dragover', (e) => {
      if (e.dataTransfer?.types.includes('text/x-synod-card') !== true) return
      e.preventDefault()
      section.classList.add('drop-target')
    })
    section.addEventListener('dragleave', () => section.classList.remove('drop-target'))
    section.addEventListener('drop', (e) => {
      section.classList.remove('drop-target')
      const id = e.dataTransfer?.getData('text/x-synod-card')
      if (id === undefined || id === '') return
      e.preventDefault()
      // Drop before the first card whose middle is below the pointer.
      const before = [...list.querySelectorAll<HTMLElement>('article[data-card]')].find((el) => {
        const box = el.getBoundingClientRect()
        return e.clientY < box.top + box.height / 2 && el.dataset.card !== id
      })
      this.move(id, column, before?.dataset.card ?? null)
    })
  }

  destroy(): void {
    for (const off of this.offs) off()
    for (const view of this.cards.values()) view.destroy()
    this.root.replaceChildren()
  }
}

/** A short random id: 12 base-36 characters from the platform's random source. */
function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  return [...bytes].map((b) => (b % 36).toString(36)).join('')
}
