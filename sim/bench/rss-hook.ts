/**
 * Preloaded into the bench's meshtwin child processes (`node --import`): when the process exits,
 * writes its peak resident set size (getrusage's ru_maxrss, in KiB, as GNU time's %M reports it)
 * to the file named by MESHTWIN_BENCH_RSS_FILE. A preload, so it measures any version of the CLI,
 * the previous release's included, without that version knowing about it.
 */
import { writeFileSync } from 'node:fs';

const file = process.env['MESHTWIN_BENCH_RSS_FILE'];
if (file !== undefined && file !== '') process.on('exit', () => writeFileSync(file, `${process.resourceUsage().maxRSS}\n`));
