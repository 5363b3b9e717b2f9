/**
 * `meshtwin explain` on simulated scenarios [EXPLAIN-5][EXPLAIN-6], as a user runs it: the verdict
 * changes with the time asked (a cut link before and after its dead interval, a partition), with
 * the headers (an edge selector), and with the principal (a policy); bad input is one line.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { explainCommand } from '../cli/explain.ts';

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/meshtwin.js', 'explain', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const verdict = (lines: string[]) => lines.filter((l) => l.startsWith('=> '));

describe('meshtwin explain SCENARIO --at T', () => {
  const split = 'scenarios/failover/wan-split.yaml';
  const ask = (at: string) => explainCommand(split, { at, from: 'us-1', topic: 'orders/us/paid', to: 'ap-southeast-1', guaranteed: true });

  it('follows the routes the brokers hold at that time', async () => {
    expect(verdict(await ask('3s'))).toEqual(['=> reaches 1 subscription at ap-1 via us-1 → ap-1']);
    expect(verdict(await ask('4.5s'))[0]).toMatch(/stopped at link on us-1: the link us-1 → ap-1 is down, and us-1 has not declared ap-1 dead yet/);
    expect(verdict(await ask('6s'))).toEqual(['=> reaches 1 subscription at ap-1 via us-1 → eu-1 → ap-1']);
    expect(verdict(await ask('12s'))[0]).toMatch(/us-1 has no route to ap-1: a guaranteed event waits in the spool/);
  });

  it('says which selector stops an event at the edge, per target broker of a region', async () => {
    const out = await explainCommand('scenarios/edge-filtering.yaml', { at: '3s', from: 'us-1', topic: 'payments/wire', header: ['country=DE'], to: 'ap-southeast-1' });
    expect(out.join('\n')).toContain("us-1  edge selector     STOP     country = 'JP' is false for this event at us-1");
    const jp = await explainCommand('scenarios/edge-filtering.yaml', { at: '3s', from: 'us-1', topic: 'payments/wire', header: ['country=JP'], to: 'ap-southeast-1' });
    expect(verdict(jp)).toEqual(['=> reaches 1 subscription at ap-1 via us-1 → ap-1']);
  });

  it('names the policy entry that refuses a principal, and the one that lets it through', async () => {
    const legacy = await explainCommand('scenarios/acl-policy.yaml', {
      at: '2s',
      from: 'eu-1',
      topic: 'payments/eu/1',
      type: 'com.company.payment.settled',
      principal: 'service:legacy-batch',
      to: 'ap-1',
    });
    expect(verdict(legacy)[0]).toMatch(/stopped at policy \(publish\) on eu-1: service:legacy-batch publishing com.company.payment.settled on payments\/eu\/1: no entry allows it \(policy v1\)/);
    const payments = await explainCommand('scenarios/acl-policy.yaml', {
      at: '2s',
      from: 'us-1',
      topic: 'payments/us/1',
      type: 'com.company.payment.internal',
      principal: 'service:payment-service',
      to: 'ap-1',
    });
    expect(verdict(payments)[0]).toMatch(/does not reach a subscriber at ap-1: policy \(delivery\) on ap-1/);
  });

  it('an operator routing rule sends events where nobody subscribed, and explain names it [RULE-1]', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { runScenario } = await import('../sim/run.ts');
    const { loadScenario } = await import('../scenarios/load.ts');
    const file = join(mkdtempSync(join(tmpdir(), 'routes-')), 'routes.yaml');
    writeFileSync(
      file,
      `name: routes
duration: 2s
regions: [{ id: us, brokers: [us-1] }, { id: eu, brokers: [eu-1] }]
links: [{ between: [us-1, eu-1], rtt: 70ms, bandwidth: 1Gbps }]
publishers: [{ broker: us-1, rate: 100/s, arrival: constant, topic: "orders/us/{n}", size: 100B, headers: { amountCents: "{rand:1000}" } }]
routes: [{ name: archive, pattern: "orders/#", filter: "amountCents >= 500", to: eu }]
`,
    );
    const r = runScenario(loadScenario(file), { measureHeap: false });
    const frames = r.links.find((l) => l.from === 'us-1' && l.to === 'eu-1')?.dataFrames ?? 0;
    expect(frames).toBeGreaterThan(60);
    expect(frames).toBeLessThan(140);
    const big = await explainCommand(file, { at: '1s', from: 'us-1', topic: 'orders/us/1', header: ['amountCents=700'], to: 'eu' });
    expect(big.join('\n')).toContain('routing rule      pass     rule archive (orders/# [amountCents >= 500]) sends it to eu-1');
    expect(verdict(big)[0]).toMatch(/does not reach a subscriber at eu-1: subscription on eu-1: no subscription at eu-1 matches orders\/us\/1/);
    const small = await explainCommand(file, { at: '1s', from: 'us-1', topic: 'orders/us/1', header: ['amountCents=7'], to: 'eu-1' });
    expect(verdict(small)[0]).toMatch(/stopped at interest on us-1/);
  });

  it('checks the data given against the schemas that apply [SCHEMA-7]', async () => {
    const ask = (data: string) => explainCommand('scenarios/schema-registry.yaml', { at: '2s', from: 'us-1', topic: 'orders/us/1', type: 'com.acme.order.created', data, to: 'eu-1' });
    expect(verdict(await ask('{"orderId": "o-1"}'))[0]).toMatch(/stopped at schema on us-1: data does not match com\.acme\.order\.\* v\d+: \/amountCents must have required property 'amountCents'/);
    expect((await ask('{"orderId": "o-1", "amountCents": 5, "currency": "EUR"}')).join('\n')).toMatch(/schema {12}pass {5}valid under 1 subject/);
  });

  it('--json gives the gates', async () => {
    const [text] = await explainCommand('scenarios/two-region-basic.yaml', {
      at: '1s',
      from: 'us-1',
      topic: 'orders/us-east-1/paid',
      header: ['amountCents=15000', 'currency=EUR'],
      to: 'eu-1',
      json: true,
    });
    const j = JSON.parse(text as string) as { explanations: Array<{ reaches: boolean; path: string[] }> };
    expect(j.explanations[0]).toMatchObject({ reaches: true, path: ['us-1', 'eu-1'] });
  });

  it('bad input is one line and exit 2', () => {
    for (const [args, msg] of [
      [['scenarios/two-region-basic.yaml', '--from', 'xx-9', '--topic', 'a', '--to', 'eu-1'], /--from: no broker "xx-9"/],
      [['scenarios/two-region-basic.yaml', '--from', 'us-1', '--topic', 'a/#', '--to', 'eu-1'], /--topic: "a\/#"/],
      [['scenarios/two-region-basic.yaml', '--from', 'us-1', '--topic', 'a', '--to', 'mars'], /--to: no broker or region "mars"/],
      [['scenarios/two-region-basic.yaml', '--from', 'us-1', '--topic', 'a', '--to', 'eu-1', '--header', 'oops'], /--header: expected NAME=VALUE/],
      [['--from', 'us-1', '--topic', 'a', '--to', 'eu-1'], /give a scenario file/],
      [['--live', 'http://127.0.0.1:1', '--from', 'us-1', '--topic', 'a', '--to', 'eu-1'], /is a broker running there\?/],
    ] as const) {
      const r = cli(...args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
