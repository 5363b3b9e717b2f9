/**
 * One SQL interface over the control plane's two backends [CP-1]: the same statements run on an
 * embedded PostgreSQL (PGlite, in a worker thread, its files in the broker's dataDir) and on a
 * PostgreSQL server (`pg`, a small pool). Rows come back as plain objects; `timestamptz` as Date,
 * `jsonb` parsed, arrays as arrays. Numbers that PostgreSQL returns as text on one backend and
 * as numbers on the other (int8, numeric) are for the repositories to normalize.
 *
 * [CP-2] The embedded database runs in a worker thread: PGlite's first start (initdb) takes
 * seconds of CPU and each statement runs synchronously in WASM, and neither may hold the
 * broker's event loop. It is one connection: statements are serialized here, and a transaction
 * holds the lock from BEGIN to COMMIT.
 */
import { mkdir } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import pg from 'pg';

export type Row = Record<string, unknown>;

/** Runs one statement (placeholders $1, $2…) and returns its rows. */
export type Query = <R extends Row = Row>(text: string, params?: readonly unknown[]) => Promise<R[]>;

/** What a transaction's body is handed: statements inside the transaction. */
export interface Tx {
  readonly query: Query;
  /** Runs SQL text that may hold several statements (no parameters). */
  exec(text: string): Promise<void>;
}

/** A database, embedded or a server: the one interface the control plane's code uses. */
export interface Sql extends Tx {
  readonly kind: 'embedded' | 'postgres';
  /** Where it is (a directory, or the URL without its password): for messages. */
  readonly where: string;
  /** Runs `body` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(body: (tx: Tx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** An error from the database, with its SQLSTATE when it has one. */
export class SqlError extends Error {
  override readonly name = 'SqlError';
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/**
 * Whether an error says the database refused the statement itself (a constraint, a bad value),
 * not that it could not be reached: SQLSTATE present and not class 08 (connection), 53
 * (insufficient resources), 57 (operator intervention: shutdown) or 58 (system error).
 */
export function isStatementError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return e instanceof SqlError && typeof code === 'string' && code.length === 5 && !['08', '53', '57', '58'].includes(code.slice(0, 2));
}

/** Where the control plane lives: a PostgreSQL server's URL, or a directory for the embedded one. */
export type SqlTarget = { readonly url: string } | { readonly dir: string };

export interface OpenOptions {
  /** PostgreSQL server: give up connecting after this long (default 3 s). */
  readonly connectTimeoutMs?: number;
  /** PostgreSQL server: a statement that runs longer is cancelled (default 10 s). */
  readonly statementTimeoutMs?: number;
  /** PostgreSQL server: connections kept (default 3). */
  readonly poolSize?: number;
  /** Told about errors on idle server connections (a server that went away). */
  readonly onIdleError?: (e: Error) => void;
}

/** Opens the control plane's database. Rejects (one-line message) when it cannot be reached or opened. */
export async function openSql(target: SqlTarget, opts: OpenOptions = {}): Promise<Sql> {
  return 'url' in target ? openServer(target.url, opts) : openEmbedded(target.dir);
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(an unparseable URL)';
  }
}

/** A one-line message for an error from either backend or the network. */
export function sqlMessage(e: unknown): string {
  const err = e as { message?: unknown; code?: unknown; errors?: unknown };
  // pg gives an AggregateError with no message when every address of a host refused.
  const inner = Array.isArray(err.errors) && err.errors.length > 0 ? (err.errors[0] as { message?: unknown; code?: unknown }) : undefined;
  const msg = typeof err.message === 'string' && err.message !== '' ? err.message : typeof inner?.message === 'string' ? inner.message : String(e);
  return msg.split('\n')[0] as string;
}

async function openServer(url: string, opts: OpenOptions): Promise<Sql> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 3,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 3000,
    idleTimeoutMillis: 10_000,
    statement_timeout: opts.statementTimeoutMs ?? 10_000,
    query_timeout: (opts.statementTimeoutMs ?? 10_000) + 1000,
    keepAlive: true,
    application_name: 'meshtwin',
  });
  // A server that restarts or goes away errors its idle connections; unheard, that would kill the process.
  pool.on('error', (e) => opts.onIdleError?.(e));
  const wrap = (e: unknown): SqlError => new SqlError(sqlMessage(e), (e as { code?: string }).code);
  const query =
    (c: pg.Pool | pg.PoolClient): Query =>
    async <R extends Row>(text: string, params: readonly unknown[] = []) => {
      try {
        return (await c.query(text, params as unknown[])).rows as R[];
      } catch (e) {
        throw wrap(e);
      }
    };
  const exec =
    (c: pg.Pool | pg.PoolClient) =>
    async (text: string): Promise<void> => {
      try {
        await c.query(text);
      } catch (e) {
        throw wrap(e);
      }
    };
  const sql: Sql = {
    kind: 'postgres',
    where: redactUrl(url),
    query: query(pool),
    exec: exec(pool),
    async transaction<T>(body: (tx: Tx) => Promise<T>): Promise<T> {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (e) {
        throw wrap(e);
      }
      let broken = false;
      try {
        await client.query('BEGIN');
        const r = await body({ query: query(client), exec: exec(client) });
        await client.query('COMMIT');
        return r;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw e instanceof SqlError ? e : wrap(e);
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
  // Reachable now, or a one-line error.
  try {
    await sql.query('SELECT 1');
  } catch (e) {
    await pool.end().catch(() => {});
    throw e;
  }
  return sql;
}

interface Pending {
  resolve(rows: Row[]): void;
  reject(e: Error): void;
}

async function openEmbedded(dir: string): Promise<Sql> {
  await mkdir(dir, { recursive: true });
  const worker = new Worker(new URL('./embedded-worker.mjs', import.meta.url), { workerData: { dir } });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let dead: Error | null = null;
  const fail = (e: Error): void => {
    dead ??= e;
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  };
  await new Promise<void>((resolve, reject) => {
    const early = (e: Error): void => reject(new SqlError(`embedded database ${dir}: ${sqlMessage(e)}`, undefined));
    worker.once('error', early);
    worker.once('exit', (code) => early(new Error(`its worker exited (${code}) while opening`)));
    worker.once('message', (m: { ready?: boolean; failed?: string }) => {
      worker.off('error', early);
      worker.removeAllListeners('exit');
      if (m.ready === true) resolve();
      else reject(new SqlError(`embedded database ${dir}: ${m.failed ?? 'did not open'}`, undefined));
    });
  });
  worker.on('message', (m: { id: number; rows?: Row[]; error?: { message: string; code?: string } }) => {
    const p = pending.get(m.id);
    if (p === undefined) return;
    pending.delete(m.id);
    if (pending.size === 0) worker.unref();
    if (m.error !== undefined) p.reject(new SqlError(m.error.message, m.error.code));
    else p.resolve(m.rows ?? []);
  });
  worker.on('error', (e) => fail(new SqlError(`embedded database ${dir}: ${sqlMessage(e)}`, undefined)));
  worker.on('exit', () => fail(new SqlError(`embedded database ${dir}: closed`, undefined)));

  // The worker keeps the process alive only while a request waits for it.
  worker.unref();
  const send = (op: 'query' | 'exec' | 'close', text = '', params: readonly unknown[] = []): Promise<Row[]> => {
    if (dead !== null) return Promise.reject(dead);
    const id = nextId++;
    if (pending.size === 0) worker.ref();
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, op, text, params });
    });
  };
  // One connection: a transaction's statements must not interleave with anyone else's.
  let lock: Promise<unknown> = Promise.resolve();
  const locked = <T>(f: () => Promise<T>): Promise<T> => {
    const run = lock.then(f, f);
    lock = run.catch(() => {});
    return run;
  };
  const rawQuery: Query = async <R extends Row>(text: string, params: readonly unknown[] = []) => (await send('query', text, params)) as R[];
  const rawExec = async (text: string): Promise<void> => {
    await send('exec', text);
  };
  return {
    kind: 'embedded',
    where: dir,
    query: (text, params) => locked(() => rawQuery(text, params)),
    exec: (text) => locked(() => rawExec(text)),
    transaction: <T>(body: (tx: Tx) => Promise<T>) =>
      locked(async () => {
        await rawExec('BEGIN');
        try {
          const r = await body({ query: rawQuery, exec: rawExec });
          await rawExec('COMMIT');
          return r;
        } catch (e) {
          await rawExec('ROLLBACK').catch(() => {});
          throw e;
        }
      }),
    close: () =>
      locked(async () => {
        if (dead !== null) return;
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        await send('close').catch(() => {});
        // Bounded: a worker that does not exit by itself is stopped.
        const timer = setTimeout(() => void worker.terminate(), 5000);
        await exited;
        clearTimeout(timer);
      }),
  };
}
