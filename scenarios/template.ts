/**
 * Templates for topics, header values and subscription patterns in scenario files.
 *
 * [TPL-1] Placeholders:
 *   {n}              a counter (the publisher's event number)
 *   {i}              the pattern index, 0..patterns-1 (subscriber patterns)
 *   {region}         the region id of the publishing/subscribing broker
 *   {broker}         the broker id
 *   {choice:a|b|c}   a uniform pick among the options (one rand() draw)
 *   {rand:N}         a uniform integer in 0..N-1 (one rand() draw)
 * `{{` and `}}` are a literal `{` and `}`.
 *
 * [TPL-2] Each context allows only some placeholders (topics and headers: n, region, broker,
 * choice, rand; patterns: i, region, broker); anything else is rejected at compile time.
 *
 * [TPL-3] Compiling parses once into an array of literal/placeholder parts; rendering walks that
 * array (no regex, no parsing). Rendering calls `ctx.rand()` exactly once per random placeholder,
 * left to right, so a seeded source gives the same strings run after run.
 */

/** Every placeholder name the template language knows. */
export type PlaceholderName = 'n' | 'i' | 'region' | 'broker' | 'choice' | 'rand';

const KNOWN: readonly PlaceholderName[] = ['n', 'i', 'region', 'broker', 'choice', 'rand'];

/** Placeholders a publisher's topic may use. */
export const TOPIC_PLACEHOLDERS: readonly PlaceholderName[] = ['n', 'region', 'broker', 'choice', 'rand'];
/** Placeholders a publisher's header value may use. */
export const HEADER_PLACEHOLDERS: readonly PlaceholderName[] = ['n', 'region', 'broker', 'choice', 'rand'];
/** Placeholders a subscriber's pattern may use. */
export const PATTERN_PLACEHOLDERS: readonly PlaceholderName[] = ['i', 'region', 'broker'];

/** One piece of a compiled template. */
export type TemplatePart =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'n' }
  | { readonly kind: 'i' }
  | { readonly kind: 'region' }
  | { readonly kind: 'broker' }
  | { readonly kind: 'choice'; readonly options: readonly string[] }
  | { readonly kind: 'rand'; readonly n: number };

/** What a render sees. `rand` returns a float in [0, 1) from the run's seeded source. */
export interface TemplateContext {
  readonly n: number;
  readonly i: number;
  readonly region: string;
  readonly broker: string;
  readonly rand: () => number;
}

/** A template parsed once, rendered many times. */
export interface CompiledTemplate {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
  /** The placeholder names the template uses (each once, in order of first use). */
  readonly placeholders: readonly PlaceholderName[];
  /** No placeholders at all: every render returns the same string, so callers may cache it. */
  readonly isConstant: boolean;
  /** How many `{choice:…}`/`{rand:N}` parts there are: the rand() draws per render. */
  readonly randomPlaceholders: number;
  /** The template's string for this context. */
  render(ctx: TemplateContext): string;
  /**
   * For header values: a lone numeric placeholder (`{n}`, `{i}`, `{rand:N}`) yields a number,
   * anything else the rendered string.
   */
  renderValue(ctx: TemplateContext): string | number;
}

/** Why a template did not compile; `position` is the 0-based index in the source. */
export interface TemplateError {
  readonly error: string;
  readonly position: number;
}

/** True when compileTemplate returned an error. */
export function isTemplateError(t: CompiledTemplate | TemplateError): t is TemplateError {
  return 'error' in t;
}

/** `{n}, {region}, {choice:a|b}` for messages. */
export function describePlaceholders(names: readonly PlaceholderName[]): string {
  return names.map((p) => (p === 'choice' ? '{choice:a|b}' : p === 'rand' ? '{rand:N}' : `{${p}}`)).join(', ');
}

function pick(r: number, n: number): number {
  // Guard a source that returns exactly 1 (or slightly above through float error).
  const k = Math.floor(r * n);
  return k >= n ? n - 1 : k < 0 ? 0 : k;
}

class Template implements CompiledTemplate {
  readonly isConstant: boolean;
  readonly randomPlaceholders: number;
  readonly placeholders: readonly PlaceholderName[];
  private readonly constant: string;
  private readonly numeric: boolean;

  constructor(
    readonly source: string,
    readonly parts: readonly TemplatePart[],
  ) {
    const names: PlaceholderName[] = [];
    let random = 0;
    for (const p of parts) {
      if (p.kind === 'literal') continue;
      if (!names.includes(p.kind)) names.push(p.kind);
      if (p.kind === 'choice' || p.kind === 'rand') random++;
    }
    this.placeholders = names;
    this.randomPlaceholders = random;
    this.isConstant = names.length === 0;
    this.constant = this.isConstant ? parts.map((p) => (p.kind === 'literal' ? p.text : '')).join('') : '';
    const only = parts.length === 1 ? parts[0]! : undefined;
    this.numeric = only !== undefined && (only.kind === 'n' || only.kind === 'i' || only.kind === 'rand');
  }

  render(ctx: TemplateContext): string {
    if (this.isConstant) return this.constant;
    let out = '';
    const parts = this.parts;
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k]!;
      switch (p.kind) {
        case 'literal':
          out += p.text;
          break;
        case 'n':
          out += ctx.n;
          break;
        case 'i':
          out += ctx.i;
          break;
        case 'region':
          out += ctx.region;
          break;
        case 'broker':
          out += ctx.broker;
          break;
        case 'choice':
          out += p.options[pick(ctx.rand(), p.options.length)]!;
          break;
        case 'rand':
          out += pick(ctx.rand(), p.n);
          break;
        default: {
          const never: never = p;
          throw new Error(`unreachable template part ${String(never)}`);
        }
      }
    }
    return out;
  }

  renderValue(ctx: TemplateContext): string | number {
    if (!this.numeric) return this.render(ctx);
    const p = this.parts[0]!;
    if (p.kind === 'n') return ctx.n;
    if (p.kind === 'i') return ctx.i;
    if (p.kind === 'rand') return pick(ctx.rand(), p.n);
    return this.render(ctx);
  }
}

/** "<what> at character K[; <more>]" */
function err(what: string, position: number, more?: string): TemplateError {
  return { error: `${what} at character ${position + 1}${more === undefined ? '' : `; ${more}`}`, position };
}

/**
 * [TPL-1] Parses `src` once. `allowed` lists the placeholder names legal in this context
 * (TOPIC_PLACEHOLDERS, HEADER_PLACEHOLDERS, PATTERN_PLACEHOLDERS). Returns the compiled template
 * or `{ error, position }` naming the first problem: an unknown or disallowed placeholder, a
 * missing `}`, a stray `}`, an argument where none is taken, a bad `{rand:N}` or `{choice:…}`.
 */
export function compileTemplate(src: string, allowed: readonly string[]): CompiledTemplate | TemplateError {
  const parts: TemplatePart[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal !== '') parts.push({ kind: 'literal', text: literal });
    literal = '';
  };
  let k = 0;
  while (k < src.length) {
    const c = src[k]!;
    if (c === '}') {
      if (src[k + 1] === '}') {
        literal += '}';
        k += 2;
        continue;
      }
      return err('a "}" without its "{"', k, 'write "}}" for a literal "}"');
    }
    if (c !== '{') {
      literal += c;
      k++;
      continue;
    }
    if (src[k + 1] === '{') {
      literal += '{';
      k += 2;
      continue;
    }
    const close = src.indexOf('}', k + 1);
    const reopen = src.indexOf('{', k + 1);
    if (close === -1 || (reopen !== -1 && reopen < close)) {
      return err('a "{" without its "}"', k, 'write "{{" for a literal "{"');
    }
    const body = src.slice(k + 1, close);
    const colon = body.indexOf(':');
    const name = (colon === -1 ? body : body.slice(0, colon)).trim();
    const arg = colon === -1 ? undefined : body.slice(colon + 1);
    const shown = `"{${body}}"`;
    if (!(KNOWN as readonly string[]).includes(name)) {
      const legal = KNOWN.filter((p) => allowed.includes(p));
      return err(`unknown placeholder ${shown}`, k, `allowed here: ${describePlaceholders(legal)}`);
    }
    const pname = name as PlaceholderName;
    if (!allowed.includes(pname)) {
      const legal = KNOWN.filter((p) => allowed.includes(p));
      return err(`placeholder ${shown}`, k, `not allowed here; allowed here: ${describePlaceholders(legal)}`);
    }
    let part: TemplatePart;
    switch (pname) {
      case 'n':
      case 'i':
      case 'region':
      case 'broker':
        if (arg !== undefined) return err(`placeholder ${shown}`, k, `it takes no argument; write "{${pname}}"`);
        part = { kind: pname };
        break;
      case 'choice': {
        if (arg === undefined || arg === '') return err(`placeholder ${shown}`, k, 'it needs options, such as "{choice:a|b|c}"');
        const options = arg.split('|');
        if (options.some((o) => o === '')) return err(`placeholder ${shown}`, k, 'it has an empty option');
        part = { kind: 'choice', options };
        break;
      }
      case 'rand': {
        const n = arg === undefined ? NaN : /^\s*\d+\s*$/.test(arg) ? Number(arg) : NaN;
        if (!Number.isSafeInteger(n) || n < 1) {
          return err(`placeholder ${shown}`, k, 'it needs a whole number N ≥ 1, such as "{rand:100}"');
        }
        part = { kind: 'rand', n };
        break;
      }
      default: {
        const never: never = pname;
        throw new Error(`unreachable placeholder ${String(never)}`);
      }
    }
    flush();
    parts.push(part);
    k = close + 1;
  }
  flush();
  return new Template(src, parts);
}
