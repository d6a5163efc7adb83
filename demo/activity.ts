// The activity feed: chat messages and board events in ONE order that every peer sees the same way, because they
// are appended to `room.log('activity')`, which the room's super-peers order through Raft.
//
// Appending needs the super-peers. While they cannot be reached (offline, or the room is still electing), what this
// tab says waits in an outbox kept in sessionStorage, so neither a reload nor a failed attempt loses it, and is
// appended once the room answers. Each item carries an id: a retry after an attempt whose outcome was unknown may
// land twice in the log, and the feed shows it once.
import type { LogEntry, LogHandle, Peer } from '../src/index.js'
import { h } from './dom.js'
import { clockTime, colorOf } from './ui.js'

export interface Activity {
  id: string
  kind: 'chat' | 'event'
  /** The author's peer id and name at the time. */
  peer: string
  name: string
  text: string
  /** The author's clock, for display only: the order is the log's. */
  at: number
}

const MAX_SHOWN = 200
const MAX_OUTBOX = 500
const MAX_TEXT = 500

export class ActivityFeed {
  private readonly shown = new Set<string>()
  private outbox: Activity[]
  private sending = false
  private readonly offs: (() => void)[] = []
  private retry: ReturnType<typeof setTimeout> | undefined
  private shownIndex = 0
  /** Entries in the list (the pending items come after them). */
  private entriesShown = 0

  constructor(
    private readonly list: HTMLOListElement,
    private readonly log: LogHandle<Activity>,
    private readonly peer: Peer,
    private readonly self: { id: string; name: string },
    private readonly storageKey: string,
  ) {
    this.outbox = loadOutbox(storageKey)
    // Subscribe before reading what is there, so an entry committed in between is not missed (shownIndex dedupes).
    this.offs.push(
      log.on('entry', (e) => {
        // A catch-up through a snapshot delivers no events for the entries it holds: fill the gap from the log.
        if (e.index > this.shownIndex + 1) for (const old of log.entries({ from: this.shownIndex + 1 })) if (old.index < e.index) this.show(old)
        this.show(e)
      }),
    )
    for (const e of log.entries()) this.show(e)
    this.offs.push(peer.on('status', () => this.refresh()))
    this.renderPending()
    this.flush()
  }

  say(kind: Activity['kind'], text: string): void {
    const trimmed = text.trim().slice(0, MAX_TEXT)
    if (trimmed === '') return
    if (this.outbox.length >= MAX_OUTBOX) this.outbox.shift()
    this.outbox.push({ id: crypto.randomUUID(), kind, peer: this.self.id, name: this.self.name, text: trimmed, at: Date.now() })
    this.save()
    this.renderPending()
    this.flush()
  }

  /** Appends the outbox in order, one at a time; on failure waits and tries again. */
  private flush(): void {
    if (this.sending || this.outbox.length === 0) return
    this.sending = true
    clearTimeout(this.retry)
    void (async () => {
      try {
        while (this.outbox.length > 0 && !this.peer.isOffline) {
          const item = this.outbox[0]!
          await this.log.append(item, { signal: AbortSignal.timeout(20_000) })
          this.outbox = this.outbox.filter((a) => a.id !== item.id)
          this.save()
          this.renderPending()
        }
      } catch {
        // Not committed (or unknown): keep it and try again. The id makes a duplicate harmless.
        this.retry = setTimeout(() => this.flush(), 3_000)
      } finally {
        this.sending = false
      }
    })()
  }

  private show(entry: LogEntry<Activity>): void {
    if (entry.index <= this.shownIndex) return
    this.shownIndex = entry.index
    const a = parse(entry.value)
    if (a === null || this.shown.has(a.id)) return
    this.shown.add(a.id)
    if (this.outbox.some((o) => o.id === a.id)) {
      this.outbox = this.outbox.filter((o) => o.id !== a.id)
      this.save()
      this.renderPending()
    }
    const item = h(
      'li',
      { class: `entry ${a.kind}`, 'data-index': entry.index },
      h('span', { class: 'when' }, clockTime(a.at)),
      h('strong', { style: `color:${colorOf(entry.from)}` }, a.name),
      a.kind === 'chat' ? ': ' : ' ',
      h('span', { class: 'text' }, a.text),
    )
    this.list.insertBefore(item, this.list.querySelector('li.pending'))
    this.entriesShown++
    if (this.entriesShown > MAX_SHOWN) {
      this.list.querySelector('li.entry')?.remove()
      this.entriesShown--
    }
    item.scrollIntoView({ block: 'nearest' })
  }

  private renderPending(): void {
    for (const li of this.list.querySelectorAll('li.pending')) li.remove()
    for (const a of this.outbox) {
      this.list.append(
        h(
          'li',
          { class: `pending ${a.kind}` },
          h('span', { class: 'when' }, this.peer.isOffline ? 'offline' : 'sending…'),
          h('strong', {}, a.name),
          a.kind === 'chat' ? ': ' : ' ',
          h('span', { class: 'text' }, a.text),
        ),
      )
    }
  }

  private save(): void {
    try {
      sessionStorage.setItem(this.storageKey, JSON.stringify(this.outbox))
    } catch {
      // Storage full or unavailable: the outbox still lives in memory for this page's lifetime.
    }
  }

  /** The peer went on or offline: the pending items say which, and sending resumes if it can. */
  refresh(): void {
    this.renderPending()
    this.flush()
  }

  destroy(): void {
    clearTimeout(this.retry)
    for (const off of this.offs) off()
  }
}

/** A log entry is whatever some peer appended: take only well-formed activities. */
function parse(value: unknown): Activity | null {
  if (typeof value !== 'object' || value === null) return null
  const v = value as Record<string, unknown>
  if (typeof v.id !== 'string' || typeof v.text !== 'string' || typeof v.name !== 'string' || typeof v.peer !== 'string') return null
  if (v.kind !== 'chat' && v.kind !== 'event') return null
  return { id: v.id, kind: v.kind, peer: v.peer, name: v.name.slice(0, 128), text: v.text.slice(0, MAX_TEXT), at: typeof v.at === 'number' ? v.at : 0 }
}

function loadOutbox(key: string): Activity[] {
  try {
    const raw: unknown = JSON.parse(sessionStorage.getItem(key) ?? '[]')
    return Array.isArray(raw) ? raw.map(parse).filter((a): a is Activity => a !== null) : []
  } catch {
    return []
  }
}
