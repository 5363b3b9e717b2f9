/**
 * `--shard I/N` for sweep and explore, and the shard file `meshtwin merge` joins [SHARD-1..3].
 *
 * [SHARD-1] `--shard I/N` (0 <= I < N) runs only step (or run) k with k mod N = I. The index is
 *           given on the command line: a Kubernetes Indexed Job passes it as
 *           `--shard $(JOB_COMPLETION_INDEX)/N` (Kubernetes expands `$(VAR)` in a container's
 *           args), so one flag serves every scheduler and there is no second way to say it.
 * [SHARD-2] A shard writes `shard.json` into its --out folder: which shard it is, the inputs
 *           (the scenario file's SHA-256 and every argument that shapes the result) and its
 *           results. Nothing in it depends on where or how fast the shard ran, but `run`.
 * [SHARD-3] merge refuses, in one line, shards of different commands or inputs, of different
 *           shard counts, a shard given twice, and a missing shard.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './options.ts';

export interface Shard {
  readonly index: number;
  readonly count: number;
}

export const SHARD_FORMAT = 'meshtwin-shard/1';
export const SHARD_FILE = 'shard.json';

/** [SHARD-2] What a shard writes. */
export interface ShardFile<R = unknown> {
  readonly format: typeof SHARD_FORMAT;
  readonly command: 'sweep' | 'explore';
  readonly shard: Shard;
  /** The file (path as given, and its SHA-256) and the arguments that shape the result. */
  readonly inputs: { readonly file: string; readonly fileSha256: string } & Readonly<Record<string, unknown>>;
  readonly result: R;
  /** How it ran (wall time, threads): not compared. */
  readonly run: Readonly<Record<string, unknown>>;
}

/** [SHARD-1] `--shard I/N`. */
export function shardOption(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (m === null) throw new CliError(`--shard: expected I/N, this shard's index (0-based) over the number of shards, e.g. 0/4, found ${JSON.stringify(text)}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 10_000) throw new CliError(`--shard: expected 1 to 10000 shards, found ${count} in ${JSON.stringify(text)}`);
  if (index >= count) throw new CliError(`--shard: expected an index from 0 to ${count - 1} (shards are numbered from 0), found ${index} in ${JSON.stringify(text)}`);
  return { index, count };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function writeShard(dir: string, shard: ShardFile): string {
  const path = join(dir, SHARD_FILE);
  writeFileSync(path, `${JSON.stringify(shard, null, 2)}\n`);
  return path;
}

function readOne(dir: string): ShardFile {
  const path = join(dir, SHARD_FILE);
  if (!existsSync(path)) throw new CliError(`merge: ${dir} has no ${SHARD_FILE} (give the --out folders of \`meshtwin sweep --shard\` or \`meshtwin explore --shard\` runs)`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(`merge: ${path} is not JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const f = data as Partial<ShardFile>;
  if (
    f === null ||
    typeof f !== 'object' ||
    f.format !== SHARD_FORMAT ||
    (f.command !== 'sweep' && f.command !== 'explore') ||
    typeof f.shard?.index !== 'number' ||
    typeof f.inputs?.fileSha256 !== 'string'
  ) {
    throw new CliError(`merge: ${path} is not a meshtwin shard file (expected "format": "${SHARD_FORMAT}")`);
  }
  return f as ShardFile;
}

const show = (v: unknown): string => {
  const t = JSON.stringify(v);
  return t.length > 60 ? `${t.slice(0, 57)}…` : t;
};

/** [SHARD-3] The shards in `dirs`, checked to be one complete set of the same run, ordered by index. */
export function readShards(dirs: readonly string[]): Array<{ dir: string; file: ShardFile }> {
  if (dirs.length === 0) throw new CliError('merge: expected one or more shard folders after OUT_DIR');
  const shards = dirs.map((dir) => ({ dir, file: readOne(dir) }));
  const first = shards[0] as { dir: string; file: ShardFile };
  for (const s of shards.slice(1)) {
    if (s.file.command !== first.file.command) throw new CliError(`merge: ${first.dir} is a ${first.file.command} shard, ${s.dir} a ${s.file.command} shard`);
    if (s.file.shard.count !== first.file.shard.count) throw new CliError(`merge: ${first.dir} is one of ${first.file.shard.count} shards, ${s.dir} one of ${s.file.shard.count}`);
    // The file's path may differ between machines; its content and the arguments may not.
    const keys = new Set([...Object.keys(first.file.inputs), ...Object.keys(s.file.inputs)]);
    keys.delete('file');
    for (const k of keys) {
      const a = first.file.inputs[k];
      const b = s.file.inputs[k];
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        const what = k === 'fileSha256' ? 'scenario file (SHA-256)' : k;
        throw new CliError(`merge: shards of different inputs: ${first.dir} has ${what} ${show(a)}, ${s.dir} has ${show(b)}`);
      }
    }
  }
  const n = first.file.shard.count;
  const seen = new Map<number, string>();
  for (const s of shards) {
    const other = seen.get(s.file.shard.index);
    if (other !== undefined) throw new CliError(`merge: shard ${s.file.shard.index}/${n} given twice (${other} and ${s.dir})`);
    seen.set(s.file.shard.index, s.dir);
  }
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length > 0) {
    throw new CliError(
      `merge: missing shard${missing.length === 1 ? '' : 's'} ${missing.map((i) => `${i}/${n}`).join(', ')} (have ${[...seen.keys()].sort((a, b) => a - b).join(', ')} of 0..${n - 1})`,
    );
  }
  return shards.sort((a, b) => a.file.shard.index - b.file.shard.index);
}
