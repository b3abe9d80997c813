// Helpers of the edge/origin cluster tests (serve-edge, serve-edge-srs): players that count
// frames, a publisher in a loop, the API's lists, polling with a deadline.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { testFlv } from './media.js';
import { sleep, spawnTool } from './serve.js';

const run = promisify(execFile);

/** Video packets ffprobe reads from `input` in its first `seconds` (async, so players can run side by side). */
export async function videoFrames(input: string, seconds: number): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-rw_timeout', '15000000', '-select_streams', 'v', '-read_intervals', `%+${seconds}`, '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', input], { timeout: 40_000, maxBuffer: 16 << 20 });
  return stdout.split('\n').filter((l) => l.trim() !== '').length;
}

/** Video packets of an FLV file. */
export async function fileFrames(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file], { timeout: 30_000, maxBuffer: 16 << 20 });
  return stdout.split('\n').filter((l) => l.trim() !== '').length;
}

/** An edge vhost's body: cluster { mode remote; origin …; } plus HTTP-FLV. */
export const edgeBody = (origins: number[], extra = '') => `
    cluster { mode remote; origin ${origins.map((p) => `127.0.0.1:${p}`).join(' ')}; ${extra} }
    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }`;

/** ffmpeg publishing a 10 s file in a loop, in real time (stop it by PID). */
export function publishLoop(url: string) {
  return spawnTool('ffmpeg', ['-v', 'error', '-re', '-stream_loop', '-1', '-i', testFlv({ seconds: 10 }), '-c', 'copy', '-f', 'flv', url]);
}

export interface ApiClient { id: string; type: string; ip: string; name: string; publish: boolean }
export interface ApiStream { name: string; app: string; publish: { active: boolean }; edge?: { kind: string; state: string; upstream: string; attempts: number; last_error?: string } }

/** /api/v1/clients or /api/v1/streams of the server whose HTTP API listens on `port` (srsx or SRS). */
export async function apiList<T>(port: number, what: 'clients' | 'streams'): Promise<T[]> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/${what}/?count=1000`);
  return ((await res.json()) as Record<string, unknown>)[what] as T[];
}

/** The players (not publishers) of `stream` the API on `port` lists. */
export async function playersOf(port: number, stream: string): Promise<ApiClient[]> {
  return (await apiList<ApiClient>(port, 'clients')).filter((c) => c.name === stream && !c.publish);
}

/** Polls `fn` every 200 ms until it returns something truthy; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; Date.now() < end && i < 1000; i++) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
