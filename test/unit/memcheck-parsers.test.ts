import { readFileSync } from 'node:fs';
import path from 'node:path';
import { firstOwnFrame, parseAsanLog, parseMemcheckLog } from '../../src/profile/memcheck-log.js';
import { ValgrindApi, NATIVE_UNAVAILABLE_CODE } from '../../src/server/api/valgrind.js';
import type { AddonState, LeakCheckKind, NativeAddon } from '../../src/native/addon.js';
import { REPO } from '../helpers/env.js';

const fixture = (name: string) => readFileSync(path.join(REPO, 'test/fixtures/memcheck', name), 'utf8');

describe('valgrind memcheck log', () => {
  it('reads the incremental checks of a server run and the check at exit', () => {
    const r = parseMemcheckLog(fixture('valgrind-3.19-serve-incremental.log'));
    expect(r.pids).toEqual([6278]);
    expect(r.errors).toEqual([]);
    expect(r.errorCount).toBe(2); // --errors-for-leak-kinds=definite counts the lost block in each check
    expect(r.summaries.map((s) => [s.definitelyLost, s.definitelyLostAdded])).toEqual([[4096, 4096], [4096, 0], [4096, undefined]]);
    expect(r.summaries[0]!.stillReachable).toBe(3433697);
    const lost = r.leaks.filter((l) => l.kind === 'definitely lost');
    // an "added" check prints only what grew: the second check shows no record
    expect(lost.map((l) => [l.check, l.bytes, l.bytesAdded])).toEqual([[0, 4096, 4096], [2, 4096, undefined]]);
    expect(firstOwnFrame(lost[0]!.stack)).toEqual({ fn: 'test_leak_block', where: 'srsx_native.c:155' });
  });

  it('reads a leak found by a check from node -e', () => {
    const r = parseMemcheckLog(fixture('valgrind-3.19-node20-added.log'));
    const lost = r.leaks.filter((l) => l.kind === 'definitely lost');
    expect(lost.length).toBe(2); // the added check, then the check at exit
    expect(lost[0]).toMatchObject({ bytes: 4096, blocks: 1, bytesAdded: 4096, blocksAdded: 1 });
    expect(lost[0]!.stack[0]!.fn).toBe('malloc');
  });

  it('reads a memory error with its stack and the block it hit', () => {
    const r = parseMemcheckLog(fixture('valgrind-3.19-invalid-write.log'));
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.kind).toBe('Invalid write of size 1');
    expect(r.errors[0]!.stack[0]).toEqual({ fn: 'test_overflow_block', where: 'srsx_native.c:171' });
    expect(r.errors[0]!.detail[0]).toMatch(/Address 0x[0-9a-f]+ is 0 bytes after a block of size 16 alloc'd/);
    expect(r.errorCount).toBe(1);
  });

  it('ignores text that is not valgrind output', () => {
    expect(parseMemcheckLog('hello\nworld\n')).toEqual({ pids: [], errors: [], leaks: [], summaries: [] });
  });
});

describe('AddressSanitizer log', () => {
  it('reads the finding, its access, both stacks and the summary', () => {
    const [f, ...rest] = parseAsanLog(fixture('asan-gcc12-serve-heap-buffer-overflow.log'));
    expect(rest).toEqual([]);
    expect(f!.kind).toBe('heap-buffer-overflow');
    expect(f!.pid).toBe(6478);
    expect(f!.access).toMatch(/^WRITE of size 1 at 0x[0-9a-f]+ thread T0$/);
    expect(f!.stack[0]).toEqual({ fn: 'test_overflow_block', where: '../src/srsx_native.c:171' });
    expect(f!.stack[2]!.where).toBe('/usr/bin/node+0xc45d94');
    expect(f!.location).toMatch(/0 bytes to the right of 16-byte region/);
    expect(f!.allocatedAt[0]!.fn).toBe('__interceptor_malloc');
    expect(firstOwnFrame(f!.allocatedAt)!.fn).toBe('test_overflow_block');
    expect(f!.summary).toBe('AddressSanitizer: heap-buffer-overflow ../src/srsx_native.c:171 in test_overflow_block');
  });
});

describe('GET /api/v1/valgrind', () => {
  const counts = { leaked: 0, dubious: 0, reachable: 0, suppressed: 0 };
  function fakeAddon(onValgrind: boolean, leaked: number[]): AddonState {
    const addon: NativeAddon = {
      runningOnValgrind: () => (onValgrind ? 1 : 0),
      features: () => ({ valgrindHeaders: true, newLeakCheck: false, asan: false }),
      leakCheck: (kind: LeakCheckKind) => ({ ...counts, call: `CALL_${kind}`, leaked: leaked.shift() ?? 0 }),
      testLeak: () => 0,
      testOverflow: () => 0,
    };
    return { ok: true, addon, file: 'x.node' };
  }

  it('turns an unknown check into full, as SRS does', () => {
    const api = new ValgrindApi(() => fakeAddon(false, []));
    expect(api.check('bogus').data.check).toBe('full');
    expect(api.check(undefined).data.check).toBe('full');
    expect(api.check('quick').data).toMatchObject({ check: 'quick', call: 'CALL_quick', valgrind: false });
  });

  it('reports bytes and the change since the previous check under valgrind', () => {
    const state = fakeAddon(true, [100, 4196]);
    const api = new ValgrindApi(() => state);
    const first = api.check('added');
    expect(first).toMatchObject({ code: 0, data: { valgrind: true, bytes: { leaked: 100 } } });
    expect(first.data.delta).toBeUndefined();
    expect(api.check('new').data).toMatchObject({ delta: { leaked: 4096 }, note: expect.stringMatching(/ran "added" instead/) });
  });

  it('says why and how to fix it when the addon is missing', () => {
    const api = new ValgrindApi(() => ({ ok: false, file: 'x.node', reason: 'the native addon was not built', fix: 'npm run build:native' }));
    expect(api.check('full')).toEqual({ code: NATIVE_UNAVAILABLE_CODE, data: expect.objectContaining({ available: false, reason: 'the native addon was not built', fix: 'npm run build:native' }) });
  });
});
