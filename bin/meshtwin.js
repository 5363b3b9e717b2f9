#!/usr/bin/env node
// Entry point for `npx meshtwin`: loads the TypeScript CLI through tsx, so no build step is needed.
//
// The simulating commands run with a larger V8 young generation (YOUNG_MB per semi-space). A
// simulated event lives for a link's delay (tens of ms of virtual time, many scavenges of wall
// time), so with V8's default 16 MB most in-flight envelopes and frames survive two scavenges,
// get promoted, and die in the old generation, where only a full mark-compact frees them.
// Measured on the seed mesh's traffic (2 cores): 18-19 CPU-s → 12-13 CPU-s per simulated second,
// for ~200 MB more RSS. The flag can only be given when V8 starts, so those commands re-run
// this file in a child node with it, in its own process group so that a terminal's Ctrl-C
// reaches it once, passed on by us (as any signal sent to us is); its exit code is ours.
// MESHTWIN_YOUNG_MB=0 turns this off (16 is V8's default).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SIMULATING = new Set(['run', 'test', 'explore', 'sweep', 'bench']);
const FLAG = '--max-semi-space-size';
const youngMb = Number(process.env.MESHTWIN_YOUNG_MB ?? 64);

if (SIMULATING.has(process.argv[2]) && youngMb > 0 && !process.execArgv.some((a) => a.startsWith(FLAG))) {
  const child = spawn(process.execPath, [...process.execArgv, `${FLAG}=${youngMb}`, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', detached: true });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal !== null) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
