/**
 * A minimal typed event emitter in the nanoevents style: `on()` returns its own unsubscribe function, and a listener
 * that throws does not stop the others (its error is reported, not swallowed).
 */

export type Listener<P> = (payload: P) => void
export type EventMap = Record<string, unknown>

export class Emitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Set<Listener<never>>>()

  constructor(private readonly onListenerError: (err: unknown) => void = reportListenerError) {}

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.listeners.get(event)
    if (set === undefined) {
      set = new Set()
      this.listeners.set(event, set)
    }
    set.add(listener)
    return () => {
      set.delete(listener)
    }
  }

  emit<K extends keyof E>(event: K, payload: E[K]): void {
    const set = this.listeners.get(event)
    if (set === undefined) return
    for (const listener of [...set]) {
      try {
        ;(listener as Listener<E[K]>)(payload)
      } catch (err) {
        this.onListenerError(err)
      }
    }
  }

  listenerCount(event: keyof E): number {
    return this.listeners.get(event)?.size ?? 0
  }

  clear(): void {
    this.listeners.clear()
  }
}

/** An application listener threw: surface it asynchronously, as the platform does for event handlers. */
export function reportListenerError(err: unknown): void {
  queueMicrotask(() => {
    throw err
  })
}
