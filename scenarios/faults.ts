/**
 * Faults in scenario files: what each action takes, and the way back from `FaultSpec` to YAML.
 *
 * [FAULT-1] A fault is `at` plus exactly one action key; the action decides which other keys it
 * may have (`FAULT_ACTIONS`, the one table both the loader and `faultToYaml` read). A key that
 * belongs to another action is an error, e.g. `rate` on a link-down.
 * [FAULT-2] `faultToYaml` is the loader's inverse: loading what it writes gives an equal
 * FaultSpec (load.test.ts checks every action), so a tool can write replayable scenario files.
 */
import type { FaultAction, FaultSpec } from './types.ts';
import { bandwidthText, durationText, rateText } from './units.ts';

/** What an action's own key holds. */
export type FaultTargetKind =
  /** Two broker ids joined by a link: `[us-1, eu-1]`. */
  | 'link'
  /** One broker id: `eu-1` (crash/restart also take HA backup ids). */
  | 'broker'
  /** Region ids: `[ap-southeast-1]`. */
  | 'regions'
  /** Region ids, or `all` (target []). */
  | 'regions-or-all';

/** The keys a fault may have besides `at` and its action. */
export type FaultOption = 'loss' | 'rtt' | 'jitter' | 'bandwidth' | 'pattern' | 'rate' | 'for' | 'detect';

export interface FaultActionRule {
  readonly target: FaultTargetKind;
  /** Keys this action may have besides `at` and itself, in the order they are written. */
  readonly options: readonly FaultOption[];
  /** Keys it must have. */
  readonly required: readonly FaultOption[];
  /** At least one of these keys (empty: no such rule). */
  readonly oneOf: readonly FaultOption[];
}

/** [FAULT-1] Every action, in the order messages list them. */
export const FAULT_ACTIONS: Readonly<Record<FaultAction, FaultActionRule>> = {
  'link-down': { target: 'link', options: ['detect'], required: [], oneOf: [] },
  'link-up': { target: 'link', options: ['detect'], required: [], oneOf: [] },
  crash: { target: 'broker', options: [], required: [], oneOf: [] },
  restart: { target: 'broker', options: [], required: [], oneOf: [] },
  partition: { target: 'regions', options: ['detect'], required: [], oneOf: [] },
  heal: { target: 'regions-or-all', options: ['detect'], required: [], oneOf: [] },
  degrade: { target: 'link', options: ['loss', 'rtt', 'jitter', 'bandwidth', 'for'], required: [], oneOf: ['loss', 'rtt', 'jitter', 'bandwidth'] },
  'slow-consumer': { target: 'broker', options: ['pattern', 'rate', 'for'], required: ['rate'], oneOf: [] },
};

/** The action names, in table order. */
export const FAULT_ACTION_NAMES = Object.keys(FAULT_ACTIONS) as FaultAction[];

/** Every option key any action takes. */
export const FAULT_OPTIONS: readonly FaultOption[] = ['loss', 'rtt', 'jitter', 'bandwidth', 'pattern', 'rate', 'for', 'detect'];

/** Which FaultSpec field holds each option, and how it is written. */
const OPTION_FIELDS: Readonly<Record<FaultOption, { field: keyof FaultSpec; write: (v: never) => unknown }>> = {
  loss: { field: 'loss', write: (v: number) => v },
  rtt: { field: 'rttMs', write: durationText },
  jitter: { field: 'jitterMs', write: durationText },
  bandwidth: { field: 'bandwidthBps', write: bandwidthText },
  pattern: { field: 'pattern', write: (v: string) => v },
  rate: { field: 'ratePerSec', write: rateText },
  for: { field: 'forMs', write: durationText },
  detect: { field: 'detect', write: (v: string) => v },
};

/**
 * [FAULT-2] The YAML object form of a fault, with unit strings:
 * `{ at: '20s', 'link-down': ['us-2', 'ap-1'] }`,
 * `{ at: '5s', degrade: ['us-1', 'eu-1'], loss: 0.05, rtt: '300ms', for: '10s' }`,
 * `{ at: '30s', heal: 'all' }`. Keys come in the order `at`, action, then the action's options.
 * Throws a RangeError for a FaultSpec the loader could not have produced (a field its action
 * does not take, or a target of the wrong shape): the file written would not load.
 */
export function faultToYaml(f: FaultSpec): Record<string, unknown> {
  const rule = FAULT_ACTIONS[f.action];
  if (rule === undefined) throw new RangeError(`faultToYaml: unknown action ${JSON.stringify(f.action)}`);
  const out: Record<string, unknown> = { at: durationText(f.atMs) };
  const wrongTarget = (what: string): never => {
    throw new RangeError(`faultToYaml: ${f.action} takes ${what}, got target ${JSON.stringify(f.target)}`);
  };
  switch (rule.target) {
    case 'link':
      if (f.target.length !== 2) wrongTarget('two broker ids');
      out[f.action] = [...f.target];
      break;
    case 'broker':
      if (f.target.length !== 1) wrongTarget('one broker id');
      out[f.action] = f.target[0];
      break;
    case 'regions':
      if (f.target.length === 0) wrongTarget('at least one region id');
      out[f.action] = [...f.target];
      break;
    case 'regions-or-all':
      out[f.action] = f.target.length === 0 ? 'all' : [...f.target];
      break;
    default: {
      const never: never = rule.target;
      throw new RangeError(`faultToYaml: unknown target kind ${String(never)}`);
    }
  }
  for (const option of FAULT_OPTIONS) {
    const { field } = OPTION_FIELDS[option];
    if (f[field] !== undefined && !rule.options.includes(option)) throw new RangeError(`faultToYaml: ${field} does not apply to ${f.action}`);
  }
  for (const option of rule.options) {
    const { field, write } = OPTION_FIELDS[option];
    const value = f[field];
    if (value !== undefined) out[option] = write(value as never);
  }
  return out;
}
