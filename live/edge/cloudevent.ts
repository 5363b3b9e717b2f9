/**
 * CloudEvents ⇄ mesh envelopes for the HTTP and WebSocket edges (issue 9): what an HTTP publish
 * means to the broker, and what a subscriber receives. Pure functions, no sockets.
 *
 * [EDGE-3] Ingest (CloudEvents HTTP binding 1.0, parsed with the `cloudevents` SDK's
 * `HTTP.toEvent`, then `validate()`d — the SDK does not validate by itself; a plain structured
 * event is read without the SDK, to the same result [EDGE-11]):
 * - binary mode: `ce-id`, `ce-source`, `ce-type`, `ce-specversion` headers (all four required),
 *   other `ce-*` headers are attributes/extensions; the body is the data: parsed here as JSON when
 *   Content-Type is JSON (`application/json`, `*+json`), else kept as bytes.
 * - structured mode: `Content-Type: application/cloudevents+json`, the body is the event.
 * - batch mode: `Content-Type: application/cloudevents-batch+json`, a JSON array of structured
 *   events; each element is parsed as one structured event (so an error names its index).
 * Checked here before the SDK sees the event, because the SDK papers over them: `id`, `source`,
 * `type`, `specversion` present and non-empty strings (the SDK invents an id when it is empty),
 * `specversion` exactly "1.0", `time` parseable (the SDK silently replaces a bad one with now).
 *
 * [EDGE-4] Mesh fields of an event. Every header is encoded again in every WAN frame, so the
 * envelope's headers hold only what the envelope has no field for:
 * - id, source, type (and specversion, always "1.0"): the envelope's own fields, not headers.
 *   Selectors still read them by name [SEL-ATTR].
 * - topic: the `topic` extension attribute (`ce-topic` header), else `subject`; neither → refused.
 *   The envelope's topic field (a selector's `topic`), not a header.
 * - delivery class: the `delivery` extension (`ce-delivery`), `guaranteed` or `realtime`
 *   (default realtime); anything else → refused. The frame kind, not a header.
 * - selector headers: the top-level scalar (string, number, boolean) fields of a JSON object
 *   `data`; then `subject` and `time` when sent, and every other extension with a scalar value,
 *   so these win a name clash with a data field. A data field named `id`, `source`, `type` or
 *   `topic` stays a header and wins over the envelope's field in a selector [SEL-ATTR]. Binary
 *   mode's `ce-*` header values are strings (`ce-amount: 5` is the string "5"); JSON data keeps its
 *   types, so `amountCents > 100` is written against a data field.
 * - `datacontenttype` header: JSON is the mesh's default content type, so none is stored for it:
 *   not for a structured event with data and no datacontenttype (JSON, CloudEvents JSON format
 *   §3.1), nor for an explicit `application/json` whose payload is JSON text (an empty payload or
 *   `data_base64` bytes that do not parse keep it). Any other datacontenttype is stored as sent;
 *   bytes without one (`data_base64`, or a binary-mode body with no Content-Type, RFC 9110 §8.3)
 *   store `application/octet-stream`. This header is always the edge's: a data field of that name
 *   is not a header.
 * - payload bytes: `data_base64` decoded; JSON data re-serialized compactly; a string with a
 *   non-JSON datacontenttype as UTF-8; binary mode's non-JSON body as the raw bytes; no data → empty.
 * Strings the mesh codec cannot encode (a lone UTF-16 surrogate) are refused here, at the edge.
 *
 * [EDGE-5] Delivery (one WebSocket text message per event): a CloudEvents structured-mode JSON
 * object `{specversion, id, source, type, topic, datacontenttype?, data | data_base64,
 * routingpath, publishedat, delivery}`: `data` is JSON when the datacontenttype is JSON (and the
 * bytes parse), a string for `text/*`, else `data_base64`; no data member when the payload is
 * empty. No datacontenttype header means JSON [EDGE-4]: a payload that parses is delivered as
 * `data` with `datacontenttype: application/json` (what the publisher sent, or what JSON data
 * implies), one that does not as `data_base64` without a datacontenttype (an envelope from
 * elsewhere: this edge stores a type for bytes). Extensions are strings
 * (CloudEvents extension values; an epoch in ms does not fit its 32-bit Integer): `routingpath`
 * the brokers crossed, comma-separated (`"us-1,eu-1"`), `publishedat` epoch ms of the publish as
 * decimal digits, `delivery` `guaranteed|realtime`; then `traceparent` and `tracestate` when the
 * event has them (CloudEvents' distributed tracing extension, so a subscriber's spans join the
 * publisher's trace). Other attributes and extensions reach subscribers' selectors only (they are
 * not echoed back).
 */
import { type CloudEvent, HTTP, ValidationError } from 'cloudevents';
import type { Envelope, HeaderValue, Headers } from '../../engine/types.ts';
import { validateTopic } from '../../engine/topic.ts';
import type { EdgePublish } from './port.ts';

export const MIME_STRUCTURED = 'application/cloudevents+json';
export const MIME_BATCH = 'application/cloudevents-batch+json';

/** How a request body carries its events. */
export type IngestMode = 'binary' | 'structured' | 'batch';

/** A refusal with the HTTP status it earns and a message for the client. */
export interface IngestError {
  readonly status: 400 | 413 | 415;
  readonly error: string;
}

/** The media type of a Content-Type header: lower case, without parameters; '' when absent. */
export function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** JSON media types: `application/json` and any `+json` suffix (RFC 6839). */
export function isJsonMedia(media: string): boolean {
  return media === 'application/json' || media.endsWith('+json');
}

/**
 * The mode a request's Content-Type selects, or a 415: a CloudEvents event format other than JSON
 * (`application/cloudevents+xml`…), or a form encoding (`multipart/*`,
 * `application/x-www-form-urlencoded`), which is never an event's data. Any other type is binary
 * mode's data content type.
 */
export function modeOf(media: string): IngestMode | IngestError {
  if (media === MIME_STRUCTURED) return 'structured';
  if (media === MIME_BATCH) return 'batch';
  if (media.startsWith('application/cloudevents')) {
    return { status: 415, error: `unsupported content type ${JSON.stringify(media)}: the event formats taken are ${MIME_STRUCTURED} and ${MIME_BATCH}` };
  }
  if (media.startsWith('multipart/') || media === 'application/x-www-form-urlencoded') {
    return { status: 415, error: `unsupported content type ${JSON.stringify(media)}: send binary mode (ce-* headers) or ${MIME_STRUCTURED}` };
  }
  return 'binary';
}

const UTF8 = new TextEncoder();

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const REQUIRED = ['id', 'source', 'type', 'specversion'] as const;

/** The mesh's default content type: not stored as a header [EDGE-4]. */
export const JSON_CONTENT_TYPE = 'application/json';

/** Bytes of no declared type (RFC 9110 §8.3, CloudEvents `data_base64`). */
const OCTET_STREAM = 'application/octet-stream';

/** Attributes that become selector headers when the publisher sent them (besides extensions). */
const HEADER_ATTRIBUTES = ['subject', 'time'] as const;

/**
 * What is not an extension header: the envelope's fields (id, source, type, specversion, topic),
 * the delivery class (the frame kind), the data, the content type (its own rule) and the
 * attributes above.
 */
const NOT_EXTENSIONS = new Set([
  'id',
  'source',
  'type',
  'specversion',
  'topic',
  'delivery',
  'datacontenttype',
  'data',
  'data_base64',
  'dataschema',
  'datacontentencoding',
  'schemaurl',
  ...HEADER_ATTRIBUTES,
]);

/** Checks what the SDK would paper over, on the attributes as sent (`where`: "ce-" in binary mode). */
function checkSent(sent: Readonly<Record<string, unknown>>, where: string): string | null {
  for (const name of REQUIRED) {
    const v = sent[name];
    if (v === undefined || v === null) return `missing ${where}${name}`;
    if (typeof v !== 'string' || v.length === 0) return `${where}${name} must be a non-empty string`;
  }
  if (sent['specversion'] !== '1.0') return `unsupported ${where}specversion ${JSON.stringify(sent['specversion'])}: this edge takes "1.0"`;
  const time = sent['time'];
  if (time !== undefined && (typeof time !== 'string' || Number.isNaN(Date.parse(time)))) return `${where}time must be an RFC 3339 timestamp, got ${JSON.stringify(time)}`;
  return null;
}

/**
 * [EDGE-10] The SDK constructs a ValidationError, stack trace and all, for every event it parses,
 * thrown or not (`isStringOrObjectOrThrow(payload, new ValidationError(…))`): 22.6% of a broker's
 * CPU in a profile of bench --live's closed loop. Errors raised inside it need no stack (their
 * message is what the client is told), so the SDK runs with stack capture off.
 */
function withoutStacks<T>(f: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return f();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The SDK's parse of one event, or what it objected to (it throws TypeErrors of its own). */
function toEvent(headers: Record<string, string>, body: string | undefined): CloudEvent<unknown> | string {
  try {
    const event = withoutStacks(() => HTTP.toEvent({ headers, body }));
    if (Array.isArray(event)) return 'expected one event, got a batch';
    return event as CloudEvent<unknown>;
  } catch (err) {
    if (!(err instanceof TypeError) && !(err instanceof SyntaxError)) throw err;
    return `invalid CloudEvent: ${err.message.split('\n')[0]}`;
  }
}

/** `validate()`, with the schema's first complaint in words ("source must match format …"). */
function validateEvent(event: CloudEvent<unknown>): string | null {
  try {
    if (withoutStacks(() => event.validate()) !== true) return 'invalid CloudEvent';
    // What the SDK passed, the fast path may take [EDGE-11].
    notePassed(passed.sources, event.source);
    notePassed(passed.dataschemas, event.dataschema);
    return null;
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const first = err.errors?.[0] as { instancePath?: string; message?: string } | undefined;
    if (first !== undefined && typeof first === 'object' && typeof first.message === 'string') {
      const field = (first.instancePath ?? '').replace(/^\//, '');
      return `invalid CloudEvent: ${field === '' ? '' : field + ' '}${first.message}`;
    }
    return `invalid CloudEvent: ${err.message.split('\n')[0]}`;
  }
}

/** One parsed, validated event: what to publish. */
export type Ingested = { readonly ok: true; readonly publish: EdgePublish } | { readonly ok: false; readonly error: string };

/** Binary mode: the SDK reads the ce-* headers; the body is the data. */
export function ingestBinary(headers: Readonly<Record<string, string | string[] | undefined>>, body: Uint8Array): Ingested {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  const sent: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(flat)) if (name.startsWith('ce-')) sent[name.slice(3)] = value;
  const bad = checkSent(sent, 'ce-');
  if (bad !== null) return { ok: false, error: `${bad} header (binary mode needs ce-id, ce-source, ce-type and ce-specversion; or send ${MIME_STRUCTURED})` };
  const media = mediaType(flat['content-type']);
  let data: unknown;
  let payload: Uint8Array = body;
  const jsonBody = isJsonMedia(media) && body.length > 0;
  if (jsonBody) {
    try {
      data = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    } catch (err) {
      return { ok: false, error: `body is not valid JSON (Content-Type ${media}): ${(err as Error).message}` };
    }
    payload = UTF8.encode(JSON.stringify(data));
  }
  // The SDK parses attributes only: the data is ours (its JSON parser quotes a bare number).
  const event = toEvent(flat, undefined);
  if (typeof event === 'string') return { ok: false, error: event };
  const invalid = validateEvent(event);
  if (invalid !== null) return { ok: false, error: invalid };
  const attrs = event as unknown as Readonly<Record<string, unknown>>;
  // The SDK stamps a time on every event: only a sent one is the publisher's.
  const time = sent['time'] === undefined ? undefined : (attrs['time'] as string);
  return finish(attrs, time, data, payload, contentTypeHeader(attrs['datacontenttype'], payload, jsonBody, flat['content-type'] === undefined));
}

/** Structured mode: one event as a JSON text (also a batch's element, `where` naming its index). */
export function ingestStructured(text: string): Ingested {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `body is not valid JSON: ${(err as Error).message}` };
  }
  return ingestStructuredValue(raw, text);
}

/**
 * A structured event already parsed from JSON. `text`: its JSON text, for the SDK (default
 * `JSON.stringify(raw)`, made only when the SDK runs); `via: 'sdk'` always takes the SDK's path
 * (a test seam: the fast path must agree with it [EDGE-11]).
 */
export function ingestStructuredValue(raw: unknown, text?: string, via: 'auto' | 'sdk' = 'auto'): Ingested {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, error: 'a structured event must be a JSON object' };
  const sent = raw as Record<string, unknown>;
  const bad = checkSent(sent, '');
  if (bad !== null) return { ok: false, error: bad };
  const b64 = sent['data_base64'];
  if (b64 !== undefined && typeof b64 !== 'string') return { ok: false, error: 'data_base64 must be a string' };
  if (b64 !== undefined && sent['data'] !== undefined) return { ok: false, error: 'an event has data or data_base64, not both' };
  const time = via === 'auto' ? plainTime(sent, text) : NOT_PLAIN;
  let attrs: Readonly<Record<string, unknown>>;
  let timeHeader: string | undefined;
  if (time !== NOT_PLAIN) {
    attrs = sent;
    timeHeader = time;
  } else {
    const event = toEvent({ 'content-type': MIME_STRUCTURED }, text ?? JSON.stringify(raw));
    if (typeof event === 'string') return { ok: false, error: event };
    const invalid = validateEvent(event);
    if (invalid !== null) return { ok: false, error: invalid };
    attrs = event as unknown as Readonly<Record<string, unknown>>;
    // The SDK stamps a time on every event: only a sent one is the publisher's.
    timeHeader = sent['time'] === undefined ? undefined : (attrs['time'] as string);
  }
  const data = sent['data'];
  let payload: Uint8Array;
  let jsonPayload = false;
  if (b64 !== undefined) {
    payload = new Uint8Array(Buffer.from(b64, 'base64'));
    // Only an explicit application/json on bytes needs a look: are they JSON, as delivery will assume?
    jsonPayload = sent['datacontenttype'] === JSON_CONTENT_TYPE && parseJson(payload) !== NOT_JSON;
  } else if (data === undefined) payload = new Uint8Array(0);
  else {
    const ct = sent['datacontenttype'];
    const json = ct === undefined || (typeof ct === 'string' && isJsonMedia(mediaType(ct)));
    jsonPayload = json || typeof data !== 'string';
    payload = UTF8.encode(jsonPayload ? JSON.stringify(data) : (data as string));
  }
  return finish(attrs, timeHeader, data, payload, contentTypeHeader(attrs['datacontenttype'], payload, jsonPayload, b64 !== undefined));
}

/**
 * [EDGE-11] The SDK cost more than anything else an event met in the broker: in a profile of
 * us-1 under `meshtwin live scenarios/two-region-basic.yaml` (10k events/s in batches), ingest
 * took 29% of its CPU, 16% of it in the SDK (its CloudEvent constructor, parser, ajv schema and
 * formats), about 31 µs an event against 8.5 µs here; with this path ingest takes 11%, and one
 * broker's closed-loop maximum (`bench --live`) went from 7.7–9.5k to 13–25k events/s in A/B
 * runs on this 2-core VM. A plain structured event is read without the SDK, to the same result:
 * what the SDK would make of it is known, and it would pass `validate()`. Plain means, beyond
 * what checkSent and the data_base64 checks took:
 * - `source` a path of unreserved characters (`/billing/checkout`), or one the SDK has passed
 *   before (its URI-reference format is a pure function of the string);
 * - `datacontenttype` and `subject` non-empty strings when sent (the SDK drops falsy attributes,
 *   and refuses other types), `dataschema` one the SDK has passed before (format "uri");
 * - `time`, when sent, within years 0000–9999 (the SDK rewrites it with `toISOString()` and then
 *   checks format "date-time", which an expanded year `+020000-…` fails);
 * - every other attribute name as the SDK's `validate()` wants it, lower-case `a-z` and `0-9`
 *   (its 20-character limit is a SHOULD it does not enforce, nor does this), and none the SDK's
 *   CloudEvent treats apart (`datacontentencoding`, `schemaurl`) or has a method or property of
 *   (`validate`, `emit`, `constructor`); no extension value `-0` (the SDK reads it from the JSON
 *   text, where a batch element's `JSON.stringify` has made it `0`);
 * - the text, when given, starts with `{` (the SDK's parser reads anything else as a JSON string);
 * - the SDK's `CE_USE_BIG_INT` is not on (its parser would make big integers BigInts).
 * Anything else takes the SDK's path, so every refusal there is the SDK's own. live/edge/
 * cloudevent.fast.test.ts checks both paths agree on generated events, valid and not.
 * Returns the `time` header (the SDK's form of the sent time; undefined when none was sent), or
 * NOT_PLAIN.
 */
function plainTime(sent: Readonly<Record<string, unknown>>, text: string | undefined): string | undefined | typeof NOT_PLAIN {
  if (text !== undefined && text.charCodeAt(0) !== 0x7b) return NOT_PLAIN;
  if (process.env['CE_USE_BIG_INT'] === 'true') return NOT_PLAIN;
  const source = sent['source'] as string;
  if (!PLAIN_SOURCE.test(source) && !passed.sources.has(source)) return NOT_PLAIN;
  let time: string | undefined;
  for (const k of Object.keys(sent)) {
    const v = sent[k];
    switch (k) {
      case 'id':
      case 'source':
      case 'type':
      case 'specversion':
      case 'data':
      case 'data_base64':
        break; // checked (checkSent, data_base64's checks); any JSON data is the SDK's too
      case 'time':
        if (v !== undefined) {
          time = new Date(Date.parse(v as string)).toISOString();
          if (time.length !== 24) return NOT_PLAIN;
        }
        break;
      case 'datacontenttype':
      case 'subject':
        if (typeof v !== 'string' || v.length === 0) return NOT_PLAIN;
        break;
      case 'dataschema':
        if (typeof v !== 'string' || !passed.dataschemas.has(v)) return NOT_PLAIN;
        break;
      default:
        if (!ATTRIBUTE_NAME.test(k) || SDK_APART.has(k) || Object.is(v, -0)) return NOT_PLAIN;
    }
  }
  return time;
}

const NOT_PLAIN: unique symbol = Symbol('not plain');

/** Sources that are URI-references by any reading: `/` then segments of unreserved characters. */
const PLAIN_SOURCE = /^\/[A-Za-z0-9\-._~]+(?:\/[A-Za-z0-9\-._~]*)*$/;

/** A CloudEvents attribute name as the SDK's `validate()` checks it. */
const ATTRIBUTE_NAME = /^[a-z0-9]+$/;

/** Attribute names the SDK's CloudEvent reads apart, or has a method or property of. */
const SDK_APART = new Set(['datacontentencoding', 'schemaurl', 'validate', 'emit', 'constructor']);

/** Values the SDK's `validate()` has passed (bounded: cleared when full). */
const passed = { sources: new Set<string>(), dataschemas: new Set<string>() };
const PASSED_MAX = 1024;

function notePassed(set: Set<string>, v: unknown): void {
  if (typeof v !== 'string') return;
  if (set.size >= PASSED_MAX) set.clear();
  set.add(v);
}

/**
 * The `datacontenttype` header an event stores [EDGE-4] (`ct`: the event's datacontenttype): none for JSON (an explicit
 * `application/json` on a payload that is JSON text, or none sent on one), the sent value for
 * anything else, `application/octet-stream` for bytes sent without a type.
 */
function contentTypeHeader(ct: unknown, payload: Uint8Array, jsonPayload: boolean, untypedBytes: boolean): string | undefined {
  if (typeof ct === 'string') return ct === JSON_CONTENT_TYPE && jsonPayload && payload.length > 0 ? undefined : ct;
  if (untypedBytes && payload.length > 0) return OCTET_STREAM;
  return undefined;
}

/**
 * The mesh's reading of a valid event [EDGE-4]: `attrs` its attributes (the SDK's CloudEvent, or
 * a plain event as sent [EDGE-11]), `time` its time header, `contentType` its datacontenttype
 * header, if any.
 */
function finish(attrs: Readonly<Record<string, unknown>>, time: string | undefined, data: unknown, payload: Uint8Array, contentType: string | undefined): Ingested {
  const topicAttr = attrs['topic'] !== undefined ? 'topic' : 'subject';
  const topic = attrs[topicAttr];
  if (topic === undefined) return { ok: false, error: 'no mesh topic: set the topic extension attribute (ce-topic header in binary mode) or subject' };
  if (typeof topic !== 'string') return { ok: false, error: `${topicAttr} must be a string topic` };
  const badTopic = validateTopic(topic);
  if (badTopic !== null) return { ok: false, error: `invalid topic ${JSON.stringify(topic)}: ${badTopic}` };
  // The brokers' own topics (MQTT retained replication) are not for clients to publish on.
  if (topic.startsWith('$mesh/')) return { ok: false, error: `invalid topic ${JSON.stringify(topic)}: $mesh/ topics are the brokers' own` };
  const delivery = attrs['delivery'] ?? 'realtime';
  if (delivery !== 'realtime' && delivery !== 'guaranteed') return { ok: false, error: `delivery must be "guaranteed" or "realtime", got ${JSON.stringify(delivery)}` };

  // Null prototype: a data field named __proto__ is a header like any other.
  const headers: Record<string, HeaderValue> = Object.create(null);
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    for (const [k, v] of Object.entries(data)) if (isScalar(v)) headers[k] = v;
  }
  const subject = attrs['subject'];
  if (isScalar(subject)) headers['subject'] = subject;
  if (time !== undefined) headers['time'] = time;
  // Delivery reads this header as the payload's type, so it is never a data field's.
  delete headers['datacontenttype'];
  if (contentType !== undefined) headers['datacontenttype'] = contentType;
  for (const k of Object.keys(attrs)) {
    const v = attrs[k];
    if (!NOT_EXTENSIONS.has(k) && isScalar(v)) headers[k] = v;
  }

  const id = attrs['id'] as string;
  const source = attrs['source'] as string;
  const type = attrs['type'] as string;
  if (LONE_SURROGATE.test(id)) return surrogate(id);
  if (LONE_SURROGATE.test(source)) return surrogate(source);
  if (LONE_SURROGATE.test(type)) return surrogate(type);
  if (LONE_SURROGATE.test(topic)) return surrogate(topic);
  for (const k in headers) if (LONE_SURROGATE.test(k)) return surrogate(k);
  for (const k in headers) {
    const v = headers[k];
    if (typeof v === 'string' && LONE_SURROGATE.test(v)) return surrogate(v);
  }
  return { ok: true, publish: { id, source, type, topic, headers: headers as Headers, payload, guaranteed: delivery === 'guaranteed' } };
}

function surrogate(s: string): Ingested {
  return { ok: false, error: `${JSON.stringify(s)} has a lone UTF-16 surrogate: not encodable as UTF-8` };
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function isScalar(v: unknown): v is HeaderValue {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

const NOT_JSON: unique symbol = Symbol('not JSON');

/** The payload as JSON, or NOT_JSON when it is empty or does not parse. */
function parseJson(payload: Uint8Array): unknown {
  if (payload.length === 0) return NOT_JSON;
  try {
    return JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch {
    return NOT_JSON;
  }
}

/**
 * The datacontenttype a subscriber is told [EDGE-5]: the header, else `application/json` when the
 * payload parses as JSON (the mesh's default), else none. For edges that pass the payload on as
 * bytes (gRPC); the WebSocket's toStructured parses it once for both.
 */
export function deliveredContentType(env: Envelope): string | undefined {
  const ct = env.headers['datacontenttype'];
  if (typeof ct === 'string') return ct;
  return parseJson(env.payload) === NOT_JSON ? undefined : JSON_CONTENT_TYPE;
}

/** CloudEvents' distributed tracing extension (W3C Trace Context): echoed to WebSocket subscribers. */
const TRACE_EXTENSIONS = ['traceparent', 'tracestate'] as const;

/** The WebSocket message for one delivery [EDGE-5]. */
export function toStructured(env: Envelope, guaranteed: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { specversion: env.specversion, id: env.id, source: env.source, type: env.type, topic: env.topic };
  const payload = env.payload;
  const ct = env.headers['datacontenttype'];
  if (typeof ct !== 'string') {
    // No header: JSON, the mesh's default [EDGE-4], if the bytes are JSON.
    const data = parseJson(payload);
    if (data !== NOT_JSON) {
      out['datacontenttype'] = JSON_CONTENT_TYPE;
      out['data'] = data;
    } else if (payload.length > 0) out['data_base64'] = base64(payload);
  } else {
    out['datacontenttype'] = ct;
    if (payload.length > 0) {
      const media = mediaType(ct);
      // A JSON type on bytes that do not parse (a publisher's mislabel): the bytes go as they are.
      const data = isJsonMedia(media) ? parseJson(payload) : media.startsWith('text/') ? Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8') : NOT_JSON;
      if (data !== NOT_JSON) out['data'] = data;
      else out['data_base64'] = base64(payload);
    }
  }
  out['routingpath'] = env.path.join(',');
  out['publishedat'] = String(Math.floor(env.publishedAtMs));
  out['delivery'] = guaranteed ? 'guaranteed' : 'realtime';
  // [EDGE-5] The distributed tracing extension goes on to the subscriber, whose spans join the trace.
  for (const k of TRACE_EXTENSIONS) {
    const v = env.headers[k];
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}
