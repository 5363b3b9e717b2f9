/** [VIZ-LIVE-1..3] The live view's figures from broker answers, without brokers. */
import { describe, expect, it } from 'vitest';
import { BrokerCounters, parseMetrics } from '../live/run/scrape.ts';
import { loadScenario } from '../scenarios/load.ts';
import { addBuckets, bucketsByScope, bucketsSince, latencyPair, liveTopology, quantile, wireBytes } from './live-figures.ts';

const small = loadScenario('scenarios/global-3-region-small.yaml');

describe('[VIZ-LIVE-1] liveTopology', () => {
  const peers = (broker: string, ...ids: string[]) => ({ broker, peers: ids.map((id) => ({ id })) });

  it("is the scenario's mesh when every broker names its peers, with the scenario's link properties", () => {
    const bodies = small.regions.flatMap((r) => r.brokers).map((id) => peers(id, ...small.links.filter((l) => l.between.includes(id)).map((l) => (l.between[0] === id ? l.between[1] : l.between[0]))));
    const t = liveTopology(small, bodies, 5, 10_000);
    expect(t.links.map((l) => `${l.a}|${l.b}`)).toEqual(small.links.map((l) => l.between.join('|')));
    expect(t.links.map((l) => [l.rttMs, l.bandwidthBps])).toEqual(small.links.map((l) => [l.rttMs, l.bandwidthBps]));
    expect(t.directions).toHaveLength(2 * small.links.length);
    t.links.forEach((l) => {
      expect(t.directions[l.dirs[0]]).toMatchObject({ from: l.a, to: l.b });
      expect(t.directions[l.dirs[1]]).toMatchObject({ from: l.b, to: l.a });
    });
    expect(t.regions.map((r) => r.id)).toEqual(small.regions.map((r) => r.id));
    expect(t).toMatchObject({ scenario: small.name, seed: 5, durationMs: 10_000, warmupMs: small.warmupMs });
  });

  it('draws only the links the brokers report; a broker that did not answer keeps its scenario links', () => {
    const [first] = small.links;
    const [a, b] = first?.between ?? ['', ''];
    // Every broker answered and named only a – b.
    const ids = small.regions.flatMap((r) => r.brokers);
    const only = liveTopology(
      small,
      ids.map((id) => (id === a ? peers(a, b) : id === b ? peers(b, a) : peers(id))),
      1,
      1000,
    );
    expect(only.links.map((l) => `${l.a}|${l.b}`)).toEqual([`${a}|${b}`]);
    // Nobody answered: the scenario's links.
    expect(liveTopology(small, [null, null, null, null], 1, 1000).links).toHaveLength(small.links.length);
  });
});

describe('[VIZ-LIVE-2] wireBytes', () => {
  it("is the sender's codec bytes plus the per-frame overhead, data apart", () => {
    const c = new BrokerCounters();
    c.update(
      parseMetrics(
        [
          'meshtwin_link_bytes_total{from="a",to="b",kind="data"} 1000',
          'meshtwin_link_bytes_total{from="a",to="b",kind="control"} 100',
          'meshtwin_link_frames_total{from="a",to="b",kind="data"} 10',
          'meshtwin_link_frames_total{from="a",to="b",kind="control"} 2',
          'meshtwin_link_bytes_total{from="b",to="a",kind="data"} 999',
        ].join('\n'),
      ),
    );
    expect(wireBytes(c, 'a', 'b', 62)).toEqual({ all: 1000 + 100 + 62 * 12, data: 1000 + 620 });
  });
});

describe('[VIZ-LIVE-3] latency from histogram buckets', () => {
  const text = (local: number[], remote: number[]) => {
    const les = ['0.001', '0.01', '0.1', '+Inf'];
    return [
      ...les.map((le, i) => `meshtwin_publish_to_deliver_seconds_bucket{le="${le}",class="realtime",scope="local"} ${local[i]}`),
      ...les.map((le, i) => `meshtwin_publish_to_deliver_seconds_bucket{le="${le}",class="guaranteed",scope="remote"} ${remote[i]}`),
      'meshtwin_publish_to_deliver_seconds_count{class="realtime",scope="local"} 0',
    ].join('\n');
  };

  it('reads the buckets by scope and takes differences between scrapes of one process', () => {
    const before = bucketsByScope(parseMetrics(text([0, 10, 10, 10], [0, 0, 5, 5])), 'meshtwin_publish_to_deliver_seconds');
    const now = bucketsByScope(parseMetrics(text([0, 30, 40, 40], [0, 0, 5, 6])), 'meshtwin_publish_to_deliver_seconds');
    expect(now.get('local')).toEqual({ le: [0.001, 0.01, 0.1, Infinity], cum: [0, 30, 40, 40] });
    expect(bucketsSince(now.get('local') as never, before.get('local'))).toEqual({ le: [0.001, 0.01, 0.1, Infinity], cum: [0, 20, 30, 30] });
    // A count that went down: a new process; its own counts are the window.
    expect(bucketsSince(before.get('local') as never, now.get('local'))).toEqual(before.get('local'));
    expect(addBuckets([now.get('local') as never, now.get('local') as never])?.cum).toEqual([0, 60, 80, 80]);
  });

  it('interpolates inside the bucket as histogram_quantile does, and stops at the last finite bound', () => {
    const b = { le: [0.001, 0.01, 0.1, Infinity], cum: [0, 20, 30, 30] };
    // rank 15 of 30: 15/20 of the way through (0.001, 0.01].
    expect(quantile(b, 0.5)).toBeCloseTo(0.001 + 0.009 * (15 / 20), 9);
    // rank 29.7: in (0.01, 0.1], 9.7 of its 10.
    expect(quantile(b, 0.99)).toBeCloseTo(0.01 + 0.09 * 0.97, 9);
    expect(quantile({ le: [0.001, Infinity], cum: [0, 4] }, 0.5)).toBe(0.001);
    expect(quantile({ le: [0.001, Infinity], cum: [0, 0] }, 0.5)).toBeNaN();
    expect(latencyPair(b)).toEqual({ count: 30, p50: 7.75, p99: 97.3 });
    expect(latencyPair(undefined)).toEqual({ count: 0, p50: 0, p99: 0 });
  });
});
