/**
 * The `meshtwin` command. User mistakes (bad flags, bad scenario files) print one line and exit
 * non-zero (2 for a bad scenario or option value); nothing prints a stack trace unless it is a bug.
 */
import { Command, CommanderError } from 'commander';
import { loadScenario, ScenarioError } from '../scenarios/load.ts';
import { benchCommand } from './bench.ts';
import type { BenchCompareOptions } from './bench-compare.ts';
import { benchLiveCommand } from './bench-live.ts';
import { compareCommand } from './compare.ts';
import { type BrokerOptions, brokerCommand } from './broker.ts';
import { type CertsOptions, certsCommand } from './certs.ts';
import { DEFAULT_EXPLORE_OUT, DEFAULT_RUNS, exploreCommand } from './explore.ts';
import { type LiveCommandOptions, liveCommand } from './live.ts';
import { mergeCommand } from './merge.ts';
import { assertionsNeedChecker } from '../scenarios/expect.ts';
import { formatDuration } from '../scenarios/units.ts';
import { estimateText } from '../sim/preflight/index.ts';
import { CliError, durationOption } from './options.ts';
import { type ExplainOptions, explainCommand } from './explain.ts';
import { hashSecretCommand } from './hash-secret.ts';
import { checkBeforeRun } from './preflight.ts';
import { runCommand } from './run.ts';
import { type SubscribeOptions, subscribeCommand } from './subscribe.ts';
import { DEFAULT_STEPS, DEFAULT_SWEEP_OUT, type SweepCommandOptions, sweepCommand } from './sweep.ts';
import { DEFAULT_TEST_PATH, testCommand } from './test.ts';
import { type TraceOptions, traceCommand } from './trace.ts';
import { vizCommand } from './viz.ts';

const program = new Command();
program
  .name('meshtwin')
  .description('A digital twin of a global event mesh: the real broker routing engine in a discrete-event simulator.')
  // Commander's message, its did-you-mean and where to look on one line, as every other error is.
  .configureOutput({ outputError: (text, write) => write(`meshtwin: ${text.trim().split('\n').join(' ')} (run with --help for usage)\n`) })
  .exitOverride();

program
  .command('run')
  .description('simulate a scenario and write a capacity report (summary.json, CSVs) to --out')
  .argument('<file>', 'scenario file (YAML)')
  .option('--seed <n>', "seed for every random draw (default: the scenario's seed)")
  .option('--duration <d>', "simulated time, e.g. 10s (default: the scenario's duration)")
  .option('--out <dir>', 'where to write the report (default: out/<scenario name>)')
  .option('--no-heap', 'skip measuring routing tables on the V8 heap (faster for huge tables)')
  .option('--force', 'run even when the pre-flight estimates more memory or time than this machine has')
  .option(
    '--workers <n>',
    'simulate on N threads, brokers split between them (same figures and traceHash as one thread; link faults, slow consumers and guaranteed delivery run; crashes, HA and functions not yet)',
  )
  .action((file: string, opts) => runCommand(file, opts));

program
  .command('live')
  .description('run a scenario on real broker processes (one per broker, links through shapers) and write the same report as run, with "mode": "live"')
  .argument('<file>', 'scenario file (YAML)')
  .option('--seed <n>', "seed of the publishers' events and the shapers' jitter (default: the scenario's seed)")
  .option('--duration <d>', "wall time of the measured window, e.g. 20s (default: the scenario's duration)")
  .option('--out <dir>', 'where to write the report (default: out/<scenario name>-live); the mesh (certs, configs, data) goes in <dir>/mesh')
  .option('--viz', 'watch the running mesh in a browser (the page of `meshtwin viz`); its fault buttons act on the real processes and shapers')
  .option('--port <p>', 'with --viz: port to listen on, on 127.0.0.1 (default 8077; 0: any free port)')
  .action(async (file: string, opts: LiveCommandOptions) => {
    await liveCommand(file, opts);
    // Keep-alive sockets and timers of finished clients may linger: the command is done.
    process.exit(process.exitCode ?? 0);
  });

program
  .command('validate')
  .description('check a scenario file (schema, cross-references, expect: fields, islands, frame sizes) and estimate what a run costs')
  .argument('<file>', 'scenario file (YAML)')
  .option('--duration <d>', "estimate a run of this simulated time (default: the scenario's duration)")
  .option('--force', 'report an estimate beyond this machine as a warning, not an error')
  .action((file: string, opts: { duration?: string; force?: boolean }) => {
    const s = loadScenario(file);
    const durationMs = opts.duration === undefined ? undefined : durationOption('--duration', opts.duration);
    const estimate = checkBeforeRun(s, { durationMs, check: assertionsNeedChecker(s.expect), force: opts.force === true });
    const brokers = s.regions.reduce((a, r) => a + r.brokers.length, 0);
    process.stdout.write(
      `${file}: ok — ${s.name}: ${s.regions.length} regions, ${brokers} brokers, ${s.links.length} links, ${s.publishers.length} publishers, ${s.subscribers.length} subscriber entries, ${s.faults.length} faults\n`,
    );
    if (estimate !== undefined) process.stdout.write(`estimate for ${formatDuration(durationMs ?? s.durationMs)}: ${estimateText(estimate)}\n`);
  });

program
  .command('test')
  .description('run scenarios and check their expect: assertions; exit 1 when one fails (for CI)')
  .argument('[paths...]', `scenario files or folders of *.yaml (default: ${DEFAULT_TEST_PATH})`)
  .option('--seed <n>', "seed for every scenario (default: each scenario's seed)")
  .option('--junit <file>', 'also write a JUnit XML report')
  .option('--out <dir>', "also write each run's summary.json to <dir>/<scenario name>/")
  .option('--force', 'run scenarios the pre-flight estimates beyond this machine')
  .option('--live', 'run each scenario on real broker processes (as meshtwin live does) instead of simulating it')
  .action(async (paths: string[], opts: { seed?: string; junit?: string; out?: string; force?: boolean; live?: boolean }) => {
    process.exitCode = await testCommand(paths, opts);
    // A live run's finished clients may leave keep-alive timers behind: the command is done.
    if (opts.live === true) process.exit(process.exitCode);
  });

program
  .command('viz')
  .description('run a scenario paced to wall time and watch it live in a browser (express + socket.io)')
  .argument('<file>', 'scenario file (YAML)')
  .option('--port <p>', 'port to listen on (0: any free port)', '8077')
  .option('--host <h>', 'address to listen on', '127.0.0.1')
  .option('--seed <n>', "seed for every random draw (default: the scenario's seed)")
  .option('--speed <x>', 'simulated seconds per wall second: 1, 10, any positive number, or max', '1')
  .option('--duration <d>', "simulated time, e.g. 60s (default: the scenario's duration)")
  .option('--force', 'run even when the pre-flight estimates more memory than this machine has')
  .action((file: string, opts) => vizCommand(file, opts));

program
  .command('compare')
  .description("the twin's fidelity: a sim run's figures beside a live run's of the same scenario, each against its target; exit 1 when one is outside")
  .argument('<simDir>', 'the --out folder of `meshtwin run` (summary.json, series.csv)')
  .argument('<liveDir>', 'the --out folder of `meshtwin live` on the same scenario')
  .option('--json <file>', 'also write the rows as JSON')
  .action((simDir: string, liveDir: string, opts: { json?: string }) => {
    process.exitCode = compareCommand(simDir, liveDir, opts);
  });

program
  .command('explore')
  .description('run a scenario under random fault schedules with the invariant checker; shrink and write the first failing one (exit 1)')
  .argument('<file>', "scenario file (YAML); its own faults are replaced by each run's schedule")
  .option('--runs <n>', `how many schedules to try (default: ${DEFAULT_RUNS})`)
  .option('--seed <n>', 'seed the run seeds derive from (default: 1)')
  .option('--out <dir>', `where to write a failing run's scenario files (default: ${DEFAULT_EXPLORE_OUT})`)
  .option('--duration <d>', "simulated time of each run, e.g. 10s (default: the scenario's duration)")
  .option('--replay <runSeed>', 'run only the run with this run seed (as a violation prints it)')
  .option('--force', 'run even when the pre-flight estimates more memory or time per run than this machine has')
  .option('--shard <I/N>', "run only shard I of N (0-based; run i is shard i mod N), stop at its first failing run and write DIR/shard.json for meshtwin merge (exit 0: the verdict is merge's)")
  .action((file: string, opts: { runs?: string; seed?: string; out?: string; duration?: string; replay?: string; force?: boolean; shard?: string }) => {
    process.exitCode = exploreCommand(file, opts);
  });

program
  .command('merge')
  .description(
    'join the --out folders of `sweep --shard I/N` (or `explore --shard I/N`) runs into the report one machine would have written; refuses shards of different inputs, duplicates and missing shards',
  )
  .argument('<outDir>', "where to write the merged report (sweep: sweep.json, sweep.csv, sweep.html, steps/; explore: the failing run's files)")
  .argument('<shardDirs...>', "the shards' --out folders, each holding shard.json")
  .action((outDir: string, shardDirs: string[]) => {
    process.exitCode = mergeCommand(outDir, shardDirs);
  });

const collect = (v: string, acc: string[] | undefined) => [...(acc ?? []), v];

program
  .command('sweep')
  .description('run a scenario over a range of one parameter (two: a grid) in parallel, chart the figures a planner watches and find the breaking point')
  .argument('<file>', 'scenario file (YAML)')
  .option(
    '--vary <PATH=FROM..TO>',
    'a key of the file and its range, in the file\'s units (repeat once for a grid), e.g. "publishers[0].rate=100000/s..2000000/s", "links[0].bandwidth=1Gbps..10Gbps", "subscribers[1].count=1000..100000", "faults[0].at=5s..20s"',
    collect,
  )
  .option('--steps <k>', `values per --vary, FROM and TO included (default ${DEFAULT_STEPS})`)
  .option('--scale <s>', 'linear (default) or log spacing of the values')
  .option(
    '--until <expr>',
    "what must hold at a step, in the language of expect: (repeatable; all must hold); the breaking point is the first step where it does not (default: no link over 90% utilization, no drop, the scenario's own latency assertions)",
    collect,
  )
  .option('--duration <d>', "simulated time of each step, e.g. 2s (default: the scenario's duration); written into each step's file")
  .option('--parallel <p>', 'worker threads (default: availableParallelism(), fewer when the runs would not fit in memory); the results do not depend on it')
  .option('--out <dir>', `where to write sweep.json, sweep.csv, sweep.html and steps/ (default: ${DEFAULT_SWEEP_OUT})`)
  .option('--shard <I/N>', 'run only shard I of N (0-based; step k is shard k mod N) and write DIR/shard.json for meshtwin merge; in a Kubernetes Indexed Job: --shard $(JOB_COMPLETION_INDEX)/N')
  .option('--dry-run', 'check everything and list the steps, run nothing')
  .option('--force', 'run even when the pre-flight estimates more memory or time per step than this machine has')
  .addHelpText(
    'after',
    `
Examples:
  meshtwin sweep scenarios/seed-global-3-region.yaml --vary 'publishers[0].rate=400000/s..10M/s' --steps 9 --duration 100ms
  meshtwin sweep scenarios/slow-link.yaml --vary 'links[0].bandwidth=16Mbps..4Mbps' --scale log --until 'latency.crossRegion.p99 < 200ms'
  meshtwin sweep scenarios/slow-link.yaml --vary 'publishers[0].rate=1000/s..2600/s' --vary 'links[0].rtt=100ms..300ms' --steps 4

Each step is the file with the value(s) written in (DIR/steps/step-N.yaml; meshtwin run --no-heap replays it to the
same summary), run with the scenario's own seed: the same inputs give the same sweep.json whatever --parallel or --shard,
but for wall times. Sweep in the direction of growing load (rates up, bandwidth down): the breaking point is the first
step where --until fails. Output: a table on stdout, DIR/sweep.json, sweep.csv, sweep.html (d3, self-contained).
Exit 0 when it ran (a breaking point or none is a result), 2 on bad usage.`,
  )
  .action(async (file: string, opts: SweepCommandOptions) => {
    process.exitCode = await sweepCommand(file, opts);
  });

program
  .command('bench')
  .description(
    'measure the kernel, the subscription trie and the seed scenario on this machine, the seed against the previous release and the ns-3 peer in the same run; --live: real broker processes on loopback',
  )
  .option('--json [file]', 'print one JSON object instead of a table; with a file, print the table and write the JSON (every figure, its direction and noise band) there')
  .option('--quick', 'smaller workloads (for a fast check, not for figures)')
  .option('--compare <old.json>', 'compare every figure with an earlier --json file: exit 1 when one regressed beyond the noise bands')
  .option('--against <new.json>', 'with --compare: compare two files, measuring nothing')
  .option('--peer', 'run the ns-3 peer even when ns-3 is not installed (its run.sh installs it, as root)')
  .option('--peer-dir <dir>', 'the ns-3 peer (run.sh, wanmesh.cc, wan-only.yaml); default: ../shared/peers/ns3 beside the checkout')
  .option('--live', 'live brokers: one, two over mTLS, two over plain TCP; realtime and guaranteed at a fixed offered rate, then max throughput; then the MQTT section')
  .option('--rate <n>', 'with --live: offered events per second (default 250)')
  .option('--duration <s>', 'with --live: seconds measured per fixed-rate run (default 10)')
  .option('--mqtt', "with --live: only the MQTT section (ours vs Debian's mosquitto, one and two brokers, QoS 0 and 1)")
  .option('--mqtt-rate <n>', 'with --live: MQTT messages per second offered in the fixed-rate runs (default 20000)')
  .action(async (opts: BenchCompareOptions & { live?: boolean; rate?: string; duration?: string; mqtt?: boolean; mqttRate?: string }) => {
    if (opts.live === true) {
      if (typeof opts.json === 'string' || opts.compare !== undefined || opts.against !== undefined || opts.peer !== undefined || opts.peerDir !== undefined)
        throw new CliError('--json FILE, --compare, --against, --peer and --peer-dir apply to bench without --live');
      await benchLiveCommand({ ...opts, json: opts.json === true });
    } else if (opts.rate !== undefined || opts.duration !== undefined || opts.mqtt === true || opts.mqttRate !== undefined)
      throw new CliError('--rate, --duration, --mqtt and --mqtt-rate apply to bench --live only');
    else process.exitCode = await benchCommand(opts);
  });

program
  .command('certs')
  .description('make a mesh CA and a certificate per broker and client for live mode (mutual TLS between brokers)')
  .requiredOption('--out <dir>', 'folder for ca.pem, ca.key, <name>.pem and <name>.key (files are never overwritten)')
  .requiredOption('--brokers <ids>', 'broker ids, comma-separated, e.g. us-1,eu-1,ap-1')
  .option('--clients <names>', 'client names, comma-separated')
  .option('--days <n>', 'validity in days (default 365)')
  .action(async (opts: CertsOptions) => {
    for (const line of await certsCommand(opts)) process.stdout.write(`${line}\n`);
  });

program
  .command('explain')
  .description('why an event did or did not reach a broker or region: every gate (policy, interest, selectors, routes, hop limit, subscriptions) in the order the engine applies it')
  .argument('[scenario]', 'scenario file, simulated up to --at (or --live for a running mesh)')
  .requiredOption('--from <broker>', 'the publishing broker')
  .requiredOption('--topic <topic>', "the event's topic")
  .requiredOption('--to <target>', 'a broker id or a region id')
  .option('--at <time>', 'simulated time to ask at, e.g. 5s (default: the end of the scenario)')
  .option('--seed <n>', "seed (default: the scenario's)")
  .option('--header <name=value>', 'an event header (repeatable): numbers and true/false as such', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--type <type>', 'CloudEvents type (default com.meshtwin.event)')
  .option('--principal <principal>', 'who publishes (default anonymous)')
  .option('--guaranteed', 'the guaranteed delivery class (default realtime)')
  .option('--data <json>', "the event's data (JSON), checked against the schemas that apply")
  .option('--live <urls>', "a running mesh: its brokers' HTTP edges, comma-separated")
  .option('--json', 'the gates as JSON')
  .action(async (file: string | undefined, opts: ExplainOptions) => {
    for (const line of await explainCommand(file, opts)) process.stdout.write(`${line}\n`);
  });

program
  .command('hash-secret')
  .description('hash a secret for a broker config (auth.users[].hash), or make an API token (auth.tokens)')
  .argument('[secret]', "the password to hash (an MQTT user's); give --token instead to make a token")
  .option('--token <name>', 'make a new API token NAME.SECRET: prints the token (for the client) and its config entry')
  .action(async (secret: string | undefined, opts: { token?: string }) => {
    for (const line of await hashSecretCommand(secret, opts)) process.stdout.write(`${line}\n`);
  });

program
  .command('broker')
  .description('run one live broker: the engine on real sockets, linked to its peers over mutual TLS (see examples/live/)')
  .requiredOption('--config <file>', 'broker config (YAML): id, dataDir, mesh (listen, peers, tls), edge (http, grpc), routing, controlPlane')
  .action((opts: BrokerOptions) => brokerCommand(opts));

program
  .command('subscribe')
  .description('subscribe to a live broker and print each event as a JSON line (WebSocket or gRPC edge)')
  .option('--ws <url>', "the broker's HTTP edge, e.g. http://127.0.0.1:8003")
  .option('--grpc <host:port>', "the broker's gRPC edge, e.g. 127.0.0.1:9002")
  .requiredOption('--pattern <pattern>', 'topic pattern (MQTT syntax: + one level, # the rest; $share/GROUP/ for a consumer group)')
  .option('--filter <selector>', 'SQL-like selector over the event\'s headers, e.g. "amountCents > 1000"')
  .option('--durable <name>', 'a durable session (WebSocket): kept by the broker across disconnects and restarts')
  .option('--count <n>', 'exit after n events')
  .option('--token <token>', "an API token (NAME.SECRET) when the broker's auth asks for one")
  .action(async (opts: SubscribeOptions) => {
    await subscribeCommand(opts);
    // A closed WebSocket or gRPC channel can leave a keep-alive timer behind: the command is done.
    process.exit(0);
  });

program
  .command('trace')
  .description("print one event's trace from the control plane store (message_trace_logs): its routing path, hops and latencies")
  .argument('<eventId>', "the event's id (CloudEvents id)")
  .option('--config <file>', "a broker config: its controlPlane's server, or its embedded store (asked over HTTP while the broker runs)")
  .option('--url <url>', 'a PostgreSQL server, postgres://USER@HOST:PORT/DATABASE')
  .option('--data-dir <dir>', "a stopped broker's dataDir (its embedded store)")
  .option('--json', 'print the trace as JSON')
  .action(async (eventId: string, opts: TraceOptions) => {
    process.exitCode = await traceCommand(eventId, opts);
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander already printed its one-line message (or the help text).
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else if (e instanceof ScenarioError || e instanceof CliError) {
    process.stderr.write(`meshtwin: ${e.message}\n`);
    process.exitCode = 2;
  } else {
    throw e;
  }
}
