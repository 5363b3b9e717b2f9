/**
 * report.html: one self-contained file with the topology (link widths and colors from the run's
 * averages) and the per-second time series, drawn by the live view's own client code. d3, the
 * TopoJSON client, the world map, the scripts, the styles and the data are all inlined: the
 * file opens from disk with no network.
 */
import { readFileSync } from 'node:fs';
import type { Mesh } from '../sim/mesh.ts';
import type { RunResult } from '../sim/run.ts';
import { CLIENT_SCRIPTS, readClient, vendorFile } from '../viz/assets.ts';
import { seriesOfRun, SnapshotBuilder, topologyOf } from '../viz/snapshot.ts';

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** JavaScript that is safe inside a <script> element. */
function scriptJs(code: string): string {
  return code.replace(/<\/script/gi, '<\\/script');
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

/** The report for a finished run: `mesh` is the run's mesh (for its topology and final counters). */
export function reportHtml(result: RunResult, mesh: Mesh): string {
  const data = {
    topology: topologyOf(mesh),
    snapshot: new SnapshotBuilder(mesh).snapshot(),
    series: seriesOfRun(result),
    summary: {
      simulatedSeconds: result.simulatedSeconds, wallSeconds: result.run.wallSeconds, speedup: result.run.speedup,
      published: result.messages.published, delivered: result.messages.delivered, dropped: result.messages.dropped,
      wanMbpsAvg: result.wan.mbpsAvg, wanMbpsPeak: result.wan.mbpsPeak,
      localP99: result.latencyMs.local.p99, crossP99: result.latencyMs.crossRegion.p99, traceHash: result.traceHash,
    },
  };
  const lib = (name: Parameters<typeof vendorFile>[0]) => scriptJs(readFileSync(vendorFile(name), 'utf8'));
  const scripts = [...CLIENT_SCRIPTS, 'report.js'].map((f) => `<script>\n${scriptJs(readClient(f))}\n</script>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>meshtwin report — ${esc(result.scenario)}, seed ${result.seed}</title>
<style>
${readClient('style.css')}
</style>
</head>
<body>
<header>
  <div class="brand"><b>meshtwin</b> <span id="scenario"></span></div>
  <div class="status"><span id="clock" class="clock"></span><span id="rate" class="rate"></span></div>
</header>
<main>
  <section class="mapbox">
    <div class="mapwrap">
      <svg id="map" role="img" aria-label="mesh topology"></svg>
      <div class="totals" id="totals"></div>
    </div>
    <div class="map-legend">
      <span><i class="w1"></i><i class="w2"></i><i class="w3"></i> width: Mbps (log)</span>
      <span><i class="grad"></i> utilization 0 → 90%</span>
      <span><i class="dashed"></i> down at the end of the run</span>
      <span>dots: events flowing</span>
    </div>
  </section>
  <aside id="panel" class="panel"></aside>
</main>
<section class="charts report">
  <div class="chart" id="chart-wan"></div>
  <div class="chart" id="chart-lat"></div>
</section>
<script id="meshtwin-data" type="application/json">${scriptJson(data)}</script>
<script id="meshtwin-land" type="application/json">${readFileSync(vendorFile('land-110m.json'), 'utf8').replace(/</g, '\\u003c')}</script>
<script>
${lib('d3.min.js')}
</script>
<script>
${lib('topojson-client.min.js')}
</script>
${scripts}
</body>
</html>
`;
}
