/**
 * SIGHUP's config load, off the event loop: reading, parsing and checking a config runs in a
 * worker thread, so players never wait for it (a 4 MiB config with 57,000 vhosts took 7 s of
 * main-thread time). The worker's result is a plain ServerConfig (structured clone); it is
 * bounded in time (RELOAD_TIMEOUT_MS, then terminated) and in heap.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { UserError } from '../errors.js';
import { loadConfig, type ServerConfig } from './config/index.js';

export const RELOAD_TIMEOUT_MS = 10_000;

type Reply = { ok: true; config: ServerConfig } | { ok: false; message: string; hint?: string; user: boolean };

/** Loads `file` (relative to the cwd, as at start) in a worker thread; rejects with a UserError when it is not valid. */
export function loadConfigOffThread(file: string | undefined, timeoutMs = RELOAD_TIMEOUT_MS): Promise<ServerConfig> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { srsxReload: true, file },
      resourceLimits: { maxOldGenerationSizeMb: 512 },
      stdout: false,
      stderr: false,
    });
    let settled = false;
    const done = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      void worker.terminate();
    };
    const timer = setTimeout(() => done(() => reject(new UserError(`loading the config took more than ${timeoutMs / 1000} s`, { hint: 'make the config smaller' }))), timeoutMs);
    worker.once('message', (r: Reply) => {
      done(() => {
        if (r.ok) resolve(r.config);
        else if (r.user) reject(new UserError(r.message, { hint: r.hint }));
        else reject(new Error(r.message));
      });
    });
    worker.once('error', (err) => done(() => reject(new UserError(`loading the config failed: ${err.message}`))));
    worker.once('exit', (code) => done(() => reject(new UserError(`loading the config failed: its thread exited (${code})`))));
  });
}

if (!isMainThread && parentPort && (workerData as { srsxReload?: boolean } | null)?.srsxReload === true) {
  let reply: Reply;
  try {
    reply = { ok: true, config: loadConfig({ file: (workerData as { file?: string }).file }) };
  } catch (err) {
    reply = err instanceof UserError
      ? { ok: false, message: err.message, hint: err.hint, user: true }
      : { ok: false, message: err instanceof Error ? err.message : String(err), user: false };
  }
  parentPort.postMessage(reply);
}
