// The minimal demo: members with their connection type and presence, and a pad where everyone's cursor shows.
// It uses the public API only.
import { createPeer, type Member, type Room } from '../src/index.js'

declare const __SYNOD_BOOTSTRAP_URL__: string

interface DemoPresence {
  x?: number
  y?: number
  status?: string
}

const params = new URLSearchParams(location.search)
const roomId = params.get('room') ?? 'lobby'
const bootstrapUrl = params.get('bootstrap') ?? (__SYNOD_BOOTSTRAP_URL__ || `${location.protocol}//${location.hostname}:4002/bootstrap`)
const name = params.get('name') ?? sessionStorage.getItem('synod-demo-name') ?? randomName()
sessionStorage.setItem('synod-demo-name', name)

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T

function randomName(): string {
  const names = ['Ada', 'Grace', 'Alan', 'Barbara', 'Edsger', 'Leslie', 'Margaret', 'Donald', 'Frances', 'Ken']
  return `${names[Math.floor(Math.random() * names.length)]}-${Math.floor(Math.random() * 90 + 10)}`
}

function colorOf(id: string): string {
  let h = 0
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) % 360
  return `hsl(${h} 70% 45%)`
}

async function bootstrap(): Promise<string[]> {
  try {
    const res = await fetch(bootstrapUrl)
    return ((await res.json()) as { multiaddrs: string[] }).multiaddrs
  } catch {
    $('peer-status').textContent = `relay not reachable at ${bootstrapUrl}: working offline`
    return []
  }
}

function render(room: Room, selfId: string): void {
  const members = room.members()
  $('empty').hidden = members.length > 0
  $('members').replaceChildren(
    ...members.map((m: Member) => {
      const row = document.createElement('tr')
      const presence = room.presence.get<DemoPresence>(m.id)
      const cells = [m.name || '(no name)', `${m.id.slice(-8)}`, m.direct ? 'direct WebRTC' : 'via relay', presence?.status ?? '']
      for (const [i, text] of cells.entries()) {
        const td = document.createElement('td')
        td.textContent = text
        if (i === 2) td.className = m.direct ? 'direct' : 'relayed'
        row.append(td)
      }
      return row
    }),
  )
  const pad = $('pad')
  pad.replaceChildren(
    ...[{ id: selfId, name: `${name} (you)` }, ...members].flatMap((m) => {
      const p = room.presence.get<DemoPresence>(m.id)
      if (p?.x === undefined || p.y === undefined) return []
      const dot = document.createElement('div')
      dot.className = 'cursor'
      dot.style.left = `${p.x * 100}%`
      dot.style.top = `${p.y * 100}%`
      dot.style.background = colorOf(m.id)
      const label = document.createElement('span')
      label.textContent = m.name
      dot.append(label)
      return [dot]
    }),
  )
}

async function main(): Promise<void> {
  $('room-name').textContent = `· room ${roomId}`
  $('self-name').textContent = name
  const peer = await createPeer({ bootstrap: await bootstrap(), name })
  const room = await peer.join(roomId)
  const statusEl = $('peer-status')
  const showStatus = (): void => {
    statusEl.textContent = `${peer.status} · ${room.members().filter((m) => m.direct).length} direct connection(s)`
  }
  peer.on('status', showStatus)
  const rerender = (): void => {
    render(room, peer.id)
    showStatus()
  }
  room.on('member:join', rerender)
  room.on('member:leave', rerender)
  room.on('member:update', rerender)
  room.presence.on('change', rerender)
  showStatus()

  let mine: DemoPresence = {}
  const pad = $('pad')
  pad.addEventListener('pointermove', (e) => {
    const box = pad.getBoundingClientRect()
    mine = { ...mine, x: (e.clientX - box.left) / box.width, y: (e.clientY - box.top) / box.height }
    room.presence.set(mine)
  })
  $<HTMLInputElement>('status-input').addEventListener('input', (e) => {
    mine = { ...mine, status: (e.target as HTMLInputElement).value }
    room.presence.set(mine)
  })
}

void main()
