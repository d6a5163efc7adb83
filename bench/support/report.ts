// Writes a benchmark's JSON result to bench/results/<name>.json and prints its table.
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { resolve } from 'node:path'
import type { HistogramSnapshot } from '../../src/metrics/index.js'

export const resultsDir = resolve(import.meta.dirname, '../results')

export interface BenchRow {
  readonly metric: string
  readonly unit: string
  readonly summary: HistogramSnapshot
}

export function environment(): Record<string, unknown> {
  return {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    platform: process.platform,
    date: new Date().toISOString(),
  }
}

export function formatTable(rows: readonly BenchRow[]): string {
  const head = ['metric', 'n', 'p50', 'p95', 'p99', 'min', 'max', 'unit']
  const body = rows.map((r) => [
    r.metric,
    String(r.summary.count),
    ...[r.summary.p50, r.summary.p95, r.summary.p99, r.summary.min, r.summary.max].map((v) => v.toFixed(1)),
    r.unit,
  ])
  return markdownTable(head, body)
}

/** A Markdown table with its columns padded to their widest cell. */
export function markdownTable(head: readonly string[], body: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]?.length ?? 0)))
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n')
}

export function writeResult(name: string, result: Record<string, unknown>, rows: readonly BenchRow[]): string {
  mkdirSync(resultsDir, { recursive: true })
  const table = formatTable(rows)
  writeFileSync(resolve(resultsDir, `${name}.json`), `${JSON.stringify({ name, environment: environment(), ...result, rows }, null, 2)}\n`)
  writeFileSync(resolve(resultsDir, `${name}.md`), `# ${name}\n\n${table}\n`)
  return table
}
