// One card on the board: its title (a field of the board document), its description (collaborative text, a
// `room.text` of its own), who is editing it (presence), and its claim (a `room.lock` with a lease: only one peer
// can hold it, and the room's super-peers decide who).
import { AbortError, LockBusyError, type DocHandle, type LockHandle, type Room } from '../src/index.js'
import { deleteCard, renameCard, stepTarget, type Board, type Card } from './board-model.js'
import { withCarets, type RemoteCaret } from './carets.js'
import { presenceOf, type PresenceOut } from './presence.js'
import { h } from './dom.js'
import { clockTime, colorOf, describeError, notify } from './ui.js'

/** How long a claim lasts unless released: long enough to work on a card, short enough that a closed tab frees it. */
export const CLAIM_TTL_MS = 10 * 60_000
/** How long a claim attempt waits for the super-peers before telling the user they could not be reached. */
const CLAIM_TIMEOUT_MS = 15_000

export interface BoardContext {
  readonly room: Room
  readonly doc: DocHandle<Board>
  readonly self: { readonly id: string; readonly name: string }
  readonly presence: PresenceOut
  /** Records a board event in the room's activity log. */
  announce(text: string): void
  /** The display name of a peer of this room. */
  name(peerId: string): string
  /** Moves a card and records it; shared with drag and drop. */
  move(id: string, column: string, before: string | null): void
}

type Direction = 'left' | 'right' | 'up' | 'down'
const ARROWS: Record<Direction, string> = { left: '←', up: '↑', down: '↓', right: '→' }

export class CardView {
  readonly li: HTMLLIElement
  private readonly article: HTMLElement
  private readonly title: HTMLInputElement
  private readonly claimLine: HTMLElement
  private readonly editors: HTMLElement
  private readonly claimButton: HTMLButtonElement
  private readonly claimResult: HTMLElement
  private readonly detailsButton: HTMLButtonElement
  private readonly details: HTMLElement
  private readonly textarea: HTMLTextAreaElement
  private readonly drawCarets: (carets: readonly RemoteCaret[]) => void
  private readonly lock: LockHandle
  private readonly offLock: () => void
  private unbindText: (() => void) | null = null
  private card: Card
  private claiming = false

  constructor(
    card: Card,
    private readonly ctx: BoardContext,
  ) {
    this.card = card
    const id = card.id
    this.lock = ctx.room.lock(`card:${id}`)
    this.title = h('input', { class: 'card-title', 'aria-label': 'Card title', maxlength: 200, value: card.title })
    this.title.addEventListener('input', () => this.rename())
    this.title.addEventListener('focus', () => ctx.presence.update({ editing: { card: id, field: 'title' } }))
    this.title.addEventListener('blur', () => ctx.presence.update({ editing: undefined }))
    this.claimLine = h('span', { class: 'claim', id: `claim-${id}` })
    this.editors = h('span', { class: 'editors' })
    this.claimButton = h('button', { type: 'button', 'aria-describedby': `claim-${id}` }, 'Claim')
    this.claimButton.addEventListener('click', () => void this.toggleClaim())
    this.claimResult = h('p', { class: 'claim-result', role: 'status' })
    this.detailsButton = h('button', { type: 'button', 'aria-expanded': 'false', 'aria-controls': `details-${id}` }, 'Details')
    this.detailsButton.addEventListener('click', () => void this.toggleDetails())
    const deleteButton = h('button', { type: 'button', class: 'danger' }, 'Delete')
    deleteButton.addEventListener('click', () => void this.remove())
    this.textarea = h('textarea', { id: `desc-${id}`, rows: 4, placeholder: 'Everyone types here at once' })
    const caretLayer = withCarets(this.textarea)
    this.drawCarets = caretLayer.draw
    for (const e of ['select', 'keyup', 'mouseup', 'input', 'focus']) this.textarea.addEventListener(e, () => this.shareSelection())
    this.textarea.addEventListener('blur', () => ctx.presence.update({ editing: undefined }))
    this.details = h(
      'div',
      { class: 'details', id: `details-${id}`, hidden: true },
      h('label', { for: `desc-${id}` }, 'Description'),
      caretLayer.box,
    )
    const moves = (['left', 'up', 'down', 'right'] as const).map((d) => {
      const b = h('button', { type: 'button', class: 'icon', 'aria-label': `Move ${d}`, title: `Move ${d}` }, ARROWS[d])
      b.addEventListener('click', () => this.step(d, b))
      return b
    })
    this.article = h(
      'article',
      { class: 'card', draggable: 'true', 'data-card': id },
      h('div', { class: 'card-head' }, this.title, this.editors),
      h('div', { class: 'card-meta' }, this.claimLine),
      h('div', { class: 'card-actions' }, ...moves, this.detailsButton, this.claimButton, deleteButton),
      this.claimResult,
      this.details,
    )
    // Dragging inside the title or the description selects text; only the rest of the card drags it.
    this.article.addEventListener('pointerdown', (e) => {
      this.article.draggable = !(e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement)
    })
    this.article.addEventListener('dragstart', (e) => {
      e.dataTransfer?.setData('text/x-synod-card', id)
      if (e.dataTransfer !== null) e.dataTransfer.effectAllowed = 'move'
    })
    this.li = h('li', {}, this.article)
    this.offLock = this.lock.on('change', () => this.renderClaim())
    this.update(card)
    this.renderClaim()
  }

  get id(): string {
    return this.card.id
  }

  /** A new version of the card from the document. The title being typed in here is left alone. */
  update(card: Card): void {
    this.card = card
    if (document.activeElement !== this.title && this.title.value !== card.title) this.title.value = card.title
    this.article.setAttribute('aria-label', `Card: ${card.title === '' ? 'untitled' : card.title}`)
  }

  /** Redraws who is editing this card and, if its description is open, their carets in it. */
  renderPresence(): void {
    const room = this.ctx.room
    const others = room.members().flatMap((m) => {
      const editing = presenceOf(room, m.id).editing
      return m.state === 'alive' && editing?.card === this.id ? [{ ...m, editing }] : []
    })
    // The initials are decoration; screen readers get the names in words.
    this.editors.replaceChildren(
      ...others.map((m) =>
        h('span', { class: 'editor', style: `--c:${colorOf(m.id)}`, title: `${m.name} is editing`, 'aria-hidden': 'true' }, (m.name[0] ?? '?').toUpperCase()),
      ),
      h('span', { class: 'sr-only' }, others.length === 0 ? '' : `Editing now: ${others.map((m) => m.name).join(', ')}`),
    )
    if (this.details.hidden) return
    const carets: RemoteCaret[] = []
    for (const { id, name, editing } of others) {
      if (editing.field === 'description' && editing.sel !== undefined) carets.push({ peerId: id, name, sel: editing.sel })
    }
    this.drawCarets(carets)
  }

  /** Shows who holds the claim; called when the lock changes and when names arrive with members' heartbeats. */
  renderClaim(): void {
    const holder = this.lock.holder()
    const mine = holder?.mine === true
    this.claimButton.textContent = mine ? 'Release' : 'Claim'
    this.claimButton.setAttribute('aria-pressed', String(mine))
    this.article.classList.toggle('claimed', holder !== null)
    if (holder === null) {
      this.claimLine.textContent = ''
      this.article.style.removeProperty('--claim')
      return
    }
    const who = mine ? 'you' : holder.peer === this.ctx.self.id ? 'you (an earlier session)' : this.ctx.name(holder.peer)
    this.claimLine.textContent = `Claimed by ${who} until ${clockTime(holder.expiresAtMs)}`
    this.article.style.setProperty('--claim', colorOf(holder.peer))
  }

  private rename(): void {
    try {
      this.ctx.doc.change((d) => renameCard(d, this.id, this.title.value), { message: 'rename card' })
    } catch (err) {
      notify(describeError(err))
    }
  }

  private step(direction: Direction, button: HTMLButtonElement): void {
    const target = stepTarget(this.ctx.doc.value(), this.id, direction)
    if (target === null) return
    this.ctx.move(this.id, target.column, target.before)
    // Moving the element in the DOM took the focus away from the button that was pressed: give it back.
    button.focus()
  }

  private async toggleClaim(): Promise<void> {
    if (this.claiming) return
    this.claiming = true
    this.claimButton.disabled = true
    this.claimResult.textContent = ''
    try {
      if (this.lock.holder()?.mine === true) {
        this.claimResult.textContent = 'Releasing…'
        await this.lock.release({ signal: AbortSignal.timeout(CLAIM_TIMEOUT_MS) })
        this.claimResult.textContent = ''
        this.ctx.announce(`released “${this.card.title}”`)
      } else {
        this.claimResult.textContent = 'Asking the super-peers…'
        await this.lock.acquire({ ttlMs: CLAIM_TTL_MS, wait: false, signal: AbortSignal.timeout(CLAIM_TIMEOUT_MS) })
        this.claimResult.textContent = ''
        this.ctx.announce(`claimed “${this.card.title}”`)
      }
    } catch (err) {
      this.claimResult.textContent = claimFailure(err, this.ctx)
    } finally {
      this.claiming = false
      this.claimButton.disabled = false
      this.renderClaim()
    }
  }

  private async toggleDetails(): Promise<void> {
    const opening = this.details.hidden
    this.details.hidden = !opening
    this.detailsButton.setAttribute('aria-expanded', String(opening))
    if (!opening) {
      this.unbindText?.()
      this.unbindText = null
      return
    }
    const text = this.ctx.room.text(`card:${this.id}`)
    this.textarea.disabled = true
    try {
      await text.whenReady()
    } catch (err) {
      notify(`The description could not be opened: ${describeError(err)}`)
      return
    }
    if (this.details.hidden || this.unbindText !== null) return
    this.unbindText = text.bind(this.textarea)
    this.textarea.disabled = false
    this.renderPresence()
  }

  private shareSelection(): void {
    // A remote edit moves our caret too (and fires `select`): only what the user does here is worth announcing.
    if (document.activeElement !== this.textarea) return
    const sel: [number, number] = [this.textarea.selectionStart, this.textarea.selectionEnd]
    this.ctx.presence.update({ editing: { card: this.id, field: 'description', sel } })
  }

  private async remove(): Promise<void> {
    const title = this.card.title
    try {
      if (this.lock.holder()?.mine === true) await this.lock.release({ signal: AbortSignal.timeout(CLAIM_TIMEOUT_MS) }).catch(() => undefined)
      this.ctx.doc.change((d) => deleteCard(d, this.id), { message: 'delete card' })
      this.ctx.announce(`deleted “${title}”`)
    } catch (err) {
      notify(describeError(err))
    }
  }

  destroy(): void {
    this.unbindText?.()
    this.offLock()
    this.li.remove()
  }
}

function claimFailure(err: unknown, ctx: BoardContext): string {
  if (err instanceof LockBusyError) {
    // The holder is '' (and its expiry 0) when the lock was freed meanwhile and nobody is known to hold it.
    return err.holder === '' ? 'Already claimed by someone else.' : `Already claimed by ${ctx.name(err.holder)} until ${clockTime(err.expiresAtMs)}.`
  }
  if (err instanceof AbortError) return 'The room’s super-peers did not answer in time (are you offline?). Try again.'
  return `Could not claim: ${describeError(err)}`
}
