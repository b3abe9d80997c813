import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (tests run the compiled CLI through bin/srsx, as a user would). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * SRS's trunk/conf (SRS 7.0, MIT, licence in conf/LICENSE.SRS), copied into the repository so
 * `npm test` passes on a fresh clone: run configs from this directory (`include ./conf/...`
 * resolves against it, as in SRS).
 */
export const SRS_DIR = path.join(REPO, 'test/fixtures/srs-conf');
export const SRSX_BIN = path.join(REPO, 'bin/srsx');

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export function hasTool(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * `it` when every requirement holds; otherwise a skipped test whose name says why,
 * so a skip is never silent (jest prints it as "skipped ... [needs root]").
 */
export function itIf(requirements: { root?: boolean; tools?: string[] }) {
  const missing: string[] = [];
  if (requirements.root && !isRoot) missing.push('root');
  for (const t of requirements.tools ?? []) if (!hasTool(t)) missing.push(t);
  if (missing.length === 0) return it;
  const reason = `[skipped: needs ${missing.join(', ')}]`;
  if (process.env.CI) {
    // CI installs every tool and runs as root: a skip there is a broken CI, not a pass.
    return (name: string, fn?: jest.ProvidesCallback, timeout?: number) =>
      it(name, () => {
        throw new Error(`${reason} but CI must provide it`);
      }, timeout);
  }
  return (name: string, fn?: jest.ProvidesCallback, timeout?: number) => {
    process.stderr.write(`${name} ${reason}\n`);
    it.skip(`${name} ${reason}`, fn, timeout);
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `srsx ...args` synchronously through bin/srsx. */
export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string; input?: string; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [SRSX_BIN, ...args], {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, FORCE_COLOR: '0', ...options.env },
    input: options.input,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A TCP port free on 127.0.0.1 right now (the bench harness's helper). */
export { freePort } from '../../src/bench/servers.js';
