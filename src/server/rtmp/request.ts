/**
 * What an RTMP client asks for: vhost, app and stream, from connect's tcUrl/app and the
 * publish/play stream name. Like SRS, `?vhost=` (or `?domain=`) in the app or stream name
 * wins over the tcUrl host; query strings are stripped from app and stream.
 */
export interface RtmpRequest {
  tcUrl: string;
  host: string;
  vhost: string;
  app: string;
  stream: string;
  param: string;
}

function splitQuery(s: string): { path: string; query: URLSearchParams; raw: string } {
  const i = s.indexOf('?');
  if (i < 0) return { path: s, query: new URLSearchParams(), raw: '' };
  return { path: s.slice(0, i), query: new URLSearchParams(s.slice(i + 1).replace(/\.\.\./g, '&')), raw: s.slice(i) };
}

export function hostOfTcUrl(tcUrl: string): string {
  const m = /^[a-z]+:\/\/\[?([^/\]:?]+)/i.exec(tcUrl);
  return m?.[1] ?? '';
}

export function parseConnect(tcUrl: string, appField: string | undefined): Pick<RtmpRequest, 'tcUrl' | 'host' | 'vhost' | 'app' | 'param'> {
  const host = hostOfTcUrl(tcUrl);
  let appPath = appField;
  if (appPath === undefined || appPath === '') {
    const m = /^[a-z]+:\/\/[^/]+\/(.*)$/i.exec(tcUrl);
    appPath = m?.[1] ?? '';
  }
  const { path, query, raw } = splitQuery(appPath);
  // SRS takes the param from the tcUrl (srs_discovery_tc_url): an app field without a query
  // (what an SRS edge's token traverse sends) keeps the tcUrl's `?token=…`
  const tcQuery = raw === '' && appField ? splitQuery(/^[a-z]+:\/\/[^/]+\/(.*)$/i.exec(tcUrl)?.[1] ?? '') : undefined;
  const vhost = query.get('vhost') ?? query.get('domain') ?? tcQuery?.query.get('vhost') ?? tcQuery?.query.get('domain') ?? host;
  return { tcUrl, host, vhost, app: path.replace(/^\/+|\/+$/g, ''), param: raw || (tcQuery?.raw ?? '') };
}

export function parseStreamName(name: string): { stream: string; vhost?: string; param: string } {
  const { path, query, raw } = splitQuery(name);
  // SRS keys a stream without any extension (srs_generate_stream_url: `livestream.flv` is
  // `livestream`); an SRS edge whose first player is HTTP-FLV plays `livestream.flv` upstream
  const dot = path.lastIndexOf('.');
  const stream = dot > 0 ? path.slice(0, dot) : path;
  return { stream, vhost: query.get('vhost') ?? query.get('domain') ?? undefined, param: raw };
}
