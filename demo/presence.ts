// Live presence: what each peer shares about itself (its pointer over the board, the card and field it is editing,
// its selection there), the "People here" list, and the other peers' pointers drawn over the board. Presence is
// ephemeral: it is never stored and vanishes when a peer leaves.
import type { Room } from '../src/index.js'
import { displayName, h, roleLabel } from './dom.js'
import { colorOf } from './ui.js'

export interface Editing {
  card: string
  field: 'title' | 'description'
  /** The selection in that field (start, end), in UTF-16 code units like the DOM's selectionStart. */
  sel?: [number, number]
}

export interface DemoPresence {
  /** The pointer over the board, as fractions of the board's width and height. */
  pointer?: { x: number; y: number }
  editing?: Editing
}

/** Reads another peer's presence defensively: it is whatever that peer sent, so check its shape. */
export function presenceOf(room: Room, peerId: string): DemoPresence {
  const raw = room.presence.get<unknown>(peerId)
  if (typeof raw !== 'object' || raw === null) return {}
  const p = raw as Record<string, unknown>
  const out: DemoPresence = {}
  const pointer = p.pointer as Record<string, unknown> | undefined
  if (typeof pointer?.x === 'number' && typeof pointer.y === 'number') out.pointer = { x: pointer.x, y: pointer.y }
  const editing = p.editing as Record<string, unknown> | undefined
  if (typeof editing?.card === 'string' && (editing.field === 'title' || editing.field === 'description')) {
    const e: Editing = { card: editing.card, field: editing.field }
    const sel = editing.sel
    if (Array.isArray(sel) && typeof sel[0] === 'number' && typeof sel[1] === 'number') e.sel = [sel[0], sel[1]]
    out.editing = e
  }
  return out
}

/**
 * Who (by id, name and state) is editing which card and field, with their selection: everything the cards and the
 * people list show from presence. Equal signatures mean nothing to redraw.
 */
export function editingSignature(room: Room): string {
  return JSON.stringify(room.members().map((m) => [m.id, m.name, m.state, presenceOf(room, m.id).editing ?? null]))
}

/**
 * Presence changes at pointer rate, but the cards and the people list show only who edits what: `check` calls `redraw`
 * only when the editing signature changed since the last redraw; `now` redraws whatever it is (for what else the view
 * shows, such as roles).
 */
export function editingRedraw(room: Room, redraw: () => void): { check: () => void; now: () => void } {
  let last = ''
  const check = (): void => {
    const key = editingSignature(room)
    if (key === last) return
    last = key
    redraw()
  }
  const now = (): void => {
    last = editingSignature(room)
    redraw()
  }
  return { check, now }
}

/** This peer's presence: each part of the UI updates its own fields, and the room gets the merged value. */
export class PresenceOut {
  private value: DemoPresence = {}

  constructor(private readonly room: Room) {}

  /** Sets the given fields; a field given as undefined is removed. */
  update(patch: { [K in keyof DemoPresence]?: DemoPresence[K] | undefined }): void {
    const next: Record<string, unknown> = { ...this.value }
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) delete next[key]
      else next[key] = value
    }
    this.value = next
    this.room.presence.set(next)
  }

  get current(): DemoPresence {
    return this.value
  }
}

/** The "People here" list: name, role, state, connection, and the card each one is editing. */
export function renderPeople(
  list: HTMLElement,
  room: Room,
  self: { id: string; name: string; role: 'leader' | 'super' | 'peer' },
  cardTitle: (id: string) => string | undefined,
): void {
  const rows = [
    { id: self.id, name: self.name, state: 'alive', role: self.role, link: 'you' },
    ...room.members().map((m) => ({
      id: m.id,
      name: displayName(m.name, m.id),
      state: m.state,
      role: m.role,
      link: m.direct ? 'direct' : 'via relay',
    })),
  ]
  list.replaceChildren(
    ...rows.map((r) => {
      const editing = presenceOf(room, r.id).editing
      const title = editing === undefined ? undefined : cardTitle(editing.card)
      return h(
        'li',
        { class: `person state-${r.state}` },
        h('span', { class: 'dot', style: `background:${colorOf(r.id)}`, 'aria-hidden': 'true' }),
        h('span', { class: 'person-name' }, r.name, r.id === self.id ? ' (you)' : ''),
        h('span', { class: `badge role-${r.role}` }, roleLabel(r.role)),
        r.state === 'alive' ? null : h('span', { class: 'badge warn' }, r.state),
        h('span', { class: 'muted' }, r.link),
        title === undefined ? null : h('span', { class: 'editing' }, `editing “${title}”`),
      )
    }),
  )
}

/**
 * Shares this peer's pointer over `board` and draws the others' pointers on a layer inside it. Positions are
 * fractions of the board's box, so screens of different sizes still agree roughly on where a pointer is.
 */
export function mountPointers(board: HTMLElement, room: Room, selfId: string, out: PresenceOut): () => void {
  const layer = h('div', { class: 'pointers', 'aria-hidden': 'true' })
  board.append(layer)
  const onMove = (e: PointerEvent): void => {
    const box = board.getBoundingClientRect()
    if (box.width === 0 || box.height === 0) return
    out.update({ pointer: { x: (e.clientX - box.left) / box.width, y: (e.clientY - box.top) / box.height } })
  }
  const onLeave = (): void => out.update({ pointer: undefined })
  board.addEventListener('pointermove', onMove)
  board.addEventListener('pointerleave', onLeave)
  const draw = (): void => {
    layer.replaceChildren(
      ...room.members().flatMap((m) => {
        const pointer = presenceOf(room, m.id).pointer
        if (pointer === undefined || m.id === selfId || m.state !== 'alive') return []
        const x = Math.min(Math.max(pointer.x, 0), 1) * 100
        const y = Math.min(Math.max(pointer.y, 0), 1) * 100
        return [h('div', { class: 'pointer', style: `left:${x}%;top:${y}%;--c:${colorOf(m.id)}` }, h('span', {}, m.name))]
      }),
    )
  }
  const offs = [room.presence.on('change', draw), room.on('member:leave', draw), room.on('member:update', draw)]
  return () => {
    board.removeEventListener('pointermove', onMove)
    board.removeEventListener('pointerleave', onLeave)
    for (const off of offs) off()
    layer.remove()
  }
}
