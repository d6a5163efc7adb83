// The Synod demo: a shared board with collaborative card descriptions, live presence, an ordered activity feed,
// card claims through a lock, and a consensus panel that shows the room's peers, links, roles and Raft state.
// It uses the public API only (everything comes from src/index.ts, as an app would import 'synod').
//
// URL parameters: `room` (default `lobby`: share the link to share the room), `name` (default a random one per tab),
// `bootstrap` (where the relay serves its addresses; default what `npm run demo` set, else this host's port 4002).
import { createPeer, type Peer, type Room } from '../src/index.js'
import { ActivityFeed, type Activity } from './activity.js'
import { INITIAL_BOARD, type Board } from './board-model.js'
import { BoardView } from './board-view.js'
import { mountConsensusPanel } from './consensus/panel.js'
import { editingRedraw, mountPointers, PresenceOut, renderPeople } from './presence.js'
import { byId, describeError, nameOf, notify } from './ui.js'

declare const __SYNOD_BOOTSTRAP_URL__: string

const params = new URLSearchParams(location.search)
const roomId = params.get('room') ?? 'lobby'
const bootstrapUrl = params.get('bootstrap') ?? (__SYNOD_BOOTSTRAP_URL__ || `${location.protocol}//${location.hostname}:4002/bootstrap`)
const name = params.get('name') ?? sessionStorage.getItem('synod-demo-name') ?? randomName()
sessionStorage.setItem('synod-demo-name', name)
/** "Go offline" survives a reload of this tab, like airplane mode would. */
const OFFLINE_KEY = `synod-demo-offline:${roomId}`

function randomName(): string {
  const names = ['Ada', 'Grace', 'Alan', 'Barbara', 'Edsger', 'Leslie', 'Margaret', 'Donald', 'Frances', 'Ken']
  const pick = crypto.getRandomValues(new Uint32Array(2))
  return `${names[(pick[0] ?? 0) % names.length]}-${((pick[1] ?? 0) % 90) + 10}`
}

/**
 * The relay's addresses, from its bootstrap URL. When the relay cannot be reached (the machine is offline, the relay
 * is down), the addresses from the last visit are used, so the page still starts and connects once it can.
 */
async function relayAddresses(): Promise<string[]> {
  const key = `synod-demo-relay:${bootstrapUrl}`
  try {
    const res = await fetch(bootstrapUrl, { signal: AbortSignal.timeout(4_000) })
    const { multiaddrs } = (await res.json()) as { multiaddrs: string[] }
    localStorage.setItem(key, JSON.stringify(multiaddrs))
    return multiaddrs
  } catch {
    const cached = JSON.parse(localStorage.getItem(key) ?? '[]') as string[]
    notify(
      cached.length > 0
        ? `The relay at ${bootstrapUrl} is not reachable: working offline, and connecting when it is back.`
        : `The relay at ${bootstrapUrl} is not reachable and this browser never reached it: working alone. Is \`npm run demo\` running?`,
    )
    return cached
  }
}

function showStatus(peer: Peer, room: Room): void {
  const el = byId('peer-status')
  const direct = room.members().filter((m) => m.direct).length
  const status = peer.isOffline ? 'offline' : peer.status
  el.dataset.status = status
  el.textContent = peer.isOffline
    ? 'Offline (you went offline)'
    : status === 'online'
      ? `Online · ${direct} direct connection${direct === 1 ? '' : 's'}`
      : status === 'connecting'
        ? 'Connecting…'
        : 'Offline: no connection'
  const toggle = byId<HTMLButtonElement>('offline-toggle')
  toggle.disabled = false
  toggle.textContent = peer.isOffline ? 'Go online' : 'Go offline'
  toggle.setAttribute('aria-pressed', String(peer.isOffline))
}

async function main(): Promise<void> {
  byId('room-name').textContent = `· ${roomId}`
  byId('self-name').textContent = name
  byId('copy-link').addEventListener('click', () => {
    const link = new URL(location.href)
    link.searchParams.delete('name')
    void navigator.clipboard.writeText(link.href).then(
      () => notify('Link copied: open it in another tab or browser to join this room.'),
      () => notify(`Share this link: ${link.href}`),
    )
  })

  const peer = await createPeer({ bootstrap: await relayAddresses(), name })
  if (sessionStorage.getItem(OFFLINE_KEY) === '1') await peer.goOffline()
  const room = await peer.join(roomId)
  addEventListener('pagehide', () => peer.leaveAllNow())
  const presence = new PresenceOut(room)
  const self = { id: peer.id, name }
  const feed = new ActivityFeed(byId('activity'), room.log<Activity>('activity'), peer, self, `synod-demo-outbox:${roomId}`)
  mountConsensusPanel(byId('consensus-root'), room)

  const status = (): void => showStatus(peer, room)
  peer.on('status', status)
  for (const e of ['member:join', 'member:leave', 'member:update'] as const) room.on(e, status)
  status()
  byId('offline-toggle').addEventListener('click', () => {
    const goingOffline = !peer.isOffline
    sessionStorage.setItem(OFFLINE_KEY, goingOffline ? '1' : '0')
    if (goingOffline) void peer.goOffline()
    else peer.goOnline()
    // The switch may not change peer.status (offline for lack of connections already): update what it shows here.
    status()
    feed.refresh()
  })

  byId('chat-form').addEventListener('submit', (e) => {
    e.preventDefault()
    const input = byId<HTMLInputElement>('chat-input')
    feed.say('chat', input.value)
    input.value = ''
  })

  const boardRoot = byId('board')
  const doc = await room.doc<Board>('board', { initial: INITIAL_BOARD })
  byId('board-loading').remove()
  const board = new BoardView(boardRoot, {
    room,
    doc,
    self,
    presence,
    announce: (text) => feed.say('event', text),
    name: (id) => nameOf(room, peer.id, name, id),
  })
  mountPointers(boardRoot, room, peer.id, presence)
  doc.on('error', (err) => notify(`Your last edits are synced but could not be saved in this browser: ${err.message}`))

  const people = byId('people')
  let selfRole = room.stats().ordering.role
  const drawPeople = editingRedraw(room, () => renderPeople(people, room, { ...self, role: selfRole }, (id) => board.titleOf(id)))
  for (const e of ['member:join', 'member:leave', 'member:update'] as const) room.on(e, drawPeople.now)
  room.presence.on('change', drawPeople.check)
  drawPeople.now()
  // Our own role changes without a member event (we are elected): look now and then.
  setInterval(() => {
    const role = room.stats().ordering.role
    if (role === selfRole) return
    selfRole = role
    drawPeople.now()
  }, 2_000)
}

main().catch((err: unknown) => {
  notify(`Synod could not start: ${describeError(err)}`)
  const loading = document.getElementById('board-loading')
  if (loading !== null) loading.textContent = 'The board could not be loaded.'
})
