/**
 * How SRS's HTTP API answers: compact JSON (`application/json`), or JSONP `cb(json)`
 * (`text/javascript`) when `?callback=` is given; errors as `{"code":N}` with HTTP 200;
 * protocol errors as plain text (`Not Found`, `Method Not Allowed`); CORS as SrsHttpCorsMux.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const ErrorCode = {
  success: 0,
  exporterDisabled: 1090,
  vhostNotFound: 2014,
  streamNotFound: 2048,
  clientNotFound: 2049,
  jsonpInvalid: 4058,
} as const;

/** SRS's srs_go_http_error: plain text status line body. */
export function httpError(res: ServerResponse, status: number, text?: string): void {
  const body = text ?? STATUS_TEXT[status] ?? 'Error';
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  500: 'Internal Server Error',
};

/** Sends `body` (already-serialised JSON) as JSON, or as JSONP when `callback` is set. */
export function sendJson(req: IncomingMessage, res: ServerResponse, body: string, callback: string | undefined, contentType?: string): void {
  let out = body;
  let type = contentType ?? 'application/json';
  if (callback) {
    out = `${callback}(${body})`;
    type = 'text/javascript';
  }
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(out) });
  res.end(req.method === 'HEAD' ? undefined : out);
}

export function sendCode(req: IncomingMessage, res: ServerResponse, code: number, callback: string | undefined): void {
  sendJson(req, res, JSON.stringify({ code }), callback);
}

/**
 * SrsHttpCorsMux: with CORS enabled and an Origin header, set the permissive headers; answer
 * OPTIONS with 200 (405 when CORS is off). Returns true when the request was answered (OPTIONS).
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, enabled: boolean): boolean {
  if (enabled && req.headers.origin) {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', '*');
    res.setHeader('Access-Control-Allow-Methods', '*');
    res.setHeader('Access-Control-Expose-Headers', '*');
    res.setHeader('Access-Control-Allow-Credentials', 'false');
    res.setHeader('Access-Control-Request-Private-Network', 'true');
  }
  if (req.method === 'OPTIONS') {
    res.writeHead(enabled ? 200 : 405, { 'Content-Length': 0 });
    res.end();
    return true;
  }
  return false;
}
