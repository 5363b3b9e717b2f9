/**
 * A broker as a child process [PROC-1]: `node bin/meshtwin.js broker --config FILE`, started,
 * watched and stopped by its PID — for the example mesh, the tests and `meshtwin live`. Its
 * stdout is pino's JSON lines: the "broker ready" line gives the ports it bound; a process that
 * exits before it is ready rejects with its stderr (the one-line error). Every process started
 * here is stopped by `stop()` (SIGTERM, then SIGKILL after a grace) or `kill()` (SIGKILL), and
 * `stopAll()` stops whatever is still running (tests call it in afterAll; the example on Ctrl-C).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/meshtwin.js', import.meta.url));

export interface ReadyPorts {
  readonly mesh: number;
  readonly http: number;
  readonly grpc: number | null;
  readonly mqtt: number | null;
  readonly mqtts: number | null;
}

const running = new Set<BrokerProcess>();

export class BrokerProcess {
  readonly child: ChildProcess;
  /** Every JSON log line, parsed (unparseable lines as { raw }). */
  readonly logs: Array<Record<string, unknown>> = [];
  stderr = '';
  readonly ready: Promise<ReadyPorts>;
  readonly exited: Promise<number | null>;
  #exitCode: number | null | undefined;

  constructor(
    readonly configFile: string,
    options: { readonly cwd?: string; readonly echo?: (line: string) => void } = {},
  ) {
    this.child = spawn(process.execPath, [BIN, 'broker', '--config', configFile], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(this);
    let buf = '';
    let onReady: (p: ReadyPorts) => void = () => {};
    this.ready = new Promise<ReadyPorts>((resolve, reject) => {
      onReady = resolve;
      this.child.once('exit', (code) => reject(new Error(this.stderr.trim() || `broker exited with ${code} before it was ready`)));
    });
    this.ready.catch(() => {});
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        options.echo?.(line);
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(line) as Record<string, unknown>;
        } catch {
          rec = { raw: line };
        }
        this.logs.push(rec);
        if (rec['msg'] === 'broker ready') onReady({ mesh: Number(rec['mesh']), http: Number(rec['http']), grpc: opt(rec['grpc']), mqtt: opt(rec['mqtt']), mqtts: opt(rec['mqtts']) });
      }
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      if (options.echo !== undefined) for (const l of chunk.split('\n').filter(Boolean)) options.echo(l);
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        this.#exitCode = code;
        running.delete(this);
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.#exitCode === undefined;
  }

  /** SIGKILL by PID (a crash); resolves once it is gone. */
  async kill(): Promise<void> {
    if (this.alive) process.kill(this.pid, 'SIGKILL');
    await this.exited;
  }

  /** SIGTERM (a drain), SIGKILL after `graceMs`; resolves with the exit code (null if killed). */
  async stop(graceMs = 10_000): Promise<number | null> {
    if (!this.alive) return this.#exitCode ?? null;
    process.kill(this.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (this.alive) process.kill(this.pid, 'SIGKILL');
    }, graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** Stops every broker process this process started and has not seen exit. */
export async function stopAll(graceMs = 5000): Promise<void> {
  await Promise.all([...running].map((p) => p.stop(graceMs)));
}

/** A port from the ready line, null when the broker has no such listener. */
function opt(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}
