/**
 * The server id SRS reports as `server` in every API answer and `server_id` in the http hooks:
 * SRS_SERVER_ID or `server_id` when given; otherwise the one stored next to the pid file
 * (SRS's srs_server_id_path: the pid file's `.pid` replaced by `.id`, e.g. ./objs/srs.id), and
 * a new `vid-xxxxxxx` when there is none. The id is written back to that file, so it survives
 * restarts, as SRS does.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** ./objs/srs.pid → ./objs/srs.id (a name without .pid gets .id appended) */
export function serverIdPath(pidFile: string): string {
  const p = pidFile.replace(/\.pid/g, '.id');
  return p.endsWith('.id') ? p : `${p}.id`;
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** SRS's srs_generate_stat_vid: `vid-` and 7 random characters. */
export function newServerId(): string {
  const b = randomBytes(7);
  return `vid-${[...b].map((x) => ALNUM[x % ALNUM.length]).join('')}`;
}

/** Resolves the id (explicit, else the id file, else new) and stores it; a file that cannot be written is reported through `onNote`. */
export function resolveServerId(opts: { explicit?: string; pidFile: string; cwd?: string; onNote?: (note: string) => void }): string {
  const file = path.resolve(opts.cwd ?? process.cwd(), serverIdPath(opts.pidFile));
  let id = opts.explicit?.trim() || undefined;
  if (!id) {
    try {
      const stored = fs.readFileSync(file, 'utf8').trim();
      if (/^[\x21-\x7e]{1,128}$/.test(stored)) id = stored;
    } catch {
      // none yet
    }
  }
  id ??= newServerId();
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, id);
  } catch (err) {
    opts.onNote?.(`cannot store the server id in ${file}: ${(err as Error).message} (it will change at the next start)`);
  }
  return id;
}
