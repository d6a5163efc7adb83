// The room's graph (an SVG, peers on a circle) and the Peers table, both redrawn from `room.topology()`. Colours and
// dash patterns live in panel.css, keyed by the classes set here, so that the theme (light/dark) applies to the SVG.
import type { OrderingStats, Topology } from '../../src/index.js'
import { h, roleLabel, svgEl } from '../dom.js'
import { countLinks, nameIn, topologySummary, type TopologyNode } from './series.js'

const VIEW_W = 360
const VIEW_H = 260
/** Past this many peers, names would overlap: only self and the leader keep a label; the rest have a tooltip. */
const MAX_LABELLED = 16

export interface TopologyView {
  /** The SVG graph and its legend. */
  readonly graph: HTMLElement
  /** The Peers table (in a scrolling wrapper). */
  readonly table: HTMLElement
  update(topology: Topology, ordering: OrderingStats): void
}

export function createTopologyView(): TopologyView {
  const svg = svgEl('svg', {
    class: 'cp-graph',
    role: 'img',
    viewBox: `0 0 ${VIEW_W} ${VIEW_H}`,
    preserveAspectRatio: 'xMidYMid meet',
    'data-testid': 'topology-graph',
  })
  const tbody = h('tbody')
  const table = h(
    'table',
    { class: 'cp-table', 'data-testid': 'peers-table' },
    h('caption', {}, 'Peers'),
    h(
      'thead',
      {},
      h('tr', {}, ...['Name', 'Role', 'State', 'Links', 'Score'].map((label) => h('th', { scope: 'col' }, label))),
    ),
    tbody,
  )
  // What was drawn last: redrawing an unchanged picture every second would close any tooltip the user is reading.
  let drawnGraph = ''
  let drawnTable = ''
  return {
    graph: h('figure', { class: 'cp-topology' }, svg, legend()),
    table: h('div', { class: 'cp-table-wrap' }, table),
    update(topology, ordering) {
      const summary = topologySummary(topology, ordering)
      // Scores drift continuously; they are in the table, not the picture, so they only redraw the table.
      const graphKey = JSON.stringify([summary, topology.nodes.map(({ score: _, ...n }) => n), topology.edges])
      if (graphKey !== drawnGraph) {
        drawnGraph = graphKey
        svg.setAttribute('aria-label', summary)
        svg.replaceChildren(...drawGraph(topology))
      }
      const rows = tableRows(topology)
      const tableKey = rows.map((r) => r.outerHTML).join('')
      if (tableKey !== drawnTable) {
        drawnTable = tableKey
        tbody.replaceChildren(...rows)
      }
    },
  }
}

/** Self first, then by name and id: positions on the circle stay put while roles and states change. */
function layoutOrder(topology: Topology): TopologyNode[] {
  return [...topology.nodes].sort(
    (x, y) => Number(y.self) - Number(x.self) || x.name.localeCompare(y.name) || x.id.localeCompare(y.id),
  )
}

const ROLE_RANK = { leader: 0, super: 1, peer: 2 } as const

/** Self first, then the leader, the super-peers and the rest: the table reads from the group's core outwards. */
function tableOrder(topology: Topology): TopologyNode[] {
  return [...topology.nodes].sort(
    (x, y) =>
      Number(y.self) - Number(x.self) ||
      ROLE_RANK[x.role] - ROLE_RANK[y.role] ||
      x.name.localeCompare(y.name) ||
      x.id.localeCompare(y.id),
  )
}

function drawGraph(topology: Topology): SVGElement[] {
  const nodes = layoutOrder(topology)
  const n = nodes.length
  const r = n <= 8 ? 16 : n <= 20 ? 11 : 7
  const cx = VIEW_W / 2
  const cy = VIEW_H / 2 - 8
  const ring = n <= 1 ? 0 : Math.min(VIEW_W / 2, VIEW_H / 2) - r - 26
  const at = new Map<string, { x: number; y: number }>()
  nodes.forEach((node, i) => {
    // Self at the top (−90°), the others clockwise.
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(n, 1)
    at.set(node.id, { x: cx + ring * Math.cos(angle), y: cy + ring * Math.sin(angle) })
  })

  const edges: SVGElement[] = []
  for (const e of topology.edges) {
    const a = at.get(e.a)
    const b = at.get(e.b)
    // A member may report a link to a peer this one does not list (yet): it counts in the table, not in the picture.
    if (a === undefined || b === undefined) continue
    const line = svgEl('line', { class: `cp-edge cp-edge-${e.via}`, x1: a.x, y1: a.y, x2: b.x, y2: b.y })
    line.append(svgEl('title', {}, `${nameIn(topology, e.a)} – ${nameIn(topology, e.b)}: ${e.via}`))
    edges.push(line)
  }

  const drawn = nodes.map((node) => {
    const p = at.get(node.id) ?? { x: cx, y: cy }
    const labelled = n <= MAX_LABELLED || node.self || node.role === 'leader'
    return drawNode(topology, node, p.x, p.y, r, labelled)
  })
  return [svgEl('g', { class: 'cp-edges' }, ...edges), svgEl('g', { class: 'cp-nodes' }, ...drawn)]
}

function drawNode(topology: Topology, node: TopologyNode, x: number, y: number, r: number, labelled: boolean): SVGElement {
  const name = nameIn(topology, node.id) + (node.self ? ' (you)' : '')
  const g = svgEl('g', {
    class: `cp-node cp-role-${node.role} cp-state-${node.state}${node.self ? ' cp-self' : ''}`,
    'data-peer-id': node.id,
  })
  g.append(svgEl('title', {}, `${name}: ${roleLabel(node.role)}, ${node.state}`))
  g.append(svgEl('circle', { cx: x, cy: y, r }))
  // A letter as well as a colour, so that the role reads without colour vision.
  const letter = node.role === 'leader' ? 'L' : node.role === 'super' ? 'S' : ''
  if (letter !== '' && r >= 11) {
    g.append(svgEl('text', { class: 'cp-node-letter', x, y, 'dominant-baseline': 'central', 'text-anchor': 'middle' }, letter))
  }
  if (node.state === 'dead') {
    const d = r * 0.7
    g.append(svgEl('path', { class: 'cp-cross', d: `M${x - d},${y - d}L${x + d},${y + d}M${x - d},${y + d}L${x + d},${y - d}` }))
  }
  if (labelled) {
    g.append(svgEl('text', { class: 'cp-node-label', x, y: y + r + 11, 'text-anchor': 'middle' }, name))
  }
  return g
}

function tableRows(topology: Topology): HTMLTableRowElement[] {
  return tableOrder(topology).map((node) => {
    const links = countLinks(topology, node.id)
    return h(
      'tr',
      { 'data-peer-id': node.id, 'data-role': node.role, 'data-state': node.state, class: node.self ? 'cp-self' : undefined },
      // Plain cells throughout, so that a test can address every column the same way.
      h('td', { class: 'cp-name' }, nameIn(topology, node.id) + (node.self ? ' (you)' : '')),
      h('td', { class: `cp-role cp-role-${node.role}` }, roleLabel(node.role)),
      h('td', { class: `cp-state cp-state-${node.state}` }, node.state),
      h('td', {}, `${links.direct} direct, ${links.relayed} relayed`),
      // This peer's gossipsub score of the member; it does not score itself.
      h('td', { class: 'cp-num' }, node.self ? '—' : node.score.toFixed(1)),
    )
  })
}

function legend(): HTMLElement {
  const item = (swatch: string, label: string): HTMLElement =>
    h('li', {}, h('span', { class: `cp-swatch ${swatch}`, 'aria-hidden': 'true' }), label)
  return h(
    'figcaption',
    { class: 'cp-legend' },
    h(
      'ul',
      { 'aria-label': 'Legend' },
      item('cp-swatch-leader', 'leader (L)'),
      item('cp-swatch-super', 'super-peer (S)'),
      item('cp-swatch-peer', 'peer'),
      item('cp-swatch-suspect', 'suspect'),
      item('cp-swatch-dead', 'dead / left'),
      item('cp-swatch-direct', 'direct link'),
      item('cp-swatch-relayed', 'relayed link'),
    ),
  )
}
