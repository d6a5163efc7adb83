/**
 * Every error Synod throws or emits on purpose. Match them by `err.name` (stable across bundles and realms),
 * not by `instanceof`. Each class carries the context a caller needs to act on it.
 */

export interface SynodErrorOptions {
  /** The underlying error, if any. */
  readonly cause?: unknown
}

export class SynodError extends Error {
  override readonly name: string = 'SynodError'

  constructor(message: string, options: SynodErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
  }
}

/** Bytes from the wire (or storage) that are malformed, of an unknown type or version, or over a size limit. */
export class DecodeError extends SynodError {
  override readonly name = 'DecodeError'
}

/** A value we were asked to send is over a size limit (checked before it leaves, so peers never see it). */
export class MessageTooLargeError extends SynodError {
  override readonly name = 'MessageTooLargeError'

  constructor(
    readonly size: number,
    readonly limit: number,
    what = 'message',
  ) {
    super(`${what} is ${size} bytes, over the limit of ${limit} bytes`)
  }
}

/** The room was left (or the peer closed) before or during the call. */
export class RoomClosedError extends SynodError {
  override readonly name = 'RoomClosedError'
}

/** The peer was closed before or during the call. */
export class PeerClosedError extends SynodError {
  override readonly name = 'PeerClosedError'
}

/** An option passed to a public function is invalid; the message names the option and what is accepted. */
export class InvalidOptionError extends SynodError {
  override readonly name = 'InvalidOptionError'
}

/** The call was aborted through its `signal`. */
export class AbortError extends SynodError {
  override readonly name = 'AbortError'

  constructor(message = 'the operation was aborted', options: SynodErrorOptions = {}) {
    super(message, options)
  }
}

/** A peer sent more messages than its inbound rate limit allows; the excess was dropped. */
export class RateLimitedError extends SynodError {
  override readonly name = 'RateLimitedError'
}

/** An operation on the ordered log was not (or may not have been) committed. */
export class NotCommittedError extends SynodError {
  override readonly name = 'NotCommittedError'

  constructor(
    message: string,
    /** true when the entry may still be committed later (the outcome is unknown), false when it certainly was not. */
    readonly mayHaveCommitted: boolean,
    options: SynodErrorOptions = {},
  ) {
    super(message, options)
  }
}

/** `acquire({ wait: false })` found the lock held by another peer; the request was withdrawn, nothing is held. */
export class LockBusyError extends SynodError {
  override readonly name = 'LockBusyError'

  constructor(
    readonly lock: string,
    /** The holder's peer id, as this peer last applied the log ('' if it was freed meanwhile and is not known). */
    readonly holder: string,
    /** When the holder's lease ends, in the log's time (ms since the epoch); 0 when `holder` is ''. */
    readonly expiresAtMs: number,
    options: SynodErrorOptions = {},
  ) {
    super(
      holder === ''
        ? `lock '${lock}' is busy`
        : `lock '${lock}' is held by ${holder} until ${new Date(expiresAtMs).toISOString()}`,
      options,
    )
  }
}

/** The browser's storage quota is exhausted; the write was not applied and nothing stored was changed. */
export class StorageQuotaError extends SynodError {
  override readonly name = 'StorageQuotaError'
}

/** A storage operation failed for a reason other than quota (adapter closed, database blocked or broken). */
export class StorageError extends SynodError {
  override readonly name = 'StorageError'
}

/** A seeded simulation failed; `seed` replays it (`SEED=<seed> npm run sim`). */
export class SeedFailedError extends SynodError {
  override readonly name = 'SeedFailedError'

  constructor(
    readonly seed: number,
    message: string,
    cause: unknown,
  ) {
    super(message, { cause })
  }
}

/** Throws an AbortError if the signal is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) {
    throw new AbortError('the operation was aborted', { cause: signal.reason })
  }
}
