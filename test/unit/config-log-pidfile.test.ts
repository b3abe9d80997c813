// src/server/log.ts and src/server/pidfile.ts: the process side of the config (srs_log_*, pid).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/server/log.js';
import { readPidFile, removePidFile, writePidFile } from '../../src/server/pidfile.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srsx-logpid-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function collect(s: PassThrough): () => string {
  let text = '';
  s.on('data', (b: Buffer) => (text += b.toString()));
  return () => text;
}

describe('createLogger', () => {
  it('writes SRS-like lines to the console at or above srs_log_level', () => {
    const out = new PassThrough();
    const err = new PassThrough();
    const o = collect(out);
    const e = collect(err);
    const t = new Date(2026, 0, 2, 3, 4, 5, 7).getTime();
    const log = createLogger({ log: { tank: 'console', level: 'trace', file: 'x.log' } }, { stdout: out, stderr: err, now: () => t });
    log.verbose('hidden');
    log.info('hidden too');
    log.trace('RTMP listen at 1935', 'abc123');
    log.warn('slow player');
    log.error('boom');
    expect(log.enabled('info')).toBe(false);
    expect(log.enabled('warn')).toBe(true);
    expect(o()).toBe(`[2026-01-02 03:04:05.007][Trace][${process.pid}][abc123] RTMP listen at 1935\n`);
    expect(e()).toBe(`[2026-01-02 03:04:05.007][Warn][${process.pid}][] slow player\n[2026-01-02 03:04:05.007][Error][${process.pid}][] boom\n`);
  });

  it('appends to srs_log_file when srs_log_tank is file, and reopens after a move', async () => {
    const log = createLogger({ log: { tank: 'file', level: 'warn', file: 'objs/srs.log' } }, { cwd: dir });
    log.trace('not written');
    log.warn('one');
    log.reopen();
    log.error('two');
    await log.close();
    log.error('after close is dropped');
    const text = fs.readFileSync(path.join(dir, 'objs/srs.log'), 'utf8');
    expect(text.split('\n').filter(Boolean).map((l) => l.replace(/^\[[^\]]+\]/, ''))).toEqual([
      `[Warn][${process.pid}][] one`,
      `[Error][${process.pid}][] two`,
    ]);
  });
});

describe('pid file', () => {
  it('writes our pid, creating the directory, and removes only its own file', () => {
    const abs = writePidFile('objs/a/srs.pid', { cwd: dir });
    expect(fs.readFileSync(abs, 'utf8')).toBe(`${process.pid}\n`);
    removePidFile('objs/a/srs.pid', { cwd: dir, pid: process.pid + 1 }); // not ours: kept
    expect(fs.existsSync(abs)).toBe(true);
    removePidFile('objs/a/srs.pid', { cwd: dir });
    expect(fs.existsSync(abs)).toBe(false);
  });

  it('takes over a stale pid file', () => {
    const abs = path.join(dir, 'stale.pid');
    fs.writeFileSync(abs, '999999999\n');
    writePidFile(abs);
    expect(readPidFile(abs)).toBe(process.pid);
  });

  it('refuses a pid file held by another live server', async () => {
    // its command line looks like srsx serve (an unrelated process would be a stale holder: log-hardening.test.ts)
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', '/opt/srsx/bin/srsx', 'serve'], { stdio: 'ignore' });
    try {
      const abs = path.join(dir, 'held.pid');
      fs.writeFileSync(abs, `${child.pid}\n`);
      expect(() => writePidFile(abs)).toThrow(new RegExp(`held by running process ${child.pid}`));
      expect(readPidFile(abs)).toBe(child.pid);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('createLogger to a file, in order across reopen (logrotate)', () => {
  it('keeps every line, in order, and the moved file keeps what was written before the reopen', async () => {
    const file = path.join(dir, 'rot/srs.log');
    const log = createLogger({ log: { tank: 'file', level: 'trace', file } });
    for (let i = 0; i < 500; i++) log.trace(`line ${i}`);
    await new Promise((r) => setTimeout(r, 50));
    fs.renameSync(file, `${file}.1`); // what logrotate does
    for (let i = 500; i < 1000; i++) {
      log.trace(`line ${i}`);
      if (i === 500) log.reopen();
    }
    await log.close();
    const read = (f: string) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => Number(/line (\d+)$/.exec(l)![1]));
    const all = [...read(`${file}.1`), ...read(file)];
    expect(all).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(read(file).length).toBeGreaterThan(0);
  });
});
