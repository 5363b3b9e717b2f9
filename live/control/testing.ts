/**
 * PostgreSQL for the control plane's tests [CP-T]:
 * - the shared server: `MESHTWIN_TEST_PG_URL` (.ci/run starts one and exports it). Unset: the
 *   tests skip with a message, unless CI is set, where they must run and so fail. Each test file
 *   makes its own database on it (`freshDatabase`) and drops it after.
 * - a server of the test's own (`PgServer`): initdb + pg_ctl from Debian's postgresql package in
 *   a temporary folder, listening on 127.0.0.1 only, so a test can stop it and start it again
 *   while brokers use it. As root, the server runs as the `postgres` user (initdb refuses root).
 * Every process started here is stopped by `destroy()` (pg_ctl stop, then the folder removed).
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePorts } from '../testing.ts';

const run = promisify(execFile);

function inCi(env: Readonly<Record<string, string | undefined>>): boolean {
  return env['CI'] !== undefined && env['CI'] !== '' && env['CI'] !== 'false' && env['CI'] !== '0';
}

/** Whether the PostgreSQL tests run: `url` set, or skip (with a message), or fail in CI. */
export function pgPlan(env: Readonly<Record<string, string | undefined>>): { readonly url: string | null; readonly skip: boolean; readonly message: string | null } {
  const url = env['MESHTWIN_TEST_PG_URL'];
  if (url !== undefined && url !== '') return { url, skip: false, message: null };
  if (inCi(env)) return { url: null, skip: false, message: null };
  return { url: null, skip: true, message: 'control: skipping PostgreSQL server tests: MESHTWIN_TEST_PG_URL is unset (.ci/run starts a server and sets it); with CI set they fail instead' };
}

/** The shared server's URL; throws (failing the test) when it is unset. */
export function requirePgUrl(plan: { readonly url: string | null }): string {
  if (plan.url === null) throw new Error('MESHTWIN_TEST_PG_URL is unset and CI is set: the PostgreSQL tests must run (.ci/run installs postgresql, starts a server and exports it)');
  return plan.url;
}

/** A database of its own on the shared server, named after `prefix`; `drop()` removes it. */
export async function freshDatabase(adminUrl: string, prefix: string): Promise<{ readonly url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Debian's PostgreSQL binaries (the newest installed), or null. */
export function pgBinDir(): string | null {
  const own = process.env['MESHTWIN_PG_BIN'];
  if (own !== undefined && own !== '') return existsSync(join(own, 'initdb')) ? own : null;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? null : join(root, versions[0], 'bin');
}

/** Whether the own-server tests run: binaries found, or skip (a message), or fail in CI. */
export function pgServerPlan(env: Readonly<Record<string, string | undefined>>): { readonly bin: string | null; readonly skip: boolean; readonly message: string | null } {
  const bin = pgBinDir();
  if (bin !== null) return { bin, skip: false, message: null };
  if (inCi(env)) return { bin: null, skip: false, message: null };
  return { bin: null, skip: true, message: 'control: skipping the PostgreSQL stop/start tests: no initdb under /usr/lib/postgresql (apt-get install -y postgresql); with CI set they fail instead' };
}

/** A PostgreSQL server of the test's own on 127.0.0.1, which it can stop and start again. */
export class PgServer {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly asUser: string | null,
  ) {}

  /** postgres://postgres@127.0.0.1:PORT/postgres (trust on loopback: a throwaway test server). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async create(bin: string | null): Promise<PgServer> {
    if (bin === null) throw new Error('no PostgreSQL binaries (apt-get install -y postgresql): in CI the stop/start tests must run');
    const dir = mkdtempSync(join(tmpdir(), 'meshtwin-pg-'));
    const root = process.getuid?.() === 0;
    if (root) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
    const [port] = await freePorts(1);
    const server = new PgServer(dir, port as number, bin, root ? 'postgres' : null);
    await server.#run('initdb', ['-D', server.data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
    writeFileSync(
      join(server.data, 'postgresql.auto.conf'),
      `listen_addresses = '127.0.0.1'\nport = ${server.port}\nunix_socket_directories = '${dir}'\nfsync = off\nshared_buffers = 16MB\nmax_connections = 30\n`,
    );
    if (root) execFileSync('chown', ['postgres:', join(server.data, 'postgresql.auto.conf')]);
    await server.start();
    return server;
  }

  get data(): string {
    return join(this.dir, 'data');
  }

  /** Runs a PostgreSQL tool (as `postgres` when root); asynchronous, so the test's clients go on meanwhile. */
  async #run(tool: string, args: string[]): Promise<void> {
    const cmd = join(this.bin, tool);
    const [file, argv] = this.asUser === null ? [cmd, args] : ['runuser', ['-u', this.asUser, '--', cmd, ...args]];
    try {
      await run(file, argv, { timeout: 90_000 });
    } catch (e) {
      const err = e as { code?: unknown; stderr?: string; stdout?: string };
      throw new Error(`${tool} ${args.join(' ')}: exit ${String(err.code)}: ${(err.stderr || err.stdout || '').trim().split('\n').slice(-3).join(' | ')}`);
    }
  }

  /** Starts the server and waits until it takes connections. */
  start(): Promise<void> {
    return this.#run('pg_ctl', ['-D', this.data, '-l', join(this.dir, 'log'), '-w', '-t', '60', 'start']);
  }

  /** Stops it (fast: open connections are cut, as when a server goes away). */
  stop(): Promise<void> {
    return this.#run('pg_ctl', ['-D', this.data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  }

  /** Stops it if it runs, and removes its folder. */
  async destroy(): Promise<void> {
    await this.stop().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}
