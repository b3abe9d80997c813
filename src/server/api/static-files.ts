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

/**
 * Small files as they were last read, keyed by their real path and checked against the stat of each
 * request (inode, size, mtime): HLS playlists and segments are written to a temp file and renamed, so
 * a new version is a new inode. Live HLS is a few small files fetched by every player: serving them
 * from memory saves the open/read/close of each request. Bounded: files up to 4 MB, 64 MB in all,
 * oldest out first.
 */
const CACHE_FILE_MAX = 4 << 20;
const CACHE_TOTAL_MAX = 64 << 20;
const fileCache = new Map<string, { ino: number; size: number; mtimeMs: number; data: Buffer }>();
let fileCacheBytes = 0;
/** bytes of small files being read into memory right now */
let readingBytes = 0;

function cacheGet(file: string, st: fs.Stats): Buffer | undefined {
  const c = fileCache.get(file);
  if (!c) return undefined;
  if (c.ino === st.ino && c.size === st.size && c.mtimeMs === st.mtimeMs) return c.data;
  fileCache.delete(file);
  fileCacheBytes -= c.size;
  return undefined;
}

function cachePut(file: string, st: fs.Stats, data: Buffer): void {
  const old = fileCache.get(file);
  if (old) {
    fileCache.delete(file);
    fileCacheBytes -= old.size;
  }
  fileCache.set(file, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, data });
  fileCacheBytes += data.length;
  for (const [k, v] of fileCache) {
    if (fileCacheBytes <= CACHE_TOTAL_MAX) break;
    fileCache.delete(k);
    fileCacheBytes -= v.size;
  }
}

/** The real path of a root, re-read at most once a second (it is stat'ed for every request otherwise). */
const realRoots = new Map<string, { real: string; at: number }>();
async function realRoot(root: string): Promise<string> {
  const now = Date.now();
  const r = realRoots.get(root);
  if (r && now - r.at < 1000) return r.real;
  const real = await fs.promises.realpath(root);
  if (realRoots.size > 64) realRoots.clear();
  realRoots.set(root, { real, at: now });
  return real;
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
  let st: fs.Stats;
  try {
    // follow symlinks, then check again that the real file is inside the real root
    const rootReal = await realRoot(root);
    file = await fs.promises.realpath(candidate);
    if (!(file === rootReal || file.startsWith(rootReal + path.sep))) return httpError(res, 404);
    st = await fs.promises.stat(file);
    if (!st.isFile()) return httpError(res, 404);
    size = st.size;
  } catch {
    return httpError(res, 404);
  }
  let data = req.method === 'GET' ? cacheGet(file, st) : undefined;
  // reads into memory are bounded too (many clients asking for many different files at once): past
  // CACHE_TOTAL_MAX in flight, the file is streamed from disk as any large one
  if (!data && req.method === 'GET' && size <= CACHE_FILE_MAX && readingBytes + size <= CACHE_TOTAL_MAX) {
    readingBytes += size;
    try {
      const read = await fs.promises.readFile(file).finally(() => (readingBytes -= size));
      // written meanwhile: serve what was read (consistent), keep it only if it is the stat'ed version
      if (read.length === size) cachePut(file, st, read);
      data = read;
      size = read.length;
    } catch {
      return httpError(res, 404);
    }
  }

  res.writeHead(200, { 'Content-Type': contentTypeOf(file), 'Content-Length': size, Connection: 'close' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  if (data) {
    res.end(data);
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
