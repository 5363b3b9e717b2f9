/**
 * What `meshtwin explore` found in the engine, each pinned by the run that found it (shrunk
 * where shrinking kept it failing) or by the smallest input that shows it. Every replay failed
 * before its fix and has no violation after it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Broker, type BrokerEvent } from '../engine/broker.ts';
import { encodeFrame } from '../engine/codec/index.ts';
import { FrameKind } from '../engine/frames.ts';
import { parseScenario } from '../scenarios/load.ts';
import { replayText } from '../scenarios/replay.ts';
import { judge } from '../sim/explore.ts';

describe('the dead interval and floating point', () => {
  it('a neighbor silent for exactly the dead interval is declared down, and the timer moves on', () => {
    // 3553.1359478004383 + 2000 - 3553.1359478004383 is 1999.9999999999995: the deadline the timer
    // was armed for, yet "silent < dead interval" by subtraction — the timer fired at that instant
    // forever (a slow-consumer run hung at 5.553 s simulated).
    const heardAt = 3553.1359478004383;
    const dead = 2000;
    expect(heardAt + dead - heardAt).toBeLessThan(dead);
    const timers: number[] = [];
    const events: BrokerEvent[] = [];
    const b = new Broker(
      { id: 'a', neighbors: [{ id: 'b', cost: 1 }], helloIntervalMs: 500, deadIntervalMs: dead, hopLimit: 16 },
      {
        send: () => {},
        keepalive: () => {},
        disconnect: () => {},
        deliver: () => {},
        setTimer: (at) => timers.push(at),
        emit: (e) => events.push(e),
        drop: () => {},
      },
    );
    b.start(3000);
    b.handleFrame(heardAt, 'b', encodeFrame({ kind: FrameKind.Hello, from: 'b', helloIntervalMs: 500, deadIntervalMs: dead, heard: ['a'] }));
    expect(b.inspect().upNeighbors()).toEqual(['b']);
    const due = heardAt + dead;
    b.handleTimeout(due);
    expect(events.filter((e) => e.type === 'neighbor-down')).toHaveLength(1);
    expect(b.inspect().upNeighbors()).toEqual([]);
    expect(timers.at(-1)).toBeGreaterThan(due);
  });
});

/** The run's scenario file with its faults and seed replaced, as explore writes it. */
function replay(file: string, seed: number, faults: string): ReturnType<typeof judge> {
  const base = readFileSync(`scenarios/failover/${file}.yaml`, 'utf8');
  const parsed = parseScenario(`${base.replace(/^faults:[\s\S]*?(?=^expect:)/m, '')}faults:\n${faults}`, `${file}.yaml`);
  const scenario = parseScenario(replayText(base, { seed, faults: parsed.faults }), `${file}.yaml`);
  return judge(scenario, seed);
}

describe('schedules explore found, replayed: no violation', () => {
  it.each([
    {
      why: "[DUR-1] the publisher's broker restarted knowing no remote interest and dropped what it accepted before the exchange",
      file: 'wan-split',
      seed: 1031996947,
      faults: '  - { at: 1s, crash: us-1 }\n  - { at: 1.2s, restart: us-1 }\n',
    },
    {
      why: '[SYNC-2] ap-1 restarted within the dead interval, its first hellos lost on a cut link: eu-1 kept the adjacency and never sent its adverts',
      file: 'wan-retries',
      seed: 2949447482,
      faults: '  - { at: 4.6s, link-down: [eu-1, ap-1] }\n  - { at: 5.306s, crash: ap-1 }\n  - { at: 5.572s, restart: ap-1 }\n  - { at: 5.6s, link-up: [eu-1, ap-1] }\n',
    },
    {
      why: "[SYNC-3] us-1's database exchange to the backup that took over eu-1 was lost to a 430 ms partition; neither side noticed",
      file: 'broker-crash-ha',
      seed: 1967575934,
      faults: [
        '  - { at: 779ms, link-down: [us-1, eu-1] }',
        '  - { at: 3.742s, crash: eu-1 }',
        '  - { at: 4.096s, link-up: [us-1, eu-1] }',
        '  - { at: 4.333s, partition: [us-east-1] }',
        '  - { at: 4.763s, heal: [us-east-1] }',
        '  - { at: 7.184s, restart: eu-1 }',
        '  - { at: 7.392s, link-down: [us-1, eu-1] }',
        '  - { at: 8001ms, link-up: [us-1, eu-1] }',
        '',
      ].join('\n'),
    },
    {
      why: "[REL-4] retries backed off through a 1.73 s partition (under the dead interval) kept ap-1's ordered stream waiting up to 10 s after the link was back",
      file: 'wan-retries',
      seed: 3933367516,
      faults: '  - { at: 1.58s, partition: [eu-west-1] }\n  - { at: 3.31s, heal: [eu-west-1] }\n  - { at: 3.812s, link-down: [eu-1, ap-1] }\n  - { at: 4.096s, link-up: [eu-1, ap-1] }\n',
    },
    {
      why: '[SHARE-5] after a partition healed, the burst went to the least-queued member; ties at a full queue gave the slowest member seconds of overflow',
      file: 'consumer-group',
      seed: 1031996947,
      faults: '  - { at: 2s, partition: [us-east-1] }\n  - { at: 3s, heal: [us-east-1] }\n',
    },
  ])('$file, run seed $seed: $why', ({ file, seed, faults }) => {
    const v = replay(file, seed, faults);
    expect(v.findings).toEqual([]);
    expect(v.violations).toBe(0);
  });
});
