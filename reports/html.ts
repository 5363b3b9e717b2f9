/**
 * report.html: one self-contained file with the topology (link widths and colors from the run's
 * averages) and the per-second time series with a marker at each fault, drawn by the live view's
 * own client code; then the figures the CLI prints: latency, the fault timeline, invariants and
 * the Expect table, broker memory. Built from the run's result (as summary.json is), never from
 * a live Mesh. d3, the
 * TopoJSON client, the world map, the scripts, the styles and the data are all inlined: the
 * file opens from disk with no network.
 */
import { readFileSync } from 'node:fs';
import type { Scenario } from '../scenarios/types.ts';
import type { LatencyBlock } from '../sim/metrics.ts';
import type { LinkResult, RunResult } from '../sim/run.ts';
import { CLIENT_SCRIPTS, readClient, vendorFile } from '../viz/assets.ts';
import { seriesOfRun } from '../viz/snapshot.ts';
import { BROKER_HEADERS, brokerNote, brokerRows, conservationLine, dropCauses, FAULT_HEADERS, policyLine, faultLabel, faultRows, schemaLine, type ExpectRow } from './human.ts';

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** JavaScript that is safe inside a <script> element. */
function scriptJs(code: string): string {
  return code.replace(/<\/script/gi, '<\\/script');
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

/** A latency figure for a table: "—" when the block is empty (count 0), not 0.000. */
const msCell = (block: LatencyBlock, x: number): string => (block.count === 0 ? '—' : x.toFixed(3));
const int = (x: number): string => Math.round(x).toLocaleString('en-US');

function htmlTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, cls: string, rowClass?: (i: number) => string): string {
  const head = `<tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r, i) => `<tr${rowClass ? ` class="${rowClass(i)}"` : ''}>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table class="rt ${cls}">\n${head}\n${body}\n</table>`;
}

/**
 * The figures the CLI prints, as tables: messages, latency (an empty block is "—"), the fault
 * timeline (numbered like the markers on the charts), invariants, the Expect table and broker
 * memory (measured and modeled columns named so).
 */
export function reportTables(r: RunResult, s: Scenario, expect: readonly ExpectRow[]): string {
  const out: string[] = [];
  const m = r.messages;
  out.push(
    `<div class="rt-block" id="rt-messages"><h3>Messages</h3><p>published <b>${int(m.published)}</b> · delivered <b>${int(m.delivered)}</b> to subscribers · dropped <b>${int(m.dropped)}</b> · duplicates <b>${int(m.duplicates)}</b>${m.rejected > 0 ? ` · rejected <b>${int(m.rejected)}</b> (broker down)` : ''}</p>${
      (m.dropped > 0 ? `<p class="dim">dropped by cause: ${esc(dropCauses(r))}</p>` : '') +
      (policyLine(r) === null ? '' : `<p>policy: ${esc(policyLine(r) as string)}</p>`) +
      (schemaLine(r) === null ? '' : `<p>schemas: ${esc(schemaLine(r) as string)}</p>`)
    }<p id="rt-conservation">${esc(conservationLine(r))}</p>`,
  );
  out.push('<h3>Latency, publish → subscriber (ms, measured, weighted by subscriber)</h3>');
  out.push(
    htmlTable(
      ['class', 'deliveries', 'mean', 'p50', 'p99', 'p99.9', 'max'],
      (['local', 'crossRegion'] as const).map((k) => {
        const b = r.latencyMs[k];
        return [k === 'local' ? 'local' : 'cross-region', int(b.count), msCell(b, b.mean), msCell(b, b.p50), msCell(b, b.p99), msCell(b, b.p999), msCell(b, b.max)];
      }),
      'latency',
    ),
  );
  out.push('</div>');

  out.push('<div class="rt-block" id="rt-expect"><h3>Expect (the scenario\'s assertions; <code>meshtwin test</code> exits 1 when one fails)</h3>');
  const inv = r.invariants;
  out.push(
    inv.checked
      ? `<p class="${inv.violations === 0 ? 'pass' : 'fail'}">Invariants: ${inv.violations === 0 ? 'all held' : `${int(inv.violations)} violations`} <span class="dim">(no guaranteed event lost, no duplicate, no mismatched delivery, no loop, publish order kept, routes converged)</span></p>` +
          (inv.list.length > 0
            ? `<ul class="violations">${inv.list
                .slice(0, 10)
                .map((v) => `<li>${esc(v.invariant)}: ${esc(v.message)}</li>`)
                .join('')}</ul>`
            : '')
      : '<p class="dim">Invariants: not checked in this run (an assertion on messages.lost or invariants.* turns the checker on).</p>',
  );
  if (expect.length === 0) {
    out.push('<p class="dim">The scenario has no <code>expect:</code> assertions.</p>');
  } else {
    out.push(
      htmlTable(
        ['assertion', 'measured', 'result'],
        expect.map((e) => [e.assertion, e.measured, e.result === 'ERROR' ? `ERROR ${e.error ?? ''}` : e.result]),
        'expect',
        (i) => (expect[i]?.result === 'PASS' ? 'pass' : 'fail'),
      ),
    );
  }
  out.push('</div>');

  out.push('<div class="rt-block" id="rt-faults"><h3>Faults (measured; counts run until the next fault; numbered as on the charts)</h3>');
  if (r.faults.length === 0) {
    out.push('<p class="dim">No faults in this run.</p>');
  } else {
    out.push(
      htmlTable(
        ['#', ...FAULT_HEADERS],
        faultRows(r).map((row, i) => [String(i + 1), ...row]),
        'faults',
      ),
    );
    out.push(
      `<p class="dim">${r.faults.every((f) => f.convergenceMs === null) ? 'routes: no fault changed a route' : `routes converged: worst ${r.convergence.maxMs.toFixed(1)} ms after a fault (last route change after it); "—": no route changed`}</p>`,
    );
  }
  out.push('</div>');

  out.push('<div class="rt-block" id="rt-brokers"><h3>Broker memory</h3>');
  out.push(htmlTable([...BROKER_HEADERS], brokerRows(r), 'brokers'));
  out.push(`<p class="dim">${esc(brokerNote(s, r.run.threads))}</p></div>`);
  return out.join('\n');
}

/** What the page's scripts draw: topology, the run's averages as a snapshot, the series, fault markers. */
export function reportData(r: RunResult, s: Scenario) {
  const seconds = r.simulatedSeconds;
  const dirIndex = new Map(r.links.map((l, i) => [`${l.from}>${l.to}`, i]));
  const topology = {
    scenario: r.scenario,
    seed: r.seed,
    durationMs: seconds * 1000,
    warmupMs: s.warmupMs,
    regions: s.regions.map((g) => ({ id: g.id, location: g.location ?? null, brokers: g.brokers })),
    brokers: r.brokers.map((b) => ({ id: b.id, region: b.region, connections: b.connections, populations: b.populations })),
    links: s.links.map((l) => {
      const [a, b] = l.between;
      const ab = dirIndex.get(`${a}>${b}`) as number;
      return { a, b, wan: (r.links[ab] as LinkResult).wan, rttMs: l.rttMs, bandwidthBps: l.bandwidthBps, dirs: [ab, dirIndex.get(`${b}>${a}`) as number] as const };
    }),
    directions: r.links.map((l, i) => ({ index: i, from: l.from, to: l.to, wan: l.wan, bandwidthBps: l.bandwidthBps })),
  };
  // Link figures are the run's averages; state (up, alive, routes) is the end of the run.
  const directions = r.links.map((l) => ({
    up: l.upAtEnd,
    mbps: l.mbpsAvg,
    dataMbps: (l.dataBytes * 8) / seconds / 1e6,
    utilization: (l.mbpsAvg * 1e6) / l.bandwidthBps,
    bandwidthBps: l.bandwidthBps,
    queueBytes: null,
    inFlight: null,
    bytes: l.bytes,
    droppedDown: l.droppedDown,
    droppedQueue: l.droppedQueue,
  }));
  const brokers = r.brokers.map((b) => ({
    id: b.id,
    alive: b.aliveAtEnd,
    mbpsIn: sum(r.links.filter((l) => l.to === b.id).map((l) => l.mbpsAvg)),
    mbpsOut: sum(r.links.filter((l) => l.from === b.id).map((l) => l.mbpsAvg)),
    routingEntries: b.routingEntries,
    localPatterns: b.localPatterns,
    remotePatterns: b.remotePatterns,
    routes: b.aliveAtEnd ? b.routes : [],
    spoolPeakBytes: b.spoolPeakBytes,
    consumerQueuePeak: b.consumerQueuePeak,
    published: b.published,
    deliveries: b.deliveries,
    dropped: b.dropped,
    latency: null,
  }));
  return {
    topology,
    snapshot: {
      t: seconds * 1000,
      phase: 'done',
      directions,
      brokers,
      latency: null,
      totals: { published: r.messages.published, delivered: r.messages.delivered, dropped: r.messages.dropped, wanMbps: r.wan.mbpsAvg },
      events: [],
      eventsOmitted: 0,
    },
    series: seriesOfRun(r),
    // [REPORT-FAULTS] One marker per fault on the charts, numbered as in the fault table.
    faults: r.faults.map((f, i) => ({ n: i + 1, t: f.at / 1000, label: faultLabel(f) })),
    summary: {
      simulatedSeconds: seconds,
      wallSeconds: r.run.wallSeconds,
      speedup: r.run.speedup,
      threads: r.run.threads ?? 1,
      published: r.messages.published,
      delivered: r.messages.delivered,
      dropped: r.messages.dropped,
      wanMbpsAvg: r.wan.mbpsAvg,
      wanMbpsPeak: r.wan.mbpsPeak,
      localP99: r.latencyMs.local.count === 0 ? null : r.latencyMs.local.p99,
      crossP99: r.latencyMs.crossRegion.count === 0 ? null : r.latencyMs.crossRegion.p99,
      traceHash: r.traceHash,
      /** A live run (meshtwin live): what ran it, in words; null for a simulated run. */
      live: liveLine(r),
    },
  };
}

/** "2 broker processes on loopback" for a live run's summary (its `live` block), else null. */
function liveLine(r: RunResult): string | null {
  const live = (r as RunResult & { live?: { network: string; processes: readonly unknown[] } }).live;
  return live === undefined ? null : `${live.processes.length} broker processes on ${live.network}`;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/**
 * The report for a finished run, built from its result alone (as summary.json is), the scenario
 * it ran (region locations, links) and its `expect:` results.
 */
export function reportHtml(result: RunResult, scenario: Scenario, expect: readonly ExpectRow[]): string {
  const data = reportData(result, scenario);
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
<section class="report-tables">
${reportTables(result, scenario, expect)}
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
