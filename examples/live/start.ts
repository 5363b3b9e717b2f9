/**
 * `npm run live:example`: seed 002's three brokers (us-1, eu-1, ap-1) as three `meshtwin broker`
 * processes on loopback, with a mesh CA and certificates made in certs/ on first use. Logs are
 * echoed with the broker's id; Ctrl-C (or SIGTERM) drains and stops all three, by PID.
 * Ports: mesh 7001-7003, HTTP 8001-8003, gRPC 9001-9003, MQTT 1881-1883, MQTT over TLS 8881-8883
 * (examples/live/*.yaml).
 */
import { existsSync } from 'node:fs';
import { certsCommand } from '../../cli/certs.ts';
import { BrokerProcess, stopAll } from '../../live/process.ts';

const BROKERS = ['us-1', 'eu-1', 'ap-1'];
const quiet = process.argv.includes('--quiet');

if (!existsSync('certs/ca.pem')) {
  for (const line of await certsCommand({ out: 'certs', brokers: BROKERS.join(','), clients: 'alice' })) console.log(line);
}

const procs = BROKERS.map(
  (id) =>
    new BrokerProcess(`examples/live/${id}.yaml`, {
      echo: (line) => {
        if (!quiet) console.log(`${id} | ${line}`);
      },
    }),
);
let stopping = false;
const stop = async (code: number): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await stopAll();
  process.exit(code);
};
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
for (const p of procs) {
  void p.exited.then((code) => {
    if (stopping) return;
    console.error(`${p.configFile}: exited with ${code}; stopping the others`);
    void stop(1);
  });
}
try {
  const ports = await Promise.all(procs.map((p) => p.ready));
  console.log(`mesh up: ${BROKERS.map((id, i) => `${id} http://127.0.0.1:${ports[i]?.http} mqtt://127.0.0.1:${ports[i]?.mqtt}`).join(', ')} (Ctrl-C stops all three)`);
} catch (e) {
  console.error(`meshtwin: ${(e as Error).message}`);
  await stop(2);
}
