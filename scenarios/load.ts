/**
 * Loads a scenario file: YAML → schema check → units, defaults, cross-references → `Scenario`.
 * The loader is the folder scenarios/load/, one concept per file:
 *   errors.ts    ScenarioError and its wording [LOAD-1]
 *   source.ts    positions in the YAML document
 *   schema.ts    the JSON Schema check and its messages [LOAD-2]
 *   topology.ts  regions, brokers, HA pairs, links [LOAD-4]
 *   workload.ts  publishers, subscribers, templates, selectors [LOAD-5]
 *   faults.ts    faults and their sequence [LOAD-3]
 *   routing.ts   routing and model settings: one table of defaults [LOAD-6]
 *   acl.ts       policy entries, compiled as the engine will [LOAD-8]
 *   document.ts  YAML text → data and positions, size and alias bounds [LOAD-7]
 *   parse.ts     entry points
 * This file keeps the public API in one place.
 */
export { closest, formatPath, ScenarioError, type ScenarioErrorInit, type ScenarioPath } from './load/errors.ts';
export { MAX_ALIASES, MAX_FLOW_DEPTH, MAX_SCENARIO_BYTES } from './load/document.ts';
export { loadScenario, parseScenario, positionOf } from './load/parse.ts';
export { defaultRouting, MODEL_DEFAULTS, ROUTING_DEFAULTS } from './load/routing.ts';
