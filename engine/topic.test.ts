import { describe, expect, it } from 'vitest';
import { matchesPattern, MAX_TOPIC_BYTES, utf8Length, validatePattern, validateTopic } from './topic.ts';
import { SubscriptionTrie } from './trie.ts';

/**
 * (pattern, topic, expected): MQTT 3.1.1 / 5.0 section 4.7 cases plus our edge cases. Every
 * matcher runs the same table (qlobber's test/rabbitmq.js style).
 */
const MATCH_TABLE: readonly (readonly [string, string, boolean])[] = [
  // exact
  ['a', 'a', true],
  ['a', 'b', false],
  ['a/b/c', 'a/b/c', true],
  ['a/b/c', 'a/b', false],
  ['a/b', 'a/b/c', false],
  ['a/b/c', 'a/b/cd', false],
  ['A', 'a', false],
  // '#' (spec 4.7.1.2)
  ['sport/tennis/player1/#', 'sport/tennis/player1', true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
  ['sport/tennis/player1/#', 'sport/tennis/player2', false],
  ['sport/tennis/player1/#', 'sport/tennis', false],
  ['sport/#', 'sport', true],
  ['sport/#', 'sports', false],
  ['#', 'sport', true],
  ['#', 'a/b/c/d/e/f', true],
  ['#', '/', true],
  ['#', '/finance', true],
  ['a/#', 'a/', true],
  ['a/#', 'a//', true],
  ['a/#', 'b', false],
  // '+' (spec 4.7.1.3)
  ['sport/tennis/+', 'sport/tennis/player1', true],
  ['sport/tennis/+', 'sport/tennis/player2', true],
  ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
  ['sport/+', 'sport', false],
  ['sport/+', 'sport/', true],
  ['sport/+', 'sport/tennis/x', false],
  ['+', 'sport', true],
  ['+', '/finance', false],
  ['+/+', '/finance', true],
  ['/+', '/finance', true],
  ['+', '', true],
  ['+/tennis/#', 'sport/tennis', true],
  ['+/tennis/#', 'sport/tennis/player1/x', true],
  ['+/tennis/#', 'sport/golf', false],
  ['sport/+/player1', 'sport/tennis/player1', true],
  ['+/+/+', 'a/b/c', true],
  ['+/+/+', 'a/b', false],
  ['+/+', 'a/b/c', false],
  ['+/#', 'a', true],
  ['+/+/#', 'a', false],
  // '$' topics [MQTT-4.7.2-1]
  ['#', '$SYS/x', false],
  ['#', '$SYS', false],
  ['+/monitor/Clients', '$SYS/monitor/Clients', false],
  ['+', '$SYS', false],
  ['+/#', '$SYS/x', false],
  ['$SYS/#', '$SYS/x', true],
  ['$SYS/#', '$SYS', true],
  ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
  ['$SYS/+/Clients', '$SYS/monitor/Clients', true],
  ['a/#', 'a/$b', true],
  ['a/+', 'a/$b', true],
  ['#', 'a$', true],
  // empty levels
  ['a//b', 'a//b', true],
  ['a/+/b', 'a//b', true],
  ['a/+/b', 'a/b', false],
  ['/', '/', true],
  ['+/+', '/', true],
  ['/a', '/a', true],
  ['/a', 'a', false],
  ['a/', 'a', false],
  ['a/', 'a/', true],
  ['//', '//', true],
  ['+//+', 'x//y', true],
  // non-ASCII and long levels
  ['caf\u00e9/+', 'caf\u00e9/cr\u00e8me', true],
  ['\u{1f600}/#', '\u{1f600}/x', true],
  ['\u{1f600}/a', '\u{1f601}/a', false],
  ['averyveryverylonglevelname/+', 'averyveryverylonglevelname/x', true],
  ['averyveryverylonglevelname/+', 'averyveryverylonglevelnamf/x', false],
];

type Matcher = (pattern: string, topic: string) => boolean;

const MATCHERS: readonly (readonly [string, Matcher])[] = [
  ['matchesPattern', matchesPattern],
  [
    'SubscriptionTrie.match',
    (pattern, topic) => {
      const trie = new SubscriptionTrie<number>();
      trie.add(pattern, 1);
      const out: number[] = [];
      return trie.match(topic, out) === 1 && out.length === 1;
    },
  ],
  [
    'SubscriptionTrie.hasMatch',
    (pattern, topic) => {
      const trie = new SubscriptionTrie<number>();
      trie.add(pattern, 1);
      return trie.hasMatch(topic);
    },
  ],
];

describe.each(MATCHERS)('match table: %s', (_name, matches) => {
  it.each(MATCH_TABLE)('%j vs %j -> %s', (pattern, topic, expected) => {
    expect(matches(pattern, topic)).toBe(expected);
  });
});

describe('match table: one trie holding every pattern', () => {
  it('matches each topic with exactly the patterns the table says', () => {
    const trie = new SubscriptionTrie<string>();
    const patterns = [...new Set(MATCH_TABLE.map(([p]) => p))];
    for (const p of patterns) trie.add(p, p);
    const out: string[] = [];
    for (const [, topic] of MATCH_TABLE) {
      out.length = 0;
      trie.match(topic, out);
      expect(out.sort(), topic).toEqual(patterns.filter((p) => matchesPattern(p, topic)).sort());
    }
  });
});

describe('the table itself is valid', () => {
  it.each(MATCH_TABLE)('%j / %j', (pattern, topic) => {
    expect(validatePattern(pattern)).toBeNull();
    if (topic !== '') expect(validateTopic(topic)).toBeNull();
  });
});

describe('validateTopic [TOPIC-2]', () => {
  it.each(['a', 'a/b', '/', '//', 'a//b', '/a', 'a/', '$SYS/x', ' ', 'caf\u00e9', '\u{1f600}'])('accepts %j', (t) => {
    expect(validateTopic(t)).toBeNull();
  });

  it.each([
    ['', 'empty'],
    ['a/+', "'+'"],
    ['a+b', "'+'"],
    ['#', "'#'"],
    ['a/b#', "'#'"],
    ['a\u0000b', 'NUL'],
    ['x'.repeat(MAX_TOPIC_BYTES + 1), '65535'],
    ['\u00e9'.repeat(MAX_TOPIC_BYTES / 2 + 1), '65535'],
  ])('rejects %j (reason mentions %s)', (t, part) => {
    const reason = validateTopic(t);
    expect(reason).not.toBeNull();
    expect(reason).toContain(part);
  });

  it('accepts exactly 65535 UTF-8 bytes [TOPIC-1]', () => {
    expect(validateTopic('x'.repeat(MAX_TOPIC_BYTES))).toBeNull();
    expect(validateTopic('\u00e9'.repeat((MAX_TOPIC_BYTES - 1) / 2) + 'x')).toBeNull();
  });
});

describe('validatePattern [TOPIC-3]', () => {
  it.each(['a', '#', '+', '+/+', 'a/#', 'a/+/b', '+/#', '/#', '/+', '//', '$SYS/#', 'a/b/c/#', 'caf\u00e9/+'])('accepts %j', (p) => {
    expect(validatePattern(p)).toBeNull();
  });

  it.each([
    ['', 'pattern must not be empty'],
    ['a/#/b', "'#' must be the last level"],
    ['#/a', "'#' must be the last level"],
    ['#/#', "'#' must be the last level"],
    ['a#', "'#' must occupy a whole level"],
    ['a/#b', "'#' must occupy a whole level"],
    ['a/b#/c', "'#' must occupy a whole level"],
    ['a+', "'+' must occupy a whole level"],
    ['a/+b', "'+' must occupy a whole level"],
    ['++', "'+' must occupy a whole level"],
    ['a/b+/c', "'+' must occupy a whole level"],
    ['a\u0000', 'pattern must not contain NUL (U+0000)'],
    ['x'.repeat(MAX_TOPIC_BYTES + 1), 'pattern is longer than 65535 UTF-8 bytes'],
  ])('rejects %j: %s', (p, reason) => {
    expect(validatePattern(p)).toBe(reason);
  });
});

describe('utf8Length', () => {
  it('agrees with Buffer.byteLength', () => {
    for (const s of ['', 'abc', 'caf\u00e9', '\u20ac', '\u{1f600}', 'a\u{10ffff}b', '\u0800\u07ff']) {
      expect(utf8Length(s)).toBe(Buffer.byteLength(s, 'utf8'));
    }
  });

  it('counts a lone surrogate as the 3 bytes of U+FFFD', () => {
    expect(utf8Length('\ud800')).toBe(3);
    expect(utf8Length('\udc00a')).toBe(4);
  });
});
