import http from 'node:http';

/** One media segment of a live HLS playlist. */
export interface PlaylistSegment {
  seq: number;
  uri: string;
  /** EXTINF seconds */
  duration: number;
}

export interface MediaPlaylist {
  targetDuration: number;
  mediaSequence: number;
  segments: PlaylistSegment[];
  endList: boolean;
}

/**
 * Parses a media playlist (RFC 8216 §4.3): EXT-X-TARGETDURATION, EXT-X-MEDIA-SEQUENCE, each
 * EXTINF and the URI line after it (numbered from the media sequence), EXT-X-ENDLIST. Returns
 * undefined when the text is not an M3U playlist (no #EXTM3U first line) or has no target duration.
 */
export function parseMediaPlaylist(text: string): MediaPlaylist | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== '#EXTM3U') return undefined;
  let targetDuration = NaN;
  let mediaSequence = 0;
  let endList = false;
  let pending: number | undefined;
  const segments: PlaylistSegment[] = [];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      let m: RegExpExecArray | null;
      if ((m = /^#EXT-X-TARGETDURATION:(\d+(?:\.\d+)?)/.exec(line))) targetDuration = Number(m[1]);
      else if ((m = /^#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(line))) mediaSequence = Number(m[1]);
      else if ((m = /^#EXTINF:(\d+(?:\.\d+)?)/.exec(line))) pending = Number(m[1]);
      else if (line === '#EXT-X-ENDLIST') endList = true;
      continue;
    }
    if (pending === undefined) continue; // a URI without EXTINF: not a media segment
    segments.push({ seq: mediaSequence + segments.length, uri: line, duration: pending });
    pending = undefined;
  }
  if (!Number.isFinite(targetDuration) || targetDuration <= 0) return undefined;
  return { targetDuration, mediaSequence, segments, endList };
}

/**
 * The first variant's URI when the text is a master playlist (an EXT-X-STREAM-INF and the URI line
 * after it), else undefined. SRS 7 answers the stream's .m3u8 with such a playlist pointing at the
 * media playlist with a session (`?hls_ctx=…`).
 */
export function masterPlaylistVariant(text: string): string | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== '#EXTM3U') return undefined;
  const at = lines.findIndex((l) => l.startsWith('#EXT-X-STREAM-INF'));
  if (at < 0) return undefined;
  return lines.slice(at + 1).find((l) => l !== '' && !l.startsWith('#'));
}

export interface HlsLoadOptions {
  url: string;
  clients: number;
  durationMs: number;
  rampPerSecond: number;
  reportEveryMs: number;
  /** the steady window (bandwidth, delivered %) starts this long after the last player started */
  settleMs?: number;
  /** one request (playlist or segment) longer than this is a failure (default 10 s) */
  timeoutMs?: number;
  onReport?: (r: HlsLoadReport) => void;
}

export interface HlsLoadReport {
  elapsedS: number;
  clients: number;
  started: number;
  /** players that fetched at least one segment */
  playing: number;
  segments: number;
  bytes: number;
  failed: number;
  late: number;
  mbps: number;
  cpuPercent: number;
}

export interface HlsLoadSummary extends HlsLoadReport {
  url: string;
  durationS: number;
  /** the stream's bitrate from the segments fetched: their bytes over their EXTINF durations */
  streamKbps: number;
  /** over the steady window: players × stream bitrate */
  expectedMbps: number;
  /** over the steady window: bytes received per second */
  actualMbps: number;
  /** bytes received of the segments that appeared in players' playlists in the steady window, over their sizes × players */
  deliveredPercent: number;
  playlists: number;
  errors: Record<string, number>;
}

interface Fetched {
  status: number;
  bytes: number;
  body?: string;
}

/** GET with a keep-alive agent, counting the body's bytes (kept only when `keep`); rejects on timeout. */
function get(url: string, agent: http.Agent, timeoutMs: number, keep: boolean, onBytes: (n: number) => void): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      let bytes = 0;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        onBytes(c.length);
        if (keep) chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, body: keep ? Buffer.concat(chunks).toString('utf8') : undefined }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('connection closed mid-body')));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * n HLS players of one live playlist in this process, each on its own keep-alive connection: a
 * player polls the playlist about every target duration (half of it when nothing changed, as
 * hls.js does), starts at the newest segment and then fetches every new segment once, in order.
 * A segment whose download ends later than its duration after it was listed is late. Stops
 * polling after `durationMs`; requests still running end within `timeoutMs`.
 */
export async function runHlsLoad(opts: HlsLoadOptions): Promise<HlsLoadSummary> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const t0 = Date.now();
  const deadline = t0 + opts.durationMs;
  let steadyFrom = Infinity;
  let started = 0;
  let bytes = 0;
  let steadyBytes = 0;
  let segments = 0;
  let failed = 0;
  let late = 0;
  let playlists = 0;
  const playing = new Set<number>();
  const errors: Record<string, number> = {};
  /** segment sizes by absolute URL, from complete downloads */
  const sizes = new Map<string, number>();
  const streamSeen = new Map<string, { bytes: number; duration: number }>();
  /** per (player, segment listed in the steady window): what the player got of it */
  const steadyOwed: Array<{ url: string; got: number }> = [];
  const fail = (why: string) => {
    failed++;
    errors[why] = (errors[why] ?? 0) + 1;
  };
  const countBytes = (n: number) => {
    bytes += n;
  };
  const countSegmentBytes = (n: number) => {
    bytes += n;
    const now = Date.now();
    if (now >= steadyFrom && now < deadline) steadyBytes += n;
  };

  async function player(id: number): Promise<void> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let lastSeq = -1;
    let playlistUrl = opts.url;
    try {
      while (Date.now() < deadline) {
        const pollAt = Date.now();
        let list: MediaPlaylist | undefined;
        try {
          let r = await get(playlistUrl, agent, timeoutMs, true, countBytes);
          const variant = r.status === 200 ? masterPlaylistVariant(r.body ?? '') : undefined;
          if (variant !== undefined) {
            // a master playlist: this player follows its first variant from now on, as hls.js does
            playlistUrl = new URL(variant, playlistUrl).toString();
            r = await get(playlistUrl, agent, timeoutMs, true, countBytes);
          }
          playlists++;
          if (r.status !== 200) fail(`playlist HTTP ${r.status}`);
          else if (!(list = parseMediaPlaylist(r.body ?? ''))) fail('playlist not a media playlist');
        } catch (err) {
          fail(`playlist: ${(err as Error).message}`);
        }
        let changed = false;
        if (list) {
          const fresh = lastSeq < 0 ? list.segments.slice(-1) : list.segments.filter((s) => s.seq > lastSeq);
          if (lastSeq >= 0 && list.segments.length && list.segments[0]!.seq > lastSeq + 1) fail('segments left the window before they were fetched');
          for (const s of fresh) {
            changed = true;
            lastSeq = s.seq;
            const url = new URL(s.uri, playlistUrl).toString();
            const owed = pollAt >= steadyFrom ? { url, got: 0 } : undefined;
            if (owed) steadyOwed.push(owed);
            try {
              const r = await get(url, agent, timeoutMs, false, countSegmentBytes);
              if (r.status !== 200) {
                fail(`segment HTTP ${r.status}`);
                continue;
              }
              segments++;
              playing.add(id);
              sizes.set(url, r.bytes);
              streamSeen.set(url, { bytes: r.bytes, duration: s.duration });
              if (owed) owed.got = r.bytes;
              if (Date.now() - pollAt > s.duration * 1000) late++;
            } catch (err) {
              fail(`segment: ${(err as Error).message}`);
            }
          }
          if (list.endList) break;
        }
        const wait = (list ? list.targetDuration * 1000 : 1000) / (changed ? 1 : 2);
        const next = pollAt + wait - Date.now();
        if (next > 0) await sleep(Math.min(next, Math.max(0, deadline - Date.now())));
      }
    } finally {
      agent.destroy();
    }
  }

  let lastAt = t0;
  let lastBytes = 0;
  let lastCpu = process.cpuUsage();
  const snapshot = (): HlsLoadReport => {
    const now = Date.now();
    const dt = Math.max(1, now - lastAt);
    const cpu = process.cpuUsage(lastCpu);
    const r: HlsLoadReport = {
      elapsedS: Math.round((now - t0) / 100) / 10,
      clients: opts.clients,
      started,
      playing: playing.size,
      segments,
      bytes,
      failed,
      late,
      mbps: ((bytes - lastBytes) * 8) / dt / 1000,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / dt) * 100,
    };
    lastAt = now;
    lastBytes = bytes;
    lastCpu = process.cpuUsage();
    return r;
  };

  const running: Promise<void>[] = [];
  const report = setInterval(() => opts.onReport?.(snapshot()), opts.reportEveryMs);
  const rampFrom = Date.now();
  while (started < opts.clients && Date.now() < deadline) {
    // by the clock: a late wake-up catches up
    const due = Math.min(opts.clients, Math.ceil(((Date.now() - rampFrom + 50) * opts.rampPerSecond) / 1000));
    while (started < due) running.push(player(started++));
    await sleep(50);
  }
  steadyFrom = Date.now() + (opts.settleMs ?? 0);
  // every player stops polling at the deadline; a request under way ends within timeoutMs
  await Promise.all(running);
  clearInterval(report);
  const end = Date.now();
  const final = snapshot();
  const seen = [...streamSeen.values()];
  const seenSeconds = seen.reduce((n, s) => n + s.duration, 0);
  const streamKbps = seenSeconds > 0 ? (seen.reduce((n, s) => n + s.bytes, 0) * 8) / seenSeconds / 1000 : 0;
  const steadyEnd = Math.min(end, deadline);
  const steadyMs = steadyEnd - steadyFrom;
  const avgSize = seen.length ? seen.reduce((n, s) => n + s.bytes, 0) / seen.length : 0;
  const owedBytes = steadyOwed.reduce((n, o) => n + (sizes.get(o.url) ?? avgSize), 0);
  const gotBytes = steadyOwed.reduce((n, o) => n + o.got, 0);
  return {
    ...final,
    url: opts.url,
    durationS: (end - t0) / 1000,
    streamKbps,
    expectedMbps: (opts.clients * streamKbps) / 1000,
    actualMbps: steadyMs > 0 ? (steadyBytes * 8) / steadyMs / 1000 : 0,
    deliveredPercent: owedBytes > 0 ? (gotBytes / owedBytes) * 100 : 0,
    playlists,
    errors,
  };
}
