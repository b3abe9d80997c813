/**
 * What every HTTP listener of srsx serve (http_server, http_api, exporter) bounds, and the guard
 * around its request handler:
 * - timeouts, so a slow or silent client (slowloris) is closed within seconds, not minutes;
 * - requests in flight per connection, so pipelining thousands of requests on one socket cannot
 *   make the server hold thousands of responses (and files, and streams) for it;
 * - a request target that does not decode is answered 400 before any handler sees it;
 * - an exception escaping a handler closes that connection only (guard.ts), with a log line.
 */
import http from 'node:http';
import type net from 'node:net';
import { httpError } from '../api/respond.js';
import { connectionFailed } from '../guard.js';
import { newId } from '../live/registry.js';
import type { Logger } from '../log.js';
import { badTarget } from './url.js';

export const HTTP_LIMITS = {
  /** the request line and headers must be complete this long after the request (or connection) starts */
  headersTimeoutMs: 5_000,
  /** the whole request, body included (the API takes no large bodies) */
  requestTimeoutMs: 10_000,
  /** an idle keep-alive connection is closed after this */
  keepAliveTimeoutMs: 5_000,
  /** how often node checks the two timeouts above (its default, 30 s, let a slowloris live 60-90 s) */
  checkIntervalMs: 1_000,
  /** requests received on one connection whose responses are not finished; past it the connection is closed */
  maxInFlightPerSocket: 16,
} as const;

/** http.createServer options with the timeouts above. */
export function httpServerOptions(): http.ServerOptions {
  return {
    headersTimeout: HTTP_LIMITS.headersTimeoutMs,
    requestTimeout: HTTP_LIMITS.requestTimeoutMs,
    keepAliveTimeout: HTTP_LIMITS.keepAliveTimeoutMs,
    connectionsCheckingInterval: HTTP_LIMITS.checkIntervalMs,
  };
}

interface SocketState {
  id: string;
  inFlight: number;
}

const states = new WeakMap<net.Socket, SocketState>();

/** The connection id of an HTTP socket (for logs), assigned at its first request. */
export function connectionId(socket: net.Socket): string {
  let st = states.get(socket);
  if (!st) {
    st = { id: newId('http'), inFlight: 0 };
    states.set(socket, st);
  }
  return st.id;
}

/**
 * An http.Server on `handler` with the limits above: timeouts, the per-connection cap of
 * requests in flight, 400 for a target that does not decode, and the last-resort guard.
 */
export function createGuardedHttpServer(what: string, log: Logger, handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): http.Server {
  const srv = http.createServer(httpServerOptions(), (req, res) => guardedRequest(what, log, req, res, handler));
  srv.keepAliveTimeout = HTTP_LIMITS.keepAliveTimeoutMs;
  return srv;
}

/** Runs one request through the limits and the guard (exported for tests). */
export function guardedRequest(
  what: string,
  log: Logger,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): void {
  const socket = req.socket;
  connectionId(socket);
  const st = states.get(socket)!;
  st.inFlight++;
  let counted = true;
  const done = () => {
    if (counted) {
      counted = false;
      st.inFlight--;
    }
  };
  res.once('finish', done);
  res.once('close', done);
  if (st.inFlight > HTTP_LIMITS.maxInFlightPerSocket) {
    // pipelined faster than answered: this client is not waiting for its answers
    if (st.inFlight === HTTP_LIMITS.maxInFlightPerSocket + 1) {
      log.warn(`${what}: close ${socket.remoteAddress}:${socket.remotePort}: over ${HTTP_LIMITS.maxInFlightPerSocket} requests in flight on one connection`, st.id);
    }
    socket.destroy();
    return;
  }
  try {
    if (badTarget(req.url) !== undefined) {
      httpError(res, 400);
      return;
    }
    handler(req, res);
  } catch (err) {
    connectionFailed(log, st.id, err, () => socket.destroy());
  }
}
