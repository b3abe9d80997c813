/**
 * `srsx serve --workers N`: one process per core, organised as an SRS cluster on one host.
 *
 * The supervisor (the process started, named by the pid file) runs an ORIGIN in-process on
 * 127.0.0.1:<a free port> (RTMP only) and forks N workers with node:cluster. Each worker runs the
 * user's config as an EDGE of that origin (every vhost `cluster { mode remote; origin
 * 127.0.0.1:<port>; }`): a stream published on any worker is pushed to the origin, players on any
 * worker pull it from there (one upstream per stream per worker). The RTMP and http_server ports
 * are shared by the workers (node's cluster module hands out the connections, round robin); worker
 * i's HTTP API listens on http_api's port + i and answers for that worker only.
 */
import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../errors.js';
import type { ServerConfig } from '../config/types.js';
import { loadConfig } from '../config/index.js';
import { plainCluster } from '../config/cluster.js';
import { loadConfigOffThread } from '../reload-worker.js';
import { createLogger, logStderrFromEnv } from '../log.js';
import { removePidFile, writePidFile } from '../pidfile.js';
import { LiveServer } from '../server.js';
import { onStopSignals } from '../stop-signals.js';

export const MAX_WORKERS = 64;
const RESTART_DELAY_MS = 1000;

/** `--workers [n]`: n, or the number of CPUs when given without a value; 1..64 else a UserError (exit 2). */
export function parseWorkers(value: string | true): number {
  if (value === true) return Math.min(MAX_WORKERS, os.availableParallelism());
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_WORKERS) {
    throw new UserError(`--workers ${value}: not a number of worker processes from 1 to ${MAX_WORKERS}`, { hint: `write e.g. --workers 2, or --workers alone for one per CPU (${os.availableParallelism()} here)` });
  }
  return n;
}

/** What a worker learns from the supervisor (environment of the fork). */
export interface WorkerRole {
  index: number;
  originPort: number;
  serverId?: string;
}

/** The role of this process when it is a `--workers` worker, else undefined. */
export function workerRole(): WorkerRole | undefined {
  if (!cluster.isWorker) return undefined;
  const index = Number(process.env.SRSX_WORKER_INDEX);
  const originPort = Number(process.env.SRSX_WORKER_ORIGIN);
  if (!Number.isInteger(index) || !Number.isInteger(originPort)) return undefined;
  return { index, originPort, serverId: process.env.SRSX_WORKER_SERVER_ID || undefined };
}

/** The user's config as worker `index` runs it: every vhost an edge of the local origin, the API on port + index. */
export function workerConfig(config: ServerConfig, role: WorkerRole): ServerConfig {
  return {
    ...config,
    daemon: false,
    serverId: role.serverId ?? config.serverId,
    httpApi: { ...config.httpApi, listen: { ...config.httpApi.listen, port: config.httpApi.listen.port + role.index } },
    vhosts: config.vhosts.map((v) => ({
      ...v,
      cluster: plainCluster('remote', [{ host: '127.0.0.1', port: role.originPort }]),
    })),
  };
}

/** The supervisor's origin: RTMP only on 127.0.0.1 (free port), the same vhosts without their cluster block. */
export function originConfig(config: ServerConfig, port = 0): ServerConfig {
  return {
    ...config,
    listen: [{ host: '127.0.0.1', port }],
    httpApi: { ...config.httpApi, enabled: false },
    httpServer: { ...config.httpServer, enabled: false },
    exporter: { ...config.exporter, enabled: false },
    rtcServer: { ...config.rtcServer, enabled: false },
    vhosts: config.vhosts.map((v) => ({ ...v, cluster: plainCluster('local') })),
  };
}

export interface SupervisorOptions {
  file: string | undefined;
  envOnly: boolean;
  workers: number;
  serverIdFor: (config: ServerConfig, onNote: (note: string) => void) => string;
}

/** Runs the supervisor until SIGTERM/SIGINT (never returns). */
export async function runSupervisor(opts: SupervisorOptions): Promise<void> {
  // workers load the same file whatever the supervisor's directory
  const file = opts.file === undefined ? undefined : path.resolve(opts.file);
  const config = loadConfig({ file, envOnly: opts.envOnly });
  if (config.rtcServer.enabled) {
    throw new UserError('rtc_server needs one process: drop --workers', { hint: 'WebRTC sessions are UDP and cannot be spread over workers: turn rtc_server off or run srsx serve without --workers' });
  }
  const logStderr = logStderrFromEnv();
  if (logStderr) process.stderr.on('error', () => {});
  const log = createLogger(config, { stderr: logStderr });
  for (const w of config.warnings) log.warn(`config: ${w}`);
  if (config.daemon && config.daemonSet) log.warn('daemon on is not supported with --workers: running in the foreground');
  for (const v of config.vhosts) {
    if (v.cluster.mode === 'remote') log.warn(`vhost ${v.name}: its cluster { mode remote; } is left out under --workers (the workers are edges of the supervisor's origin)`);
    else if (v.cluster.originCluster) log.warn(`vhost ${v.name}: its cluster { origin_cluster on; } is left out under --workers (a stream not published here is waited for, not looked up at the coworkers)`);
  }
  writePidFile(config.pidFile, { onStale: (note) => log.warn(note) });
  const pidFile = path.resolve(config.pidFile);
  const serverId = opts.serverIdFor(config, (note) => log.warn(note));
  let origin = originConfig(config);
  const server = new LiveServer({ config: origin, log, serverId });
  try {
    await server.start();
  } catch (err) {
    removePidFile(config.pidFile);
    await log.close();
    throw err;
  }
  const originPort = server.bound.rtmp[0]!;
  origin = originConfig(config, originPort);

  // the workers run `srsx serve` again (bin/srsx with this node's flags) and read their role from the environment
  cluster.setupPrimary({
    exec: process.argv[1],
    args: ['serve', ...(file ? ['-c', file] : []), ...(opts.envOnly ? ['-e'] : []), '--workers', String(opts.workers)],
    execArgv: process.execArgv,
  });
  const workers = new Map<number, Worker>();
  let stopping = false;
  let ready = 0;
  let started = false;
  const fork = (index: number) => {
    const w = cluster.fork({ SRSX_WORKER_INDEX: String(index), SRSX_WORKER_ORIGIN: String(originPort), SRSX_WORKER_SERVER_ID: serverId });
    workers.set(index, w);
    w.on('message', (m: unknown) => {
      if (m !== 'srsx-worker-ready') return;
      log.trace(`worker ${index} pid=${w.process.pid} ready`);
      if (!started && ++ready === opts.workers) {
        started = true;
        log.trace(`srsx serve pid=${process.pid} workers=${opts.workers} origin=127.0.0.1:${originPort} config=${config.source} pidfile=${pidFile}`);
      }
    });
    w.on('exit', (code, signal) => {
      if (workers.get(index) === w) workers.delete(index);
      if (stopping) return;
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      if (!started) {
        // a worker that cannot start (a port in use, ...) would fail again: stop everything
        log.error(`worker ${index} pid=${w.process.pid} failed to start (${how}): stopping`);
        void stop('graceful', 'start-up failure', code || 1);
        return;
      }
      log.warn(`worker ${index} pid=${w.process.pid} died (${how}): restarting in ${RESTART_DELAY_MS / 1000} s`);
      setTimeout(() => {
        if (!stopping) fork(index);
      }, RESTART_DELAY_MS);
    });
  };

  const stop = async (how: 'graceful' | 'fast', why: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    log.trace(`${why}: ${how} stop of ${workers.size} workers`);
    const all = [...workers.values()];
    if (how === 'fast') {
      for (const w of all) w.process.kill('SIGQUIT');
      removePidFile(config.pidFile);
      process.exit(exitCode);
    }
    await Promise.all(all.map((w) => new Promise<void>((resolve) => {
      if (w.process.exitCode !== null || w.process.signalCode !== null) return resolve();
      const t = setTimeout(() => w.process.kill('SIGKILL'), 10_000);
      w.process.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      w.process.kill('SIGTERM');
    })));
    await server.stop();
    removePidFile(config.pidFile);
    await log.close();
    process.exit(exitCode);
  };
  onStopSignals(stop, log, 15_000);
  // SIGHUP: every worker reloads (as serve does), the origin takes the new vhost settings
  process.on('SIGHUP', () => {
    log.reopen();
    for (const w of workers.values()) w.process.kill('SIGHUP');
    if (config.source.startsWith('<')) return;
    loadConfigOffThread(config.source).then((next) => {
      if (stopping) return;
      for (const note of server.reload(originConfig(next, originPort))) log.warn(`reload (origin): ${note}`);
      log.trace(`SIGHUP: origin reloaded ${next.source}, forwarded to ${workers.size} workers`);
    }, (err: unknown) => {
      log.error(`SIGHUP: origin reload failed, keeping the running config: ${err instanceof UserError ? err.message : String(err)}`);
    });
  });
  for (let i = 0; i < opts.workers; i++) fork(i);
  await new Promise<never>(() => {});
}
