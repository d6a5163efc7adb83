/**
 * Presence: a small, ephemeral JSON value per member (a cursor, a selection, "typing…"). Sent only when it changes,
 * at most once per throttle interval (the latest value wins), re-sent when a new member appears, and dropped when a
 * member leaves. Remote values are ordered by (incarnation, version) so a delayed message never overwrites a newer one.
 */
import { MessageTooLargeError } from '../errors.js'
import type { Clock, Timer } from '../runtime/index.js'

export interface PresenceOptions {
  /** Minimum interval between two presence messages from this peer, in ms. */
  readonly throttleMs: number
  /** Largest presence value, as UTF-8 JSON bytes. */
  readonly maxBytes: number
}

interface RemoteValue {
  readonly incarnation: number
  readonly version: number
  readonly value: unknown
}

export interface PresenceSend {
  readonly version: number
  readonly json: string
}

export class PresenceState {
  private localJson = 'null'
  private localValue: unknown = undefined
  private version = 0
  private sentVersion = 0
  private lastSentMs = Number.NEGATIVE_INFINITY
  private cancelPending: (() => void) | undefined
  private readonly remote = new Map<string, RemoteValue>()
  private throttle: number

  constructor(
    private readonly options: PresenceOptions,
    private readonly clock: Clock,
    private readonly timer: Timer,
    private readonly send: (msg: PresenceSend) => void,
  ) {
    this.throttle = options.throttleMs
  }

  /** The current minimum interval between two sends (adaptive gossip raises it in large rooms). */
  get throttleMs(): number {
    return this.throttle
  }

  set throttleMs(ms: number) {
    if (Number.isFinite(ms) && ms >= 0) this.throttle = ms
  }

  get localVersion(): number {
    return this.version
  }

  local(): unknown {
    return this.localValue
  }

  /**
   * Sets our value. Throws MessageTooLargeError (nothing changes) when it is over the limit, and TypeError when it is
   * not JSON-serialisable. Returns false when the value equals the current one (nothing will be sent).
   */
  set(value: unknown): boolean {
    const json = JSON.stringify(value === undefined ? null : value)
    if (json === undefined) throw new TypeError('presence value must be JSON-serialisable')
    const size = new TextEncoder().encode(json).length
    if (size > this.options.maxBytes) throw new MessageTooLargeError(size, this.options.maxBytes, 'presence value')
    if (json === this.localJson && this.version > 0) return false
    this.localJson = json
    const parsed = JSON.parse(json) as unknown
    // null clears a value, locally as remotely: both read back as undefined.
    this.localValue = parsed === null ? undefined : parsed
    this.version++
    this.schedule()
    return true
  }

  /** Sends our current value again soon (a new member needs it), subject to the throttle. */
  resend(): void {
    if (this.version === 0) return
    this.sentVersion = Math.min(this.sentVersion, this.version - 1)
    this.schedule()
  }

  get(id: string): unknown {
    return this.remote.get(id)?.value
  }

  /** Applies a received value. Returns true when it replaced what we had for that member. */
  receive(id: string, incarnation: number, version: number, json: string): boolean {
    const known = this.remote.get(id)
    if (known !== undefined) {
      if (incarnation < known.incarnation) return false
      if (incarnation === known.incarnation && version <= known.version) return false
    }
    const value = JSON.parse(json) as unknown
    this.remote.set(id, { incarnation, version, value: value === null ? undefined : value })
    return true
  }

  /** Members with a value (a cleared value is not listed). */
  entries(): Array<[string, unknown]> {
    return [...this.remote].filter(([, v]) => v.value !== undefined).map(([id, v]) => [id, v.value])
  }

  /** Drops a member's value; true when there was one. */
  remove(id: string): boolean {
    return this.remote.delete(id)
  }

  close(): void {
    this.cancelPending?.()
    this.cancelPending = undefined
  }

  private schedule(): void {
    if (this.cancelPending !== undefined) return
    const wait = this.lastSentMs + this.throttle - this.clock.now()
    if (wait <= 0) {
      this.flush()
      return
    }
    this.cancelPending = this.timer.setTimeout(() => {
      this.cancelPending = undefined
      this.flush()
    }, wait)
  }

  private flush(): void {
    if (this.sentVersion >= this.version) return
    this.sentVersion = this.version
    this.lastSentMs = this.clock.now()
    this.send({ version: this.version, json: this.localJson })
  }
}
