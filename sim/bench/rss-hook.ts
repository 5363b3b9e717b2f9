/**
 * Preloaded into the bench's meshtwin child processes (`node --import`): when the process exits,
 * writes its peak resident set size (getrusage's ru_maxrss, in KiB, as GNU time's %M reports it)
 * to the file named by MESHTWIN_BENCH_RSS_FILE. A preload, so it measures any version of the CLI,
 * the previous release's included, without that version knowing about it.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.env['MESHTWIN_BENCH_RSS_FILE'];
// A launcher that re-runs itself (bin/meshtwin.js) passes the hook on: both processes write at
// exit, the child first, so the file keeps the larger peak.
if (file !== undefined && file !== '') {
  process.on('exit', () => {
    let before = 0;
    try {
      before = Number(readFileSync(file, 'utf8')) || 0;
    } catch {
      // first writer
    }
    writeFileSync(file, `${Math.max(before, process.resourceUsage().maxRSS)}\n`);
  });
}
