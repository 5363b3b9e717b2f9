/**
 * `meshtwin broker --config FILE`: one live broker process (live/node.ts) [LIVE-2]. Logs are JSON
 * lines (pino) on stdout, each with the broker's id. A bad config, a certificate that does not
 * load, an unusable dataDir or a port in use is one line on stderr and exit 2. SIGTERM or SIGINT
 * drains the broker [LIVE-4] and exits 0. A second SIGINT while draining (Ctrl-C twice) exits at
 * once (1); a SIGTERM while draining is ignored (a supervisor's SIGTERM after the terminal's SIGINT).
 */
import { pino } from 'pino';
import { loadBrokerConfig } from '../live/config.ts';
import { BrokerNode, StartError } from '../live/node.ts';
import { CliError } from './options.ts';

export interface BrokerOptions {
  readonly config: string;
}

export async function brokerCommand(opts: BrokerOptions): Promise<void> {
  const config = loadBrokerConfig(opts.config);
  const log = pino({ base: { broker: config.id }, level: config.logLevel, timestamp: pino.stdTimeFunctions.isoTime });
  // Signals are handled from the start: one that comes while the broker starts drains it once started.
  let node: BrokerNode | undefined;
  let requested: string | undefined;
  let drained: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    drained = resolve;
  });
  const stop = (signal: string): void => {
    if (node?.draining === true || (node === undefined && requested !== undefined)) {
      if (signal === 'SIGTERM') return;
      log.warn({ signal }, 'second interrupt while draining: exiting now');
      process.exit(1);
    }
    log.info({ signal }, 'signal received');
    requested = signal;
    if (node !== undefined) void node.drain().then(drained);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    node = await BrokerNode.start(config, log);
  } catch (e) {
    if (e instanceof StartError) throw new CliError(`broker ${config.id}: ${e.message}`);
    throw e;
  }
  const started = node;
  if (requested !== undefined) void started.drain().then(drained);
  // [DUR-5] A store that broke acknowledges nothing more: stop, and let the next start recover.
  started.failed.catch(() => {
    void started.drain().finally(() => process.exit(1));
  });
  await done;
}
