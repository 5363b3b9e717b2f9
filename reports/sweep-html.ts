/**
 * sweep.html: one self-contained page with the sweep's figures charted against the swept
 * parameter (d3, inlined from node_modules like report.html's; no network), the breaking point
 * marked on every chart by a vertical rule and its label (a grid: each row's own, in the row's
 * color), the condition, the command and the table of every step. Built from the report alone
 * (sweep.json's object), so `meshtwin merge` writes the same page from shards.
 */
import { readFileSync } from 'node:fs';
import { displayValue } from '../scenarios/vary.ts';
import { readClient, vendorFile } from '../viz/assets.ts';
import { breakingLines, type SweepReport } from '../sim/sweep/report.ts';
import { figureCells, SWEEP_HEADERS, SWEEP_TABLE_NOTE } from './sweep-table.ts';

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');
const scriptJs = (code: string): string => code.replace(/<\/script/gi, '<\\/script');

/** A `links[A>B].utilizationPeak <= X` (or `<`) line's X: the threshold the charts draw. */
function utilizationLimit(lines: readonly string[]): number | null {
  for (const l of lines) {
    const m = /^\s*links\[[^\]]+\]\.utilizationPeak\s*<=?\s*([\d.]+)\s*$/.exec(l);
    if (m !== null) return Number(m[1]);
  }
  return null;
}

/** What the page's script draws (viz/client/sweep.js). */
export function sweepData(r: SweepReport) {
  const links = Object.keys(r.steps[0]?.figures ?? {})
    .map((k) => /^links\[(.+)\]\.utilizationPeak$/.exec(k)?.[1])
    .filter((k): k is string => k !== undefined);
  return {
    scenario: r.inputs.scenario,
    scale: r.inputs.scale,
    axes: r.axes.map((a) => ({ path: a.path, kind: a.kind, values: a.values, labels: a.values.map((v) => displayValue(a.kind, v)) })),
    steps: r.steps.map((s) => ({
      index: s.index,
      step: s.step,
      values: r.axes.map((a) => s.values[a.path] as number),
      pass: s.pass,
      label: s.label,
      figures: s.figures,
      reasons: s.checks.filter((c) => !c.pass).map((c) => c.reason as string),
    })),
    breaking: r.breakingPoint === null ? null : { index: r.breakingPoint.index, step: r.breakingPoint.step, label: r.breakingPoint.label },
    frontier: r.frontier === null ? null : r.frontier.map((f) => ({ value: f.value, label: f.label, breakingIndex: f.breakingPoint?.index ?? null })),
    links,
    utilizationLimit: utilizationLimit(r.condition.lines),
    totalSteps: r.totalSteps,
  };
}

function stepsTable(r: SweepReport): string {
  const head = `<tr><th>step</th>${r.axes.map((a) => `<th>${esc(a.path)}</th>`).join('')}${SWEEP_HEADERS.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const breakingIndex = r.breakingPoint?.index ?? null;
  const body = r.steps
    .map((s) => {
      const cls = s.index === breakingIndex ? 'breaking' : s.pass ? 'pass' : 'fail';
      // The row's color marks the breaking step; its last cell says so in one word.
      const cells = [
        String(s.step),
        ...r.axes.map((a) => displayValue(a.kind, s.values[a.path] as number)),
        ...figureCells(s, breakingIndex).slice(0, -1),
        s.index === breakingIndex ? 'breaks' : s.pass ? 'ok' : 'FAIL',
      ];
      const why = s.checks
        .filter((c) => !c.pass)
        .map((c) => c.reason)
        .join('; ');
      return `<tr class="${cls}"${why === '' ? '' : ` title="${esc(why)}"`}>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
    })
    .join('\n');
  return `<table class="steps">\n${head}\n${body}\n</table>`;
}

export function sweepHtml(r: SweepReport): string {
  const data = sweepData(r);
  const lines = breakingLines(r);
  const condition = r.condition.lines.map((l) => `<code>${esc(l)}</code>`).join(' · ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>meshtwin sweep — ${esc(r.inputs.scenario)}: ${esc(r.axes.map((a) => a.path).join(' × '))}</title>
<style>
${readClient('sweep.css')}
</style>
</head>
<body>
<header>
  <div class="brand"><b>meshtwin sweep</b> <span>${esc(r.inputs.scenario)}, seed ${r.inputs.seed} · ${esc(r.axes.map((a) => `${a.path} ${a.texts[0]}..${a.texts[a.texts.length - 1]}`).join(' × '))} · ${r.totalSteps} steps (${esc(r.inputs.scale)})</span></div>
</header>
<section class="verdict ${r.breakingPoint === null ? 'held' : 'broke'}">
  <p class="line" id="breaking">${esc(lines[0] as string)}</p>
  ${
    lines.length > 1
      ? `<ul class="frontier">${lines
          .slice(1)
          .map((l) => `<li>${esc(l.trim())}</li>`)
          .join('')}</ul>`
      : ''
  }
  <p class="dim">condition (${r.condition.source === 'default' ? "the default: no link over 90% utilization, no drop, the scenario's own latency assertions" : '--until'}): ${condition}</p>
</section>
<section class="charts" id="charts"></section>
<section class="tables">
${stepsTable(r)}
<p class="dim">${esc(SWEEP_TABLE_NOTE)}. Hover a failing row for why it failed.</p>
<p class="dim">command: <code>${esc(r.command)}</code> · file SHA-256 <code>${esc(r.inputs.fileSha256.slice(0, 16))}…</code> · each step's scenario is in <code>steps/</code> (replay one: <code>meshtwin run steps/step-N.yaml --no-heap</code>)</p>
</section>
<script id="sweep-data" type="application/json">${scriptJson(data)}</script>
<script>
${scriptJs(readFileSync(vendorFile('d3.min.js'), 'utf8'))}
</script>
<script>
${scriptJs(readClient('format.js'))}
</script>
<script>
${scriptJs(readClient('sweep.js'))}
</script>
</body>
</html>
`;
}
