/**
 * /api/v1/streams with the edge side of each stream: the StatsSource the API reads, with
 * `edge` (pull or push, state, upstream origin) added to the streams an EdgeCluster serves.
 * Everything else is the wrapped source's own (a Proxy, so methods added there need nothing here).
 */
import type { StatsSource, StreamStats } from '../api/stats-source.js';
import type { EdgeCluster } from './edge.js';

export function withEdgeStatus(inner: StatsSource, edge: EdgeCluster): StatsSource {
  const streams = (): StreamStats[] =>
    inner.streams().map((s) => {
      const e = edge.statusOf(s.id);
      return e ? { ...s, edge: e } : s;
    });
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'streams') return streams;
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
