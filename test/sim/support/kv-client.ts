/**
 * A simulated client of the replicated KV store, recording a Jepsen-style history. It runs one operation at a time:
 * sends it to the server it believes leads, follows `notLeader` hints, and on a timeout retries the same command
 * (same client and seq, so the servers' sessions apply it at most once) at another server. An operation still open
 * when the simulation ends is recorded as `info`: it may or may not have taken effect.
 */
import type { HistoryEvent } from '../../../src/sim/linearizability/index.js'
import type { KvCommand, KvOp, KvResult } from './kv.js'
import type { ClientResponse, NodeEnv, SimMessage } from './raft-kv-node.js'

export interface ClientOptions {
  readonly process: number
  readonly servers: readonly string[]
  readonly ops: number
  readonly keys: number
  readonly timeoutMs: number
  /** Pause between operations. */
  readonly thinkMs: number
  readonly history: HistoryEvent[]
  /** Send reads to a random server rather than the leader (for the follower-read negative control). */
  readonly readsAnywhere?: boolean
}

export class KvClient {
  private seq = 0
  private current: { command: KvCommand; cancelTimeout: () => void } | null = null
  private leaderGuess: string | null = null
  private done = 0
  private stopped = false
  private readonly lastSeen = new Map<string, number | null>()

  constructor(
    private readonly env: NodeEnv,
    private readonly o: ClientOptions,
  ) {
    this.env.timer.setTimeout(() => this.next(), this.o.thinkMs)
  }

  get finished(): boolean {
    return this.done >= this.o.ops && this.current === null
  }

  get completed(): number {
    return this.done
  }

  receive(_from: string, msg: SimMessage): void {
    if (msg.type !== 'clientResponse' || this.current === null || msg.seq !== this.current.command.seq) return
    if (!msg.outcome.ok) {
      this.leaderGuess = msg.outcome.leader
      // Not started there: ask again (the hinted leader, or anyone) after a short pause.
      this.current.cancelTimeout()
      this.current.cancelTimeout = this.env.timer.setTimeout(() => this.resend(), 5)
      return
    }
    this.complete(msg)
  }

  /** The simulation is over: an open operation's outcome is unknown. */
  stop(): void {
    this.stopped = true
    if (this.current === null) return
    const { command } = this.current
    this.record('info', command.op, undefined)
    this.current.cancelTimeout()
    this.current = null
  }

  private next(): void {
    if (this.stopped || this.done >= this.o.ops) return
    const op = this.randomOp()
    const command: KvCommand = { client: this.env.id, seq: ++this.seq, op }
    this.record('invoke', op, undefined)
    this.current = { command, cancelTimeout: () => undefined }
    this.resend()
  }

  private resend(): void {
    if (this.current === null || this.stopped) return
    const anywhere = this.o.readsAnywhere === true && this.current.command.op.f === 'read'
    const target = anywhere ? this.pick() : (this.leaderGuess ?? this.pick())
    this.env.send(target, { type: 'clientRequest', from: this.env.id, to: target, command: this.current.command })
    this.current.cancelTimeout = this.env.timer.setTimeout(() => {
      this.leaderGuess = null
      this.resend()
    }, this.o.timeoutMs)
  }

  private complete(msg: ClientResponse): void {
    if (this.current === null || !msg.outcome.ok) return
    this.current.cancelTimeout()
    // Whoever answered leads (or did a moment ago): send the next operation there.
    this.leaderGuess = msg.from
    const op = this.current.command.op
    this.record('ok', op, msg.outcome.result)
    if (op.f === 'read') this.lastSeen.set(op.key, msg.outcome.result as number | null)
    else if (op.f === 'write' || msg.outcome.result === true) this.lastSeen.set(op.key, op.value)
    this.current = null
    this.done++
    this.env.timer.setTimeout(() => this.next(), this.o.thinkMs)
  }

  private record(type: HistoryEvent['type'], op: KvOp, result: KvResult | undefined): void {
    const key = op.key
    let value: unknown
    switch (op.f) {
      case 'read':
        value = type === 'ok' ? result : null
        break
      case 'write':
        value = op.value
        break
      case 'cas':
        value = type === 'ok' ? [op.expected, op.value, result] : [op.expected, op.value]
        break
    }
    this.o.history.push({ process: this.o.process, type, f: op.f, key, value })
  }

  private pick(): string {
    return this.o.servers[this.env.random.int(this.o.servers.length)] as string
  }

  private randomOp(): KvOp {
    const key = `k${this.env.random.int(this.o.keys)}`
    const roll = this.env.random.int(10)
    if (roll < 5) return { f: 'read', key }
    const value = this.env.random.int(1000)
    if (roll < 8) return { f: 'write', key, value }
    // Expect what this client last saw, so that a fair share of CAS operations succeed.
    const expected = this.lastSeen.get(key) ?? null
    return { f: 'cas', key, expected, value }
  }
}
