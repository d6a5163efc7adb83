/**
 * A libp2p stream carrying length-prefixed frames: reads are bounded before allocation (a frame over the limit
 * aborts the stream), and writes go out one at a time through a bounded queue so that one slow reader cannot make
 * us buffer without limit.
 */
import type { Stream } from '@libp2p/interface'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import { DecodeError, SynodError } from '../errors.js'

export interface FramedStreamOptions {
  /** Largest frame accepted or sent, in bytes. */
  readonly maxFrameBytes: number
  /** Frames that may wait to be written before the stream is considered stuck and aborted. */
  readonly maxQueuedFrames: number
}

export class StreamBackpressureError extends SynodError {
  override readonly name = 'StreamBackpressureError'
}

export class FramedStream {
  private readonly lp: LengthPrefixedStream<Stream>
  private queue: Promise<void> = Promise.resolve()
  private queued = 0
  private closed = false

  constructor(
    readonly stream: Stream,
    private readonly options: FramedStreamOptions,
  ) {
    this.lp = lpStream(stream, { maxDataLength: options.maxFrameBytes })
  }

  /** Next frame, or null when the remote closed its side. Throws DecodeError on an oversized frame. */
  async read(signal?: AbortSignal): Promise<Uint8Array | null> {
    try {
      const list = await this.lp.read(signal === undefined ? {} : { signal })
      return list.subarray()
    } catch (err) {
      const name = (err as Error).name
      if (name === 'UnexpectedEOFError' || this.stream.readStatus !== 'readable') return null
      if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') {
        throw new DecodeError(`frame exceeds ${this.options.maxFrameBytes} bytes`, { cause: err })
      }
      throw err
    }
  }

  /** Queues a frame. Resolves once written; rejects if the stream closed or its queue overflowed (then it aborts). */
  write(frame: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new SynodError('stream is closed'))
    if (frame.length > this.options.maxFrameBytes) {
      return Promise.reject(new SynodError(`frame of ${frame.length} bytes exceeds ${this.options.maxFrameBytes}`))
    }
    if (this.queued >= this.options.maxQueuedFrames) {
      const err = new StreamBackpressureError(`more than ${this.options.maxQueuedFrames} frames queued; aborting`)
      this.abort(err)
      return Promise.reject(err)
    }
    this.queued++
    const next = this.queue.then(async () => {
      try {
        await this.lp.write(frame)
      } finally {
        this.queued--
      }
    })
    // The chain must survive a failed write, or every later write would reject with the first error.
    this.queue = next.catch(() => {})
    return next
  }

  abort(err: Error): void {
    this.closed = true
    this.stream.abort(err)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.queue
    await this.stream.close().catch((err: unknown) => {
      this.stream.abort(err instanceof Error ? err : new Error(String(err)))
    })
  }
}
