/**
 * The SWIM driver: runs one room's SwimCore on real time and a real transport. It ticks the core every
 * `periodMs / periodTicks`, feeds it what arrives, sends what `ready()` returns, and reports member changes and
 * rejected (forged or malformed) input to the room.
 *
 * Member ids. A page that reloads is a new session with a new core whose incarnation starts again at 0, while the
 * others may remember its previous session as `left` or `dead` at a higher incarnation. So the core's member id is
 * `<peer id>/<session>` (the session being the room session's start time): a reloaded page is a new member, and its
 * old session ends on its own (`left`, or `dead` if it had no time to say goodbye).
 *
 * Frames. `[varuint sender session][varuint receiver session][SWIM message]`. The sender's peer id is not in the frame:
 * the transport gives the Noise-authenticated peer, so a member can only speak for its own sessions. A frame for
 * another session of ours (one sent to our previous page) is dropped, so that its ack cannot vouch for us.
 *
 * Observed loss. The driver counts direct probes and the acks that answer them: with independent loss l on each leg,
 * an ack comes back with probability (1 − l)², so l ≈ 1 − √(acked / probed) over the last `LOSS_WINDOW` probes of
 * members that are still alive (probes of a member that then died say nothing about the network). Adaptive gossip
 * reads it.
 */
import { DecodeError, InvalidOptionError } from '../../errors.js'
import { Emitter } from '../../events.js'
import type { MetricsScope } from '../../metrics/index.js'
import type { Random, Timer } from '../../runtime/index.js'
import { Reader, Writer } from '../../transport/wire.js'
import { decodeSwimMessage, encodeSwimMessage, SWIM_LIMITS } from './codec.js'
import { SwimCore } from './core.js'
import type { MemberId, RejectReason, SwimMessage, SwimOptions, SwimReady, SwimState } from './types.js'

/** How the driver reaches other members: best effort, like the Raft transport (same framing, `/synod/swim/1`). */
export interface SwimTransport {
  send(to: string, bytes: Uint8Array): void
  /** `from` is the authenticated peer id of the sender. Returns an unsubscribe function. */
  onMessage(handler: (from: string, bytes: Uint8Array) => void): () => void
}

export interface SwimDriverOptions {
  /** This peer's id. */
  readonly self: string
  /** This room session's start time (ms since epoch): a reload is a new session. */
  readonly session: number
  readonly transport: SwimTransport
  readonly timer: Timer
  readonly random: Random
  readonly metrics: MetricsScope
  /** One protocol period (one probe), in ms. */
  readonly periodMs: number
  /** Core options (ticks per period, suspicion multiplier, Lifeguard…). */
  readonly swim?: Partial<Omit<SwimOptions, 'id' | 'random'>>
}

/** A member session's state as this peer's detector sees it changed. */
export interface SwimMemberEvent {
  readonly peer: string
  readonly session: number
  readonly state: SwimState
  readonly previous: SwimState | null
  readonly incarnation: number
}

/** Input refused from `peer`: a forged claim (the core's reasons) or bytes that do not decode. */
export interface SwimRejectionEvent {
  readonly peer: string
  readonly reason: RejectReason | 'undecodable'
}

export interface SwimDriverEvents extends Record<string, unknown> {
  member: SwimMemberEvent
  rejection: SwimRejectionEvent
}

export interface SwimDriverStats {
  readonly periodMs: number
  readonly incarnation: number
  /** Lifeguard's local health score: 0 when this peer's own messages get through in time. */
  readonly localHealth: number
  /** Estimated one-way message loss in [0, 1], from recent probes (null before any). */
  readonly observedLoss: number | null
  readonly members: { readonly alive: number; readonly suspect: number; readonly dead: number; readonly left: number }
}

/** Probes remembered for the loss estimate. */
const LOSS_WINDOW = 64

/**
 * Encodes `msg`; a full view (join or sync) too large for SWIM_LIMITS.maxMessageBytes (past a few hundred members with
 * libp2p ids) is cut to its first half until it fits: push-pull is anti-entropy, and the entries left out go in a
 * later exchange or by gossip. Null for anything else that does not encode (the core never produces it).
 */
function encodeFitting(msg: SwimMessage): Uint8Array | null {
  let current = msg
  for (;;) {
    try {
      return encodeSwimMessage(current)
    } catch (err) {
      if (!(err instanceof InvalidOptionError)) throw err
      if (current.type === 'sync' && current.members.length > 1) {
        current = { ...current, members: current.members.slice(0, current.members.length >> 1) }
      } else if (current.type === 'join' && current.updates.length > 1) {
        current = { ...current, updates: current.updates.slice(0, current.updates.length >> 1) }
      } else {
        return null
      }
    }
  }
}

export function swimMemberId(peer: string, session: number): MemberId {
  return `${peer}/${session}`
}

/** Splits a core member id; null for one that is not `<peer>/<session>` (it never came from a driver). */
export function parseSwimMemberId(id: MemberId): { peer: string; session: number } | null {
  const slash = id.lastIndexOf('/')
  const session = Number(id.slice(slash + 1))
  if (slash <= 0 || !Number.isSafeInteger(session) || session < 0) return null
  return { peer: id.slice(0, slash), session }
}

export class SwimDriver extends Emitter<SwimDriverEvents> {
  private readonly core: SwimCore
  private readonly selfMember: MemberId
  private readonly tickMs: number
  private cancelTick: () => void = () => undefined
  private unsubscribe: () => void = () => undefined
  private running = false
  /** Direct probes in flight or recently answered, by seq: target and whether an ack came. */
  private readonly probes = new Map<number, { target: MemberId; acked: boolean }>()

  constructor(private readonly o: SwimDriverOptions) {
    super()
    const periodTicks = o.swim?.periodTicks ?? 5
    this.selfMember = swimMemberId(o.self, o.session)
    this.core = new SwimCore({ ...o.swim, id: this.selfMember, random: o.random })
    this.tickMs = Math.max(1, Math.round(o.periodMs / periodTicks))
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.unsubscribe = this.o.transport.onMessage((from, bytes) => this.receive(from, bytes))
    // A random phase, so that the members of a room do not all probe at the same instant.
    this.cancelTick = this.o.timer.setTimeout(this.loop, 1 + this.o.random.int(this.tickMs))
  }

  /** A member session we heard of elsewhere (its heartbeat): the core learns of it by joining through it. */
  meet(peer: string, session: number): void {
    if (!this.running || peer === this.o.self) return
    const id = swimMemberId(peer, session)
    if (this.core.stateOf(id) !== undefined) return
    this.core.join([id])
    this.flush()
  }

  /** The state of a member session, or undefined when the detector has not heard of it. */
  stateOf(peer: string, session: number): SwimState | undefined {
    return this.core.stateOf(swimMemberId(peer, session))
  }

  /** Says goodbye (the `left` update goes out at once) and stops. */
  leave(): void {
    if (!this.running) return
    this.core.leave()
    this.flush()
    this.stop()
  }

  stop(): void {
    this.running = false
    this.cancelTick()
    this.unsubscribe()
  }

  stats(): SwimDriverStats {
    const counts = { alive: 0, suspect: 0, dead: 0, left: 0 }
    for (const m of this.core.members()) if (m.id !== this.selfMember) counts[m.state]++
    const s = this.core.stats
    return { periodMs: this.o.periodMs, incarnation: s.incarnation, localHealth: s.localHealth, observedLoss: this.observedLoss(), members: counts }
  }

  /** Estimated one-way loss from the recent probes of members still alive (see the file header). */
  observedLoss(): number | null {
    let probed = 0
    let acked = 0
    for (const p of this.probes.values()) {
      const state = this.core.stateOf(p.target)
      if (state !== 'alive' && state !== 'suspect') continue
      probed++
      if (p.acked) acked++
    }
    return probed === 0 ? null : 1 - Math.sqrt(acked / probed)
  }

  private readonly loop = (): void => {
    if (!this.running) return
    this.core.tick()
    this.flush()
    this.cancelTick = this.o.timer.setTimeout(this.loop, this.tickMs)
  }

  private receive(from: string, bytes: Uint8Array): void {
    if (!this.running) return
    let sender: number
    let msg
    try {
      const r = new Reader(bytes, { maxBytes: SWIM_LIMITS.maxMessageBytes + 32 })
      sender = r.varuint()
      const receiver = r.varuint()
      msg = decodeSwimMessage(r.bytes())
      r.expectEnd()
      if (receiver !== this.o.session) {
        this.o.metrics.counter('swim.misaddressed').inc()
        return
      }
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err
      this.o.metrics.counter('swim.rejected').inc()
      this.emit('rejection', { peer: from, reason: 'undecodable' })
      return
    }
    this.o.metrics.counter('swim.received').inc()
    if (msg.type === 'ack') {
      const probe = this.probes.get(msg.seq)
      if (probe !== undefined) probe.acked = true
    }
    this.core.step(swimMemberId(from, sender), msg)
    this.flush()
  }

  private flush(): void {
    const ready: SwimReady = this.core.ready()
    for (const { to, msg } of ready.messages) {
      const target = parseSwimMemberId(to)
      if (target === null) continue
      if (msg.type === 'ping' && msg.seq !== 0) this.trackProbe(msg.seq, to)
      const encoded = encodeFitting(msg)
      if (encoded === null) {
        this.o.metrics.counter('swim.unencodable').inc()
        continue
      }
      const w = new Writer()
      w.varuint(this.o.session)
      w.varuint(target.session)
      w.bytes(encoded)
      this.o.transport.send(target.peer, w.finish())
      this.o.metrics.counter('swim.sent').inc()
    }
    for (const change of ready.changes) {
      if (change.state === 'dead' || change.state === 'left') {
        // Its unanswered probes were its own doing, not the network's.
        for (const [seq, p] of this.probes) if (p.target === change.id) this.probes.delete(seq)
      }
      const member = parseSwimMemberId(change.id)
      if (member === null) continue
      this.emit('member', { ...member, state: change.state, previous: change.previous, incarnation: change.incarnation })
    }
    for (const rejection of ready.rejections) {
      const member = parseSwimMemberId(rejection.from)
      this.o.metrics.counter(`swim.forged.${rejection.reason}`).inc()
      if (member !== null) this.emit('rejection', { peer: member.peer, reason: rejection.reason })
    }
  }

  private trackProbe(seq: number, target: MemberId): void {
    // Indirect probes reuse the seq of the direct one; only the first (direct) send is a new probe.
    if (this.probes.has(seq)) return
    this.probes.set(seq, { target, acked: false })
    if (this.probes.size > LOSS_WINDOW) {
      const oldest = this.probes.keys().next().value
      if (oldest !== undefined) this.probes.delete(oldest)
    }
  }
}
