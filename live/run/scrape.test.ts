import { describe, expect, it } from 'vitest';
import { BrokerCounters, parseMetrics, seriesKey } from './scrape.ts';

const text = (published: number, spool: number): string =>
  [
    '# HELP meshtwin_published_total Publishes accepted by this broker.',
    '# TYPE meshtwin_published_total counter',
    `meshtwin_published_total ${published}`,
    `meshtwin_link_bytes_total{from="us-1",to="eu-1",kind="data"} ${published * 10}`,
    `meshtwin_spool_bytes ${spool}`,
  ].join('\n');

describe('live metrics scrape [LIVE-X1..2]', () => {
  it('keys a series by its name and sorted labels', () => {
    const m = parseMetrics(text(5, 0));
    expect(m.get('meshtwin_published_total')).toBe(5);
    expect(m.get(seriesKey('meshtwin_link_bytes_total', { to: 'eu-1', kind: 'data', from: 'us-1' }))).toBe(50);
  });

  it('a gauge that goes down is a gauge, not a restart: counters are not counted twice', () => {
    const c = new BrokerCounters();
    c.update(parseMetrics(text(5, 100)));
    c.update(parseMetrics(text(7, 10)));
    expect(c.total('meshtwin_published_total')).toBe(7);
    expect(c.gauge('meshtwin_spool_bytes')).toBe(10);
    expect(c.peak('meshtwin_spool_bytes')).toBe(100);
  });

  it('adds each life of a restarted broker (the crash retires it); a counter that goes down is not taken for a restart', () => {
    const c = new BrokerCounters();
    c.update(parseMetrics(text(5, 0)));
    c.retire();
    c.update(parseMetrics(text(3, 0)));
    expect(c.total('meshtwin_published_total')).toBe(8);
    expect(c.byLabel('meshtwin_link_bytes_total', 'to').get('eu-1')).toBe(80);
    c.update(parseMetrics(text(2, 0)));
    expect(c.total('meshtwin_published_total')).toBe(7);
  });
});
