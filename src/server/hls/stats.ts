/**
 * The StatsSource the API and the exporter read, with HLS and DVR added: per stream, the state of
 * its HLS muxer and DVR recording (srsx's own `hls` and `dvr` objects in /api/v1/streams), and in
 * the summary the server's counters since start (segments written, not written, dropped; DVR
 * files, errors, dropped recordings) for the exporter. Everything else is the wrapped source's own
 * (a Proxy, so methods added there need nothing here).
 */
import type { MediaSummary, ServerSummary, StatsSource, StreamStats } from '../api/stats-source.js';
import type { MediaOutputs } from './outputs.js';

export function withMediaStatus(inner: StatsSource, media: () => MediaOutputs | undefined): StatsSource {
  const summary = (): ServerSummary => {
    const s = inner.summary();
    const m = media();
    if (!m) return s;
    const h = m.hls.totals;
    const d = m.dvr.totals;
    const totals: MediaSummary = { hlsSegments: h.segments, hlsSegmentErrors: h.writeErrors, hlsSegmentsDropped: h.dropped, dvrFiles: d.files, dvrErrors: d.errors, dvrDropped: d.dropped };
    return { ...s, media: totals };
  };
  const streams = (): StreamStats[] => {
    const list = inner.streams();
    const m = media();
    if (!m) return list;
    return list.map((s) => {
      const h = m.hls.find(s.vhost, s.app, s.name)?.stats();
      const d = m.dvr.find(s.vhost, s.app, s.name)?.stats();
      if (!h && !d) return s;
      const out: StreamStats = { ...s };
      if (h) out.hls = { sequence: h.sequence, segments: h.segments, dropped: h.droppedSegments, errors: h.writeErrors, lastError: h.lastError, keys: h.keys };
      if (d) out.dvr = { plan: d.plan, file: d.file, files: d.files, dropped: d.dropped, errors: d.diskErrors, lastError: d.lastError };
      return out;
    });
  };
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'streams') return streams;
      if (prop === 'summary') return summary;
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
