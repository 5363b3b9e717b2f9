/**
 * The human summary printed at the end of a run. Every figure says whether it is measured or
 * modeled; modeled ones give their formula.
 */
import type { Scenario } from '../scenarios/types.ts';
import { formatBps, formatBytes } from '../scenarios/units.ts';
import type { RunResult } from '../sim/run.ts';
import { compareWithSeeds } from './seeds.ts';
import { table } from './table.ts';
import { toSummary } from './summary.ts';
import { actualText, evaluateAssertions, ExpectError } from '../scenarios/expect.ts';
import { CAUSE_LABELS, DROP_CAUSES } from '../sim/accounts.ts';

const ms = (x: number): string => x.toFixed(3);
const n = (x: number): string => Math.round(x).toLocaleString('en-US');

/** What a live run adds (live/run/run.ts LiveInfo), as far as the report reads it. */
interface LiveBlock {
  readonly network: string;
  readonly processes: ReadonlyArray<{ readonly broker: string; readonly pids: readonly number[] }>;
  readonly generator: {
    readonly offeredPerSecond: number;
    readonly achievedPerSecond: number;
    readonly due: number;
    readonly sent: number;
    readonly keptUp: boolean;
    readonly behind: string | null;
    readonly sendLagMs: { readonly p99: number };
  };
  readonly subscribers: { readonly connections: number; readonly note: string };
  readonly accounting: string;
  readonly notMeasured: readonly string[];
}

function liveOf(r: RunResult): LiveBlock | undefined {
  return (r as RunResult & { live?: LiveBlock }).live;
}

/** The live run's own lines: where it ran, what the load generator achieved, what counts how. */
function liveLines(r: RunResult, live: LiveBlock): string[] {
  const g = live.generator;
  return [
    `meshtwin live — ${r.scenario}, seed ${r.seed}: ${r.simulatedSeconds} s of traffic on ${live.processes.length} broker processes (${live.network}, userspace link shapers), ${r.run.wallSeconds.toFixed(1)} s wall with start-up ${r.run.setupWallSeconds.toFixed(1)} s`,
    `Load      offered ${n(g.offeredPerSecond)}/s: ${n(g.due)} events due by the seed's arrivals, ${n(g.sent)} sent, ${n(g.achievedPerSecond)}/s (send lag p99 ${g.sendLagMs.p99.toFixed(1)} ms)${g.keptUp ? ' — the generator kept up' : ` — THE GENERATOR FELL BEHIND: ${g.behind}; this is a quieter mesh than the scenario`}`,
    `          ${live.subscribers.connections} subscriber connections: ${live.subscribers.note}`,
    `          ${live.accounting}`,
  ];
}

export function humanReport(r: RunResult, s: Scenario, outDir?: string): string {
  const out: string[] = [];
  const live = liveOf(r);
  if (live !== undefined) out.push(...liveLines(r, live));
  else
    out.push(
      `meshtwin run — ${r.scenario}, seed ${r.seed}: ${r.simulatedSeconds} s simulated in ${r.run.wallSeconds.toFixed(1)} s wall ` +
        `(setup and warm-up ${r.run.setupWallSeconds.toFixed(1)} s, traffic ${r.run.trafficWallSeconds.toFixed(1)} s: ` +
        `${r.run.trafficSpeedup.toFixed(3)}× real time, ${n(r.run.publishedPerWallSecond)} publishes and ${n(r.run.kernelEvents / Math.max(1e-9, r.run.wallSeconds))} kernel events per wall second)` +
        ((r.run.threads ?? 1) > 1 ? ` on ${r.run.threads} threads (${n(r.run.windows ?? 0)} windows of lookahead ${r.run.lookaheadMs} ms)` : ''),
    );
  out.push('');
  const m = r.messages;
  out.push(
    `Messages  published ${n(m.published)} (${n(m.published / r.simulatedSeconds)}/s) · delivered ${n(m.delivered)} to subscribers · ` +
      `dropped ${n(m.dropped)} · duplicates ${n(m.duplicates)}${m.rejected > 0 ? ` · rejected ${n(m.rejected)} (broker down)` : ''}`,
  );
  const d = r.drops;
  if (m.dropped > 0) out.push(`          dropped by cause: ${dropCauses(r)}`);
  out.push(`          ${conservationLine(r)}`);
  if (m.spooled + m.retransmitted + m.duplicatesSuppressed + m.backpressured + d.lossRetried > 0 || m.lost !== null) {
    out.push(
      `Reliable  spooled ${n(m.spooled)} · retransmitted ${n(m.retransmitted)} (${n(d.lossRetried)} frames and acks lost on the wire) · ` +
        `duplicates suppressed ${n(m.duplicatesSuppressed)} · publishers pushed back ${n(m.backpressured)} · ` +
        `guaranteed lost ${m.lost === null ? 'not checked' : n(m.lost)}`,
    );
  }
  const policy = policyLine(r);
  if (policy !== null) out.push(`Policy    ${policy}`);
  for (const f of r.functions) {
    out.push(
      `Function  ${f.pattern} on ${f.broker}: ${n(f.calls)} calls (${n(f.succeeded)} succeeded, ${n(f.failed)} failed, ${n(f.retries)} retries) · ` +
        `${n(f.deadLettered)} dead letters · ${n(f.dropped)} dropped · queue peak ${n(f.queuePeak)} · utilization ${(f.utilization * 100).toFixed(1)}%`,
    );
  }
  const schemas = schemaLine(r);
  if (schemas !== null) out.push(`Schemas   ${schemas}`);
  if (m.droppedSlowConsumer + m.droppedSpoolFull > 0) {
    out.push(`Slow      dropped for slow subscribers: ${n(m.droppedSlowConsumer)} realtime (oldest first), ${n(m.droppedSpoolFull)} guaranteed (spool full)`);
  }
  out.push('');
  out.push('Latency, publish → subscriber (ms, measured, weighted by subscriber)');
  out.push(
    table(
      ['class', 'deliveries', 'mean', 'p50', 'p99', 'p99.9', 'max'],
      (['local', 'crossRegion'] as const).map((k) => {
        const b = r.latencyMs[k];
        // No samples: no figure, not a 0.000 that reads as instant.
        const f = (x: number): string => (b.count === 0 ? '—' : ms(x));
        return [k === 'local' ? 'local' : 'cross-region', n(b.count), f(b.mean), f(b.p50), f(b.p99), f(b.p999), f(b.max)];
      }),
    ),
  );
  out.push('');
  out.push(
    live === undefined
      ? `Links, per direction (measured codec bytes + ${s.model.transportOverheadBytes} B/frame transport overhead)`
      : `Links, per direction (codec bytes the sending broker counted in the window + ${s.model.transportOverheadBytes} B/frame modeled transport overhead; queue wait not measured)`,
  );
  out.push(
    table(
      ['link', 'kind', 'avg', 'peak (1 s)', 'util peak', 'data', 'control', 'frames', 'queue wait max'],
      r.links.map((l) => [
        `${l.from} > ${l.to}`,
        l.wan ? 'WAN' : 'LAN',
        formatBps(l.mbpsAvg * 1e6),
        formatBps(l.mbpsPeak * 1e6),
        `${(l.utilizationPeak * 100).toFixed(2)}%`,
        formatBytes(l.dataBytes),
        formatBytes(l.controlBytes),
        n(l.frames),
        `${ms(l.queueWaitMsMax)} ms`,
      ]),
    ),
  );
  out.push(
    `  WAN total: avg ${formatBps(r.wan.mbpsAvg * 1e6)}, peak ${formatBps(r.wan.mbpsPeak * 1e6)}, ${formatBytes(r.wan.bytes)} ` +
      `(data ${formatBytes(r.wan.dataBytes)}, control ${formatBytes(r.wan.controlBytes)})`,
  );
  out.push('');
  out.push('Brokers');
  out.push(table([...BROKER_HEADERS], brokerRows(r)));
  out.push(`  ${brokerNote(s, r.run.threads)}`);
  out.push(`  routes converged ${r.convergence.initialMs.toFixed(1)} ms into the ${r.convergence.warmupMs} ms warm-up`);
  out.push('');
  out.push(...faultTimeline(r));
  out.push(...invariantLines(r));
  out.push(...expectLines(r, s));
  const seeds = live === undefined ? compareWithSeeds(r, s) : [];
  if (seeds.length > 0) {
    out.push('Seed 002 says vs the twin measured');
    for (const row of seeds) {
      out.push(`  ${row.figure}`);
      out.push(`    seed:  ${row.seed}`);
      out.push(`    twin:  ${row.twin}`);
      out.push(`    why:   ${row.why}`);
    }
    out.push('');
  }
  if (live === undefined) out.push(`traceHash ${r.traceHash}`);
  else out.push(`Not measured live: ${live.notMeasured.join('; ')}`);
  if (outDir !== undefined) out.push(`Wrote ${outDir}/summary.json, links.csv, brokers.csv, latency.csv, series.csv, timeline.json, report.html`);
  return out.join('\n');
}

/** Every cause that lost a delivery, largest first ("link down 3,425, no route 12"). */
export function dropCauses(r: RunResult): string {
  return DROP_CAUSES.filter((c) => r.drops[c] > 0)
    .sort((a, b) => r.drops[b] - r.drops[a])
    .map((c) => `${CAUSE_LABELS[c]} ${n(r.drops[c])}`)
    .join(', ');
}

/** [ACL-1..5] What the policy refused, per principal; null for a run without one that refused nothing. */
export function policyLine(r: RunResult): string | null {
  const a = r.acl;
  if (a.entries === 0 && a.denied.publish + a.denied.subscribe + a.denied.delivery === 0) return null;
  const who = (k: 'publish' | 'subscribe' | 'delivery'): string => {
    const named = Object.entries(a.byPrincipal)
      .filter(([, d]) => d[k] > 0)
      .map(([p, d]) => `${p} ${n(d[k])}`);
    return named.length === 0 ? '' : ` (${named.join(', ')})`;
  };
  const versions = [...new Set(r.brokers.map((b) => b.policyVersion))];
  return (
    `${a.entries} acl entries, version ${versions.join('/')} at ${versions.length === 1 ? 'every broker' : 'the brokers'} · refused ${n(a.denied.publish)} publishes${who('publish')} · ` +
    `${n(a.denied.subscribe)} subscribers${who('subscribe')} · ${n(a.denied.delivery)} deliveries${who('delivery')}`
  );
}

/**
 * [SCHEMA-7] The schema registry's figures: subjects and versions, publishes checked and refused
 * per subject, and what a check cost (measured); null for a run without schemas.
 */
export function schemaLine(r: RunResult): string | null {
  const s = r.schemas;
  if (s.subjects === 0 && s.validated === 0) return null;
  const refused = Object.entries(s.bySubject)
    .filter(([, c]) => c.invalid > 0)
    .map(([name, c]) => `${name} ${n(c.invalid)}`);
  const versions = [...new Set(r.brokers.map((b) => b.schemasVersion))];
  const us = (x: number): string => (x < 10 ? x.toFixed(2) : x.toFixed(1));
  const v = s.validationUs;
  const cost = v.samples === 0 ? 'check cost not sampled' : `a check costs ${us(v.mean)} µs wall clock per event (p50 ${us(v.p50)}, p99 ${us(v.p99)}; measured, ${n(v.samples)} samples)`;
  return (
    `${s.subjects} subject${s.subjects === 1 ? '' : 's'}, registry version ${versions.join('/')} at ${versions.length === 1 ? 'every broker' : 'the brokers'} · ` +
    `checked ${n(s.validated)} publishes at ingress, refused ${n(s.invalid)} as invalid${refused.length === 0 ? '' : ` (${refused.join(', ')})`}: never published, never on the WAN · ${cost}`
  );
}

/**
 * [ACCT-1] "delivered 1,304,880 + dropped 17,060 + in flight at end 0 = 1,321,940 expected ✓":
 * every (event, subscriber) pair the publishes created, and where it ended.
 */
export function conservationLine(r: RunResult): string {
  const m = r.messages;
  const unique = m.delivered - m.duplicates - m.deliveredToNewSessions;
  const extra = [m.duplicates > 0 ? `${n(m.duplicates)} duplicates` : '', m.deliveredToNewSessions > 0 ? `${n(m.deliveredToNewSessions)} to sessions that began after the publish` : '']
    .filter((x) => x !== '')
    .join(' and ');
  const delivered = extra === '' ? `delivered ${n(unique)}` : `delivered ${n(unique)} (of ${n(m.delivered)}, not counting ${extra})`;
  const tail = m.unaccounted === 0 ? '✓ every pair accounted for' : `✗ ${n(m.unaccounted)} pairs unaccounted for`;
  return `${delivered} + dropped ${n(m.dropped)} + in flight at end ${n(m.inFlightAtEnd)} = ${n(m.expected)} expected (event, subscriber) pairs ${tail}`;
}

const opt = (x: number | null, unit = ' ms'): string => (x === null ? '—' : `${x.toFixed(1)}${unit}`);

/** The broker memory table (the CLI's and report.html's): measured and modeled columns say so. */
export const BROKER_HEADERS = ['broker', 'region', 'routing entries', 'table (measured heap)', 'trie alone (self-counted)', 'connections', 'sockets (modeled)'] as const;

export function brokerRows(r: RunResult): string[][] {
  return r.brokers.map((b) => [
    b.id,
    b.region,
    n(b.routingEntries),
    b.routingTableBytesSource === 'measured' ? formatBytes(b.routingTableBytes) : 'not measured',
    formatBytes(b.routingTableBytesCounted),
    n(b.connections),
    formatBytes(b.connectionBytes),
  ]);
}

/** What the broker table's measured and modeled columns are. */
export function brokerNote(s: Scenario, threads: number | null = 1): string {
  const which = (threads ?? 1) > 1 ? `for each of the ${threads} threads' largest table` : 'for the largest table';
  return `sockets (modeled) = connections × ${formatBytes(s.model.connectionBytes)}; routing table measured on the V8 heap (a replica built by the engine's own code) ${which}, if it has 10,000+ entries`;
}

/** The fault timeline's columns (the CLI's and report.html's). */
export const FAULT_HEADERS = ['at', 'fault', 'converged after', 'slowest broker to see it', 'spooled', 'dropped', 'retransmitted', 'dups suppressed', 'pushed back', 'takeover', 'rebuild'] as const;

/** "link-down us-2–ap-1", "crash eu-1", "heal all". */
export function faultLabel(f: { readonly action: string; readonly target: readonly string[] }): string {
  return `${f.action} ${f.target.join(f.action.startsWith('link') || f.action === 'degrade' ? '–' : ', ') || 'all'}`;
}

export function faultRows(r: RunResult): string[][] {
  return r.faults.map((f) => {
    const slowest = Object.entries(f.detectMs).sort((a, b) => b[1] - a[1])[0];
    return [
      `${(f.at / 1000).toFixed(3)} s`,
      faultLabel(f),
      opt(f.convergenceMs),
      slowest === undefined ? '—' : `${slowest[0]} ${slowest[1].toFixed(1)} ms`,
      n(f.spooled),
      n(f.dropped),
      n(f.retransmitted),
      n(f.duplicatesSuppressed),
      n(f.backpressured),
      opt(f.takeoverMs),
      opt(f.rebuildMs),
    ];
  });
}

/**
 * [REPORT-FAULTS] One row per fault: when routes converged after it, what it cost until the next
 * fault (spooled, dropped, retransmitted, duplicates suppressed, pushed back), and how long the
 * slowest broker took to react (each broker's own figure is in summary.json).
 */
function faultTimeline(r: RunResult): string[] {
  if (r.faults.length === 0) return [];
  const out = ['Faults (measured; counts run until the next fault)'];
  out.push(table([...FAULT_HEADERS], faultRows(r)));
  out.push(
    r.faults.every((f) => f.convergenceMs === null)
      ? '  routes: no fault changed a route'
      : `  routes converged: worst ${r.convergence.maxMs.toFixed(1)} ms after a fault (last route change after it); "—": no route changed`,
  );
  for (const t of r.ha.takeovers) {
    out.push(`  HA: ${t.backup} took over from ${t.broker} ${opt(t.takeoverMs)} after the crash; clients re-subscribed ${opt(t.rebuildMs)} after the takeover`);
  }
  out.push('');
  return out;
}

function invariantLines(r: RunResult): string[] {
  const inv = r.invariants;
  if (!inv.checked) return [];
  const out = [
    `Invariants  ${inv.violations === 0 ? 'all held' : `${n(inv.violations)} violations`} (no guaranteed event lost, no duplicate, ` +
      `no mismatched delivery, no loop, publish order kept, routes converged; ${n(inv.checkedPopulations ?? 0)} populations checked for loss)`,
  ];
  for (const v of inv.list.slice(0, 10)) out.push(`  ${v.invariant}: ${v.message}`);
  if (inv.list.length > 10) out.push(`  … ${inv.list.length - 10} more in summary.json`);
  out.push('');
  return out;
}

/** One `expect:` line checked against a run, as the reports show it. */
export interface ExpectRow {
  readonly assertion: string;
  /** The measured value with its unit ("" for an assertion that could not be evaluated). */
  readonly measured: string;
  readonly result: 'PASS' | 'FAIL' | 'ERROR';
  /** Why it could not be evaluated (ERROR only). */
  readonly error: string | null;
}

/** The scenario's `expect:` lines against this run: the CLI prints them, report.html shows them. */
export function expectRows(r: RunResult, s: Scenario): ExpectRow[] {
  if (s.expect.length === 0) return [];
  const results = evaluateAssertions(s.expect, toSummary(r));
  return results.map((a, i) =>
    a instanceof ExpectError
      ? { assertion: s.expect[i] ?? '', measured: '', result: 'ERROR', error: a.message }
      : { assertion: a.text, measured: actualText(a), result: a.pass ? 'PASS' : 'FAIL', error: null },
  );
}

/** The scenario's `expect:` lines against this run (meshtwin test makes them a pass/fail gate). */
function expectLines(r: RunResult, s: Scenario): string[] {
  const rows = expectRows(r, s);
  if (rows.length === 0) return [];
  const out = ["Expect (the scenario's assertions; `meshtwin test` exits 1 when one fails)"];
  out.push(
    table(
      ['assertion', 'measured', 'result'],
      rows.map((a) => [a.assertion, a.measured, a.result === 'ERROR' ? `ERROR ${a.error ?? ''}` : a.result]),
    ),
  );
  out.push('');
  return out;
}
