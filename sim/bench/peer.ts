/**
 * The peer comparison [BENCH-N1..4]: ns-3 3.37 (the simulator a network engineer would otherwise
 * use) on the seed mesh's WAN workload beside meshtwin on the same workload, in one run.
 *
 * - [BENCH-N1] The peer lives beside the checkout (`../shared/peers/ns3/`: run.sh, wanmesh.cc,
 *   wan-only.yaml) or at `--peer-dir`. ns-3 counts as installed when Debian's library is there
 *   (/usr/lib/x86_64-linux-gnu/libns3*-core*.so*); when it is not, the figures are n/a with how to
 *   install it, unless `--peer` asks for the run (run.sh installs it, as root).
 * - [BENCH-N2] One untimed run first (run.sh compiles wanmesh.cc when it is newer than its binary),
 *   then rounds alternating ns-3 (`run.sh SECONDS`) and meshtwin (`meshtwin run wan-only.yaml
 *   --duration SECONDS`; A B, B A, … as child.ts `alternate`), each in its own process, the same
 *   simulated time.
 * - [BENCH-N3] ns-3's speed is its own timing line (`RESULT … simPerWall=…`: simulated seconds
 *   over Simulator::Run's wall time, setup excluded), meshtwin's its traffic phase's
 *   (run.trafficSpeedup, setup excluded). Peak RSS is ru_maxrss for both: GNU time's %M around
 *   run.sh (the largest process of the script, wanmesh), and meshtwin's exit hook.
 * - [BENCH-N4] Targets: meshtwin ≥ 3× ns-3's simulated seconds per wall second; meshtwin's peak RSS
 *   ≤ 150 MiB.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { alternate, failureLine, type MeshtwinRun, runCaptured, runMeshtwinChild } from './child.ts';
import { median } from './figures.ts';

export const NS3_LIB_DIR = '/usr/lib/x86_64-linux-gnu';
export const PEER_SPEED_TARGET = 3;
export const PEER_RSS_TARGET_MIB = 150;
/** GNU time (Debian's `time` package), for ns-3's peak RSS. */
export const GNU_TIME = '/usr/bin/time';

/** The peer's folder beside the checkout: `<repo>/../shared/peers/ns3`. */
export function defaultPeerDir(repoRoot: string): string {
  return resolve(repoRoot, '..', 'shared', 'peers', 'ns3');
}

/** ns-3's version when Debian's library is installed ("3.37" from libns3-core.so.37 or libns3.37-core…), else null. */
export function ns3Installed(libDir = NS3_LIB_DIR): string | null {
  let names: string[];
  try {
    names = readdirSync(libDir);
  } catch {
    return null;
  }
  const libs = names.filter((n) => /^libns3.*-core.*\.so/.test(n));
  if (libs.length === 0) return null;
  for (const n of libs) {
    const m = /^libns3[.-](\d+)-core/.exec(n) ?? /-core[^.]*\.so\.(\d+)/.exec(n);
    if (m) return `3.${m[1]}`;
  }
  return 'unknown version';
}

/** What wanmesh.cc's RESULT line says. */
export interface Ns3Result {
  readonly simSeconds: number;
  readonly setupWallSeconds: number;
  readonly runWallSeconds: number;
  /** Simulated seconds per wall second of Simulator::Run. */
  readonly simPerWall: number;
  readonly events: number;
  readonly packetsDelivered: number;
  /** The line itself, as ns-3 printed it. */
  readonly line: string;
}

/** Reads the `RESULT key=value …` line wanmesh prints; null when there is none or a field is missing. */
export function parseNs3Result(stdout: string): Ns3Result | null {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) return null;
  const kv = new Map(line.split(/\s+/).flatMap((t) => (t.includes('=') ? [[t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)] as const] : [])));
  const num = (k: string) => {
    const v = kv.get(k);
    const x = v === undefined ? Number.NaN : Number(v);
    return Number.isFinite(x) ? x : null;
  };
  const f = {
    simSeconds: num('simSeconds'),
    setupWallSeconds: num('setupWall'),
    runWallSeconds: num('runWall'),
    simPerWall: num('simPerWall'),
    events: num('events'),
    packetsDelivered: num('packetsDelivered'),
  };
  if (Object.values(f).some((x) => x === null)) return null;
  return { ...(f as { [K in keyof typeof f]: number }), line: line.trim() };
}

export interface Ns3Run extends Ns3Result {
  /** ru_maxrss of run.sh's largest process (wanmesh), MiB; null without GNU time. */
  readonly peakRssMiB: number | null;
}

/** `run.sh SECONDS`, under GNU time when it is there; throws with one line when it fails. */
export async function runNs3(peerDir: string, seconds: number, workDir: string): Promise<Ns3Run> {
  const script = join(peerDir, 'run.sh');
  const rssFile = join(workDir, 'ns3-rss');
  const timed = existsSync(GNU_TIME);
  const cmd = timed ? GNU_TIME : 'bash';
  const args = timed ? ['-f', '%M', '-o', rssFile, 'bash', script, String(seconds)] : [script, String(seconds)];
  const r = await runCaptured(cmd, args, { cwd: peerDir });
  if (r.code !== 0) throw new Error(`ns-3 (run.sh ${seconds}): ${failureLine(r)}`);
  const result = parseNs3Result(r.stdout);
  if (result === null) throw new Error(`ns-3 (run.sh ${seconds}): no RESULT line in its output`);
  let peakRssMiB: number | null = null;
  if (timed) {
    const kib = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
    if (Number.isFinite(kib)) peakRssMiB = Math.round((kib / 1024) * 10) / 10;
  }
  return { ...result, peakRssMiB };
}

export interface PeerRound {
  readonly ns3: Ns3Run;
  readonly meshtwin: MeshtwinRun;
}

export interface PeerResult {
  /** measured; n/a (ns-3 not installed, no peer folder: not a failure); failed (the bench exits 1). */
  readonly status: 'measured' | 'n/a' | 'failed';
  readonly reason?: string;
  readonly peerDir: string;
  readonly ns3Version: string | null;
  readonly simulatedSeconds: number;
  readonly rounds: readonly PeerRound[];
  /** Medians of the rounds. */
  readonly ns3?: { readonly simPerWall: number; readonly peakRssMiB: number | null };
  readonly meshtwin?: { readonly simPerWall: number; readonly peakRssMiB: number };
  /** meshtwin / ns-3, simulated seconds per wall second. */
  readonly speedRatio?: number;
  readonly targets?: { readonly speed: string; readonly speedMet: boolean; readonly rss: string; readonly rssMet: boolean };
  /** Said beside the figures (no GNU time: ns-3's RSS is n/a). */
  readonly notes: readonly string[];
}

/** How to get the peer, relative to the checkout when it is beside it. */
export function notInstalledReason(repoRoot: string, peerDir: string): string {
  const rel = relative(repoRoot, join(peerDir, 'run.sh'));
  return `ns-3 not installed (run ${rel.startsWith('..') ? rel : join(peerDir, 'run.sh')} once to install it as root)`;
}

/** Runs the pair [BENCH-N1..4]. `force`: run (and so install) ns-3 even when it is not installed. */
export async function benchPeer(o: {
  readonly repoRoot: string;
  readonly peerDir: string;
  readonly force: boolean;
  readonly seconds: number;
  readonly rounds: number;
  readonly workDir: string;
  readonly log: (line: string) => void;
}): Promise<PeerResult> {
  const base = { peerDir: o.peerDir, simulatedSeconds: o.seconds, rounds: [] as PeerRound[], notes: [] as string[] };
  const scenario = join(o.peerDir, 'wan-only.yaml');
  const missing = ['run.sh', 'wanmesh.cc', 'wan-only.yaml'].filter((f) => !existsSync(join(o.peerDir, f)));
  if (missing.length > 0) {
    const reason = `no ns-3 peer at ${o.peerDir} (missing ${missing.join(', ')}; --peer-dir names another)`;
    return { ...base, ns3Version: null, status: o.force ? 'failed' : 'n/a', reason };
  }
  let version = ns3Installed();
  if (version === null && !o.force) return { ...base, ns3Version: null, status: 'n/a', reason: notInstalledReason(o.repoRoot, o.peerDir) };
  if (!existsSync(GNU_TIME)) base.notes.push(`ns-3's peak RSS is n/a: no ${GNU_TIME} (Debian's time package)`);
  try {
    o.log(version === null ? 'peer: installing ns-3 and building wanmesh (run.sh, untimed) …' : 'peer: ns-3 warm-up (run.sh builds wanmesh when needed, untimed) …');
    await runNs3(o.peerDir, 0.001, o.workDir);
    version ??= ns3Installed() ?? 'unknown version';
    for (let i = 0; i < o.rounds; i++) {
      const tag = `round ${i + 1}/${o.rounds}`;
      const [ns3, meshtwin] = await alternate(
        i,
        () => {
          o.log(`peer: ${tag}, ns-3 …`);
          return runNs3(o.peerDir, o.seconds, o.workDir);
        },
        () => {
          o.log(`peer: ${tag}, meshtwin on wan-only.yaml …`);
          return runMeshtwinChild({ root: o.repoRoot, scenario, durationMs: Math.round(o.seconds * 1000), workDir: o.workDir, label: `meshtwin on wan-only.yaml (${tag})` });
        },
      );
      base.rounds.push({ ns3, meshtwin });
    }
  } catch (e) {
    return { ...base, ns3Version: version, status: 'failed', reason: (e as Error).message };
  }
  const rssNs3 = base.rounds.map((r) => r.ns3.peakRssMiB).filter((x): x is number => x !== null);
  const ns3 = { simPerWall: median(base.rounds.map((r) => r.ns3.simPerWall)), peakRssMiB: rssNs3.length === base.rounds.length ? median(rssNs3) : null };
  const meshtwin = { simPerWall: median(base.rounds.map((r) => r.meshtwin.trafficSpeedup)), peakRssMiB: median(base.rounds.map((r) => r.meshtwin.peakRssMiB)) };
  const speedRatio = meshtwin.simPerWall / ns3.simPerWall;
  return {
    ...base,
    ns3Version: version,
    status: 'measured',
    ns3,
    meshtwin,
    speedRatio,
    targets: {
      speed: `meshtwin ≥ ${PEER_SPEED_TARGET}× ns-3`,
      speedMet: speedRatio >= PEER_SPEED_TARGET,
      rss: `meshtwin ≤ ${PEER_RSS_TARGET_MIB} MiB`,
      rssMet: meshtwin.peakRssMiB <= PEER_RSS_TARGET_MIB,
    },
  };
}
