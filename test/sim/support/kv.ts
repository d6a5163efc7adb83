/**
 * The replicated state machine the Raft simulation runs: a key-value store with read, write and compare-and-set,
 * and client sessions so that a retried command takes effect exactly once (dissertation §6.3). Deterministic: every
 * replica that applies the same commands in the same order ends in the same state.
 */

export type KvOp =
  | { readonly f: 'read'; readonly key: string }
  | { readonly f: 'write'; readonly key: string; readonly value: number }
  | { readonly f: 'cas'; readonly key: string; readonly expected: number | null; readonly value: number }

export interface KvCommand {
  readonly client: string
  readonly seq: number
  readonly op: KvOp
}

/** read → the value (null when unset); write → null; cas → whether it applied. */
export type KvResult = number | null | boolean

interface Session {
  seq: number
  result: KvResult
}

const enc = new TextEncoder()
const dec = new TextDecoder()

export function encodeCommand(c: KvCommand): Uint8Array {
  return enc.encode(JSON.stringify(c))
}

export function decodeCommand(b: Uint8Array): KvCommand {
  return JSON.parse(dec.decode(b)) as KvCommand
}

export class KvStore {
  private data = new Map<string, number>()
  private sessions = new Map<string, Session>()
  /** The last log index applied (or restored from a snapshot). */
  appliedIndex = 0

  /**
   * Applies the command at log `index`. A command whose seq the client already saw applied returns the saved
   * result and changes nothing; an older one (the client has moved on) returns undefined.
   */
  apply(index: number, c: KvCommand): KvResult | undefined {
    this.appliedIndex = index
    const s = this.sessions.get(c.client)
    if (s !== undefined && c.seq < s.seq) return undefined
    if (s !== undefined && c.seq === s.seq) return s.result
    const result = this.execute(c.op)
    this.sessions.set(c.client, { seq: c.seq, result })
    return result
  }

  /** A read outside the log (ReadIndex or, for the negative control, a follower's local state). */
  read(key: string): number | null {
    return this.data.get(key) ?? null
  }

  skip(index: number): void {
    this.appliedIndex = index
  }

  snapshot(): Uint8Array {
    return enc.encode(
      JSON.stringify({ index: this.appliedIndex, data: [...this.data], sessions: [...this.sessions] }),
    )
  }

  static restore(bytes: Uint8Array): KvStore {
    const parsed = JSON.parse(dec.decode(bytes)) as {
      index: number
      data: [string, number][]
      sessions: [string, Session][]
    }
    const kv = new KvStore()
    kv.appliedIndex = parsed.index
    kv.data = new Map(parsed.data)
    kv.sessions = new Map(parsed.sessions)
    return kv
  }

  /** A digest of the whole state, to compare replicas cheaply. */
  digest(): string {
    return JSON.stringify([...this.data].sort())
  }

  private execute(op: KvOp): KvResult {
    switch (op.f) {
      case 'read':
        return this.read(op.key)
      case 'write':
        this.data.set(op.key, op.value)
        return null
      case 'cas': {
        if (this.read(op.key) !== op.expected) return false
        this.data.set(op.key, op.value)
        return true
      }
    }
  }
}
