import { UserError } from '../errors.js';

export interface RtmpUrl {
  host: string;
  port: number;
  app: string;
  stream: string;
  tcUrl: string;
}

/**
 * rtmp://host[:port]/app[/more]/stream[?query] → parts, split like ffmpeg and SRS: the last
 * path segment is the stream (its query stays with it), the rest is the app.
 */
export function parseRtmpUrl(url: string): RtmpUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`'${url}' is not a URL`, { hint: 'use rtmp://host[:port]/app/stream, e.g. rtmp://127.0.0.1/live/livestream' });
  }
  if (u.protocol !== 'rtmp:') throw new UserError(`'${url}' is not an rtmp:// URL`, { hint: 'use rtmp://host[:port]/app/stream' });
  const parts = u.pathname.replace(/^\/+/, '').split('/').filter((p) => p !== '');
  if (parts.length < 2) throw new UserError(`'${url}' has no app and stream`, { hint: 'use rtmp://host[:port]/app/stream, e.g. rtmp://127.0.0.1/live/livestream' });
  const stream = decodeURIComponent(parts.pop()!) + u.search;
  const app = parts.map(decodeURIComponent).join('/');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : 1935;
  return { host, port, app, stream, tcUrl: `rtmp://${u.host}/${app}` };
}
