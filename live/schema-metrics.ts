/**
 * The schema registry's Prometheus metrics [SCHEMA-7], read from the engine at scrape time:
 *   meshtwin_schemas_version                        the registry version this broker enforces (0: none)
 *   meshtwin_schema_checked_total                   publishes a subject applied to (checked at ingress)
 *   meshtwin_schema_validated_total{subject}        publishes checked against the subject's latest version
 *   meshtwin_invalid_total{subject}                 publishes the subject refused (HTTP 400, MQTT 0x99)
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { LiveHost } from './host.ts';

export function schemaMetrics(registry: Registry, host: LiveHost): void {
  const registers = [registry];
  new Gauge({
    name: 'meshtwin_schemas_version',
    help: 'Version of the schema registry this broker enforces (0: none, nothing checked).',
    registers,
    collect() {
      this.set(host.broker.schemas.version);
    },
  });
  new Counter({
    name: 'meshtwin_schema_checked_total',
    help: 'Publishes a schema subject applied to, checked at ingress (valid or not).',
    registers,
    collect() {
      this.reset();
      this.inc(host.broker.stats.schemaValidated);
    },
  });
  for (const [name, help, read] of [
    ['meshtwin_schema_validated_total', "Publishes checked against the subject's latest version.", (s: { validated: number }) => s.validated],
    ['meshtwin_invalid_total', 'Publishes the subject refused for invalid data.', (s: { invalid: number }) => s.invalid],
  ] as const) {
    new Counter({
      name,
      help,
      labelNames: ['subject'],
      registers,
      collect() {
        this.reset();
        for (const s of host.broker.schemas.subjects) if (s.versions.length > 0) this.inc({ subject: s.name }, read(s as { validated: number; invalid: number }));
      },
    });
  }
}
