// Small DOM helpers shared by the demo's views, and how a peer is named and coloured on screen.
import type { Room } from '../src/index.js'

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id)
  if (found === null) throw new Error(`the page has no #${id}`)
  return found as T
}

type Child = Node | string | null | undefined | false

/** Creates an element with attributes (`class`, `aria-*`, `data-*`, …) and children; null/false children are skipped. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    node.setAttribute(key, value === true ? '' : String(value))
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child)
  return node
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
  const member = room.members().find((m) => m.id === peerId)
  return member !== undefined && member.name !== '' ? member.name : `peer …${peerId.slice(-6)}`
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
