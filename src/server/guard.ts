/**
 * The last-resort guard of one connection: an exception that escapes a connection's handler
 * (an HTTP request handler, an RTMP session's data handler) costs that connection only. It is
 * closed and logged at error level with the connection id, as one line starting with
 * `connection handler failed` (tests grep for it: a bug found this way is still a bug). Expected
 * bad input never gets here: it is answered (HTTP 400, an RTMP status) by the handler itself.
 */
import type { Logger } from './log.js';

/** The text every guard log line starts with. */
export const HANDLER_FAILED = 'connection handler failed';

/** One line: the error's name and message and where it was thrown (no multi-line stack in the log). */
export function describeFailure(err: unknown): string {
  if (!(err instanceof Error)) return `non-Error thrown: ${String(err).slice(0, 200)}`;
  const frame = (err.stack ?? '').split('\n').find((l) => /^\s+at /.test(l))?.trim();
  const text = `${err.name}: ${err.message}`.replace(/[\r\n]+/g, ' ').slice(0, 500);
  return frame ? `${text} (${frame})` : text;
}

/** Logs the failure of connection `id` and closes it (close() itself may not throw the server down either). */
export function connectionFailed(log: Logger, id: string, err: unknown, close: () => void): void {
  try {
    log.error(`${HANDLER_FAILED}: ${describeFailure(err)}`, id);
  } finally {
    try {
      close();
    } catch {
      // the connection is beyond saving; the server is not
    }
  }
}

/**
 * Wraps a connection's handler: `fn`'s exceptions are caught, logged once per connection
 * (connectionFailed) and close the connection; later calls after a failure are ignored.
 * Usage: `socket.on('data', guard(log, id, () => socket.destroy(), (d: Buffer) => this.onData(d)))`.
 */
export function guard<A extends unknown[]>(log: Logger, id: string, close: () => void, fn: (...args: A) => void): (...args: A) => void {
  let failed = false;
  return (...args: A) => {
    if (failed) return;
    try {
      fn(...args);
    } catch (err) {
      failed = true;
      connectionFailed(log, id, err, close);
    }
  };
}
