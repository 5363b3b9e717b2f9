import { describe, expect, it } from 'vitest';
import { loadScenario } from '../scenarios/load.ts';
import { Mesh } from '../sim/mesh.ts';
import { runScenario } from '../sim/run.ts';
import { ViewLatency } from './latency.ts';
import { EVENTS_PER_SNAPSHOT, SnapshotBuilder, seriesOfRun, topologyOf } from './snapshot.ts';

const small = loadScenario('scenarios/global-3-region-small.yaml');

function meshOf(durationMs = 5000): { mesh: Mesh; latency: ViewLatency } {
  const mesh = new Mesh(small, 42, durationMs);
  const latency = ViewLatency.watch(mesh);
  return { mesh, latency };
}

const dir = (mesh: Mesh, from: string, to: string) => mesh.directions.findIndex((d) => d.spec.from === from && d.spec.to === to);

describe('topologyOf', () => {
  it('has every region, broker, link and direction of the scenario, directions matched to links', () => {
    const { mesh } = meshOf();
    const t = topologyOf(mesh);
    expect(t.regions.map((r) => r.id)).toEqual(['us-east-1', 'eu-west-1', 'ap-southeast-1']);
    expect(t.regions[0]?.location).toEqual({ lat: 38.9, lon: -77.4 });
    expect(t.brokers.map((b) => b.id)).toEqual(['us-1', 'us-2', 'eu-1', 'ap-1']);
    expect(t.links).toHaveLength(4);
    expect(t.directions).toHaveLength(8);
    for (const l of t.links) {
      expect(t.directions[l.dirs[0]]).toMatchObject({ from: l.a, to: l.b });
      expect(t.directions[l.dirs[1]]).toMatchObject({ from: l.b, to: l.a });
    }
    expect(t.links.find((l) => l.a === 'us-1' && l.b === 'us-2')?.wan).toBe(false);
    expect(t.links.find((l) => l.a === 'us-2' && l.b === 'ap-1')?.wan).toBe(true);
    // Subscribers per broker add up to the scenario's.
    expect(t.brokers.reduce((a, b) => a + b.connections, 0)).toBe(small.subscribers.reduce((a, s) => a + s.count, 0));
  });
});

describe('SnapshotBuilder', () => {
  it("[VIZ-1] link Mbps are the direction's wire bytes over the simulated window", () => {
    const { mesh, latency } = meshOf();
    const b = new SnapshotBuilder(mesh, latency);
    mesh.runSome(1000, Infinity);
    const before = mesh.directions.map((d) => d.bytes + d.warmupBytes);
    b.snapshot();
    mesh.runSome(1300, Infinity);
    const s = b.snapshot();
    expect(s.t).toBe(1300);
    expect(s.phase).toBe('traffic');
    mesh.directions.forEach((d, i) => {
      const expected = ((d.bytes + d.warmupBytes - (before[i] as number)) * 8) / 0.3 / 1e6;
      expect(s.directions[i]?.mbps).toBeCloseTo(expected, 9);
      expect(s.directions[i]?.utilization).toBeCloseTo((expected * 1e6) / d.spec.bandwidthBps, 9);
    });
    // AP → US crosses us-2 – ap-1 (the seed's 20% cross-region share at 1/100 load: ~2.7 Mbps).
    const apUs = s.directions[dir(mesh, 'ap-1', 'us-2')]?.mbps as number;
    expect(apUs).toBeGreaterThan(1.5);
    expect(apUs).toBeLessThan(4);
    // A broker's Mbps in/out are the sums of its directions.
    const us2 = s.brokers.find((x) => x.id === 'us-2');
    const sumTo = mesh.directions.reduce((a, d, i) => a + (d.spec.to === 'us-2' ? (s.directions[i]?.mbps as number) : 0), 0);
    expect(us2?.mbpsIn).toBeCloseTo(sumTo, 9);
  });

  it('measures latency per broker and overall: local ≈ the client round trip, cross-region ≈ the WAN one way', () => {
    const { mesh, latency } = meshOf();
    const b = new SnapshotBuilder(mesh, latency);
    mesh.runSome(1000, Infinity);
    const s = b.snapshot();
    expect(s.latency?.local.p50).toBeCloseTo(1.0, 1);
    expect(s.latency?.local.count).toBeGreaterThan(10_000);
    // Cross-region: US→EU 35 ms, EU→AP 60 ms, AP→US 90 ms one way, plus the client hops.
    expect(s.latency?.cross.p50).toBeGreaterThan(35);
    expect(s.latency?.cross.p99).toBeLessThan(95);
    const eu = s.brokers.find((x) => x.id === 'eu-1')?.latency;
    expect(eu?.cross.p50).toBeGreaterThan(35);
    expect(eu?.cross.p50).toBeLessThan(40);
  });

  it("made after a run, gives the run's average Mbps (the report's figure)", () => {
    let mesh: Mesh | undefined;
    const result = runScenario(small, { durationMs: 2000, measureHeap: false, onMesh: (m) => (mesh = m) });
    const s = new SnapshotBuilder(mesh as Mesh).snapshot();
    expect(s.phase).toBe('done');
    result.links.forEach((l, i) => expect(s.directions[i]?.mbps).toBeCloseTo(l.mbpsAvg, 4));
    expect(s.latency).toBeNull();
    const series = seriesOfRun(result);
    expect(series).toHaveLength(2);
    expect(series[1]?.mbps).toEqual(result.series.linkMbps.map((m) => m[1]));
  });

  it('carries control-plane events once, at most EVENTS_PER_SNAPSHOT at a time, and counts the rest', () => {
    const { mesh, latency } = meshOf();
    const b = new SnapshotBuilder(mesh, latency);
    mesh.runSome(0, Infinity);
    const total = mesh.control.length;
    expect(total).toBeGreaterThan(0);
    const s = b.snapshot();
    expect(s.events.length).toBe(Math.min(total, EVENTS_PER_SNAPSHOT));
    expect(s.events.length + s.eventsOmitted).toBe(total);
    expect(s.events.some((e) => e.type === 'routes-changed' && /ap-1/.test(e.text))).toBe(true);
    expect(b.snapshot().events).toHaveLength(0);
  });

  it('shows a cut link as down with no traffic, and a crashed broker as down', () => {
    const { mesh, latency } = meshOf();
    const b = new SnapshotBuilder(mesh, latency);
    mesh.runSome(500, Infinity);
    mesh.applyFault({ atMs: 0, action: 'link-down', target: ['us-2', 'ap-1'] });
    mesh.applyFault({ atMs: 0, action: 'crash', target: ['us-1'] });
    mesh.runSome(800, Infinity);
    const s = b.snapshot();
    const d = s.directions[dir(mesh, 'ap-1', 'us-2')];
    expect(d?.up).toBe(false);
    expect(d?.mbps).toBe(0);
    expect(s.brokers.find((x) => x.id === 'us-1')?.alive).toBe(false);
    expect(s.events.map((e) => e.text)).toContain('link-down us-2 – ap-1 (from the view)');
  });
});
