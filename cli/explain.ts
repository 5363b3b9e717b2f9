/**
 * `meshtwin explain` [EXPLAIN-5..7]: why an event did, or did not, reach a broker or region —
 * every gate in the order the engine applies it, from the state the brokers hold:
 *   meshtwin explain SCENARIO --at 5s --from us-1 --topic orders/ap/1 --header amountCents=50 --to ap-southeast-1
 *   meshtwin explain --live http://127.0.0.1:8001,http://127.0.0.1:8002,http://127.0.0.1:8003 --from us-1 --topic ... --to ap-1
 * A simulated scenario is run (seeded) up to --at; a live mesh is asked broker by broker over
 * HTTP (`/v1/explain`, live/edge/explain.ts). Prints a table and a verdict (or JSON with --json).
 */
import type { GateResult, PublishInput } from '../engine/broker.ts';
import { type Explanation, type ExplainSource, explainEvent } from '../engine/explain.ts';
import { validateTopic } from '../engine/topic.ts';
import type { HeaderValue } from '../engine/types.ts';
import { loadScenario } from '../scenarios/load.ts';
import { explainInScenario } from '../sim/explain.ts';
import { CliError, durationOption, seedOption } from './options.ts';

export interface ExplainOptions {
  readonly from: string;
  readonly topic: string;
  readonly to: string;
  readonly at?: string;
  readonly seed?: string;
  readonly header?: readonly string[];
  readonly type?: string;
  readonly principal?: string;
  readonly guaranteed?: boolean;
  readonly live?: string;
  readonly data?: string;
  readonly json?: boolean;
}

/** `--header k=v` (repeatable): numbers and true/false as such, the rest strings. */
export function parseHeaders(items: readonly string[]): Record<string, HeaderValue> {
  const out: Record<string, HeaderValue> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CliError(`--header: expected NAME=VALUE, found ${JSON.stringify(item)}`);
    const v = item.slice(eq + 1);
    out[item.slice(0, eq)] = v === 'true' ? true : v === 'false' ? false : v !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return out;
}

function eventOf(opts: ExplainOptions): Omit<PublishInput, 'publishedAtMs'> {
  const bad = validateTopic(opts.topic);
  if (bad !== null) throw new CliError(`--topic: ${JSON.stringify(opts.topic)}: ${bad}`);
  return {
    id: 'explain',
    source: '/explain',
    type: opts.type ?? 'com.meshtwin.event',
    topic: opts.topic,
    headers: parseHeaders(opts.header ?? []),
    payload: opts.data === undefined ? new Uint8Array(0) : new TextEncoder().encode(opts.data),
    guaranteed: opts.guaranteed === true,
    ...(opts.principal === undefined ? {} : { principal: opts.principal }),
  };
}

export async function explainCommand(file: string | undefined, opts: ExplainOptions): Promise<string[]> {
  const event = eventOf(opts);
  if ((file === undefined) === (opts.live === undefined)) throw new CliError('give a scenario file (simulated) or --live URL,URL,… (the brokers of a running mesh), one of the two');
  let title: string;
  let explanations: readonly Explanation[];
  if (file !== undefined) {
    const scenario = loadScenario(file);
    const atMs = opts.at === undefined ? scenario.durationMs : durationOption('--at', opts.at);
    const seed = opts.seed === undefined ? scenario.seed : seedOption(opts.seed);
    const brokers = scenario.regions.flatMap((r) => r.brokers);
    if (!brokers.includes(opts.from)) throw new CliError(`--from: no broker ${JSON.stringify(opts.from)} in ${file} (brokers: ${brokers.join(', ')})`);
    const to = targetsOf(
      opts.to,
      scenario.regions.map((r) => ({ id: r.id, brokers: r.brokers })),
    );
    const r = await explainInScenario(scenario, seed, { atMs, from: opts.from, to, input: event });
    title = `at ${(r.atMs / 1000).toFixed(3)} s of ${scenario.name} (simulated, seed ${seed})`;
    explanations = r.explanations;
  } else {
    const live = await liveSource((opts.live as string).split(',').filter((u) => u !== ''));
    if (!live.brokers.has(opts.from)) throw new CliError(`--from: none of the --live brokers is ${JSON.stringify(opts.from)} (they are ${[...live.brokers.keys()].join(', ')})`);
    const regions = [...live.regions].map(([id, brokers]) => ({ id, brokers }));
    const to = targetsOf(opts.to, regions);
    const input: PublishInput = { ...event, publishedAtMs: Date.now() };
    explanations = [];
    for (const t of to) (explanations as Explanation[]).push(await explainEvent(live.source, input, opts.from, t));
    title = `live, asking ${[...live.brokers.keys()].join(', ')}`;
  }
  if (opts.json === true) return [JSON.stringify({ event: { ...event, payload: undefined }, explanations }, null, 2)];
  return render(title, event, explanations);
}

/** A broker id, or a region's id (its brokers). */
function targetsOf(to: string, regions: ReadonlyArray<{ id: string; brokers: readonly string[] }>): string[] {
  const region = regions.find((r) => r.id === to);
  if (region !== undefined) return [...region.brokers];
  if (regions.some((r) => r.brokers.includes(to))) return [to];
  throw new CliError(`--to: no broker or region ${JSON.stringify(to)} (regions: ${regions.map((r) => `${r.id} [${r.brokers.join(', ')}]`).join(', ')})`);
}

/** Each URL's broker, then an ExplainSource over HTTP. */
async function liveSource(urls: readonly string[]): Promise<{ source: ExplainSource; brokers: Map<string, string>; regions: Map<string, string[]> }> {
  const brokers = new Map<string, string>();
  const hopLimits = new Map<string, number>();
  const regions = new Map<string, string[]>();
  for (const raw of urls) {
    let base: URL;
    try {
      base = new URL(raw);
    } catch {
      throw new CliError(`--live: expected URLs such as http://127.0.0.1:8001, found ${JSON.stringify(raw)}`);
    }
    const me = (await ask(base, '/v1/explain')) as { id: string; hopLimit: number; region?: string };
    brokers.set(me.id, base.href);
    hopLimits.set(me.id, me.hopLimit);
    const region = me.region ?? me.id;
    regions.set(region, [...(regions.get(region) ?? []), me.id]);
  }
  const url = (id: string): URL => new URL(brokers.get(id) as string);
  const source: ExplainSource = {
    hopLimit: async (id) => hopLimits.get(id) ?? null,
    origin: async (id, input, dest) => ((await ask(url(id), '/v1/explain/origin', { input: wire(input), dest })) as { gates: GateResult[] }).gates,
    hop: async (id, dest, hopsLeft, guaranteed) => (await ask(url(id), '/v1/explain/hop', { dest, hopsLeft, guaranteed })) as { gates: GateResult[]; next: string | null },
    local: async (id, input) => ((await ask(url(id), '/v1/explain/local', { input: wire(input) })) as { gates: GateResult[] }).gates,
  };
  return { source, brokers, regions };
}

function wire(input: PublishInput): Record<string, unknown> {
  return {
    topic: input.topic,
    type: input.type,
    source: input.source,
    headers: input.headers,
    guaranteed: input.guaranteed === true,
    data: new TextDecoder().decode(input.payload),
    ...(input.principal === undefined ? {} : { principal: input.principal }),
  };
}

async function ask(base: URL, path: string, body?: unknown): Promise<unknown> {
  const where = new URL(path, base);
  let res: Response;
  try {
    res = await fetch(
      where,
      body === undefined ? { signal: AbortSignal.timeout(5000) } : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) },
    );
  } catch (e) {
    throw new CliError(`${where.host}: ${(e as Error).message} (is a broker running there?)`);
  }
  const text = await res.text();
  if (res.status !== 200) throw new CliError(`${where.host}${path}: HTTP ${res.status}: ${text.trim().slice(0, 200)}`);
  return JSON.parse(text);
}

function render(title: string, event: Omit<PublishInput, 'publishedAtMs'>, explanations: readonly Explanation[]): string[] {
  const headers = Object.entries(event.headers).map(([k, v]) => `${k}=${String(v)}`);
  const out = [
    `meshtwin explain — ${event.topic}, ${title}`,
    `event: type ${event.type}, principal ${event.principal ?? 'anonymous'}, ${event.guaranteed === true ? 'guaranteed' : 'realtime'}${headers.length === 0 ? '' : `, headers ${headers.join(' ')}`}`,
  ];
  for (const x of explanations) {
    out.push('', `from ${x.from} to ${x.to}`);
    const rows = x.gates.map((g) => [g.broker, g.gate, g.pass ? 'pass' : 'STOP', g.why]);
    const w = [0, 1, 2].map((i) => Math.max(['at', 'gate', 'verdict'][i]?.length ?? 0, ...rows.map((r) => (r[i] as string).length)));
    const line = (r: readonly string[]) => `  ${r.map((c, i) => (i < 3 ? c.padEnd(w[i] as number) : c)).join('  ')}`;
    out.push(line(['at', 'gate', 'verdict', 'why']));
    for (const r of rows) out.push(line(r));
    out.push(`=> ${x.verdict}`);
  }
  return out;
}
