/**
 * [MQTT-DENY-1] `edge.mqttDenySubscribe`: a subscription is refused when its filter could
 * receive a topic some deny filter matches, i.e. the two filters intersect — `#` intersects
 * `secret/#`, `sensors/+` does not, `#` does not intersect `$SYS/#` [MQTT-4.7.2-1]. The relation
 * is the engine's (engine/topic.ts), shared with the ACL's deny rules.
 */
export { filtersIntersect } from '../../../engine/topic.ts';
