/**
 * Debian's `mosquitto` as the MQTT bench's baseline [BENCH-MQ2]: a child process per broker, from a
 * config written to a temp dir (loopback listener, anonymous, no persistence, the same inflight
 * window and a large queue), stopped by its PID (SIGTERM, SIGKILL after a grace). Two of them
 * make the two-broker case with mosquitto's own bridge: the publishing broker forwards `bench/#`
 * to the subscribing one (`topic bench/# out 1`: QoS 0 stays 0, QoS 1 goes at 1).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

/** Where Debian installs it; else the first `mosquitto` on PATH. */
export const MOSQUITTO_PATHS = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto'];

/** The mosquitto binary and its version (the first executable of `candidates`), or null when it is not installed. */
export function findMosquitto(
  candidates: readonly string[] = [...MOSQUITTO_PATHS, ...(process.env['PATH'] ?? '').split(':').map((d) => join(d, 'mosquitto'))],
): { readonly path: string; readonly version: string } | null {
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      continue;
    }
    // `mosquitto -h` prints "mosquitto version X" and exits 3.
    const r = spawnSync(path, ['-h'], { encoding: 'utf8', timeout: 5000 });
    const m = /mosquitto version (\S+)/.exec(`${r.stdout}${r.stderr}`);
    return { path, version: m?.[1] ?? 'unknown' };
  }
  return null;
}

export interface MosquittoConfig {
  readonly port: number;
  /** max_inflight_messages: outgoing QoS 1 messages in flight per client. */
  readonly inflight: number;
  /** max_queued_messages per client. */
  readonly queued: number;
  /** A bridge forwarding `bench/#` to this loopback port. */
  readonly bridgeTo?: number;
}

/** The config file's text. */
export function mosquittoConf(c: MosquittoConfig): string {
  return [
    `listener ${c.port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    `max_inflight_messages ${c.inflight}`,
    `max_queued_messages ${c.queued}`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    ...(c.bridgeTo === undefined
      ? []
      : ['connection meshtwin-bench', `address 127.0.0.1:${c.bridgeTo}`, 'topic bench/# out 1', 'cleansession true', 'notifications false', 'start_type automatic', 'restart_timeout 1']),
    '',
  ].join('\n');
}

const running = new Set<MosquittoProcess>();

export class MosquittoProcess {
  readonly child: ChildProcess;
  stderr = '';
  readonly exited: Promise<number | null>;
  #alive = true;

  constructor(
    bin: string,
    dir: string,
    name: string,
    readonly config: MosquittoConfig,
  ) {
    const file = join(dir, `${name}.conf`);
    writeFileSync(file, mosquittoConf(config));
    this.child = spawn(bin, ['-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(this);
    this.child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      if (this.stderr.length < 10_000) this.stderr += s;
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        this.#alive = false;
        running.delete(this);
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** Resolves once the listener accepts a connection (rejects if the process exits first, or after `ms`). */
  async ready(ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (!this.#alive) throw new Error(`mosquitto exited before it listened: ${this.stderr.trim()}`);
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: this.config.port });
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`mosquitto did not listen on ${this.config.port} within ${ms} ms`);
  }

  /** SIGTERM by PID, SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.#alive) return;
    process.kill(this.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (this.#alive) process.kill(this.pid, 'SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Stops every mosquitto this process started and has not seen exit. */
export async function stopAllMosquitto(graceMs = 5000): Promise<void> {
  await Promise.all([...running].map((p) => p.stop(graceMs)));
}
