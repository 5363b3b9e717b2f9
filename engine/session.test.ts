/**
 * [SESS-1..4] Durable sessions in the durable state: what is written, what a restart reads back
 * (the unsent queue in order, flagged as redeliveries; numbering continued), and a snapshot that
 * rebuilds the same sessions.
 */
import { describe, expect, it } from 'vitest';
import { DurableState } from './durable.ts';
import { RecordingStore, recoverDurable, snapshotOps } from './store.ts';
import type { Envelope } from './types.ts';

const CONFIG = { ledgerTtlMs: 60_000, spoolBytes: 1e6, retransmitMs: 200 };
const env = (id: string): Envelope => ({
  id,
  source: '/s',
  type: 't',
  specversion: '1.0',
  topic: 'orders/ap/x',
  headers: {},
  payload: new Uint8Array(3),
  publishedAtMs: 1,
  path: ['us-1'],
  hopLimit: 16,
});

describe('durable sessions [SESS-1..4]', () => {
  it('come back after a restart with their unsent events in order, flagged as redeliveries', () => {
    const store = new RecordingStore();
    const d = new DurableState(CONFIG, store);
    const s = d.openSession('billing', 'orders/ap/#', 'amountCents > 100');
    expect(d.openSession('billing', 'ignored/#', null)).toBe(s);
    for (const id of ['e1', 'e2', 'e3', 'e4']) d.queueForSession(s, env(id), id !== 'e4');
    d.sentFromSession(s, 1);
    d.sentFromSession(s, 2);
    d.openSession('gone', '#', null);
    d.closeSession('gone');

    const r = recoverDurable(CONFIG, 'ap-1', store.ops);
    expect([...r.sessions.keys()]).toEqual(['billing']);
    const back = r.sessions.get('billing');
    expect(back?.pattern).toBe('orders/ap/#');
    expect(back?.filter).toBe('amountCents > 100');
    expect([...(back?.queue.values() ?? [])].map((e) => [e.env.id, e.guaranteed, e.redelivered])).toEqual([
      ['e3', true, true],
      ['e4', false, true],
    ]);
    expect(back?.nextSeq).toBe(5);
    expect(back?.head()?.[0]).toBe(3);
  });

  it('a snapshot rebuilds the same sessions, numbering included even with nothing queued', () => {
    const d = new DurableState(CONFIG, new RecordingStore());
    const a = d.openSession('a', 'x/#', null);
    const b = d.openSession('b', 'y/+', "k = 'v'");
    for (const id of ['1', '2', '3']) d.queueForSession(a, env(id), true);
    d.sentFromSession(a, 1);
    d.queueForSession(b, env('b1'), true);
    d.sentFromSession(b, 1);
    const r = recoverDurable(CONFIG, 'ap-1', snapshotOps(d));
    expect([...(r.sessions.get('a')?.queue.keys() ?? [])]).toEqual([2, 3]);
    expect(r.sessions.get('a')?.nextSeq).toBe(4);
    expect(r.sessions.get('b')?.queue.size).toBe(0);
    expect(r.sessions.get('b')?.nextSeq).toBe(2);
    expect(r.sessions.get('b')?.filter).toBe("k = 'v'");
  });
});
