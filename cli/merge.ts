/**
 * `meshtwin merge OUT_DIR SHARD_DIR...`: joins the shard folders of one sweep or one explore
 * (each a `--shard I/N` run's --out, holding shard.json) into the report one machine would have
 * written [SHARD-3].
 *
 * - sweep: OUT_DIR gets sweep.json, sweep.csv, sweep.html (identical to an unsharded run's but
 *   for `run` and each step's wallSeconds [SWEEP-8]) and every step's scenario under steps/;
 *   stdout is the unsharded run's table and breaking point. Exit 0.
 * - explore: the lowest-index failing run across the shards [EXPLORE-6], printed as an unsharded
 *   explore prints it, its two scenario files copied into OUT_DIR; exit 1 as explore's is. No
 *   failing run: "N runs, 0 violations", exit 0.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { buildReport, type StepRecord, type SweepInputs } from '../sim/sweep/report.ts';
import type { ExploreInputs, ExploreShardResult } from './explore.ts';
import { shrunkLines, violationLines } from './explore.ts';
import { CliError } from './options.ts';
import { checkOutDir } from './preflight.ts';
import { readShards, type ShardFile } from './shard.ts';
import { type SweepShardResult, sweepStdout, writeSweepReport } from './sweep.ts';

/** Runs the command; returns the exit code. */
export function mergeCommand(outDir: string, dirs: readonly string[]): number {
  // Writing the report into a shard's folder would replace the shard with it.
  const into = dirs.find((d) => resolve(d) === resolve(outDir));
  if (into !== undefined) throw new CliError(`merge: OUT_DIR ${outDir} is one of the shard folders; write the merged report elsewhere`);
  const shards = readShards(dirs);
  checkOutDir('OUT_DIR', outDir);
  const kind = shards[0]?.file.command;
  if (kind === 'sweep') return mergeSweep(outDir, shards as Array<{ dir: string; file: ShardFile<SweepShardResult> }>);
  return mergeExplore(outDir, shards as Array<{ dir: string; file: ShardFile<ExploreShardResult> }>);
}

function mergeSweep(outDir: string, shards: ReadonlyArray<{ dir: string; file: ShardFile<SweepShardResult> }>): number {
  const first = (shards[0] as { file: ShardFile<SweepShardResult> }).file;
  const total = first.result.totalSteps;
  const records: StepRecord[] = [];
  const from = new Map<number, string>();
  for (const s of shards) {
    for (const r of s.file.result.steps) {
      if (from.has(r.index)) throw new CliError(`merge: step ${r.step} is in ${from.get(r.index)} and in ${s.dir}`);
      if (r.index % s.file.shard.count !== s.file.shard.index) throw new CliError(`merge: ${s.dir} (shard ${s.file.shard.index}/${s.file.shard.count}) holds step ${r.step}, another shard's`);
      from.set(r.index, s.dir);
      records.push(r);
    }
  }
  const missing = Array.from({ length: total }, (_, i) => i).filter((i) => !from.has(i));
  if (missing.length > 0) throw new CliError(`merge: step${missing.length === 1 ? '' : 's'} ${missing.map((i) => i + 1).join(', ')} of ${total} in no shard (did a shard stop early?)`);
  const report = buildReport(
    {
      command: first.result.command,
      inputs: first.inputs as unknown as SweepInputs,
      axes: first.result.axes,
      condition: first.result.condition,
      totalSteps: total,
      run: {
        wallSeconds: Math.max(...shards.map((s) => Number(s.file.run.wallSeconds ?? 0))),
        parallel: shards.reduce((a, s) => a + Number(s.file.run.parallel ?? 1), 0),
        shards: shards.length,
      },
    },
    records,
  );
  writeSweepReport(outDir, report);
  // The step scenarios, from the shard that ran each.
  let copied = 0;
  for (const r of report.steps) {
    const src = join(from.get(r.index) as string, r.file);
    if (!existsSync(src)) continue;
    const dst = join(outDir, r.file);
    mkdirSync(dirname(dst), { recursive: true });
    copyFileSync(src, dst);
    copied++;
  }
  if (copied < report.steps.length)
    process.stderr.write(`meshtwin: warning: ${report.steps.length - copied} step scenario files were not in their shard folders; sweep.json has every step's values\n`);
  process.stdout.write(`${sweepStdout(report, outDir)}\n`);
  process.stdout.write(`(merged from ${shards.length} shards: ${shards.map((s) => s.dir).join(', ')})\n`);
  return 0;
}

function mergeExplore(outDir: string, shards: ReadonlyArray<{ dir: string; file: ShardFile<ExploreShardResult> }>): number {
  const inputs = (shards[0] as { file: ShardFile<ExploreShardResult> }).file.inputs as unknown as ExploreInputs;
  const ran = shards.reduce((a, s) => a + s.file.result.done, 0);
  const failing = shards.filter((s) => s.file.result.failure !== null).sort((a, b) => (a.file.result.failure?.index ?? 0) - (b.file.result.failure?.index ?? 0));
  const wall = Math.max(...shards.map((s) => Number(s.file.run.wallSeconds ?? 0)));
  const note = `(merged from ${shards.length} shards, which ran ${ran} run${ran === 1 ? '' : 's'} in all)`;
  const winner = failing[0];
  if (winner === undefined) {
    if (ran !== inputs.runs) throw new CliError(`merge: the shards ran ${ran} of ${inputs.runs} runs with no violation (did a shard stop early?)`);
    process.stdout.write(`${inputs.runs} run${inputs.runs === 1 ? '' : 's'}, 0 violations (seed ${inputs.seed}, ${wall.toFixed(0)} s)\n${note}\n`);
    return 0;
  }
  const f = winner.file.result.failure as NonNullable<ExploreShardResult['failure']>;
  mkdirSync(outDir, { recursive: true });
  const original = join(outDir, f.files.original);
  const small = join(outDir, f.files.shrunk);
  for (const [name, dst] of [
    [f.files.original, original],
    [f.files.shrunk, small],
  ] as const) {
    const src = join(winner.dir, name);
    if (!existsSync(src)) throw new CliError(`merge: ${src} is missing (shard ${winner.file.shard.index}/${winner.file.shard.count} wrote it with its first failing run)`);
    // The file's replay comment names where it was written: here now.
    writeFileSync(dst, readFileSync(src, 'utf8').replaceAll(src, dst));
  }
  const replayHint = `meshtwin explore ${inputs.file} --replay ${f.runSeed}${inputs.duration === null ? '' : ` --duration ${inputs.duration}`}`;
  const lines = [
    ...violationLines(`run ${f.index + 1} of seed ${inputs.seed}`, replayHint, { invariant: f.invariant, message: f.message }, f.runSeed, f.violations, f.counts, f.schedule),
    ...shrunkLines(f.invariant, f.shrunk, original, small),
    `${f.index + 1} run${f.index === 0 ? '' : 's'}, 1 violation (seed ${inputs.seed}, ${wall.toFixed(0)} s)`,
    note,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 1;
}
