import { Command } from 'commander';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import type { ServerConfig } from '../server/config/types.js';
import { checkConfig, formatCheckResult, loadConfig } from '../server/config/index.js';
import { createLogger, logStderrFromEnv } from '../server/log.js';
import { ensureNofile } from '../server/nofile.js';
import { removePidFile, writePidFile } from '../server/pidfile.js';
import { loadConfigOffThread } from '../server/reload-worker.js';
import { LiveServer } from '../server/server.js';
import { onStopSignals } from '../server/stop-signals.js';
import { parseWorkers, runSupervisor, workerConfig, workerRole, type WorkerRole } from '../server/cluster/workers.js';
import { runNativeTestHook } from '../native/test-hooks.js';
import { VERSION } from '../version.js';
import { daemonize, enterWorkDir, printSignature, printVersion, serverIdFor, shouldDaemonize } from './srs-compat.js';

interface ServeOptions {
  config?: string;
  test?: boolean;
  envOnly?: boolean;
  version?: boolean;
  V?: boolean;
  signature?: boolean;
  G?: boolean;
  workers?: string | true;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the reference RTMP + HTTP-FLV server (SRS config format, SRS-compatible HTTP API)')
    .option('-c, --config <file>', 'SRS-format config file (relative paths and includes resolve against the working directory)')
    .option('-t, --test', 'check the config and exit, like `srs -t` (0 ok, 2 invalid)')
    .option('-e, --env-only', 'no config file: every setting from SRS_* variables, like `srs -e` (also when SRS_ENV_ONLY is set)')
    .option('-v, --version', 'print the version and exit, like `srs -v`')
    .option('-V', 'same as -v')
    .option('-g, --signature', 'print the server signature and exit, like `srs -g`')
    .option('-G', 'same as -g')
    .option('--workers [n]', 'n worker processes (1-64, default one per CPU) sharing the ports, edges of an origin in this process (docs/cluster.md)')
    .addHelpText('after', `
Without -c, an embedded default runs: RTMP on 1935, HTTP API on 1985, HTTP server on 8080
with HTTP-FLV at http://HOST:8080/[app]/[stream].flv, pid file ./objs/srs.pid.

Examples:
  srsx serve                                  embedded default
  srsx serve -c conf/srs.conf                 an SRS config
  srsx serve -t -c conf/srs.conf              check it only
  srsx serve --workers 4 -c conf/srs.conf     4 processes on the same ports (API of worker i on http_api + i)
  SRS_LISTEN=19350 srsx serve                 override any setting from the environment
  SRS_HTTP_API_ENABLED=on srsx serve -e       env-only, like srs -e (SRS_WORK_DIR, SRS_SERVER_ID, SRS_PID, ...)
  srsx serve -v                               the version, like srs -v
  ffmpeg -re -i in.flv -c copy -f flv rtmp://127.0.0.1/live/livestream
  ffplay rtmp://127.0.0.1/live/livestream     or http://127.0.0.1:8080/live/livestream.flv
  curl http://127.0.0.1:1985/api/v1/streams

Signals: SIGTERM/SIGINT stop gracefully, SIGQUIT stops at once, SIGHUP reloads the config
(play, forward and http_remux settings; players stay connected) and reopens the log file.`)
    .action(async (opts: ServeOptions) => {
      if (opts.version || opts.V) return printVersion(VERSION);
      if (opts.signature || opts.G) return printSignature(VERSION);
      if (opts.test) {
        const out = formatCheckResult(checkConfig({ file: opts.config, envOnly: opts.envOnly }));
        process.stdout.write(out.stdout);
        process.stderr.write(out.stderr);
        process.exitCode = out.exitCode;
        return;
      }
      if (opts.workers !== undefined) {
        // a forked worker runs the serve action again: its role is in its environment
        const role = workerRole();
        if (role) return runServer(opts.config, opts.envOnly === true, role);
        return runSupervisor({ file: opts.config, envOnly: opts.envOnly === true, workers: parseWorkers(opts.workers), serverIdFor });
      }
      await runServer(opts.config, opts.envOnly === true);
    });
}

/**
 * node never removes the perf map it writes (/tmp/perf-PID.map, see bin/srsx): a restarted
 * server would leave one per run. It is removed at stop unless SRSX_PERF_MAP=keep (to run
 * `perf report` on a recording after the server has gone).
 */
function removePerfMap(): void {
  if (process.env.SRSX_PERF_MAP === 'keep' || !process.execArgv.some((a) => a.startsWith('--perf-basic-prof'))) return;
  rmSync(`/tmp/perf-${process.pid}.map`, { force: true });
}

async function runServer(file: string | undefined, envOnly: boolean, role?: WorkerRole): Promise<void> {
  // a --workers worker: the config as an edge of the supervisor's origin (src/server/cluster/workers.ts)
  const adapt = (c: ServerConfig) => (role ? workerConfig(c, role) : c);
  const config = adapt(loadConfig({ file, envOnly }));
  const startCwd = process.cwd();
  // read (and removed from the environment) before `daemon on` starts a child without that descriptor
  const logStderr = logStderrFromEnv();
  // under bin/srsx's filter, fd 2 is a pipe to the wrapper: if the wrapper is killed, no EPIPE may stop the server
  if (logStderr) process.stderr.on('error', () => {});
  // SRS's order: the config is read, then `daemon on` detaches, then SRS_WORK_DIR / work_dir applies
  if (shouldDaemonize(config)) await daemonize(config, startCwd);
  enterWorkDir(config);
  const log = createLogger(config, { stderr: logStderr });
  // with the log in a file the console says nothing else: say once where to look
  if (config.log.tank === 'file') process.stderr.write(`srsx serve: logging to ${path.resolve(config.log.file)} (srs_log_tank file, srs_log_level ${config.log.level})\n`);
  for (const w of config.warnings) log.warn(`config: ${w}`);
  if (config.workDir) log.trace(`work_dir: ${process.cwd()}`);
  const pidFile = path.resolve(config.pidFile);
  try {
    // SRS's check_number_connections: max_connections + 128 must fit the open-files limit
    const raised = await ensureNofile(config.maxConnections);
    if (raised) log.trace(raised);
    if (!role) writePidFile(config.pidFile, { onStale: (note) => log.warn(note) });
  } catch (err) {
    await log.close();
    throw err;
  }
  const server = new LiveServer({ config, log, serverId: serverIdFor(config, (note) => log.warn(note)) });
  // a stop signal while the listeners are being opened (seconds under valgrind) stops cleanly, not by
  // the signal's default action
  const duringStart = (signal: NodeJS.Signals) => {
    log.trace(`${signal} during start-up: stopping`);
    removePidFile(config.pidFile);
    removePerfMap();
    void log.close().finally(() => process.exit(0));
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) process.on(sig, duringStart);
  try {
    await server.start();
  } catch (err) {
    removePidFile(config.pidFile);
    await log.close();
    throw err;
  } finally {
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) process.off(sig, duringStart);
  }
  const b = server.bound;
  log.trace(`srsx serve pid=${process.pid} config=${config.source} rtmp=${b.rtmp.join(',')}` +
    `${b.http ? ` http_server=${b.http}` : ''}${b.api ? ` http_api=${b.api}` : ''}${b.exporter ? ` exporter=${b.exporter}` : ''} pidfile=${pidFile}`);

  if (role) process.send?.('srsx-worker-ready');
  runNativeTestHook(process.env.SRSX_NATIVE_TEST, (line) => log.warn(line));

  let stopping = false;
  const stop = async (how: 'graceful' | 'fast', signal: string) => {
    if (stopping) return;
    stopping = true;
    log.trace(`${signal}: ${how} stop`);
    if (how === 'fast') {
      removePidFile(config.pidFile);
      removePerfMap();
      process.exit(0);
    }
    await server.stop();
    removePidFile(config.pidFile);
    removePerfMap();
    await log.close();
    process.exit(0);
  };
  onStopSignals(stop, log, 5000);

  // SIGHUP: the config is read, parsed and checked in a worker thread (players never wait for it);
  // signals arriving meanwhile make one more reload after it, not one each
  let reloading = false;
  let again = false;
  const reload = async () => {
    if (reloading) {
      again = true;
      return;
    }
    reloading = true;
    try {
      do {
        again = false;
        try {
          // the file as resolved at start (the work_dir chdir must not move it)
          const next = adapt(await loadConfigOffThread(config.source));
          if (stopping) return;
          for (const note of server.reload(next)) log.warn(`reload: ${note}`);
          log.trace(`SIGHUP: reloaded ${next.source}`);
        } catch (err) {
          const msg = err instanceof UserError ? err.message : String(err);
          log.error(`SIGHUP: reload failed, keeping the running config: ${msg}`);
        }
      } while (again && !stopping);
    } finally {
      reloading = false;
    }
  };
  process.on('SIGHUP', () => {
    log.reopen();
    if (config.source.startsWith('<')) {
      log.trace(`SIGHUP: log reopened (${config.source} config: nothing to reload)`);
      return;
    }
    void reload();
  });
  await new Promise<never>(() => {});
}
