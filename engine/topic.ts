/**
 * Topic names and topic filters (patterns), MQTT rules.
 *
 * Topics are `/`-separated levels; empty levels are allowed (`a//b`, `/a`). Patterns add two
 * wildcards: `+` matches exactly one level (which may be empty), `#` matches zero or more
 * remaining levels and may only be the whole last level.
 *
 * `matchesPattern` is the slow, obviously-correct reference matcher: tests use it as the oracle
 * for the trie (trie.ts), which is the one the broker uses.
 */

/** [TOPIC-1] The longest topic or pattern, in UTF-8 bytes (MQTT's string length limit). */
export const MAX_TOPIC_BYTES = 65535;

const SLASH = 0x2f; // '/'
const PLUS = 0x2b; // '+'
const HASH = 0x23; // '#'
const DOLLAR = 0x24; // '$'

/** UTF-8 length of `s`; a lone surrogate counts as the 3 bytes of U+FFFD. */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Checks what topics and patterns share: non-empty, no NUL, at most MAX_TOPIC_BYTES. */
function validateCommon(s: string, what: string): string | null {
  if (s.length === 0) return `${what} must not be empty`;
  // A JS char is at most 3 UTF-8 bytes (a surrogate pair is 2 chars, 4 bytes).
  if (s.length * 3 > MAX_TOPIC_BYTES && utf8Length(s) > MAX_TOPIC_BYTES) {
    return `${what} is longer than ${MAX_TOPIC_BYTES} UTF-8 bytes`;
  }
  if (s.indexOf('\u0000') !== -1) return `${what} must not contain NUL (U+0000)`;
  return null;
}

/**
 * [TOPIC-2] Validates a topic name (what a publisher publishes on).
 * Returns null when valid, else a short reason: empty, longer than 65535 UTF-8 bytes, NUL, or a
 * wildcard character (`+`, `#`) anywhere.
 */
export function validateTopic(topic: string): string | null {
  const common = validateCommon(topic, 'topic');
  if (common !== null) return common;
  if (topic.indexOf('+') !== -1) return "topic must not contain the wildcard '+'";
  if (topic.indexOf('#') !== -1) return "topic must not contain the wildcard '#'";
  return null;
}

/**
 * [TOPIC-3] Validates a topic filter (what a subscriber subscribes to).
 * Returns null when valid, else a short reason: empty, too long, NUL, `'#' must be the last
 * level`, `'#' must occupy a whole level`, `'+' must occupy a whole level`.
 */
export function validatePattern(pattern: string): string | null {
  const common = validateCommon(pattern, 'pattern');
  if (common !== null) return common;
  const n = pattern.length;
  for (let i = 0; i < n; i++) {
    const c = pattern.charCodeAt(i);
    if (c !== PLUS && c !== HASH) continue;
    const wholeLevel = (i === 0 || pattern.charCodeAt(i - 1) === SLASH) && (i === n - 1 || pattern.charCodeAt(i + 1) === SLASH);
    if (c === PLUS) {
      if (!wholeLevel) return "'+' must occupy a whole level";
    } else {
      if (!wholeLevel) return "'#' must occupy a whole level";
      if (i !== n - 1) return "'#' must be the last level";
    }
  }
  return null;
}

/**
 * The reference matcher (the tests' oracle): does `pattern` match `topic`? Assumes both are
 * valid. `+` matches one level (possibly empty), `#` the remaining zero or more levels, so
 * `a/#` matches `a`. [MQTT-4.7.2-1] A pattern whose first level is a wildcard does not match a
 * topic whose first level starts with `$` (`#` does not match `$SYS/x`; `$SYS/#` does).
 */
export function matchesPattern(pattern: string, topic: string): boolean {
  const p = pattern.split('/');
  const t = topic.split('/');
  if (topic.charCodeAt(0) === DOLLAR && (p[0] === '+' || p[0] === '#')) return false;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '#') return true; // validated: '#' is the last level; matches t[i..], maybe none
    if (i >= t.length) return false;
    if (p[i] !== '+' && p[i] !== t[i]) return false;
  }
  return p.length === t.length;
}

/**
 * [TOPIC-5] Whether every topic filter `f` matches is matched by `rule` (both valid filters, no
 * `$share/` prefix): `orders/#` covers `orders/+/x` and `orders`; `orders/+` does not cover
 * `orders/#`. A first-level wildcard in `rule` covers no `$`-topic [MQTT-4.7.2-1].
 */
export function filterCovers(rule: string, f: string): boolean {
  const r = rule.split('/');
  const x = f.split('/');
  if ((r[0] === '+' || r[0] === '#') && x[0] !== undefined && x[0].startsWith('$')) return false;
  for (let i = 0; i < r.length; i++) {
    if (r[i] === '#') return true;
    const level = x[i];
    // `a/#` in f also matches `a` (one level fewer): only a rule `#` there covers it.
    if (level === undefined) return false;
    if (level === '#') return false;
    if (r[i] === '+') continue;
    if (level === '+' || level !== r[i]) return false;
  }
  return r.length === x.length;
}

/**
 * [TOPIC-6] Whether some topic matches both filters (an MQTT deny list [MQTT-DENY-1], an ACL
 * deny rule [ACL-4]): `#` intersects `secret/#`, `sensors/+` does not; as in matching, a
 * first-level wildcard never stands for a `$`-topic's first level, so `#` misses `$SYS/#`.
 * are valid, without a `$share/` prefix.
 */
export function filtersIntersect(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; ; i++) {
    const p = x[i];
    const q = y[i];
    if (p === undefined && q === undefined) return true;
    // `#` matches the parent level too (`a/#` matches `a`).
    if (p === '#' || q === '#') {
      if (i === 0) {
        const other = p === '#' ? q : p;
        if (other !== undefined && other.startsWith('$')) return false;
      }
      return true;
    }
    if (p === undefined || q === undefined) return false;
    if (p === '+' || q === '+') {
      if (i === 0) {
        const other = p === '+' ? q : p;
        if (other.startsWith('$')) return false;
      }
      continue;
    }
    if (p !== q) return false;
  }
}
