/**
 * A progress bar on stderr for long runs: simulated time, kernel events per second and ETA.
 * Quiet when stderr is not a terminal (CI logs, pipes).
 */
import cliProgress from 'cli-progress';
import type { Progress } from '../sim/run.ts';

export interface ProgressSink {
  update(p: Progress): void;
  stop(): void;
}

export function progressBar(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  if (!stream.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({
    stream,
    format: '{bar} {sim}/{end} s simulated · {rate} events/s · ETA {eta_formatted}',
    barsize: 24,
    hideCursor: true,
    clearOnComplete: true,
    etaBuffer: 20,
  }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update(p: Progress) {
      const payload = { sim: (p.simulatedMs / 1000).toFixed(1), end: (p.durationMs / 1000).toFixed(1), rate: Math.round(p.kernelEvents / Math.max(1e-3, p.wallMs / 1000)).toLocaleString('en-US') };
      if (!started) {
        bar.start(p.durationMs, 0, payload);
        started = true;
      }
      bar.update(p.simulatedMs, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
