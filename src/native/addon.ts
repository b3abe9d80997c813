/**
 * The native addon (native/, N-API): valgrind client requests for the incremental leak check,
 * plus two deliberately broken test-only functions. Optional: when it was not built (no
 * compiler at install) loadNativeAddon() says why instead of throwing.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const LEAK_CHECKS = ['full', 'quick', 'added', 'changed', 'new'] as const;
export type LeakCheckKind = (typeof LEAK_CHECKS)[number];

export interface LeakCounts {
  /** the valgrind client request issued, e.g. VALGRIND_DO_ADDED_LEAK_CHECK */
  call: string;
  /** bytes, from VALGRIND_COUNT_LEAKS after the check (0 outside valgrind) */
  leaked: number;
  dubious: number;
  reachable: number;
  suppressed: number;
}

export interface NativeAddon {
  runningOnValgrind(): number;
  features(): { valgrindHeaders: boolean; newLeakCheck: boolean; asan: boolean };
  leakCheck(kind: LeakCheckKind): LeakCounts;
  /** TEST ONLY: loses a malloc'd block of `bytes` (default 4096) */
  testLeak(bytes?: number): number;
  /** TEST ONLY: writes one byte past a malloc'd block of `bytes` (default 16) */
  testOverflow(bytes?: number): number;
}

export type AddonState = { ok: true; addon: NativeAddon; file: string } | { ok: false; reason: string; fix: string; file: string };

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where the addon is: $SRSX_NATIVE_ADDON (srsx profile --asan points it at the ASAN build), else native/build. */
export function nativeAddonFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.SRSX_NATIVE_ADDON || path.join(repoRoot, 'native/build/Release/srsx_native.node');
}

export const ASAN_ADDON_FILE = path.join(repoRoot, 'native/build-asan/build/Release/srsx_native.node');
export const BUILD_NATIVE_SCRIPT = path.join(repoRoot, 'scripts/build-native.mjs');

let cached: AddonState | undefined;

export function loadNativeAddon(): AddonState {
  if (cached) return cached;
  const file = nativeAddonFile();
  if (!existsSync(file)) {
    cached = { ok: false, file, reason: `the native addon was not built (${file} is missing)`, fix: 'install python3, make and gcc, then run `npm run build:native` in the srsx checkout' };
    return cached;
  }
  try {
    const addon = createRequire(import.meta.url)(file) as NativeAddon;
    cached = { ok: true, addon, file };
  } catch (err) {
    cached = { ok: false, file, reason: `the native addon did not load: ${(err as Error).message.split('\n')[0]}`, fix: 'rebuild it with `npm run build:native` (built for another Node version?)' };
  }
  return cached;
}
