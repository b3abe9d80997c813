import { readCmdline } from './proc-process.js';
import type { HostRoot } from './root.js';

/** How a process was started: argv, working directory and environment (to load the config it runs). */
export interface ProcessLaunch {
  argv: string[];
  cwd: string | undefined;
  env: Record<string, string>;
}

/** Parses /proc/PID/environ (NUL-separated NAME=value). */
export function parseEnviron(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** argv, cwd and environment of a live process, or undefined when it is gone. */
export async function readLaunch(root: HostRoot, pid: number): Promise<ProcessLaunch | undefined> {
  const argv = await readCmdline(root, pid);
  if (!argv) return undefined;
  const [cwd, environ] = await Promise.all([root.readLink(`/proc/${pid}/cwd`), root.readOptional(`/proc/${pid}/environ`).catch(() => undefined)]);
  return { argv, cwd, env: environ === undefined ? {} : parseEnviron(environ) };
}

/**
 * GETs a JSON document from a server's local HTTP API (the srsx/SRS API on 127.0.0.1), with an
 * optional Basic auth; rejects with a one-line reason (refused, timeout, HTTP status, not JSON).
 */
export async function getJson(url: string, opts: { timeoutMs: number; auth?: { username: string; password: string } }): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.auth) headers.authorization = `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}`;
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(opts.timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    if (e.name === 'TimeoutError') throw new Error(`no answer from ${url} in ${opts.timeoutMs} ms`);
    throw new Error(`cannot reach ${url}: ${e.cause?.code ?? e.message}`);
  }
  const body = await res.text();
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new Error(`${url} did not answer JSON`);
  }
}
