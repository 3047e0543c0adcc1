/**
 * Usage drawn by the page as SVG: `<usage-chart>` (hourly bars stacked by outcome, with a
 * legend, day marks and a table of daily totals) and `<usage-sparkline>` (a key's last 7 days
 * in a table row). Both are web components fed with `.buckets`.
 */
import type { UsageBucket } from './api'
import { h, svg, uid } from './dom'
import { table } from './screen'

export const OUTCOMES = [
  { field: 'allowed', label: 'Allowed', css: 'u-allowed' },
  { field: 'forbidden', label: 'Forbidden (403)', css: 'u-forbidden' },
  { field: 'rate_limited', label: 'Rate limited (429)', css: 'u-limited' },
  { field: 'rejected', label: 'Rejected: disabled or expired (401)', css: 'u-rejected' },
] as const

type Field = (typeof OUTCOMES)[number]['field']

const total = (b: UsageBucket) => b.allowed + b.forbidden + b.rate_limited + b.rejected

/** The sums of each outcome over the buckets. */
export function sums(buckets: readonly UsageBucket[]): Record<Field, number> & { all: number } {
  const sum = { allowed: 0, forbidden: 0, rate_limited: 0, rejected: 0, all: 0 }
  for (const b of buckets) for (const { field } of OUTCOMES) (sum[field] += b[field]), (sum.all += b[field])
  return sum
}

const number = new Intl.NumberFormat()
const hourFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' })
/** Short, for the marks under the chart: "Nov 30". */
const markFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' })

/** In words, for screen readers and tooltips. */
export function summary(buckets: readonly UsageBucket[]): string {
  const sum = sums(buckets)
  return OUTCOMES.map(({ field, label }) => `${number.format(sum[field])} ${label.toLowerCase()}`).join(', ')
}

class UsageChart extends HTMLElement {
  private data: readonly UsageBucket[] = []

  set buckets(buckets: readonly UsageBucket[]) {
    this.data = buckets
    this.render()
  }

  private render(): void {
    const buckets = this.data
    const n = Math.max(1, buckets.length)
    const busiest = Math.max(0, ...buckets.map(total))
    const peak = Math.max(1, busiest)
    const bars = svg('g', null, buckets.map((b, i) => {
      if (total(b) === 0) return null
      let y = 100
      const parts = OUTCOMES.map(({ field, css }) => {
        const height = (b[field] / peak) * 100
        if (height === 0) return null
        y -= height
        return svg('rect', { class: css, x: i + 0.1, y, width: 0.8, height })
      })
      return svg('g', null, svg('title', null, `${hourFormat.format(new Date(b.hour))}: ${summary([b])}`), parts)
    }))
    const titleId = uid('chart')
    const days = buckets.length / 24
    const marks = h('div', { class: 'marks', 'aria-hidden': 'true' })
    buckets.forEach((b, i) => {
      const at = new Date(b.hour)
      if (at.getHours() !== 0 || i === 0 || i / n > 0.92) return
      const dayIndex = Math.round(i / 24)
      if (days > 10 && dayIndex % 5 !== 0) return
      const mark = h('span', null, markFormat.format(at))
      mark.style.left = `${(i / n) * 100}%`
      marks.append(mark)
    })
    const sum = sums(buckets)
    this.replaceChildren(
      h('p', { class: 'chart-peak' }, `Busiest hour: ${number.format(busiest)} requests`),
      svg('svg', { class: 'chart', viewBox: `0 0 ${n} 100`, preserveAspectRatio: 'none', role: 'img', 'aria-labelledby': titleId },
        svg('title', { id: titleId }, `Requests per hour over ${Math.round(days)} days: ${summary(buckets)}`),
        svg('line', { class: 'axis', x1: 0, x2: n, y1: 100, y2: 100 }),
        bars,
      ),
      marks,
      h('ul', { class: 'legend' }, OUTCOMES.map(({ field, label, css }) =>
        h('li', null, h('span', { class: `swatch ${css}`, 'aria-hidden': 'true' }), `${label}: `, h('strong', { 'data-outcome': field }, number.format(sum[field]))),
      )),
      this.dailyTable(buckets),
    )
  }

  /** The same numbers as a table, a row per day, for those who do not see the chart. */
  private dailyTable(buckets: readonly UsageBucket[]): HTMLElement {
    const daily = new Map<string, UsageBucket[]>()
    for (const b of buckets) {
      const name = dayFormat.format(new Date(b.hour))
      daily.set(name, [...(daily.get(name) ?? []), b])
    }
    return h('details', null,
      h('summary', null, 'Daily totals as a table'),
      table('Requests per day', ['Day', ...OUTCOMES.map(({ label }) => label)], [...daily].map(([name, hours]) => {
        const sum = sums(hours)
        return h('tr', null, h('th', { scope: 'row' }, name), OUTCOMES.map(({ field }) => h('td', { class: 'num' }, number.format(sum[field]))))
      }), { hideCaption: true }),
    )
  }
}

class UsageSparkline extends HTMLElement {
  set buckets(buckets: readonly UsageBucket[]) {
    const n = Math.max(1, buckets.length)
    const peak = Math.max(1, ...buckets.map(total))
    const points = buckets.map((b, i) => `${i + 0.5},${22 - (total(b) / peak) * 20}`).join(' ')
    const sum = sums(buckets)
    const refused = sum.all - sum.allowed
    const text = `${number.format(sum.all)} ${sum.all === 1 ? 'request' : 'requests'} in 7 days${refused > 0 ? `, ${number.format(refused)} refused` : ''}`
    this.replaceChildren(
      svg('svg', { class: 'sparkline', viewBox: `0 0 ${n} 24`, preserveAspectRatio: 'none', 'aria-hidden': 'true', focusable: 'false' },
        svg('polyline', { points: `0,22 ${points} ${n},22`, class: refused > 0 ? 'spark refused' : 'spark' }),
      ),
      h('span', { class: 'spark-text' }, text),
    )
  }
}

customElements.define('usage-chart', UsageChart)
customElements.define('usage-sparkline', UsageSparkline)

export function usageChart(buckets: readonly UsageBucket[]): HTMLElement {
  const chart = document.createElement('usage-chart') as UsageChart
  chart.buckets = buckets
  return chart
}

export function usageSparkline(buckets: readonly UsageBucket[]): HTMLElement {
  const spark = document.createElement('usage-sparkline') as UsageSparkline
  spark.buckets = buckets
  return spark
}
