/**
 * SRS's file name variables for hls_m3u8_file, hls_ts_file and dvr_path: [vhost] [app] [stream],
 * the local time as Go's layout digits ([2006] year, [01] month, [02] day, [15] hour,
 * [04] minute, [05] second, [999] millisecond) and [timestamp] (Unix ms). Pure.
 */

export interface StreamNames {
  vhost: string;
  app: string;
  stream: string;
}

export function buildStreamPath(template: string, names: StreamNames): string {
  return template.replaceAll('[vhost]', names.vhost).replaceAll('[app]', names.app).replaceAll('[stream]', names.stream);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function buildTimePath(template: string, now: Date, timestamp: string = String(now.getTime())): string {
  return template
    .replaceAll('[2006]', String(now.getFullYear()))
    .replaceAll('[01]', pad(now.getMonth() + 1))
    .replaceAll('[02]', pad(now.getDate()))
    .replaceAll('[15]', pad(now.getHours()))
    .replaceAll('[04]', pad(now.getMinutes()))
    .replaceAll('[05]', pad(now.getSeconds()))
    .replaceAll('[999]', pad(now.getMilliseconds(), 3))
    .replaceAll('[timestamp]', timestamp);
}

/** dirname of a '/'-separated path ('' for a bare name). */
export function dirOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}
