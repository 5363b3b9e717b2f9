/**
 * `meshtwin hash-secret [SECRET] [--token NAME]` [AUTH-2]: what a broker config stores instead of
 * a secret. With `--token NAME`, a new API token: the token for the client (shown once) and the
 * `auth.tokens` entry for the config.
 */
import { hashSecret, newToken } from '../live/auth.ts';
import { CliError } from './options.ts';

export async function hashSecretCommand(secret: string | undefined, opts: { token?: string }): Promise<string[]> {
  if (opts.token !== undefined) {
    if (secret !== undefined) throw new CliError('give a secret to hash or --token NAME to make a token, not both');
    if (!/^[A-Za-z0-9_-]+$/.test(opts.token)) throw new CliError(`--token: expected a name of letters, digits, _ and -, found ${JSON.stringify(opts.token)}`);
    const t = await newToken(opts.token);
    return [`token (give it to the client; it is not stored): ${t.token}`, `config (auth.tokens):  - { name: ${opts.token}, hash: "${t.hash}" }`];
  }
  if (secret === undefined || secret === '') throw new CliError('give the secret to hash (e.g. an MQTT password), or --token NAME to make an API token');
  return [await hashSecret(secret)];
}
