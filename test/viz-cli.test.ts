/** `meshtwin viz` as a user runs it: a real process, its printed address, its one-line errors. */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';

function meshtwin(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/meshtwin.js', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' }, timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const noStack = (text: string) => expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

describe('meshtwin viz', () => {
  it('prints its address, serves the page there, and stops on SIGINT', async () => {
    const child = spawn(process.execPath, ['bin/meshtwin.js', 'viz', 'scenarios/two-region-basic.yaml', '--port', '0', '--seed', '3'], { env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no address printed: ${out}${err}`)), 30_000);
      child.stdout.on('data', (d) => {
        out += d;
        const m = /watch it at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
    });
    expect(err).toMatch(/^SEED=3 scenario=two-region-basic /);
    expect(out).toMatch(/meshtwin viz — two-region-basic: 2 brokers, 1 links, 2 subscriber populations, built in \d+\.\d s/);
    const html = await (await fetch(url)).text();
    expect(html).toContain('<title>meshtwin — live</title>');
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill('SIGINT');
    });
    expect(code).toBe(0);
  });

  it('a bad scenario file, speed or port is one clear line and exit 2', () => {
    const cases: Array<[string[], RegExp]> = [
      [['viz', 'no/such.yaml'], /^meshtwin: .*no\/such\.yaml/],
      [['viz', 'scenarios/two-region-basic.yaml', '--speed', 'warp'], /^meshtwin: --speed: expected a positive number \(1, 10, 0\.5x\) or "max", found "warp"$/],
      [['viz', 'scenarios/two-region-basic.yaml', '--port', 'http'], /^meshtwin: --port: expected a port number 0\.\.65535, found "http"$/],
    ];
    for (const [args, message] of cases) {
      const r = meshtwin(...args);
      expect(r.status, args.join(' ')).toBe(2);
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('SEED='));
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      noStack(r.stderr);
    }
  });

  it('a port in use is one clear line and exit 2', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['bin/meshtwin.js', 'viz', 'scenarios/two-region-basic.yaml', '--port', String(port)]);
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('exit', (status) => resolve({ status, stderr }));
      });
      expect(r.status).toBe(2);
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('SEED='));
      expect(lines).toEqual([`meshtwin: --port: 127.0.0.1:${port} is in use; pick another with --port`]);
    } finally {
      blocker.close();
    }
  });
});
