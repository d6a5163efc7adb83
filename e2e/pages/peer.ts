// A bare page that joins one room and records what it sees, for the end-to-end tests and benchmarks. The test reads
// `window.synodTest`; it never tells the peers about each other.
import { createPeer, type Member, type Peer, type PresenceChange, type Room, type RoomStats } from '../../src/index.js'

interface Recorded {
  peerId: string
  /** performance.now() when the page's script started, and when each milestone happened. */
  marks: Record<string, number>
  /** Wall-clock times (performance.timeOrigin + now) of presence changes received, by sender and value. */
  presence: Array<{ from: string; value: unknown; at: number }>
  events: Array<{ type: string; id: string; state: string; at: number }>
  errors: string[]
  /** Values of the entries of each watched log, in the order delivered. */
  logs: Record<string, unknown[]>
}

declare global {
  interface Window {
    synodTest: {
      ready: Promise<void>
      /** The public objects themselves, for tests that drive the API directly. */
      peer?: Peer
      room?: Room
      recorded: Recorded
      members(): Member[]
      setPresence(value: unknown): void
      getPresence(id: string): unknown
      stats(): RoomStats
      leave(): Promise<void>
      status(): string
      /** Starts recording the entries of log `name` into `recorded.logs[name]`. */
      watchLog(name: string): void
    }
  }
}

const params = new URLSearchParams(location.search)
const roomId = params.get('room') ?? 'e2e'
const name = params.get('name') ?? ''
// offline=1: start with no relay at all (cut off for real: nobody can reach this page and it can reach nobody).
const bootstrapUrl = params.get('offline') === '1' ? null : params.get('bootstrap')
const recorded: Recorded = { peerId: '', marks: { script: performance.now() }, presence: [], events: [], errors: [], logs: {} }
const statusEl = document.getElementById('status')
const wall = (): number => performance.timeOrigin + performance.now()

window.addEventListener('error', (e) => recorded.errors.push(String(e.error ?? e.message)))
window.addEventListener('unhandledrejection', (e) => recorded.errors.push(String(e.reason)))

async function start(): Promise<void> {
  const bootstrap: string[] = []
  if (bootstrapUrl !== null) {
    const res = await fetch(bootstrapUrl)
    const body = (await res.json()) as { multiaddrs: string[] }
    bootstrap.push(...body.multiaddrs)
    recorded.marks.fetched = performance.now()
  }
  const superPeer = params.get('superPeer')
  const peer = await createPeer({
    bootstrap,
    name,
    ...(superPeer === 'never' || superPeer === 'prefer' || superPeer === 'auto' ? { superPeer } : {}),
  })
  recorded.peerId = peer.id
  recorded.marks.created = performance.now()
  peer.on('status', (s) => {
    if (s === 'online') recorded.marks.online ??= performance.now()
  })
  // bootstrapDelay: how long before a page may found the room's ordering group (tests shorten it).
  const bootstrapDelay = params.get('bootstrapDelay')
  const period = params.get('period')
  const room = await peer.join(roomId, {
    ...(bootstrapDelay === null ? {} : { ordering: { bootstrapDelayMs: Number(bootstrapDelay) } }),
    ...(period === null ? {} : { membership: { periodMs: Number(period), suspicionMult: Number(params.get('suspicion') ?? '4') } }),
  })
  recorded.marks.joined = performance.now()
  window.synodTest.peer = peer
  window.synodTest.room = room
  const expected = Number(params.get('expect') ?? '0')
  const check = (m: Member): void => {
    if (m.direct) recorded.marks.firstDirect ??= performance.now()
    const direct = room.members().filter((x) => x.direct).length
    if (expected > 0 && direct >= expected) recorded.marks.fullMesh ??= performance.now()
    if (statusEl !== null) statusEl.textContent = `members ${room.members().length}, direct ${direct}`
  }
  for (const type of ['member:join', 'member:leave', 'member:update'] as const) {
    room.on(type, (m) => {
      recorded.events.push({ type, id: m.id, state: m.state, at: wall() })
      check(m)
    })
  }
  room.presence.on('change', (c: PresenceChange) => {
    if (!c.local) recorded.presence.push({ from: c.peerId, value: c.value, at: wall() })
  })
  window.synodTest.members = () => room.members()
  window.synodTest.setPresence = (v) => room.presence.set(v)
  window.synodTest.getPresence = (id) => room.presence.get(id)
  window.synodTest.stats = () => room.stats()
  window.synodTest.leave = () => room.leave()
  window.synodTest.status = () => peer.status
  window.synodTest.watchLog = (logName) => {
    if (recorded.logs[logName] !== undefined) return
    const values: unknown[] = []
    recorded.logs[logName] = values
    const log = room.log(logName)
    for (const e of log.entries()) values.push(e.value)
    log.on('entry', (e) => values.push(e.value))
  }
}

window.synodTest = {
  ready: start(),
  recorded,
  members: () => [],
  setPresence: () => {
    throw new Error('not joined yet')
  },
  getPresence: () => undefined,
  stats: () => {
    throw new Error('not joined yet')
  },
  leave: async () => {},
  status: () => 'offline',
  watchLog: () => {
    throw new Error('not joined yet')
  },
}
window.synodTest.ready.catch((err: unknown) => recorded.errors.push(String(err)))
