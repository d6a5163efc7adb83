// Page helpers for the board: elements by id, the notice line, how a peer is named and coloured, times and errors.
import type { Room } from '../src/index.js'
import { displayName } from './dom.js'

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id)
  if (found === null) throw new Error(`the page has no #${id}`)
  return found as T
}

/** A stable colour per peer, the same in every browser. */
export function colorOf(peerId: string): string {
  let hash = 0
  for (const c of peerId) hash = (hash * 31 + c.charCodeAt(0)) % 360
  return `hsl(${hash} 65% 42%)`
}

/** The name a peer goes by in this room, or a short form of its id while its heartbeat has not arrived. */
export function nameOf(room: Room, selfId: string, selfName: string, peerId: string): string {
  if (peerId === selfId) return selfName
  return displayName(room.members().find((m) => m.id === peerId)?.name, peerId)
}

export function clockTime(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
}

/** A message that stays until replaced; errors are announced to screen readers by the element's role="alert". */
export function notify(message: string): void {
  const el = byId('notice')
  el.textContent = message
  el.hidden = message === ''
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
