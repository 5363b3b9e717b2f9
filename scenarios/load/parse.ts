/**
 * The loader's entry points: file → text → YAML document → schema check → `Scenario`.
 *
 * [LOAD-1] Every problem is one ScenarioError (load/errors.ts); never a stack trace, never a
 * half-built scenario.
 * [LOAD-2] Sources of errors, in the order they are checked: the file's size, YAML syntax (the
 * yaml package's own position), aliases, the JSON Schema (load/schema.ts), then units,
 * templates, patterns, selectors and cross-references (topology, workload, faults, routing), then
 * the schemas and publishers' data against each other [LOAD-8].
 * [LOAD-7] Bounded work before anything is built: a file over MAX_SCENARIO_BYTES (1 MiB; the
 * largest shipped scenario is 3 KB) is refused by its size before it is read — the yaml parser
 * reads about 0.2 MB/s of flow lists on this machine (a 1.4 MB file of 150,000 broker ids took
 * 6.6 s, 15 MB took 52 s), so 1 MiB bounds parsing to seconds; flow collections nested deeper
 * than MAX_FLOW_DEPTH are refused by a scan before parsing (100,000 levels took the parser
 * 2.4 s); aliases are checked in one pass over the document (linear in its size; yaml's own
 * `alias.resolve` walks the whole document per alias) and at most MAX_ALIASES are expanded;
 * nesting deeper than the parser's stack is an error, not a RangeError.
 */
import { checkAssertionSyntax } from '../expect.ts';
import { resolveAcl } from './acl.ts';
import { resolveRoutes } from './routes.ts';
import type { Scenario } from '../types.ts';
import { quote, type ScenarioPath } from './errors.ts';
import { type DocumentKind, readYaml, readYamlFile } from './document.ts';
import { resolveFaults } from './faults.ts';
import type { RawScenario } from './raw.ts';
import { resolveModel, resolveRouting } from './routing.ts';
import { checkSchema } from './schema.ts';
import { resolveData, resolveSchemas } from './schemas.ts';
import type { Source } from './source.ts';
import { resolveTopology } from './topology.ts';
import { resolvePublishers, resolveSubscribers } from './workload.ts';

const SCENARIO: DocumentKind = {
  noun: 'a scenario',
  empty: 'a scenario (a map with name, duration, regions, …)',
  tooBigHint: 'describe large populations with count: and patterns:, not one entry each',
};

/** [LOAD-1] Parses scenario YAML `text`; `file` is used in messages. Throws ScenarioError. */
export function parseScenario(text: string, file: string): Scenario {
  const { src, data } = readYaml(text, file, SCENARIO);
  checkSchema(src, data);
  return resolve(src, data as RawScenario);
}

/** Where each loaded scenario came from, for messages about it after loading (the pre-flight). */
const SOURCES = new WeakMap<Scenario, Source>();

/**
 * The line and column of `path` in the file `s` was loaded from (1:1 when unknown, e.g. a
 * scenario built in code or copied with another duration).
 */
export function positionOf(s: Scenario, path: ScenarioPath): { line: number; column: number } {
  return SOURCES.get(s)?.position(path, 'value') ?? { line: 0, column: 0 };
}

/** [LOAD-3] Units, defaults and every cross-reference; throws at the first problem. */
function resolve(src: Source, raw: RawScenario): Scenario {
  const s = resolveUnmapped(src, raw);
  SOURCES.set(s, src);
  return s;
}

function resolveUnmapped(src: Source, raw: RawScenario): Scenario {
  const durationMs = src.dur(['duration'], raw.duration, '0s');
  if (durationMs <= 0) throw src.error(['duration'], 'value', 'a duration above zero, such as "10s"', quote(raw.duration));
  const warmupMs = src.dur(['warmup'], raw.warmup, '2s');
  const topo = resolveTopology(src, raw);
  const schemas = resolveSchemas(src, raw.schemas ?? []);
  const publishers = resolveData(src, raw, topo, resolvePublishers(src, raw, topo, durationMs), schemas.registry);
  const { subscribers, templates } = resolveSubscribers(src, raw, topo);
  const faults = resolveFaults(src, raw, topo, durationMs, templates);
  const routing = resolveRouting(src, raw);
  const model = resolveModel(src, raw);

  // [EXPECT-1] Assertion syntax and units are checked on load; field names against the run's
  // summary shape by the pre-flight (sim/preflight).
  (raw.expect ?? []).forEach((text, i) => {
    const bad = checkAssertionSyntax(text);
    if (bad !== null) throw src.error(['expect', i], 'value', bad.expected, `${bad.found} at column ${bad.column} of ${quote(text)}`);
  });

  const acl = resolveAcl(src, raw.acl ?? []);
  const routes = resolveRoutes(src, raw.routes ?? [], topo.regions);

  return {
    name: raw.name,
    seed: raw.seed ?? 1,
    durationMs,
    warmupMs,
    regions: topo.regions,
    links: topo.links,
    publishers,
    subscribers,
    faults,
    expect: [...(raw.expect ?? [])],
    acl,
    routes,
    schemas: schemas.specs,
    routing,
    model,
    file: src.file,
  };
}

/** [LOAD-1] Reads and parses a scenario file. Throws ScenarioError (also when unreadable or too big). */
export function loadScenario(file: string): Scenario {
  return parseScenario(readYamlFile(file, SCENARIO), file);
}
