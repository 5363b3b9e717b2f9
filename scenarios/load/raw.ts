/** The scenario data as the schema guarantees it (load/schema.ts ran first): units still text. */
import type { AclEntrySpec } from '../../engine/acl.ts';
import type { SubjectSpec } from '../../engine/schema/registry.ts';
import type { HeaderValue } from '../../engine/types.ts';
import type { DeliveryClass } from '../types.ts';

export interface RawRegion {
  id: string;
  brokers: string[];
  clientRtt?: string;
  location?: { lat: number; lon: number };
  ha?: { primary: string; backup: string }[];
}
export interface RawLink {
  between: [string, string];
  rtt: string;
  bandwidth: string;
  jitter?: string;
  loss?: number;
  cost?: number;
  queue?: string;
}
export interface RawPublisher {
  region?: string;
  broker?: string;
  rate: string;
  arrival?: 'poisson' | 'constant';
  topic: string;
  size?: string;
  data?: unknown;
  invalid?: number;
  invalidData?: unknown;
  headers?: Record<string, HeaderValue>;
  type?: string;
  start?: string;
  stop?: string;
  delivery?: DeliveryClass;
  principal?: string;
}
export interface RawSubscriber {
  region?: string;
  broker?: string;
  count?: number;
  pattern: string;
  patterns?: number;
  filter?: string;
  consume?: string;
  queue?: number;
  principal?: string;
  function?: { serviceTime: string; failure?: number; retry?: { maxAttempts?: number; backoff?: string }; concurrency?: number; queue?: number; deadLetter?: string };
}
export interface RawFault {
  at: string;
  'link-down'?: [string, string];
  'link-up'?: [string, string];
  crash?: string;
  restart?: string;
  partition?: string[];
  heal?: string[] | 'all';
  degrade?: [string, string];
  'slow-consumer'?: string;
  loss?: number;
  detect?: 'silent' | 'notified';
  rtt?: string;
  jitter?: string;
  bandwidth?: string;
  pattern?: string;
  rate?: string;
  for?: string;
}
export interface RawRouting {
  helloInterval?: string;
  deadInterval?: string;
  hopLimit?: number;
  retransmit?: string;
  ackDelay?: string;
  ledgerTtl?: string;
  spool?: string;
  keepalive?: string;
  takeover?: string;
  reconnect?: string;
}
export interface RawScenario {
  name: string;
  seed?: number;
  duration: string;
  warmup?: string;
  regions: RawRegion[];
  links?: RawLink[];
  publishers?: RawPublisher[];
  subscribers?: RawSubscriber[];
  faults?: RawFault[];
  expect?: string[];
  acl?: AclEntrySpec[];
  routes?: Array<{ name: string; pattern: string; filter?: string; to: string }>;
  schemas?: SubjectSpec[];
  routing?: RawRouting;
  model?: { connectionBytes?: string; transportOverhead?: string };
}
