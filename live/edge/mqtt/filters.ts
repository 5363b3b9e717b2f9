/**
 * Topic-filter relations the MQTT edge needs beyond the engine's matching.
 *
 * [MQTT-DENY-1] `edge.mqttDenySubscribe`: a subscription is refused when its filter could
 * receive a topic some deny filter matches, i.e. the two filters intersect — `#` intersects
 * `secret/#`, `sensors/+` does not. As in matching, a wildcard at the first level never stands
 * for a `$`-topic's first level [MQTT-4.7.2-1], so `#` does not intersect `$SYS/#`.
 */

/** Whether some topic matches both filters `a` and `b` (valid MQTT filters, no `$share/` prefix). */
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
