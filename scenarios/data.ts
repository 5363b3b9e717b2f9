/**
 * Publisher data templates: a publisher's `data:` is a JSON value whose strings are templates
 * (the header placeholders, scenarios/template.ts [TPL-1]); each event's payload is it rendered
 * as JSON text.
 *
 * [DATA-1] A string that is one numeric placeholder (`"{rand:20000}"`, `"{n}"`) renders as a
 * number, any other string as a string; numbers, booleans, null and object keys are as written.
 * [DATA-2] Compiled once into JSON text pieces and holes; a render concatenates them (no object is
 * built, nothing is parsed), and a template without placeholders renders once.
 * [DATA-3] Random placeholders draw from the stream's seeded source left to right, in the order
 * the YAML writes them, so a seed gives the same payloads run after run.
 */
import { type CompiledTemplate, compileTemplate, HEADER_PLACEHOLDERS, isTemplateError, type TemplateContext } from './template.ts';

/** A JSON path inside the data (keys and list indexes), for messages. */
export type DataPath = ReadonlyArray<string | number>;

export interface DataTemplate {
  /** No placeholders: every render is the same text. */
  readonly isConstant: boolean;
  /** The payload's JSON text for this context [DATA-1]. */
  render(ctx: TemplateContext): string;
}

type Part = string | CompiledTemplate;

class Compiled implements DataTemplate {
  readonly isConstant: boolean;
  readonly #constant: string;

  constructor(readonly parts: readonly Part[]) {
    this.isConstant = parts.every((p) => typeof p === 'string');
    this.#constant = this.isConstant ? parts.join('') : '';
  }

  render(ctx: TemplateContext): string {
    if (this.isConstant) return this.#constant;
    let out = '';
    for (const p of this.parts) {
      if (typeof p === 'string') out += p;
      else {
        const v = p.renderValue(ctx);
        out += typeof v === 'number' ? String(v) : JSON.stringify(v);
      }
    }
    return out;
  }
}

/** [DATA-2] Compiles a data template, or says where and why it does not compile. */
export function compileData(value: unknown): DataTemplate | { readonly error: string; readonly path: DataPath } {
  const parts: Part[] = [];
  const literal = (text: string): void => {
    const last = parts[parts.length - 1];
    if (typeof last === 'string') parts[parts.length - 1] = last + text;
    else parts.push(text);
  };
  const walk = (v: unknown, path: (string | number)[]): { error: string; path: DataPath } | null => {
    if (typeof v === 'string') {
      const t = compileTemplate(v, HEADER_PLACEHOLDERS);
      if (isTemplateError(t)) return { error: `${JSON.stringify(v)} (${t.error})`, path };
      if (t.isConstant) literal(JSON.stringify(t.render(CONSTANT_CTX)));
      else parts.push(t);
      return null;
    }
    if (v === null || typeof v === 'number' || typeof v === 'boolean') {
      literal(JSON.stringify(v));
      return null;
    }
    if (Array.isArray(v)) {
      literal('[');
      for (let i = 0; i < v.length; i++) {
        if (i > 0) literal(',');
        const bad = walk(v[i], [...path, i]);
        if (bad !== null) return bad;
      }
      literal(']');
      return null;
    }
    if (typeof v === 'object') {
      literal('{');
      let first = true;
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        literal(`${first ? '' : ','}${JSON.stringify(k)}:`);
        first = false;
        const bad = walk(x, [...path, k]);
        if (bad !== null) return bad;
      }
      literal('}');
      return null;
    }
    return { error: `a JSON value, found ${typeof v}`, path };
  };
  const bad = walk(value, []);
  return bad ?? new Compiled(parts);
}

const CONSTANT_CTX: TemplateContext = { n: 0, i: 0, region: '', broker: '', rand: () => 0 };
