/**
 * `srsx profile --valgrind|--asan -- serve -c <conf>`: start an srsx command (the server, by
 * default) under valgrind memcheck, or with the ASAN-built native addon and libasan preloaded;
 * wait for it to exit (or stop it after --duration); then parse what the tool wrote.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { hasCommand, missingCommand, runCommand } from '../host/exec.js';
import { supervise, type SupervisedRun } from '../host/supervise.js';
import { ASAN_ADDON_FILE, BUILD_NATIVE_SCRIPT, loadNativeAddon } from '../native/addon.js';
import { parseAsanLog, parseMemcheckLog, type AsanFinding, type MemcheckReport } from './memcheck-log.js';

const MAIN_JS = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const REPO = path.resolve(path.dirname(MAIN_JS), '../..');
export const NODE_SUPPRESSIONS = path.join(REPO, 'native/node.supp');
/** the server logs this once every listener is bound; http_api=PORT when the API is on */
const READY = /srsx serve pid=\d+(?=(?:.*?\bhttp_api=(\d+))?)/;

export interface MemcheckRunOptions {
  /** srsx arguments to run, e.g. ['serve', '-c', 'conf/srs.conf'] */
  srsxArgs: string[];
  outDir: string;
  durationMs?: number;
  onLine?: (line: string) => void;
  onStarted?: (pid: number, logHint: string) => void;
  onReady?: (apiPort: number | undefined) => void;
}

export interface ValgrindResult {
  run: SupervisedRun;
  command: string[];
  logFile: string;
  report: MemcheckReport;
}

/**
 * Runs `command` (an srsx command, under a tool) as a supervised child: its output, start and
 * readiness go to `opts`' callbacks (with the tool's log for that pid), and it is stopped after
 * `opts.durationMs` once ready. No perf map: the tools do not use one.
 */
function superviseSrsx(command: string[], env: Record<string, string>, logOf: (pid: number) => string, opts: MemcheckRunOptions): Promise<SupervisedRun> {
  return supervise(command[0]!, command.slice(1), {
    env: { ...process.env, SRSX_PERF_MAP: '0', ...env },
    onLine: opts.onLine,
    onStarted: (pid) => opts.onStarted?.(pid, logOf(pid)),
    readyPattern: READY,
    onReady: (m) => opts.onReady?.(m[1] ? Number(m[1]) : undefined),
    durationMs: opts.durationMs,
  });
}

export function valgrindArgs(logFile: string): string[] {
  return [
    '--tool=memcheck',
    '--leak-check=full',
    '--show-leak-kinds=definite,possible',
    '--errors-for-leak-kinds=definite',
    // V8 writes machine code at run time: valgrind must re-read code it has already translated
    '--smc-check=all-non-file',
    '--num-callers=30',
    `--suppressions=${NODE_SUPPRESSIONS}`,
    `--log-file=${logFile}`,
  ];
}

export async function runUnderValgrind(opts: MemcheckRunOptions): Promise<ValgrindResult> {
  if (!(await hasCommand('valgrind'))) throw missingCommand('valgrind');
  const addon = loadNativeAddon();
  if (!addon.ok) throw new UserError(`the valgrind leak check API needs the native addon: ${addon.reason}`, { hint: addon.fix });
  mkdirSync(opts.outDir, { recursive: true });
  const logPattern = path.resolve(opts.outDir, 'valgrind-%p.log');
  const command = ['valgrind', ...valgrindArgs(logPattern), process.execPath, MAIN_JS, ...opts.srsxArgs];
  const run = await superviseSrsx(command, {}, (pid) => logPattern.replace('%p', String(pid)), opts);
  const logFile = logPattern.replace('%p', String(run.pid));
  if (!existsSync(logFile)) throw new UserError(`valgrind wrote no log (${logFile})`, { hint: 'run the command by hand to see why valgrind did not start', exitCode: 3 });
  return { run, command, logFile, report: parseMemcheckLog(readFileSync(logFile, 'utf8')) };
}

export interface AsanResult {
  run: SupervisedRun;
  command: string[];
  libasan: string;
  logFiles: string[];
  findings: AsanFinding[];
}

export const ASAN_OPTIONS = [
  // node itself is not instrumented and keeps memory until exit: leak reports would be noise
  'detect_leaks=0',
  // node installs its own SIGSEGV handler (WebAssembly bounds checks)
  'handle_segv=0',
  'allow_user_segv_handler=1',
  'detect_odr_violation=0',
  'halt_on_error=1',
  'print_summary=1',
].join(':');

/** The ASAN build of the addon, (re)built when missing or older than its source. */
export async function ensureAsanAddon(log: (line: string) => void): Promise<void> {
  const source = path.join(REPO, 'native/src/srsx_native.c');
  if (existsSync(ASAN_ADDON_FILE) && statSync(ASAN_ADDON_FILE).mtimeMs >= statSync(source).mtimeMs) return;
  log('building the native addon with -fsanitize=address (native/build-asan)…');
  const r = await runCommand(process.execPath, [BUILD_NATIVE_SCRIPT, '--asan'], { timeoutMs: 300_000 });
  if (r.exitCode !== 0 || !existsSync(ASAN_ADDON_FILE)) {
    const why = (r.stderr || r.stdout).trim().split('\n').filter(Boolean).pop() ?? `exit ${r.exitCode}`;
    throw new UserError(`the ASAN build of the native addon failed: ${why}`, { hint: 'it needs python3, make and gcc with libasan (apt-get install gcc make python3)', exitCode: 3 });
  }
}

/** The libasan the ASAN addon links against (preloaded into node, which is not instrumented). */
export async function findLibasan(): Promise<string> {
  const r = await runCommand('ldd', [ASAN_ADDON_FILE]);
  const m = /^\s*(libasan\.so\S*) => (\S+)/m.exec(r.stdout);
  if (!m || !existsSync(m[2]!)) throw new UserError('libasan is not installed', { hint: 'apt-get install gcc (Debian 12: libasan8)' });
  return m[2]!;
}

export async function runUnderAsan(opts: MemcheckRunOptions & { log: (line: string) => void }): Promise<AsanResult> {
  await ensureAsanAddon(opts.log);
  const libasan = await findLibasan();
  mkdirSync(opts.outDir, { recursive: true });
  const logPrefix = path.resolve(opts.outDir, 'asan');
  const command = [process.execPath, MAIN_JS, ...opts.srsxArgs];
  const env = {
    SRSX_NATIVE_ADDON: ASAN_ADDON_FILE,
    LD_PRELOAD: [libasan, process.env.LD_PRELOAD].filter(Boolean).join(':'),
    ASAN_OPTIONS: [ASAN_OPTIONS, `log_path=${logPrefix}`, process.env.ASAN_OPTIONS].filter(Boolean).join(':'),
  };
  const run = await superviseSrsx(command, env, (pid) => `${logPrefix}.${pid}`, opts);
  const logFiles = readdirSync(opts.outDir)
    .filter((f) => f === `asan.${run.pid}` || f.startsWith(`asan.${run.pid}.`))
    .map((f) => path.join(opts.outDir, f));
  const findings = logFiles.flatMap((f) => parseAsanLog(readFileSync(f, 'utf8')));
  return { run, command: ['LD_PRELOAD=' + libasan, 'SRSX_NATIVE_ADDON=' + ASAN_ADDON_FILE, ...command], libasan, logFiles, findings };
}
