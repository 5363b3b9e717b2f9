/**
 * A live run's figures from the brokers' own /metrics [LIVE-X1..3].
 *
 * [LIVE-X1] Prometheus text is read into (name, labels) → value; a series is keyed by its name
 *           and its labels in sorted order, so the same series has the same key in every scrape.
 * [LIVE-X2] Counters live as long as the process: a broker that crashes and restarts starts again
 *           from zero. The totals add each life's last scrape (taken just before the crash) to
 *           the current one.
 * [LIVE-X3] Window figures (link bytes and frames) are differences between two totals, taken at
 *           t0 and at the end of the window, as the simulator counts bytes sent inside it.
 */

export type Sample = ReadonlyMap<string, number>;

/** `name{a="x",b="y"}` with labels sorted. */
export function seriesKey(name: string, labels: Readonly<Record<string, string>> = {}): string {
  const ks = Object.keys(labels).sort();
  return ks.length === 0 ? name : `${name}{${ks.map((k) => `${k}="${labels[k]}"`).join(',')}}`;
}

/** [LIVE-X1] Prometheus text exposition → key → value (comments and unparseable lines skipped). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{([^}]*)\})? (\S+)/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.set(seriesKey(m[1] as string, labels), Number(m[3]));
  }
  return out;
}

/** One broker's counters over all its lives [LIVE-X2]. */
export class BrokerCounters {
  #base = new Map<string, number>();
  #latest: Sample = new Map();
  readonly #peaks = new Map<string, number>();

  /**
   * A new scrape of the running process. A restart is known to whoever restarts it (`retire` at
   * the crash), not guessed from a counter that went down: a broker's counter read from a value
   * that can shrink would otherwise double every total.
   */
  update(sample: Sample): void {
    this.#latest = sample;
    for (const [k, v] of sample) if (v > (this.#peaks.get(k) ?? Number.NEGATIVE_INFINITY)) this.#peaks.set(k, v);
  }

  /** A gauge's highest value in any scrape (0 when never seen). */
  peak(name: string, labels: Readonly<Record<string, string>> = {}): number {
    return this.#peaks.get(seriesKey(name, labels)) ?? 0;
  }

  /** The process is gone (crash): its last scrape becomes part of the base. */
  retire(): void {
    for (const [k, v] of this.#latest) if (isCounter(k)) this.#base.set(k, (this.#base.get(k) ?? 0) + v);
    this.#latest = new Map();
  }

  /** A counter summed over lives (labels must match exactly). */
  total(name: string, labels: Readonly<Record<string, string>> = {}): number {
    const k = seriesKey(name, labels);
    return (this.#base.get(k) ?? 0) + (this.#latest.get(k) ?? 0);
  }

  /** A gauge's latest value (0 when absent). */
  gauge(name: string, labels: Readonly<Record<string, string>> = {}): number {
    return this.#latest.get(seriesKey(name, labels)) ?? 0;
  }

  /** Every counter key with this name, summed over lives: label-set key → value. */
  byLabel(name: string, label: string): Map<string, number> {
    const out = new Map<string, number>();
    const prefix = `${name}{`;
    const add = (k: string, v: number): void => {
      if (!k.startsWith(prefix)) return;
      const m = new RegExp(`${label}="([^"]*)"`).exec(k);
      if (m !== null) out.set(m[1] as string, (out.get(m[1] as string) ?? 0) + v);
    };
    for (const [k, v] of this.#base) add(k, v);
    for (const [k, v] of this.#latest) add(k, v);
    return out;
  }
}

/** Prometheus names counters `…_total`: only they add up over lives (gauges go down and up). */
function isCounter(key: string): boolean {
  const brace = key.indexOf('{');
  return (brace < 0 ? key : key.slice(0, brace)).endsWith('_total');
}

/** Fetches a broker's /metrics (null when it does not answer within `ms`). */
export async function scrape(http: number, ms = 2000): Promise<Map<string, number> | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${http}/metrics`, { signal: AbortSignal.timeout(ms) });
    if (res.status !== 200) return null;
    return parseMetrics(await res.text());
  } catch {
    return null;
  }
}
