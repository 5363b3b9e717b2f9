/**
 * What a browser may ask of the live server, checked before anything acts on it. Every message
 * arrives from a socket anyone on the page's network can open, so each one is validated here —
 * event name, argument count, types, ranges, object keys — and a bad one becomes one line for
 * the client that sent it, never an exception in the server.
 *
 * [VIZ-CTRL-1] Only the events in CONTROLS are accepted; any other name is an error.
 * [VIZ-CTRL-2] Each control takes exactly its arguments (the ack, when the client asked for
 *              one, is taken off first): a missing, extra or mistyped one is an error.
 * [VIZ-CTRL-3] Objects must be plain, with only the keys listed; `__proto__`, `constructor` and
 *              other unknown keys are errors, and only own properties are ever read.
 * [VIZ-CTRL-4] Strings are bounded (ids to ID_MAX characters); a value quoted back in an error is
 *              cut to QUOTE_MAX characters.
 */

/** A control a client asked for, valid in shape (whether it applies is the session's call). */
export type Control =
  | { readonly kind: 'pause' }
  | { readonly kind: 'resume' }
  | { readonly kind: 'speed'; readonly speed: number }
  | { readonly kind: 'fault'; readonly action: string; readonly target: readonly string[] }
  | { readonly kind: 'restart'; readonly seed: number };

export type Parsed = { readonly ok: true; readonly control: Control } | { readonly ok: false; readonly error: string };

/** Longest broker id or fault action accepted. */
export const ID_MAX = 100;
/** Longest quotation of a client's value in an error. */
export const QUOTE_MAX = 60;
/** Speeds a client may ask for (simulated seconds per wall second), besides "max". */
export const SPEED_MIN = 0.01;
export const SPEED_MAX = 10_000;

/** A client's value, quoted for an error line: JSON where it has one, cut short. */
export function quote(value: unknown): string {
  let text: string;
  if (typeof value === 'number') text = String(value);
  else if (value === undefined) text = 'nothing';
  else if (typeof value === 'function') text = 'a function';
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return text.length > QUOTE_MAX ? `${text.slice(0, QUOTE_MAX)}… (${text.length} characters)` : text;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/** The own keys of `v` not in `allowed`, as an error, or null. */
function unknownKeys(event: string, v: Record<string, unknown>, allowed: readonly string[]): string | null {
  const extra = Object.keys(v).filter((k) => !allowed.includes(k));
  if (extra.length === 0) return null;
  return `${event}: unknown field ${quote(extra[0])} (expected only ${allowed.join(', ')})`;
}

const own = (v: Record<string, unknown>, k: string): unknown => (Object.hasOwn(v, k) ? v[k] : undefined);

/** One row per control: its arguments' description (for errors) and their parser. */
const CONTROLS: Readonly<Record<string, { readonly usage: string; readonly arity: number; readonly parse: (args: readonly unknown[]) => Parsed }>> = {
  pause: { usage: 'no argument', arity: 0, parse: () => ({ ok: true, control: { kind: 'pause' } }) },
  resume: { usage: 'no argument', arity: 0, parse: () => ({ ok: true, control: { kind: 'resume' } }) },
  speed: {
    usage: `one argument: a number ${SPEED_MIN}..${SPEED_MAX} or "max"`,
    arity: 1,
    parse: ([v]) => {
      if (v === 'max') return { ok: true, control: { kind: 'speed', speed: Infinity } };
      if (typeof v === 'number' && Number.isFinite(v) && v >= SPEED_MIN && v <= SPEED_MAX) return { ok: true, control: { kind: 'speed', speed: v } };
      return { ok: false, error: `speed: expected a positive number (${SPEED_MIN}..${SPEED_MAX}) or "max", found ${quote(v)}` };
    },
  },
  fault: {
    usage: 'one argument: { action, target: [ids] }',
    arity: 1,
    parse: ([v]) => {
      const shape = { ok: false, error: 'fault: expected { action, target: [ids] }' } as const;
      if (!isPlainObject(v)) return shape;
      const extra = unknownKeys('fault', v, ['action', 'target']);
      if (extra !== null) return { ok: false, error: extra };
      const action = own(v, 'action');
      const target = own(v, 'target');
      if (typeof action !== 'string' || !Array.isArray(target)) return shape;
      if (action.length > ID_MAX) return { ok: false, error: `fault: action longer than ${ID_MAX} characters: ${quote(action)}` };
      if (target.length < 1 || target.length > 2) return { ok: false, error: `fault: target names one broker or the two ends of a link, found ${target.length} entries` };
      for (const id of target) {
        if (typeof id !== 'string' || id.length === 0) return { ok: false, error: `fault: target ids are non-empty strings, found ${quote(id)}` };
        if (id.length > ID_MAX) return { ok: false, error: `fault: broker id longer than ${ID_MAX} characters: ${quote(id)}` };
      }
      return { ok: true, control: { kind: 'fault', action, target: [...(target as string[])] } };
    },
  },
  restart: {
    usage: 'one argument: { seed }',
    arity: 1,
    parse: ([v]) => {
      if (!isPlainObject(v)) return { ok: false, error: `restart: expected { seed }, found ${quote(v)}` };
      const extra = unknownKeys('restart', v, ['seed']);
      if (extra !== null) return { ok: false, error: extra };
      const seed = own(v, 'seed');
      if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) return { ok: false, error: `restart: expected an integer seed, found ${quote(seed)}` };
      return { ok: true, control: { kind: 'restart', seed } };
    },
  },
};

/** The events a client may send. */
export const CONTROL_EVENTS: readonly string[] = Object.keys(CONTROLS);

/** Checks one message: its event name and its arguments (the ack already taken off). */
export function parseControl(event: unknown, args: readonly unknown[]): Parsed {
  if (typeof event !== 'string' || !Object.hasOwn(CONTROLS, event)) {
    return { ok: false, error: `unknown event ${quote(event)} (expected one of ${CONTROL_EVENTS.join(', ')})` };
  }
  const row = CONTROLS[event] as (typeof CONTROLS)[string];
  if (args.length !== row.arity) return { ok: false, error: `${event}: expected ${row.usage}, found ${args.length} argument${args.length === 1 ? '' : 's'}` };
  return row.parse(args);
}

/**
 * A token bucket: `burst` messages at once, then `perSecond`. One per client, so a client that
 * floods the server with controls (each one a notice to every viewer) is answered with errors.
 */
export class RateLimit {
  private tokens: number;
  private at: number;
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: () => number,
  ) {
    this.tokens = burst;
    this.at = clock();
  }

  take(): boolean {
    const now = this.clock();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
