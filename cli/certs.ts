/**
 * `meshtwin certs --out DIR --brokers us-1,eu-1,ap-1 [--clients alice] [--days N]`: a mesh CA and
 * a certificate for every broker and client (live/certs.ts), written as DIR/ca.pem, DIR/ca.key,
 * DIR/<name>.pem and DIR/<name>.key. Keys are readable by their owner only. Existing files are
 * never overwritten: a second run into the same folder is refused (a new CA would orphan every
 * certificate already handed out).
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IDENTITY, makeMeshCerts } from '../live/certs.ts';
import { CliError } from './options.ts';

export interface CertsOptions {
  readonly out: string;
  readonly brokers: string;
  readonly clients?: string;
  readonly days?: string;
}

function names(flag: string, text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [];
  const list = text.split(',').map((s) => s.trim());
  for (const n of list) if (!IDENTITY.test(n)) throw new CliError(`${flag}: expected names of letters, digits, ".", "_" or "-" (at most 63), found ${JSON.stringify(n)}`);
  return list;
}

/** Writes the files; returns the lines to print. Throws CliError on a bad option or an existing file. */
export async function certsCommand(opts: CertsOptions): Promise<string[]> {
  const brokers = names('--brokers', opts.brokers);
  if (brokers.length === 0) throw new CliError('--brokers: expected at least one broker id, e.g. --brokers us-1,eu-1,ap-1');
  const clients = names('--clients', opts.clients);
  const all = [...brokers, ...clients];
  const twice = all.find((n, i) => all.indexOf(n) !== i || n === 'ca');
  if (twice !== undefined) throw new CliError(twice === 'ca' ? '"ca" is the CA\'s own file name: give the broker or client another name' : `"${twice}" is named twice across --brokers and --clients`);
  const days = opts.days === undefined ? 365 : Number(opts.days);
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new CliError(`--days: expected a whole number of days from 1 to 3650, found ${JSON.stringify(opts.days)}`);
  if (existsSync(opts.out) && !statSync(opts.out).isDirectory()) throw new CliError(`--out: ${opts.out} is a file, not a folder`);
  const files = ['ca', ...all].flatMap((n) => [`${n}.pem`, `${n}.key`]);
  const taken = files.find((f) => existsSync(join(opts.out, f)));
  if (taken !== undefined) throw new CliError(`--out: ${join(opts.out, taken)} exists; certs never overwrites (choose an empty folder)`);
  const m = await makeMeshCerts(all, { days });
  mkdirSync(opts.out, { recursive: true });
  const write = (name: string, cert: string, key: string): void => {
    writeFileSync(join(opts.out, `${name}.pem`), cert, { flag: 'wx' });
    writeFileSync(join(opts.out, `${name}.key`), key, { flag: 'wx', mode: 0o600 });
  };
  write('ca', m.ca.cert, m.ca.key);
  for (const [name, c] of m.issued) write(name, c.cert, c.key);
  return [
    `wrote ${join(opts.out, 'ca.pem')} (the mesh CA; ca.key signs, keep it apart) and a certificate and key for ${brokers.length} broker${brokers.length === 1 ? '' : 's'} (${brokers.join(', ')})` +
      (clients.length === 0 ? '' : ` and ${clients.length} client${clients.length === 1 ? '' : 's'} (${clients.join(', ')})`),
    `each names its broker or client in CN and DNS subjectAltName; ECDSA P-256, SHA-256, valid ${days} days`,
  ];
}
