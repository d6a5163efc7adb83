// A live uPlot line chart that follows its container's width and the page's theme, with a text summary that stands
// in for the canvas for screen readers (and for anyone who would rather read a number than a line).
import uPlot from 'uplot'
import { h, uniqueId } from '../dom.js'

export interface ChartLine {
  readonly label: string
  /** A CSS custom property holding the colour, e.g. `--cp-series-1`: read at draw time, so dark mode applies. */
  readonly colorVar: string
  readonly dash?: readonly number[]
}

export interface LiveChartOptions {
  readonly title: string
  /** `data-testid` of the chart's <figure>; its summary gets `<testId>-summary`, the side text `<testId>-side`. */
  readonly testId: string
  readonly lines: readonly ChartLine[]
  /** Formats y values in the legend and on the axis. */
  readonly format: (v: number) => string
  /** Draws a dot on every point: for sparse series with gaps (no samples in an interval), where a line may not show. */
  readonly points?: boolean
  /** Plot height in CSS pixels. Default 140. */
  readonly height?: number
}

/** Narrower than this, axis labels collide; the container scrolls instead. */
const MIN_WIDTH = 160

export class LiveChart {
  readonly element: HTMLElement
  private readonly canvas: HTMLElement
  private readonly summary: HTMLElement
  private readonly side: HTMLElement
  private readonly height: number
  private plot: uPlot | undefined
  private resize: ResizeObserver | undefined
  private width = 0
  private destroyed = false

  constructor(private readonly options: LiveChartOptions) {
    this.height = options.height ?? 140
    const summaryId = uniqueId('cp-chart-summary')
    this.canvas = h('div', { class: 'cp-chart-canvas', role: 'img', 'aria-labelledby': summaryId })
    this.side = h('span', { class: 'cp-chart-side', 'data-testid': `${options.testId}-side` })
    this.summary = h('p', { class: 'cp-chart-summary', id: summaryId, 'data-testid': `${options.testId}-summary` })
    this.element = h(
      'figure',
      { class: 'cp-chart', 'data-testid': options.testId },
      h('figcaption', {}, h('span', { class: 'cp-chart-title' }, options.title), ' ', this.side),
      this.canvas,
      this.summary,
    )
  }

  /** `columns`: `[xs (unix seconds), ys…]`, one y column per line; `summary` and `side` replace the texts. */
  update(columns: uPlot.AlignedData, summary: string, side = ''): void {
    if (this.destroyed) return
    this.summary.textContent = summary
    this.side.textContent = side
    if (this.plot === undefined) this.plot = this.createPlot(columns)
    else this.plot.setData(columns)
  }

  destroy(): void {
    this.destroyed = true
    this.resize?.disconnect()
    this.plot?.destroy()
  }

  /**
   * Created on the first update rather than in the constructor: by then the panel is in the page, so the first
   * draw can read the theme's colours (a detached element has no inherited custom properties).
   */
  private createPlot(columns: uPlot.AlignedData): uPlot {
    const { lines, format, points } = this.options
    const height = this.height
    // Canvas strokes cannot use var(): resolve the custom property at each draw (uPlot calls these per draw).
    const color = (name: string) => (u: uPlot) => getComputedStyle(u.root).getPropertyValue(name).trim() || 'gray'
    // The legend's swatches are HTML, where var() works and follows a theme change without a redraw.
    const cssVar = (_u: uPlot, i: number): string => `var(${lines[i - 1]?.colorVar ?? '--cp-muted'})`
    const axis: uPlot.Axis = {
      stroke: color('--cp-muted'),
      grid: { stroke: color('--cp-grid'), width: 1 },
      ticks: { stroke: color('--cp-grid'), width: 1 },
    }
    const plot = new uPlot(
      {
        // The real width arrives with the first ResizeObserver callback, once the panel is laid out.
        width: Math.max(MIN_WIDTH, Math.floor(this.canvas.clientWidth)),
        height,
        cursor: { drag: { x: false, y: false } },
        // live: false keeps the legend to series names: a live legend shows dashes except while the pointer hovers.
        legend: { show: true, live: false, markers: { stroke: cssVar, fill: cssVar } },
        scales: {
          x: { time: true },
          // Rates and latencies start at 0: a y axis floating at 3.9–4.1 would turn noise into drama.
          y: { range: (_u, _min, max) => [0, Number.isFinite(max) && max > 0 ? max * 1.15 : 1] },
        },
        axes: [axis, { ...axis, size: 44, values: (_u, splits) => splits.map(format) }],
        series: [
          {},
          ...lines.map(
            (line): uPlot.Series => ({
              label: line.label,
              stroke: color(line.colorVar),
              width: 1.5,
              ...(line.dash === undefined ? {} : { dash: [...line.dash] }),
              value: (_u, v) => (v === null ? '–' : format(v)),
              ...(points === true ? { points: { show: true, size: 4 } } : {}),
            }),
          ),
        ],
      },
      columns,
      this.canvas,
    )
    this.resize = new ResizeObserver((entries) => {
      const box = entries[entries.length - 1]?.contentRect
      if (box === undefined) return
      const width = Math.max(MIN_WIDTH, Math.floor(box.width))
      // Only on a real change: setSize re-lays the plot, and a callback per frame would redraw for nothing.
      if (width === this.width) return
      this.width = width
      plot.setSize({ width, height })
    })
    this.resize.observe(this.canvas)
    return plot
  }
}
