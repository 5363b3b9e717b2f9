/**
 * Who a client is [AUTH-1..5]: the principal the policy (engine/acl.ts) decides for.
 *
 * [AUTH-1] Principals: an HTTP/WebSocket/gRPC bearer token `NAME.SECRET` → its configured
 *          principal (default `token:NAME`; the name picks the one hash to check); an MQTT username and password → its configured principal (default
 *          `mqtt:USERNAME`); an MQTT-over-TLS client certificate the mesh CA signed →
 *          `cert:CN`; no credentials → `anonymous`, unless `auth.anonymous: false`.
 * [AUTH-2] Secrets are stored hashed (`meshtwin hash-secret`): `scrypt:SALT:HASH` (hex; Node's
 *          scrypt, N=16384, r=8, p=1, 32 bytes), compared in constant time. scrypt is slow on
 *          purpose (tens of ms), so it runs off the event loop, and a secret that verified is
 *          remembered by its SHA-256 (never the secret itself), so a client's later requests cost
 *          a hash, not a scrypt.
 * [AUTH-3] A credential that does not verify is refused as such (HTTP 401, MQTT CONNACK 0x86 /
 *          3.1.1 0x04, gRPC UNAUTHENTICATED) whatever the policy says; the policy's refusals are
 *          403 / 0x87 / PERMISSION_DENIED.
 * [AUTH-4] The principals listed in `auth.admins` may change the policy (PUT /v1/acl) and the
 *          schema registry (live/edge/schemas.ts).
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { ANONYMOUS } from '../engine/broker.ts';

const scrypt = promisify(scryptCb) as (secret: string, salt: Buffer, keylen: number) => Promise<Buffer>;
const KEY_BYTES = 32;
const REMEMBERED_MAX = 10_000;

export interface AuthTokenSpec {
  readonly name: string;
  readonly hash: string;
  readonly principal?: string;
}

export interface AuthUserSpec {
  readonly username: string;
  readonly hash: string;
  readonly principal?: string;
}

export interface AuthConfig {
  readonly tokens: readonly AuthTokenSpec[];
  readonly users: readonly AuthUserSpec[];
  /** Clients without credentials act as `anonymous` (default); false: they are refused. */
  readonly anonymous: boolean;
  /** Principals that may change the policy [AUTH-4]. */
  readonly admins: readonly string[];
}

export const OPEN_AUTH: AuthConfig = { tokens: [], users: [], anonymous: true, admins: [] };

export type AuthResult = { readonly ok: true; readonly principal: string } | { readonly ok: false; readonly error: string };

/** [AUTH-2] The stored form of a secret: `scrypt:SALT:HASH` (hex). */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(secret, salt, KEY_BYTES);
  return `scrypt:${salt.toString('hex')}:${key.toString('hex')}`;
}

/** [AUTH-1] A new API token for `name`: what the client presents, and what the config stores. */
export async function newToken(name: string): Promise<{ token: string; hash: string }> {
  const secret = randomBytes(24).toString('base64url');
  return { token: `${name}.${secret}`, hash: await hashSecret(secret) };
}

/** Whether `stored` is a well-formed `scrypt:SALT:HASH` (for config checks). */
export function isStoredSecret(stored: string): boolean {
  return /^scrypt:[0-9a-f]{32}:[0-9a-f]{64}$/.test(stored);
}

async function verify(secret: string, stored: string): Promise<boolean> {
  const [, saltHex, keyHex] = stored.split(':') as [string, string, string];
  const key = await scrypt(secret, Buffer.from(saltHex, 'hex'), KEY_BYTES);
  return timingSafeEqual(key, Buffer.from(keyHex, 'hex'));
}

export class Authenticator {
  readonly #tokens: ReadonlyMap<string, { readonly principal: string; readonly hash: string }>;
  readonly #users: ReadonlyMap<string, { readonly principal: string; readonly hash: string }>;
  /** SHA-256 of a verified (kind, name, secret) → its principal [AUTH-2]. */
  readonly #remembered = new Map<string, string>();
  readonly counters = { verified: 0, refused: 0 };

  constructor(readonly config: AuthConfig = OPEN_AUTH) {
    this.#tokens = new Map(config.tokens.map((t) => [t.name, { principal: t.principal ?? `token:${t.name}`, hash: t.hash }]));
    this.#users = new Map(config.users.map((u) => [u.username, { principal: u.principal ?? `mqtt:${u.username}`, hash: u.hash }]));
  }

  /** [AUTH-1] No credentials: `anonymous`, or refused when the config says so. */
  anonymous(): AuthResult {
    return this.config.anonymous ? { ok: true, principal: ANONYMOUS } : { ok: false, error: 'credentials required (this broker takes no anonymous clients)' };
  }

  /** [AUTH-1][AUTH-3] An `Authorization` header value (or undefined). */
  async bearer(header: string | undefined): Promise<AuthResult> {
    if (header === undefined || header === '') return this.anonymous();
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m === null) return this.#refused('Authorization: expected "Bearer TOKEN"');
    return this.token(m[1] as string);
  }

  /** A bearer token's principal: `NAME.SECRET`, checked against NAME's hash. */
  async token(token: string): Promise<AuthResult> {
    const dot = token.indexOf('.');
    const name = dot < 0 ? '' : token.slice(0, dot);
    const t = this.#tokens.get(name);
    if (t === undefined) return this.#refused('unknown bearer token');
    const key = digest('token', name, token);
    const known = this.#remembered.get(key);
    if (known !== undefined) return { ok: true, principal: known };
    if (await verify(token.slice(dot + 1), t.hash)) return this.#remember(key, t.principal);
    return this.#refused('unknown bearer token');
  }

  /** [AUTH-1] An MQTT CONNECT's username and password, or its TLS client certificate's CN. */
  async mqtt(username: string | undefined, password: Buffer | undefined, certCN: string | null): Promise<AuthResult> {
    if (username === undefined) return certCN !== null ? { ok: true, principal: `cert:${certCN}` } : this.anonymous();
    const user = this.#users.get(username);
    if (user === undefined || password === undefined) return this.#refused(`bad username or password for ${JSON.stringify(username)}`);
    const secret = password.toString('utf8');
    const key = digest('user', username, secret);
    const known = this.#remembered.get(key);
    if (known !== undefined) return { ok: true, principal: known };
    if (await verify(secret, user.hash)) return this.#remember(key, user.principal);
    return this.#refused(`bad username or password for ${JSON.stringify(username)}`);
  }

  /** [AUTH-4] */
  isAdmin(principal: string): boolean {
    return this.config.admins.includes(principal);
  }

  #remember(key: string, principal: string): AuthResult {
    if (this.#remembered.size >= REMEMBERED_MAX) this.#remembered.clear();
    this.#remembered.set(key, principal);
    this.counters.verified++;
    return { ok: true, principal };
  }

  #refused(error: string): AuthResult {
    this.counters.refused++;
    return { ok: false, error };
  }
}

function digest(kind: string, name: string, secret: string): string {
  return createHash('sha256').update(kind).update('\u0000').update(name).update('\u0000').update(secret).digest('hex');
}
