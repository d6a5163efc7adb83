// Other peers' carets and selections inside a textarea. A textarea cannot hold markup, so a "mirror" div sits exactly
// over it with the same font, padding and wrapping and transparent text; marks and carets placed in the mirror's
// text land where the characters are in the textarea.
import { h } from './dom.js'
import { colorOf } from './ui.js'

export interface RemoteCaret {
  peerId: string
  name: string
  /** Selection start and end; equal for a plain caret. Clamped to the text. */
  sel: [number, number]
}

/** Wraps `textarea` in a positioned box with a mirror layer; returns the function that redraws the carets. */
export function withCarets(textarea: HTMLTextAreaElement): { box: HTMLElement; draw: (carets: readonly RemoteCaret[]) => void } {
  const mirror = h('div', { class: 'mirror', 'aria-hidden': 'true' })
  const box = h('div', { class: 'caret-box' }, textarea, mirror)
  textarea.addEventListener('scroll', () => {
    mirror.scrollTop = textarea.scrollTop
  })
  let last: readonly RemoteCaret[] = []
  const draw = (carets: readonly RemoteCaret[]): void => {
    last = carets
    mirror.replaceChildren(...segments(textarea.value, carets))
    mirror.scrollTop = textarea.scrollTop
  }
  // The text changes under the carets as people type; redraw so they stay on the right characters.
  textarea.addEventListener('input', () => draw(last))
  return { box, draw }
}

/** Splits `text` at every caret and selection boundary. Overlapping selections are drawn as their carets only. */
function segments(text: string, carets: readonly RemoteCaret[]): Node[] {
  const clamp = (n: number): number => Math.min(Math.max(Math.trunc(n), 0), text.length)
  const sorted = carets
    .map((c) => {
      const [a, b] = [clamp(c.sel[0]), clamp(c.sel[1])]
      return { ...c, start: Math.min(a, b), end: Math.max(a, b) }
    })
    .sort((x, y) => x.start - y.start || x.end - y.end)
  const nodes: Node[] = []
  let at = 0
  for (const c of sorted) {
    const color = colorOf(c.peerId)
    const caret = h('span', { class: 'remote-caret', style: `--c:${color}` }, h('span', { class: 'caret-label' }, c.name))
    if (c.start < at) {
      // Overlaps the previous selection: a caret after what is already drawn is the best honest approximation.
      nodes.push(caret)
      continue
    }
    nodes.push(document.createTextNode(text.slice(at, c.start)))
    if (c.end > c.start) nodes.push(h('mark', { style: `--c:${color}` }, text.slice(c.start, c.end)))
    nodes.push(caret)
    at = c.end
  }
  // A trailing newline needs a character after it, or the mirror is one line shorter than the textarea.
  nodes.push(document.createTextNode(`${text.slice(at)}\u200b`))
  return nodes
}
