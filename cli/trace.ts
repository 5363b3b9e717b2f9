/**
 * `meshtwin trace EVENT_ID (--config BROKER.yaml | --url postgres://… | --data-dir DIR) [--json]`:
 * one event's trace read back from the control plane store [CP-6], as text or JSON.
 * - `--url`: a PostgreSQL server.
 * - `--config`: the broker config's `controlPlane:` — its server, or its embedded store. The
 *   embedded store is one process's at a time: while the broker runs (its dataDir is locked) the
 *   trace is asked of it over HTTP (GET /v1/control/traces/ID on its edge.http); when it is
 *   stopped the store is opened here.
 * - `--data-dir`: a stopped broker's dataDir, its embedded store opened here.
 * A bad option, an unreachable store or a running broker's dataDir is one line and exit 2; an
 * event with no trace is one line and exit 1.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadBrokerConfig } from '../live/config.ts';
import { formatTrace } from '../live/control/format.ts';
import { sqlMessage } from '../live/control/sql.ts';
import { ControlStore, controlTarget, EMBEDDED_DIR } from '../live/control/store.ts';
import type { AssembledTrace } from '../live/control/traces.ts';
import { alive, LOCK_FILE } from '../live/store/lock.ts';
import { CliError } from './options.ts';

export interface TraceOptions {
  readonly config?: string;
  readonly url?: string;
  readonly dataDir?: string;
  readonly json?: boolean;
}

/** The PID of the live process holding `dataDir`'s lock, or null. */
function lockHolder(dataDir: string): number | null {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(join(dataDir, LOCK_FILE), 'utf8'), 10);
  } catch {
    return null;
  }
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid) ? pid : null;
}

async function fromStore(target: { url: string } | { dir: string }, eventId: string): Promise<{ trace: AssembledTrace | null; where: string }> {
  let store: ControlStore;
  try {
    store = await ControlStore.open(target, { connectTimeoutMs: 5000 });
  } catch (e) {
    throw new CliError(`control plane store ${'url' in target ? '' : `${target.dir} `}unreachable: ${sqlMessage(e)}`);
  }
  try {
    return { trace: await store.trace(eventId), where: store.where };
  } finally {
    await store.close();
  }
}

async function fromBroker(http: { host: string; port: number }, eventId: string, who: string): Promise<{ trace: AssembledTrace | null; where: string }> {
  const host = http.host === '0.0.0.0' || http.host === '::' ? '127.0.0.1' : http.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${http.port}/v1/control/traces/${encodeURIComponent(eventId)}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    throw new CliError(`${who} holds its dataDir but its HTTP edge ${host}:${http.port} does not answer (${cause})`);
  }
  const body = (await res.json().catch(() => ({}))) as AssembledTrace & { error?: string };
  if (res.status === 404 && typeof body.error === 'string' && body.error.startsWith('no trace')) return { trace: null, where: `${who} (over HTTP)` };
  if (!res.ok) throw new CliError(`${who} answered HTTP ${res.status}: ${body.error ?? 'no reason given'}`);
  return { trace: body, where: `${who} (over HTTP)` };
}

/** Returns the exit code (0: printed, 1: no trace of the event). Throws CliError on bad input. */
export async function traceCommand(eventId: string, opts: TraceOptions): Promise<number> {
  const given = [opts.config, opts.url, opts.dataDir].filter((x) => x !== undefined).length;
  if (given !== 1) throw new CliError('give one of --config BROKER.yaml, --url postgres://… or --data-dir DIR (where the control plane store is)');
  if (eventId.trim() === '') throw new CliError('EVENT_ID: expected an event id, found an empty string');
  let found: { trace: AssembledTrace | null; where: string };
  if (opts.url !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(opts.url)) throw new CliError(`--url: expected postgres://USER@HOST:PORT/DATABASE, found ${JSON.stringify(opts.url)}`);
    found = await fromStore({ url: opts.url }, eventId);
  } else if (opts.dataDir !== undefined) {
    const pid = lockHolder(opts.dataDir);
    if (pid !== null) throw new CliError(`--data-dir ${opts.dataDir} is in use by broker process ${pid}: its embedded store is open there; give --config with its config to ask it over HTTP`);
    if (!existsSync(join(opts.dataDir, EMBEDDED_DIR))) throw new CliError(`--data-dir ${opts.dataDir}: no control plane store there (no ${EMBEDDED_DIR}/ folder)`);
    found = await fromStore(controlTarget(opts.dataDir, null), eventId);
  } else {
    const c = loadBrokerConfig(opts.config as string);
    const cp = c.controlPlane;
    if (cp === null) throw new CliError(`${opts.config}: broker ${c.id} has no controlPlane: in its config`);
    if (cp.url !== null) found = await fromStore({ url: cp.url }, eventId);
    else if (lockHolder(c.dataDir) !== null) found = await fromBroker(c.edge.http, eventId, `broker ${c.id}`);
    else if (!existsSync(join(c.dataDir, EMBEDDED_DIR))) throw new CliError(`broker ${c.id} has no control plane store yet in ${c.dataDir} (it makes one when it first runs)`);
    else found = await fromStore(controlTarget(c.dataDir, null), eventId);
  }
  if (found.trace === null) {
    process.stderr.write(`meshtwin: no trace of event ${JSON.stringify(eventId)} in ${found.where} (not sampled, not delivered yet, or not written yet: brokers write every heartbeat)\n`);
    return 1;
  }
  process.stdout.write(opts.json === true ? `${JSON.stringify(found.trace, null, 2)}\n` : `${formatTrace(found.trace)}\n`);
  return 0;
}
