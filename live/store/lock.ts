/**
 * One broker per dataDir [DUR-6]: two processes appending to one log would interleave records and
 * corrupt it. A broker takes `dataDir/LOCK` (created exclusively, holding its PID) before it opens
 * the log and removes it when it stops. A lock whose process is gone (a kill -9 leaves one
 * behind) is stale and taken over; one whose process is alive refuses the start.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const LOCK_FILE = 'LOCK';

/** Whether process `pid` exists (EPERM: it does, as another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `dir`'s lock; resolves with its release. Throws (one line) when another live process holds it. */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  try {
    return await take(dir);
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith(`dataDir ${dir}`) ? msg : `dataDir ${dir}: ${msg}`);
  }
}

async function take(dir: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o644);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return () => rm(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new Error(`dataDir ${dir} is in use by process ${pid} (one broker per dataDir: a second would corrupt its log)`);
      }
      // Stale: its process is gone.
      await rm(path, { force: true });
    }
  }
  throw new Error(`dataDir ${dir}: could not take ${LOCK_FILE}`);
}
