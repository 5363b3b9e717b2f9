import { describe, expect, it } from 'vitest';
import { loadScenario } from '../scenarios/load.ts';
import { withDuration } from '../sim/run.ts';
import { Session } from './session.ts';

const small = loadScenario('scenarios/global-3-region-small.yaml');

/** A session on a clock the test moves by hand. */
function session(speed: number) {
  let now = 0;
  const s = new Session(small, { seed: 42, durationMs: 20_000, speed, clock: () => now });
  return { s, advance: (ms: number) => (now += ms) };
}

/** Steps until caught up (the fake clock does not move while stepping). */
function settle(s: Session): void {
  for (let i = 0; i < 10_000 && !s.step(1e9); i++);
}

const mbps = (s: Session, from: string, to: string): number => {
  const snap = s.snapshot();
  const i = s.topology.directions.findIndex((d) => d.from === from && d.to === to);
  return snap.directions[i]?.mbps as number;
};

describe('Session', () => {
  it('runs the warm-up flat out, then paces traffic to the wall clock at the requested speed', () => {
    const { s, advance } = session(10);
    expect(s.mesh.now).toBe(-3000);
    settle(s);
    expect(s.mesh.now).toBe(0);
    advance(100);
    settle(s);
    expect(s.mesh.now).toBe(1000);
    s.setSpeed(1);
    advance(250);
    settle(s);
    expect(s.mesh.now).toBe(1250);
  });

  it('stands still while paused and resumes from where it was', () => {
    const { s, advance } = session(1);
    settle(s);
    s.pause();
    advance(5000);
    settle(s);
    expect(s.mesh.now).toBe(0);
    expect(s.snapshot().run.paused).toBe(true);
    s.resume();
    advance(200);
    settle(s);
    expect(s.mesh.now).toBe(200);
  });

  it('a cut us-2 – ap-1 link sends AP → US traffic round through eu-1', () => {
    const { s, advance } = session(1);
    // As the server does: a slice, a snapshot, every 100 ms of wall time.
    const run = (ms: number) => {
      for (let t = 0; t < ms; t += 100) {
        advance(100);
        settle(s);
        s.snapshot();
      }
    };
    settle(s);
    run(1000);
    expect(mbps(s, 'ap-1', 'us-2')).toBeGreaterThan(1.5);
    const viaEuBefore = mbps(s, 'ap-1', 'eu-1');
    expect(viaEuBefore).toBeLessThan(0.1);
    expect(s.fault('link-down', ['us-2', 'ap-1'])).toBeNull();
    // The dead interval (2 s) passes, routes change, traffic takes ap-1 → eu-1 → us-1.
    run(4000);
    expect(mbps(s, 'ap-1', 'us-2')).toBe(0);
    expect(mbps(s, 'ap-1', 'eu-1')).toBeGreaterThan(1.5);
    expect(mbps(s, 'eu-1', 'us-1')).toBeGreaterThan(1.5);
    expect(s.events.some((e) => e.type === 'routes-changed' && e.text.startsWith('ap-1 routes:') && /us-2 via eu-1/.test(e.text))).toBe(true);
    expect(s.fault('link-up', ['ap-1', 'us-2'])).toBeNull();
  });

  it('says why a fault cannot be applied', () => {
    const { s } = session(1);
    expect(s.fault('explode', ['us-1'])).toMatch(/unknown fault "explode"/);
    expect(s.fault('link-down', ['us-1', 'ap-1'])).toBe('no link between "us-1" and "ap-1"');
    expect(s.fault('link-down', ['us-1'])).toBe('link-down needs two broker ids');
    expect(s.fault('crash', ['nope'])).toBe('no broker "nope"');
    expect(s.fault('restart', ['us-1'])).toBe('us-1 is running');
    expect(s.fault('crash', ['us-1'])).toBeNull();
    expect(s.fault('crash', ['us-1'])).toBe('us-1 is already down');
    expect(s.fault('restart', ['us-1'])).toBeNull();
    expect(s.fault('link-up', ['us-1', 'eu-1'])).toBe('us-1 – eu-1 is already up');
  });

  it('restarts with another seed: a fresh mesh, history and events, same speed', () => {
    const { s, advance } = session(10);
    settle(s);
    advance(100);
    settle(s);
    s.snapshot();
    expect(s.history.length).toBeGreaterThan(0);
    s.restart(7);
    expect(s.mesh.now).toBe(-3000);
    expect(s.mesh.seed).toBe(7);
    expect(s.history).toHaveLength(0);
    expect(s.events).toHaveLength(0);
    const snap = s.snapshot();
    expect(snap.run.seed).toBe(7);
    expect(snap.run.speed).toBe(10);
  });

  it("--duration beyond the scenario's keeps publishers that run to the end running", () => {
    const short = { ...small, durationMs: 2000, publishers: small.publishers.map((p, i) => ({ ...p, stopMs: i === 0 ? 1000 : 2000 })) };
    const long = withDuration(short, 5000);
    expect(long.durationMs).toBe(5000);
    expect(long.publishers.map((p) => p.stopMs)).toEqual([1000, 5000, 5000]);
    expect(withDuration(short, 1500)).toBe(short);
    let now = 0;
    const s = new Session(short, { seed: 1, durationMs: 5000, speed: Infinity, clock: () => (now += 1) });
    settle(s);
    // Published in 0..5 s by the two extended publishers (3500/s + 2500/s), 0..1 s by the first.
    expect(s.mesh.published).toBeGreaterThan(0.9 * (4000 + 6000 * 5));
  });
});
