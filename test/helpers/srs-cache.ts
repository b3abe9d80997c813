// SRS's own programs that tests run beside srsx: srs-bench's Go test binaries and the SRS 7 server,
// both built from SRS's source (see docs/testing.md) and cached outside the repo, because building
// them takes minutes and needs the source, which CI cannot download (no network but npm and Debian).
//
// Where the cache lives: $SRSX_TEST_CACHE (default /var/cache/srsx-test):
//   srs/                SRS's source tree (trunk/configure, trunk/3rdparty/srs-bench)
//   bin/blackbox.test   srs-bench ./blackbox
//   bin/srs.test        srs-bench ./srs
//   srs/trunk/objs/srs  the SRS server (./configure --rtc=on …)
//
// A missing binary is rebuilt here when the source and the compiler are present. When the source is
// missing too, the test cannot run on this machine: it says so loudly (console.warn with the how-to)
// and is skipped — or, with SRSX_REQUIRE_SRS=1 (set it on a machine that has the cache), FAILS.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export const CACHE = process.env.SRSX_TEST_CACHE ?? '/var/cache/srsx-test';
export const SRS_SOURCE = path.join(CACHE, 'srs');
export const BENCH_DIR = process.env.SRSX_SRS_BENCH_BIN ?? path.join(CACHE, 'bin');
export const BLACKBOX_BIN = path.join(BENCH_DIR, 'blackbox.test');
export const SRS_PKG_BIN = path.join(BENCH_DIR, 'srs.test');
export const SRS_BIN = process.env.SRSX_SRS_BIN ?? path.join(SRS_SOURCE, 'trunk/objs/srs');

const HOW_TO = 'see docs/testing.md ("SRS\'s programs in tests"): put SRS 7\'s source in ' + SRS_SOURCE;

export interface Availability {
  ok: boolean;
  /** why not, with how to fix it */
  why: string;
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): { ok: boolean; tail: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  return { ok: r.status === 0, tail: out.split('\n').slice(-15).join('\n') };
}

/** srs-bench's two test binaries, built from the cached source when missing (go: Debian's golang-go). */
export function ensureSrsBench(): Availability {
  if (existsSync(BLACKBOX_BIN) && existsSync(SRS_PKG_BIN)) return { ok: true, why: '' };
  const benchSrc = path.join(SRS_SOURCE, 'trunk/3rdparty/srs-bench');
  if (!existsSync(path.join(benchSrc, 'go.mod'))) {
    return { ok: false, why: `srs-bench binaries missing in ${BENCH_DIR} and SRS's source missing in ${SRS_SOURCE}: ${HOW_TO}` };
  }
  if (!have('go')) return { ok: false, why: `srs-bench binaries missing in ${BENCH_DIR}; building them needs Go: apt-get install golang-go` };
  mkdirSync(BENCH_DIR, { recursive: true });
  for (const [out, pkg] of [[BLACKBOX_BIN, './blackbox'], [SRS_PKG_BIN, './srs']] as const) {
    if (existsSync(out)) continue;
    const r = run('go', ['test', '-mod=vendor', '-c', '-o', out, pkg], benchSrc, 15 * 60_000);
    if (!r.ok) return { ok: false, why: `building srs-bench ${pkg} failed (go test -mod=vendor -c in ${benchSrc}):\n${r.tail}` };
  }
  return { ok: true, why: '' };
}

/** The SRS 7 server binary (built with --rtc=on), built from the cached source when missing. */
export function ensureSrs(): Availability {
  if (existsSync(SRS_BIN)) return { ok: true, why: '' };
  const trunk = path.join(SRS_SOURCE, 'trunk');
  if (!existsSync(path.join(trunk, 'configure'))) {
    return { ok: false, why: `SRS binary missing (${SRS_BIN}) and SRS's source missing in ${SRS_SOURCE}: ${HOW_TO}` };
  }
  for (const tool of ['make', 'g++', 'autoconf', 'automake', 'libtoolize', 'pkg-config', 'tclsh']) {
    if (!have(tool)) {
      return { ok: false, why: `SRS binary missing (${SRS_BIN}); building it needs ${tool}: apt-get install automake autoconf libtool pkg-config tclsh unzip libssl-dev` };
    }
  }
  const conf = run('./configure', ['--srt=off', '--utest=off', '--sys-ssl=on', '--sanitizer=off', '--rtc=on', '--ffmpeg-fit=on'], trunk, 20 * 60_000);
  if (!conf.ok) return { ok: false, why: `SRS ./configure failed in ${trunk}:\n${conf.tail}` };
  const make = run('make', ['-j2'], trunk, 40 * 60_000);
  if (!make.ok || !existsSync(SRS_BIN)) return { ok: false, why: `building SRS failed (make in ${trunk}):\n${make.tail}` };
  return { ok: true, why: '' };
}

/**
 * `it` when the programs are available (or SRSX_REQUIRE_SRS=1: then each case fails with `why`); otherwise
 * `it.skip`, after a loud warning naming what is missing and how to provide it.
 */
export function itIfAvailable(a: Availability): jest.It {
  if (a.ok || process.env.SRSX_REQUIRE_SRS === '1') return it;
  console.warn(`SKIPPED (SRS's programs unavailable on this machine; SRSX_REQUIRE_SRS=1 makes this a failure): ${a.why}`);
  return it.skip;
}
