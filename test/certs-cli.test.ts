/**
 * `meshtwin certs` as a user runs it [CERT-1]: the files a three-broker mesh needs, keys readable
 * by their owner only, every certificate verifying against the CA it wrote; bad input is one line
 * and exit 2, and nothing is ever overwritten.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

function meshtwin(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/meshtwin.js', ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, FORCE_COLOR: '0' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'meshtwin-certs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('[CERT-1] meshtwin certs', () => {
  it('writes a CA and a certificate per broker and client, each naming it and signed by the CA', () => {
    const out = join(dir, 'certs');
    const r = meshtwin('certs', '--out', out, '--brokers', 'us-1,eu-1,ap-1', '--clients', 'alice');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/3 brokers \(us-1, eu-1, ap-1\) and 1 client \(alice\)/);
    expect(readdirSync(out).sort()).toEqual(['alice.key', 'alice.pem', 'ap-1.key', 'ap-1.pem', 'ca.key', 'ca.pem', 'eu-1.key', 'eu-1.pem', 'us-1.key', 'us-1.pem']);
    const ca = new X509Certificate(readFileSync(join(out, 'ca.pem')));
    for (const name of ['us-1', 'eu-1', 'ap-1', 'alice']) {
      const c = new X509Certificate(readFileSync(join(out, `${name}.pem`)));
      expect(c.subject).toBe(`CN=${name}`);
      expect(c.verify(ca.publicKey)).toBe(true);
      expect(statSync(join(out, `${name}.key`)).mode & 0o077).toBe(0);
    }
  });

  it('never overwrites: a second run into the same folder is refused and changes nothing', () => {
    const out = join(dir, 'certs');
    const before = readFileSync(join(out, 'ca.pem'), 'utf8');
    const r = meshtwin('certs', '--out', out, '--brokers', 'us-1');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`meshtwin: --out: ${join(out, 'ca.pem')} exists; certs never overwrites (choose an empty folder)`]);
    expect(readFileSync(join(out, 'ca.pem'), 'utf8')).toBe(before);
  });

  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  it.each([
    [['--out', join(dir, 'x1'), '--brokers', 'us 1'], /--brokers: expected names of letters/],
    [['--out', join(dir, 'x2'), '--brokers', 'us-1,us-1'], /"us-1" is named twice/],
    [['--out', join(dir, 'x3'), '--brokers', 'us-1', '--clients', 'ca'], /"ca" is the CA's own file name/],
    [['--out', join(dir, 'x4'), '--brokers', 'us-1', '--days', '0'], /--days: expected a whole number of days from 1 to 3650, found "0"/],
    [['--out', file, '--brokers', 'us-1'], /is a file, not a folder/],
    [['--out', join(dir, 'x5')], /required option '--brokers <ids>'/],
  ])('bad input %j: one line, exit 2', (args, message) => {
    const r = meshtwin('certs', ...args);
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });
});
