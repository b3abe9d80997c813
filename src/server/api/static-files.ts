/**
 * http_server `dir`: static files, as SRS's SrsHttpFileServer for plain files — `/` and `.../`
 * serve index.html, content types from SRS's table, Content-Length, HEAD, 404 "Not Found".
 * Paths are decoded and resolved inside the root; `..`, NUL bytes and symlinks leading out of the
 * root are refused (404, never a file outside dir).
 */
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { httpError } from './respond.js';
import { tryDecode } from '../http/url.js';

const MIME: Record<string, string> = {
  '.ts': 'video/MP2T',
  '.flv': 'video/x-flv',
  '.m4v': 'video/x-m4v',
  '.3gpp': 'video/3gpp',
  '.3gp': 'video/3gpp',
  '.mp4': 'video/mp4',
  '.aac': 'audio/x-aac',
  '.mp3': 'audio/mpeg',
  '.m4a': 'audio/x-m4a',
  '.ogg': 'audio/ogg',
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.rss': 'application/rss+xml',
  '.json': 'application/json',
  '.swf': 'application/x-shockwave-flash',
  '.doc': 'application/msword',
  '.zip': 'application/zip',
  '.rar': 'application/x-rar-compressed',
  '.xml': 'text/xml',
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.ico': 'image/x-icon',
  '.png': 'image/png',
  '.jpeg': 'image/jpeg',
  '.jpg': 'image/jpeg',
  '.gif': 'image/gif',
  '.mpd': 'application/dash+xml',
  '.m4s': 'video/iso.segment',
  '.mp4v': 'video/mp4',
};

export function contentTypeOf(file: string): string {
  return MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export interface StaticOptions {
  /** http_server.dir; relative paths resolve against cwd */
  dir: string;
  cwd?: string;
  /** CORS headers when the request has an Origin (http_server.crossdomain) */
  crossdomain?: boolean;
}

/**
 * The file under `root` that `urlPath` names, or undefined when it is outside the root or
 * malformed. Pure path logic (no file system access).
 */
export function resolveInside(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  if (!decoded.startsWith('/')) decoded = `/${decoded}`;
  if (decoded.endsWith('/')) decoded += 'index.html';
  // refuse any '..' segment outright rather than normalising it away
  if (decoded.split('/').some((seg) => seg === '..')) return undefined;
  const full = path.resolve(root, `.${decoded}`);
  return full === root || full.startsWith(root + path.sep) ? full : undefined;
}

/** Serves a static file for GET/HEAD; always answers (it is the last handler on http_server). */
export async function serveStatic(req: IncomingMessage, res: ServerResponse, opts: StaticOptions): Promise<void> {
  if (opts.crossdomain && req.headers.origin) res.setHeader('Access-Control-Allow-Origin', '*');
  if (req.method !== 'GET' && req.method !== 'HEAD') return httpError(res, 405);
  const root = path.resolve(opts.cwd ?? process.cwd(), opts.dir);
  const pathname = (req.url ?? '/').split('?')[0]!;
  if (tryDecode(pathname) === undefined) return httpError(res, 400);
  const candidate = resolveInside(root, pathname);
  if (!candidate) return httpError(res, 404);

  let file: string;
  let size: number;
  try {
    // follow symlinks, then check again that the real file is inside the real root
    const realRoot = await fs.promises.realpath(root);
    file = await fs.promises.realpath(candidate);
    if (!(file === realRoot || file.startsWith(realRoot + path.sep))) return httpError(res, 404);
    const st = await fs.promises.stat(file);
    if (!st.isFile()) return httpError(res, 404);
    size = st.size;
  } catch {
    return httpError(res, 404);
  }

  res.writeHead(200, { 'Content-Type': contentTypeOf(file), 'Content-Length': size, Connection: 'close' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // Open the file only once this response owns the socket: a request pipelined behind others
  // waits for node to attach it (after the previous response), and when the client leaves first
  // it never is, so no file descriptor is held for it (5,000 pipelined GETs held 5,000 fds); the
  // pending wait is garbage with the connection.
  if (!res.socket) {
    await new Promise<void>((resolve) => res.once('socket', () => resolve()));
    if (req.socket.destroyed) return;
  }
  await new Promise<void>((resolve) => {
    const stream = fs.createReadStream(file);
    stream.on('error', () => {
      res.destroy();
      resolve();
    });
    res.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
}
