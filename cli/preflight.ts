/**
 * The pre-flight as the commands run it (sim/preflight): warnings to stderr, the first error as
 * one line and exit 2 (a CliError), and where the report goes checked before the run, not after.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Scenario } from '../scenarios/types.ts';
import { preflight, type CostEstimate, type PreflightOptions } from '../sim/preflight/index.ts';
import { CliError } from './options.ts';

/** Runs the pre-flight; prints its warnings; throws CliError on its first error. */
export function checkBeforeRun(scenario: Scenario, opts: PreflightOptions, stderr: NodeJS.WritableStream = process.stderr): CostEstimate | undefined {
  const r = preflight(scenario, opts);
  for (const w of r.warnings) stderr.write(`meshtwin: warning: ${w}\n`);
  if (r.errors.length > 0) throw new CliError(r.errors[0]!);
  return r.estimate;
}

/**
 * [PRE-7] `flag`'s folder can hold the report: an existing folder we may write in, or a path whose
 * nearest existing parent is one (it will be created). Checked before the run.
 */
export function checkOutDir(flag: string, dir: string): void {
  let p = resolve(dir);
  let missing = false;
  for (;;) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new CliError(`${flag}: expected a folder to write into, found ${JSON.stringify(dir)} unreadable (${code ?? 'error'})`);
      const up = dirname(p);
      if (up === p) throw new CliError(`${flag}: expected a folder to write into, found ${JSON.stringify(dir)} with no existing parent`);
      p = up;
      missing = true;
      continue;
    }
    if (!st.isDirectory()) {
      const what = p === resolve(dir) ? 'a file' : `inside ${JSON.stringify(p)}, which is a file`;
      throw new CliError(`${flag}: expected a folder to write the report into (or one that can be created), found ${JSON.stringify(dir)}, ${what}`);
    }
    try {
      accessSync(p, constants.W_OK);
    } catch {
      throw new CliError(`${flag}: expected a folder we may write into, found ${JSON.stringify(missing ? p : dir)} not writable`);
    }
    return;
  }
}

/** `flag`'s file can be written: its folder is (or can be created), and it is not a folder. */
export function checkOutFile(flag: string, file: string): void {
  try {
    if (statSync(file).isDirectory()) throw new CliError(`${flag}: expected a file to write, found ${JSON.stringify(file)}, a folder`);
  } catch (e) {
    if (e instanceof CliError) throw e;
  }
  checkOutDir(flag, dirname(file));
}
