/**
 * A two-broker scenario small enough for tests that run it live (broker processes, shapers,
 * clients): us-1 publishes 200 events/s, subscribers on both brokers, so us-1 → eu-1 carries
 * data and eu-1 → us-1 control only. Written to a file, as a user's scenario would be.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TINY_LIVE_YAML = `name: tiny-live
seed: 7
duration: 5s
warmup: 1s
regions:
  - id: us-east-1
    brokers: [us-1]
    location: { lat: 38.9, lon: -77.4 }
  - id: eu-west-1
    brokers: [eu-1]
    location: { lat: 53.3, lon: -6.3 }
links:
  - between: [us-1, eu-1]
    rtt: 40ms
    bandwidth: 100Mbps
publishers:
  - broker: us-1
    rate: 200/s
    topic: "orders/{choice:new|paid}"
    size: 500B
subscribers:
  - broker: us-1
    count: 2
    pattern: "orders/#"
  - broker: eu-1
    count: 3
    pattern: "orders/#"
`;

/** Writes the scenario into `dir`; returns its path. */
export function writeTinyLive(dir: string): string {
  const file = join(dir, 'tiny-live.yaml');
  writeFileSync(file, TINY_LIVE_YAML);
  return file;
}
