/** CSV files beside summary.json: links, brokers, latency and a per-second series. */
import { stringify } from 'csv-stringify/sync';
import type { RunResult } from '../sim/run.ts';

export interface CsvFile {
  readonly name: string;
  readonly text: string;
}

export function toCsvFiles(r: RunResult): CsvFile[] {
  const links = stringify(
    r.links.map((l) => ({
      from: l.from,
      to: l.to,
      wan: l.wan,
      mbpsAvg: l.mbpsAvg,
      mbpsPeak: l.mbpsPeak,
      utilizationPeak: l.utilizationPeak,
      bytes: l.bytes,
      frames: l.frames,
      dataBytes: l.dataBytes,
      controlBytes: l.controlBytes,
      warmupBytes: l.warmupBytes,
      bandwidthBps: l.bandwidthBps,
      rttMs: l.rttMs,
      queueWaitMsMean: l.queueWaitMsMean,
      queueWaitMsMax: l.queueWaitMsMax,
      droppedLoss: l.droppedLoss,
      droppedQueue: l.droppedQueue,
      droppedDown: l.droppedDown,
      // Added columns go last, so a reader that goes by position still finds the old ones.
      codecDataBytes: l.codecDataBytes,
      codecControlBytes: l.codecControlBytes,
    })),
    { header: true },
  );
  const brokers = stringify(
    r.brokers.map((b) => ({
      id: b.id,
      region: b.region,
      routingEntries: b.routingEntries,
      routingTableBytes: b.routingTableBytes,
      routingTableBytesSource: b.routingTableBytesSource,
      routingTableBytesCounted: b.routingTableBytesCounted,
      localPatterns: b.localPatterns,
      remotePatterns: b.remotePatterns,
      connections: b.connections,
      connectionBytes: b.connectionBytes,
      published: b.published,
      deliveries: b.deliveries,
      dropped: b.dropped,
      dataFramesSent: b.dataFramesSent,
      dataFramesReceived: b.dataFramesReceived,
      filteredAtEdge: b.filteredAtEdge,
      droppedNoRoute: b.droppedNoRoute,
      droppedLoop: b.droppedLoop,
      droppedHopLimit: b.droppedHopLimit,
      consumerQueuePeak: b.consumerQueuePeak,
      spoolPeakBytes: b.spoolPeakBytes,
      ledgerEntries: b.ledgerEntries,
      acksSent: b.acksSent,
      acksReceived: b.acksReceived,
      refusedSpoolFull: b.refusedSpoolFull,
      groupSharesMoved: b.groupSharesMoved,
      policyVersion: b.policyVersion,
      schemasVersion: b.schemasVersion,
      schemaValidated: b.schemaValidated,
      invalidData: b.invalidData,
    })),
    { header: true },
  );
  const latency = stringify(
    (['local', 'crossRegion'] as const).map((k) => ({ class: k, ...r.latencyMs[k] })),
    { header: true },
  );
  const seriesRows = [];
  for (let s = 0; s < r.series.seconds; s++) {
    const row: Record<string, number> = {
      second: s + 1,
      published: r.series.published[s] ?? 0,
      delivered: r.series.delivered[s] ?? 0,
      localP50Ms: r.series.localP50[s] ?? 0,
      localP99Ms: r.series.localP99[s] ?? 0,
      crossP50Ms: r.series.crossP50[s] ?? 0,
      crossP99Ms: r.series.crossP99[s] ?? 0,
    };
    r.links.forEach((l, i) => {
      row[`${l.from}>${l.to} Mbps`] = r.series.linkMbps[i]?.[s] ?? 0;
    });
    seriesRows.push(row);
  }
  const series = stringify(seriesRows, { header: true });
  return [
    { name: 'links.csv', text: links },
    { name: 'brokers.csv', text: brokers },
    { name: 'latency.csv', text: latency },
    { name: 'series.csv', text: series },
  ];
}
