// The automerge-paper editing trace (bench/fixtures/README.md) and a Node peer that holds the finished document in a
// room, so that browsers can catch up from it. The seeder builds the document through the public API the way an app
// that batches its edits would: one `doc.change` per BATCH patches, each patch an Automerge splice.
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { cleanup as stopDataChannelThreads } from 'node-datachannel'
import { loadAutomerge } from '../../src/docs/automerge.js'
import { createPeer, type DocHandle, type Member, type Peer, type Room } from '../../src/index.js'

export type Patch = readonly [pos: number, del: number, ins: string]

export interface PaperTrace {
  readonly endContent: string
  readonly patches: readonly Patch[]
}

/** The shape of the shared document; every peer opens it with the same `initial` so that they share its genesis. */
export interface PaperDoc {
  text: string
}

export const PAPER_INITIAL: PaperDoc = { text: '' }

export function loadPaperTrace(): PaperTrace {
  const raw = gunzipSync(readFileSync(new URL('../fixtures/automerge-paper.json.gz', import.meta.url))).toString('utf8')
  const trace = JSON.parse(raw) as { startContent: string; endContent: string; txns: Array<{ patches: Patch[] }> }
  if (trace.startContent !== '') throw new Error('automerge-paper is expected to start from an empty document')
  // The trace counts positions in code points, Automerge's JavaScript API in UTF-16 code units. They agree only when
  // no character lies outside the Basic Multilingual Plane; this trace has none, so positions are used as they are.
  const astral = [...trace.endContent].length !== trace.endContent.length
  const patches = trace.txns.flatMap((t) => t.patches)
  if (astral || patches.some(([, , ins]) => [...ins].length !== ins.length)) {
    throw new Error('automerge-paper has characters outside the BMP: positions would need converting to UTF-16')
  }
  return { endContent: trace.endContent, patches }
}

export interface PaperSeeder {
  readonly peer: Peer
  readonly room: Room
  readonly doc: DocHandle<PaperDoc>
  /** Time to build the document from the trace, in ms. */
  readonly buildMs: number
  /** Number of Automerge changes the document was built from. */
  readonly changes: number
  /** Wall-clock time (ms since the epoch) at which the seeder first held a direct connection to each member. */
  readonly directAt: ReadonlyMap<string, number>
  /** Wall-clock times at which the seeder's `sync.snapshots_sent` counter went up (polled every few ms). */
  readonly snapshotsSentAt: readonly number[]
  /**
   * Closes the peer, then stops node-datachannel's native threads: without that the process never exits, even with
   * every peer closed (Synod's peer.close() does not do it, and it is global, so only once no Node peer is left).
   */
  close(): Promise<void>
}

const wall = (): number => performance.timeOrigin + performance.now()

/** Starts a Node peer in `roomId` holding the whole paper; rejects (and closes the peer) if the text comes out wrong. */
export async function startPaperSeeder(
  bootstrap: readonly string[],
  roomId: string,
  trace: PaperTrace,
  batch: number,
): Promise<PaperSeeder> {
  const A = await loadAutomerge()
  const peer = await createPeer({ bootstrap, name: 'seeder', storage: 'memory' })
  try {
    const room = await peer.join(roomId)
    const directAt = new Map<string, number>()
    const seen = (m: Member): void => {
      if (m.direct && !directAt.has(m.id)) directAt.set(m.id, wall())
    }
    room.on('member:join', seen)
    room.on('member:update', seen)
    const doc = await room.doc<PaperDoc>('paper', { initial: PAPER_INITIAL })
    const started = performance.now()
    let changes = 0
    for (let i = 0; i < trace.patches.length; i += batch) {
      const slice = trace.patches.slice(i, i + batch)
      doc.change((d) => {
        for (const [pos, del, ins] of slice) A.splice(d, ['text'], pos, del, ins)
      })
      changes++
    }
    const buildMs = performance.now() - started
    if (doc.value().text !== trace.endContent) throw new Error('the seeder’s text differs from the trace’s endContent')
    const snapshotsSentAt: number[] = []
    const poll = setInterval(() => {
      const sent = room.stats().metrics.counters['sync.snapshots_sent'] ?? 0
      while (snapshotsSentAt.length < sent) snapshotsSentAt.push(wall())
    }, 5)
    let closing: Promise<void> | undefined
    const close = async (): Promise<void> => {
      closing ??= (async () => {
        clearInterval(poll)
        await peer.close()
        stopDataChannelThreads()
      })()
      return closing
    }
    return { peer, room, doc, buildMs, changes, directAt, snapshotsSentAt, close }
  } catch (err) {
    await peer.close()
    stopDataChannelThreads()
    throw err
  }
}
