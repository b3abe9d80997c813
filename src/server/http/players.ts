/**
 * `/players/` on the HTTP server: SRS-like test pages (WHIP publisher, WHEP player, HTTP-FLV with
 * mpegts.js, HLS with hls.js) shipped in the package's `players/` folder; the player libraries come from the
 * package's node_modules (`/players/lib/<file>`), never from a CDN.
 */
import { existsSync, promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { contentTypeOf, httpError, resolveInside } from '../api/index.js';

export const PLAYERS_PREFIX = '/players';

const here = path.dirname(fileURLToPath(import.meta.url));
/** the package root: two levels up from src/server/http (or dist/server/http) */
const PACKAGE_ROOT = path.resolve(here, '../../..');
export const PLAYERS_DIR = path.join(PACKAGE_ROOT, 'players');

/** Libraries the pages load, by the name they use under /players/lib/. */
const LIBS: Record<string, { pkg: string; file: string }> = {
  'mpegts.js': { pkg: 'mpegts.js', file: 'dist/mpegts.js' },
  'mpegts.js.map': { pkg: 'mpegts.js', file: 'dist/mpegts.js.map' },
  'hls.js': { pkg: 'hls.js', file: 'dist/hls.min.js' },
};

/** A file of an installed package, found the way Node finds packages (node_modules upwards). */
function packageFile(pkg: string, file: string): string | undefined {
  for (let dir = here; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', pkg, file);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** The file a /players/ URL path names, or undefined (not a players path, or outside the folder). */
export function playersFile(pathname: string): string | undefined {
  if (pathname !== PLAYERS_PREFIX && !pathname.startsWith(`${PLAYERS_PREFIX}/`)) return undefined;
  const rest = pathname.slice(PLAYERS_PREFIX.length) || '/';
  const lib = /^\/lib\/([^/]+)$/.exec(rest);
  if (lib) {
    const l = LIBS[lib[1]!];
    return l ? packageFile(l.pkg, l.file) : undefined;
  }
  return resolveInside(PLAYERS_DIR, rest);
}

/** Serves GET/HEAD under /players/; false when the path is not ours (the caller goes on). */
export function servePlayers(req: IncomingMessage, res: ServerResponse): boolean {
  const pathname = (req.url ?? '/').split('?')[0]!;
  if (pathname !== PLAYERS_PREFIX && !pathname.startsWith(`${PLAYERS_PREFIX}/`)) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    httpError(res, 405);
    return true;
  }
  if (pathname === PLAYERS_PREFIX) {
    const query = (req.url ?? '').slice(pathname.length);
    res.writeHead(302, { Location: `${PLAYERS_PREFIX}/${query}` });
    res.end();
    return true;
  }
  const file = playersFile(pathname);
  if (!file) {
    httpError(res, 404);
    return true;
  }
  fs.readFile(file).then(
    (body) => {
      res.writeHead(200, { 'Content-Type': contentTypeOf(file), 'Content-Length': body.length, 'Cache-Control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
    () => httpError(res, 404),
  );
  return true;
}
