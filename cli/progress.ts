/**
 * A progress bar on stderr for long runs: simulated time, kernel events per second and ETA.
 * The ETA is the run's own (cli/eta.ts [ETA-1]: the simulated-time rate over the last 20 s of
 * wall time), not cli-progress's. Quiet when stderr is not a terminal (CI logs, pipes).
 */
import cliProgress from 'cli-progress';
import type { Progress } from '../sim/run.ts';
import { EtaEstimator, etaText } from './eta.ts';

export interface ProgressSink {
  update(p: Progress): void;
  stop(): void;
}

export function progressBar(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  if (!stream.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{bar} {sim}/{end} s simulated · {rate} events/s · ETA {eta}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const eta = new EtaEstimator();
  let started = false;
  return {
    update(p: Progress) {
      eta.sample(p.wallMs, p.simulatedMs);
      const payload = {
        sim: (p.simulatedMs / 1000).toFixed(1),
        end: (p.durationMs / 1000).toFixed(1),
        rate: Math.round(p.kernelEvents / Math.max(1e-3, p.wallMs / 1000)).toLocaleString('en-US'),
        eta: etaText(eta.etaMs(p.durationMs)),
      };
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
