import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from './codec/index.ts';
import { FrameKind } from './frames.ts';
import { Standby } from './ha.ts';
import { UsageError, type Millis } from './types.ts';

/** A host with one timer (each setTimer replaces it), recording what the standby asked for. */
class Host {
  timerAt: Millis = NaN;
  readonly timers: Millis[] = [];
  readonly takeovers: { now: Millis; lastHeardMs: Millis }[] = [];
  setTimer(atMs: Millis): void {
    this.timerAt = atMs;
    this.timers.push(atMs);
  }
  takeover(now: Millis, lastHeardMs: Millis): void {
    this.takeovers.push({ now, lastHeardMs });
  }
}

let seq = 0;
const keepalive = (from = 'us-1') => encodeFrame({ kind: FrameKind.KeepAlive, from, seq: ++seq });

describe('Standby [HA-2]', () => {
  it('refuses a takeover time that is not positive', () => {
    for (const bad of [0, -1, NaN]) expect(() => new Standby('us-1', bad, new Host(), 0)).toThrow(UsageError);
  });

  it('with no keep-alive at all, the deadline runs from when it started watching', () => {
    const h = new Host();
    const s = new Standby('us-1', 500, h, 1000);
    expect(h.timers).toEqual([1500]);
    expect(s.watching).toBe(true);
    s.handleTimeout(1499.999);
    expect(h.takeovers).toEqual([]);
    s.handleTimeout(1500);
    expect(h.takeovers).toEqual([{ now: 1500, lastHeardMs: 1000 }]);
    expect(s.watching).toBe(false);
  });

  it('a keep-alive moves the deadline; a timer armed for the old deadline does nothing', () => {
    const h = new Host();
    const s = new Standby('us-1', 500, h, 0);
    s.handleFrame(100, keepalive());
    s.handleFrame(300, keepalive());
    expect(s.keepalivesReceived).toBe(2);
    expect(h.timers).toEqual([500, 600, 800]);
    s.handleTimeout(500); // the first timer, stale
    s.handleTimeout(799);
    expect(h.takeovers).toEqual([]);
    expect(s.watching).toBe(true);
    s.handleTimeout(800);
    expect(h.takeovers).toEqual([{ now: 800, lastHeardMs: 300 }]);
  });

  it('a keep-alive at the very instant of the deadline loses to the timer if the timer runs first', () => {
    const h = new Host();
    const s = new Standby('us-1', 500, h, 0);
    s.handleTimeout(500);
    s.handleFrame(500, keepalive());
    expect(h.takeovers).toEqual([{ now: 500, lastHeardMs: 0 }]);
    expect(s.keepalivesReceived).toBe(0);
  });

  it('… and saves the primary if it arrives first', () => {
    const h = new Host();
    const s = new Standby('us-1', 500, h, 0);
    s.handleFrame(500, keepalive());
    s.handleTimeout(500);
    expect(h.takeovers).toEqual([]);
    expect(h.timerAt).toBe(1000);
  });

  it('ignores anything but a KeepAlive from its primary: other frames, other brokers, garbage', () => {
    const h = new Host();
    const s = new Standby('us-1', 500, h, 0);
    s.handleFrame(100, encodeFrame({ kind: FrameKind.Hello, from: 'us-1', helloIntervalMs: 100, deadIntervalMs: 400, heard: [] }));
    s.handleFrame(200, keepalive('us-2'));
    s.handleFrame(300, new Uint8Array([1, 2, 3]));
    s.handleFrame(400, new Uint8Array(0));
    expect(s.keepalivesReceived).toBe(0);
    expect(h.timers).toEqual([500]);
    s.handleTimeout(500);
    expect(h.takeovers).toEqual([{ now: 500, lastHeardMs: 0 }]);
  });

  it('takes over once: afterwards keep-alives and timeouts change nothing', () => {
    const h = new Host();
    const s = new Standby('us-1', 500, h, 0);
    s.handleTimeout(500);
    s.handleFrame(600, keepalive());
    s.handleTimeout(2000);
    expect(h.takeovers).toHaveLength(1);
    expect(s.keepalivesReceived).toBe(0);
    expect(h.timers).toEqual([500]);
    expect(s.watching).toBe(false);
  });

  it('property: takeover happens exactly takeoverMs after the first silence that long, never otherwise', () => {
    // Keep-alive arrival times; the host runs its one timer and the arrivals in time order, the
    // timer first on a tie (the deadline is inclusive).
    const arb = fc.record({
      takeoverMs: fc.integer({ min: 1, max: 600 }),
      startMs: fc.integer({ min: 0, max: 100 }),
      tailMs: fc.integer({ min: 0, max: 1200 }), // how long the run goes on after the last keep-alive
      gaps: fc.array(fc.oneof(fc.integer({ min: 0, max: 700 }), fc.constantFrom(100, 500)), { maxLength: 40, size: 'max' }),
    });
    fc.assert(
      fc.property(arb, ({ takeoverMs, startMs, tailMs, gaps }) => {
        const arrivals: Millis[] = [];
        let t = startMs;
        for (const g of gaps) arrivals.push((t += g));
        const endMs = t + tailMs;

        // Expected: the first gap (from the start, or between arrivals) of at least takeoverMs.
        let expected: { now: Millis; lastHeardMs: Millis } | undefined;
        let last = startMs;
        for (const a of arrivals) {
          if (a - last >= takeoverMs) break;
          last = a;
        }
        if (last + takeoverMs <= endMs) expected = { now: last + takeoverMs, lastHeardMs: last };

        const h = new Host();
        const s = new Standby('us-1', takeoverMs, h, startMs);
        let i = 0;
        for (;;) {
          const nextArrival = arrivals[i] ?? Infinity;
          if (h.timerAt <= nextArrival && h.timerAt <= endMs) {
            const at = h.timerAt;
            h.timerAt = NaN;
            s.handleTimeout(at);
          } else if (nextArrival <= endMs) {
            s.handleFrame(nextArrival, keepalive());
            i++;
          } else break;
        }
        expect(h.takeovers).toEqual(expected === undefined ? [] : [expected]);
        expect(s.watching).toBe(expected === undefined);
      }),
    );
  });
});

describe('[HA-1] the primary side', () => {
  it('keep-alives leave through the keepalive effect, to the backup, never as a send to a neighbor', async () => {
    const { Broker } = await import('./broker.ts');
    const { decodeFrame, frameKindOf } = await import('./codec/index.ts');
    const sent: Array<{ to: string; kind: number | undefined }> = [];
    const keepalives: Array<{ backup: string; bytes: Uint8Array }> = [];
    let timerAt = NaN;
    const b = new Broker(
      { id: 'eu-1', neighbors: [{ id: 'us-1', cost: 70 }], helloIntervalMs: 100, deadIntervalMs: 400, hopLimit: 16, backup: 'eu-1b', keepaliveMs: 50 },
      {
        send: (to, bytes) => sent.push({ to, kind: frameKindOf(bytes) }),
        keepalive: (backup, bytes) => keepalives.push({ backup, bytes }),
        disconnect: () => {},
        deliver: () => {},
        setTimer: (at) => (timerAt = at),
        emit: () => {},
        drop: () => {},
      },
    );
    b.start(0);
    for (let i = 0; i < 10 && timerAt <= 200; i++) b.handleTimeout(timerAt);
    expect(keepalives.length).toBeGreaterThanOrEqual(4);
    for (const k of keepalives) {
      expect(k.backup).toBe('eu-1b');
      const d = decodeFrame(k.bytes);
      expect(d.ok && d.frame.kind === FrameKind.KeepAlive && d.frame.from === 'eu-1').toBe(true);
    }
    expect(sent.every((s) => s.to === 'us-1' && s.kind !== FrameKind.KeepAlive)).toBe(true);
  });
});
