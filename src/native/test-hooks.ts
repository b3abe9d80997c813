/**
 * TEST ONLY: SRSX_NATIVE_TEST=leak|overflow makes `srsx serve` call the addon's deliberately
 * broken functions once it is listening, so the tests of `srsx profile --valgrind/--asan` have a
 * real leak and a real out-of-bounds write to find. Unset in normal use; does nothing then.
 */
import { loadNativeAddon } from './addon.js';

export function runNativeTestHook(value: string | undefined, log: (line: string) => void): void {
  if (!value) return;
  const state = loadNativeAddon();
  if (!state.ok) {
    log(`SRSX_NATIVE_TEST=${value}: ${state.reason}`);
    return;
  }
  if (value === 'leak') log(`SRSX_NATIVE_TEST: leaked ${state.addon.testLeak(4096)} bytes on purpose (test_leak_block)`);
  else if (value === 'overflow') {
    log('SRSX_NATIVE_TEST: writing one byte past a 16-byte block on purpose (test_overflow_block)');
    state.addon.testOverflow(16);
  } else log(`SRSX_NATIVE_TEST=${value} is not leak or overflow: ignored`);
}
