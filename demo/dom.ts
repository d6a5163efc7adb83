// Tiny DOM builders shared by the board and the consensus panel, and names as the demo shows them. No page state:
// the panel can be mounted on any page.
import type { MemberRole } from '../src/index.js'

type Attrs = Record<string, string | number | boolean | undefined>
type Child = Node | string | null | undefined | false

/** Sets attributes: undefined and false are left out, true is an empty (boolean) attribute. */
function setAttrs(node: Element, attrs: Attrs): void {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    node.setAttribute(key, value === true ? '' : String(value))
  }
}

function fill<E extends Element>(node: E, attrs: Attrs, children: Child[]): E {
  setAttrs(node, attrs)
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child)
  return node
}

/** Creates an HTML element with attributes (`class`, `aria-*`, `data-*`, …) and children; null/false are skipped. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  return fill(document.createElement(tag), attrs, children)
}

const SVG_NS = 'http://www.w3.org/2000/svg'

export function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children)
}

let nextId = 0

/** A document-unique id, so that several panels (e2e pages mount one per peer) never share ids. */
export function uniqueId(prefix: string): string {
  nextId++
  return `${prefix}-${nextId}`
}

/** A member's name, or a short form of its id while its heartbeat (which carries the name) has not arrived. */
export function displayName(name: string | undefined, id: string): string {
  return name !== undefined && name !== '' ? name : `peer …${id.slice(-6)}`
}

/** The role as the demo writes it; e2e tests match these exact words. */
export function roleLabel(role: MemberRole): 'leader' | 'super-peer' | 'peer' {
  return role === 'leader' ? 'leader' : role === 'super' ? 'super-peer' : 'peer'
}
