/**
 * The server's configuration: SRS's config format → typed ServerConfig.
 * Pipeline (as SRS): read + include → `$NAME` values → old forms rewritten → SRS's checks
 * (`srs -t` verdict) → env overrides + defaults → zod-validated ServerConfig.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.js';
import type { Directive } from './directive.js';
import { buildServerConfig } from './build.js';
import { checkSrsRules } from './check.js';
import { expandDollar, queriedEnvNames, type Env } from './env.js';
import { parseConf } from './parse.js';
import { transformOldForms } from './transform.js';
import type { ServerConfig } from './types.js';

export type { ServerConfig, VhostConfig, ListenAddress, PlayConfig, ForwardConfig, HttpRemuxConfig } from './types.js';
export { ConfigSyntaxError, parseConf } from './parse.js';
export { ConfigValueError } from './build.js';
export type { Directive, SourcePos } from './directive.js';

/** The embedded default: what `srsx serve` runs without -c. */
export const DEFAULT_CONF = `# srsx embedded default (srsx serve without -c)
listen              1935;
max_connections     1000;
daemon              off;
srs_log_tank        console;
pid                 ./objs/srs.pid;
http_api {
    enabled         on;
    listen          1985;
}
http_server {
    enabled         on;
    listen          8080;
    dir             ./objs/nginx/html;
}
vhost __defaultVhost__ {
    http_remux {
        enabled     on;
        mount       [vhost]/[app]/[stream].flv;
    }
}
`;
export const EMBEDDED = '<embedded>';
/** config.source in env-only mode (`srs -e`, SRS_ENV_ONLY): no file, every setting from SRS_* */
export const ENV_ONLY = '<env-only>';

/**
 * The root of an env-only config (SRS: an empty root gets `vhost __defaultVhost__ {}`). srsx
 * also listens on 1935 when SRS_LISTEN is not set (SRS would listen on nothing).
 */
export const ENV_ONLY_CONF = 'listen 1935;\nvhost __defaultVhost__ {\n}\n';

/**
 * SRS_* variables that are not config overrides (read by the command line or the process
 * itself), so never warned about as unknown.
 */
const PROCESS_ENV = new Set(['SRS_CONFIG_FILE', 'SRS_ENV_ONLY', 'SRS_WORK_DIR', 'SRS_SERVER_ID', 'SRS_DAEMON', 'SRS_PID']);

export interface LoadOptions {
  /** config file (-c); SRS_CONFIG_FILE in env wins over it, as in SRS */
  file?: string;
  /** working directory: the file and includes are relative to it (default process.cwd()) */
  cwd?: string;
  /** environment for SRS_* overrides and $NAME values (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** accept a config with `is_full on` (SRS refuses full.conf by name; default false, as SRS) */
  allowFull?: boolean;
  /**
   * env-only (`srs -e`; also when SRS_ENV_ONLY is set, to any value, as SRS): no file is read,
   * the root is `vhost __defaultVhost__ {}` and SRS_DAEMON=off / SRS_SRS_LOG_TANK=console unless set
   */
  envOnly?: boolean;
}

/** Whether this load is env-only (the -e flag, or SRS_ENV_ONLY present in the environment). */
export function isEnvOnly(opts: LoadOptions): boolean {
  const env = opts.env ?? process.env;
  return opts.envOnly === true || env.SRS_ENV_ONLY !== undefined;
}

export class ConfigCheckError extends UserError {
  constructor(detail: string, file: string) {
    super(`invalid config: ${detail}`, { hint: `fix ${file} (see conf/srs.conf and docs/config.md), then check it with: srsx serve -t -c ${file}` });
    this.name = 'ConfigCheckError';
  }
}

function resolveFile(opts: LoadOptions): { display: string; abs: string } | undefined {
  if (isEnvOnly(opts)) return undefined;
  const env = opts.env ?? process.env;
  const file = env.SRS_CONFIG_FILE || opts.file;
  if (!file) return undefined;
  const cwd = opts.cwd ?? process.cwd();
  return { display: file, abs: path.resolve(cwd, file) };
}

/** A config file (or all the files one config includes together) larger than this is refused. */
export const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;
export const MAX_CONFIG_TOTAL_BYTES = 16 * 1024 * 1024;

/**
 * Reads a config or include file: a regular file of at most MAX_CONFIG_FILE_BYTES. Opened
 * non-blocking and checked with fstat before reading, so a FIFO, a device or /dev/zero never
 * blocks or fills memory (a reload reading one would stall every player). `budget.bytes` counts
 * what one parse has read so far.
 */
export function readConfigFile(abs: string, budget: { bytes: number } = { bytes: 0 }): string {
  const fd = fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`not a regular file (${st.isFIFO() ? 'a FIFO' : st.isDirectory() ? 'a directory' : 'a device or socket'})`);
    if (st.size > MAX_CONFIG_FILE_BYTES) throw new Error(`${st.size} bytes, more than the ${MAX_CONFIG_FILE_BYTES} a config file may have`);
    budget.bytes += st.size;
    if (budget.bytes > MAX_CONFIG_TOTAL_BYTES) throw new Error(`the config and its includes exceed ${MAX_CONFIG_TOTAL_BYTES} bytes`);
    // at most the size fstat saw (a file that keeps growing is read up to that point)
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const got = fs.readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
    }
    return buf.toString('utf8', 0, n);
  } finally {
    fs.closeSync(fd);
  }
}

function readText(abs: string, display: string, budget: { bytes: number }): string {
  try {
    return readConfigFile(abs, budget);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`no config file at ${display}`, { hint: 'give an existing file with -c, e.g. -c conf/srs.conf' });
    throw new UserError(`cannot read config file ${display}: ${(err as Error).message}`, { hint: 'give a regular file (at most 4 MiB) and check its permissions' });
  }
}

function expandAll(dirs: Directive[], env: Env): void {
  for (const d of dirs) {
    if (d.args.length > 0) {
      const fallback = d.name === 'candidate' ? '*' : undefined;
      d.args = d.args.map((a) => (a.startsWith('$') ? expandDollar(a, env, fallback) : a));
    }
    if (d.children.length > 0) expandAll(d.children, env);
  }
}

interface Parsed {
  root: Directive[];
  notes: string[];
  display: string;
  source: string;
  env: Env;
}

function parseAll(opts: LoadOptions): Parsed {
  const envOnly = isEnvOnly(opts);
  let env = (opts.env ?? process.env) as Env;
  if (envOnly) {
    // SRS: env-only runs in the foreground and logs to the console unless told otherwise
    env = { ...env };
    if (env.SRS_DAEMON === undefined) env.SRS_DAEMON = 'off';
    if (env.SRS_SRS_LOG_TANK === undefined && env.SRS_LOG_TANK === undefined) env.SRS_SRS_LOG_TANK = 'console';
  }
  const cwd = opts.cwd ?? process.cwd();
  const f = resolveFile(opts);
  const display = envOnly ? ENV_ONLY : f?.display ?? EMBEDDED;
  const budget = { bytes: 0 };
  const text = envOnly ? ENV_ONLY_CONF : f ? readText(f.abs, f.display, budget) : DEFAULT_CONF;
  const root = parseConf(text, display, { readInclude: (inc) => readConfigFile(path.resolve(cwd, inc), budget) });
  expandAll(root, env);
  const notes = transformOldForms(root);
  return { root, notes, display, source: envOnly ? ENV_ONLY : f?.abs ?? EMBEDDED, env };
}

/** Loads and validates a config; throws a UserError (file:line:column, what was expected) when it is not valid. */
export function loadConfig(opts: LoadOptions = {}): ServerConfig {
  const p = parseAll(opts);
  const problem = checkSrsRules(p.root, { env: p.env, file: p.display, refuseFull: !opts.allowFull });
  if (problem) throw new ConfigCheckError(problem, p.display);
  queriedEnvNames.clear();
  const cfg = buildServerConfig(p.root, { env: p.env, source: p.source }, p.notes);
  const unread = Object.keys(p.env)
    .filter((k) => k.startsWith('SRS_') && p.env[k] && !queriedEnvNames.has(k) && !PROCESS_ENV.has(k))
    .sort();
  for (const k of unread) cfg.warnings.push(`env ${k}: not an SRS setting srsx implements (ignored)`);
  return cfg;
}

export interface CheckResult {
  ok: boolean;
  /** the file as given (or '<embedded>') */
  file: string;
  warnings: string[];
  error?: string;
  hint?: string;
}

/** `srsx serve -t`: SRS's verdict on a config, never throws for config problems. */
export function checkConfig(opts: LoadOptions = {}): CheckResult {
  const f = resolveFile(opts);
  const file = isEnvOnly(opts) ? ENV_ONLY : f?.display ?? EMBEDDED;
  try {
    const cfg = loadConfig(opts);
    return { ok: true, file, warnings: cfg.warnings };
  } catch (err) {
    if (err instanceof UserError) return { ok: false, file, warnings: [], error: err.message, hint: err.hint };
    throw err;
  }
}

/**
 * The -t output, worded like `srs -t`. stdout gets the verdict, stderr the warnings and the
 * error; exitCode is 0 or 2 (srsx's exit code for a bad config; SRS itself exits 255).
 */
export function formatCheckResult(r: CheckResult): { stdout: string; stderr: string; exitCode: number } {
  const warn = r.warnings.map((w) => `warn: ${w}\n`).join('');
  if (r.ok) {
    return {
      stdout: `the config file ${r.file} syntax is ok\nconfig file ${r.file} test is successful\n`,
      stderr: warn,
      exitCode: 0,
    };
  }
  return {
    stdout: '',
    stderr: `${warn}${r.error}\n${r.hint ? `hint: ${r.hint}\n` : ''}config file ${r.file} test is failed\n`,
    exitCode: 2,
  };
}
