/**
 * The named metrics of one peer (or relay). Layers receive a `MetricsScope` and report into it; `snapshot()` turns
 * everything into plain data for `room.stats()`, the relay's status and benches.
 */
import { InvalidOptionError } from '../errors.js'
import { Counter } from './counter.js'
import { Histogram, type HistogramSnapshot } from './histogram.js'

/** Everything a registry holds, as JSON-able data; names are sorted so that equal registries print equally. */
export interface MetricsSnapshot {
  readonly counters: Record<string, number>
  readonly histograms: Record<string, HistogramSnapshot>
}

/** What a layer needs to report: get-or-create metrics by name, and narrower scopes for sub-components. */
export interface MetricsScope {
  /** The counter with this name, created at 0 on first use; the same name always returns the same instance. */
  counter(name: string): Counter
  /** The histogram with this name, created empty on first use; the same name always returns the same instance. */
  histogram(name: string): Histogram
  /** A view whose names are prefixed with `prefix.`; scopes nest (`scope('a').scope('b')` names `a.b.x`). */
  scope(prefix: string): MetricsScope
}

export interface MetricsRegistryOptions {
  /**
   * The most distinct metric names (counters and histograms together) the registry accepts; default 1000. Names are
   * meant to come from a fixed vocabulary, so running past this means something like a peer id leaked into a name,
   * which would otherwise grow memory without bound.
   */
  readonly maxNames?: number
}

export class MetricsRegistry implements MetricsScope {
  private readonly counters = new Map<string, Counter>()
  private readonly histograms = new Map<string, Histogram>()
  private readonly maxNames: number

  constructor(options: MetricsRegistryOptions = {}) {
    const maxNames = options.maxNames ?? 1000
    if (!Number.isSafeInteger(maxNames) || maxNames < 1) {
      throw new InvalidOptionError(`maxNames must be a positive integer, got ${maxNames}`)
    }
    this.maxNames = maxNames
  }

  counter(name: string): Counter {
    const existing = this.counters.get(name)
    if (existing !== undefined) return existing
    this.admit(name, 'counter', this.histograms)
    const created = new Counter()
    this.counters.set(name, created)
    return created
  }

  histogram(name: string): Histogram {
    const existing = this.histograms.get(name)
    if (existing !== undefined) return existing
    this.admit(name, 'histogram', this.counters)
    const created = new Histogram()
    this.histograms.set(name, created)
    return created
  }

  scope(prefix: string): MetricsScope {
    checkName(prefix, 'scope prefix')
    return new PrefixedScope(this, prefix)
  }

  snapshot(): MetricsSnapshot {
    const counters: Record<string, number> = {}
    for (const name of [...this.counters.keys()].sort()) counters[name] = this.counters.get(name)?.value() ?? 0
    const histograms: Record<string, HistogramSnapshot> = {}
    for (const name of [...this.histograms.keys()].sort()) {
      const histogram = this.histograms.get(name)
      if (histogram !== undefined) histograms[name] = histogram.snapshot()
    }
    return { counters, histograms }
  }

  /** Checks a new name before it is created: well-formed, not taken by the other kind, and within the bound. */
  private admit(name: string, kind: string, otherKind: ReadonlyMap<string, unknown>): void {
    checkName(name, `${kind} name`)
    if (otherKind.has(name)) {
      const other = kind === 'counter' ? 'histogram' : 'counter'
      throw new InvalidOptionError(`metric name '${name}' is already used by a ${other}`)
    }
    if (this.counters.size + this.histograms.size >= this.maxNames) {
      throw new InvalidOptionError(
        `cannot create ${kind} '${name}': the registry already holds ${this.maxNames} distinct metric names ` +
          `(maxNames); metric names must come from a fixed set, not contain ids`,
      )
    }
  }
}

class PrefixedScope implements MetricsScope {
  constructor(
    private readonly parent: MetricsScope,
    private readonly prefix: string,
  ) {}

  counter(name: string): Counter {
    checkName(name, 'counter name')
    return this.parent.counter(`${this.prefix}.${name}`)
  }

  histogram(name: string): Histogram {
    checkName(name, 'histogram name')
    return this.parent.histogram(`${this.prefix}.${name}`)
  }

  scope(prefix: string): MetricsScope {
    checkName(prefix, 'scope prefix')
    return new PrefixedScope(this.parent, `${this.prefix}.${prefix}`)
  }
}

function checkName(name: string, what: string): void {
  // An empty name would collide with its own scope (`presence.` + '' → 'presence.'), so reject it early.
  if (name.length === 0) throw new InvalidOptionError(`${what} must not be empty`)
}
