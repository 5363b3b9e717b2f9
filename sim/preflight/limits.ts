/**
 * [PRE-5] What this machine can do, and the bounds the pre-flight holds a run to.
 * A run is refused (exit 2, one line, `--force` overrides) when its estimated peak heap is above
 * MEMORY_FRACTION of the V8 heap limit (or of the machine's memory, if that is smaller), when its
 * estimated wall time is above MAX_WALL_SECONDS (6 h), or when the weighted deliveries would
 * overflow the latency histograms' counts (MAX_DELIVERIES: hdr-histogram-js counts to 2^53).
 * A run estimated above WARN_WALL_SECONDS (10 min) gets a warning line.
 */
import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';

export const MEMORY_FRACTION = 0.8;
export const MAX_WALL_SECONDS = 6 * 3600;
export const WARN_WALL_SECONDS = 600;
/** Deliveries counted in one histogram, with margin below 2^53 (the overflow point). */
export const MAX_DELIVERIES = 2 ** 50;

/** V8's heap limit for this process (node --max-old-space-size moves it). */
export function v8HeapLimitBytes(): number {
  return getHeapStatistics().heap_size_limit;
}

/** The memory a run may use: MEMORY_FRACTION of the smaller of the V8 heap limit and the machine's memory. */
export function memoryBudgetBytes(): number {
  return MEMORY_FRACTION * Math.min(v8HeapLimitBytes(), totalmem());
}
