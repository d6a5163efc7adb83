// Tiny DOM builders for the consensus panel. Kept here rather than shared with the board's demo/ui.ts so that the
// panel can be mounted (and its contract tested) on any page without the board's helpers.

type Attrs = Record<string, string | number | undefined>
type Child = Node | string | null | undefined

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  setAttrs(node, attrs)
  for (const child of children) if (child !== null && child !== undefined) node.append(child)
  return node
}

const SVG_NS = 'http://www.w3.org/2000/svg'

export function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag)
  setAttrs(node, attrs)
  for (const child of children) if (child !== null && child !== undefined) node.append(child)
  return node
}

function setAttrs(node: Element, attrs: Attrs): void {
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined) node.setAttribute(key, String(value))
}

let nextId = 0

/** A document-unique id, so that several panels (e2e pages mount one per peer) never share ids. */
export function uniqueId(prefix: string): string {
  nextId++
  return `${prefix}-${nextId}`
}
