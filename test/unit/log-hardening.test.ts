// The logger against what clients send (escaped control characters, capped fields), a failed reopen,
// and the pid file against a stale pid that now names an unrelated process.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { UserError } from '../../src/errors.js';
import { createLogger, logSafe, MAX_FIELD, MAX_MESSAGE } from '../../src/server/log.js';
import { isServerCommand, writePidFile } from '../../src/server/pidfile.js';
import { planNofile } from '../../src/server/nofile.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srsx-loghard-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function consoleLogger() {
  const out = new PassThrough();
  const err = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString()));
  err.on('data', (b: Buffer) => (text += b.toString()));
  const log = createLogger({ log: { tank: 'console', level: 'trace', file: 'x.log' } }, { stdout: out, stderr: err });
  return { log, text: () => text };
}

describe('log lines from client data', () => {
  it('a stream name with a newline cannot forge a second log line', () => {
    const { log, text } = consoleLogger();
    const stream = 'live\n[2026-01-01 00:00:00.000][Trace][1][x] admin logged in\r\u001b[2J\u2028';
    log.trace(`RTMP client publish stream=${stream}`, 'cid\n1');
    const lines = text().split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\]\[cid\\n1\] RTMP client publish stream=live\\n\[2026-01-01 00:00:00\.000\]\[Trace\]\[1\]\[x\] admin logged in\\r\\x1b\[2J\\u2028$/);
  });

  it('caps each field and the message, saying how long the original was', () => {
    const tcUrl = `rtmp://127.0.0.1/live?${'a'.repeat(4 * 1024 * 1024)}`;
    const { log, text } = consoleLogger();
    const msg = `connect app=live tcUrl=${tcUrl} pageUrl=x`;
    log.trace(msg);
    const line = text();
    expect(line.length).toBeLessThan(MAX_MESSAGE + 200);
    expect(line).toContain(`tcUrl=${tcUrl.slice(0, MAX_FIELD - 'tcUrl='.length)}…(`);
    expect(line.endsWith(`…(message of ${msg.length} chars)\n`)).toBe(true);
    // a long field among short ones keeps the fields after it
    expect(logSafe(`a=${'x'.repeat(1000)} b=2`)).toBe(`a=${'x'.repeat(MAX_FIELD - 2)}…(1002 chars) b=2`);
    // ordinary messages are untouched
    expect(logSafe('RTMP client ip=127.0.0.1 stream=live/livestream')).toBe('RTMP client ip=127.0.0.1 stream=live/livestream');
    expect(logSafe('ünïcödé 流 ok')).toBe('ünïcödé 流 ok');
  });

  it('a failed reopen keeps the old file and logging goes on (the path became a file: ENOTDIR)', async () => {
    const logDir = path.join(dir, 'logs');
    const log = createLogger({ log: { tank: 'file', level: 'trace', file: path.join(logDir, 'srs.log') } }, { cwd: dir });
    log.trace('before');
    await new Promise((r) => setTimeout(r, 50));
    // logrotate moved the directory away and something put a file where it was
    fs.renameSync(logDir, path.join(dir, 'logs.old'));
    fs.writeFileSync(logDir, 'not a directory');
    const realWrite = process.stderr.write;
    let stderr = '';
    process.stderr.write = ((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    }) as typeof process.stderr.write;
    try {
      expect(() => log.reopen()).not.toThrow();
      log.trace('after');
      await log.close();
    } finally {
      process.stderr.write = realWrite;
    }
    expect(stderr).toMatch(/log reopen of .*srs\.log failed \(.*\): still writing to the file opened before/);
    const text = fs.readFileSync(path.join(dir, 'logs.old', 'srs.log'), 'utf8');
    expect(text).toMatch(/before\n\[log\] log reopen of .* failed .*\n.*\] after\n$/);
  });

  it('an unopenable log file at start is a UserError, not an internal error', () => {
    fs.writeFileSync(path.join(dir, 'afile'), '');
    expect(() => createLogger({ log: { tank: 'file', level: 'trace', file: 'afile/srs.log' } }, { cwd: dir })).toThrow(UserError);
  });
});

describe('pid file held by an unrelated process', () => {
  it('is stale: a live `sleep` named in it does not block start, and is left alone', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const file = path.join(dir, 'stale.pid');
      fs.writeFileSync(file, `${sleeper.pid}\n`);
      const notes: string[] = [];
      writePidFile(file, { pid: 4242, onStale: (n) => notes.push(n) });
      expect(fs.readFileSync(file, 'utf8')).toBe('4242\n');
      expect(notes[0]).toMatch(new RegExp(`named process ${sleeper.pid} \\(sleep 30\\), which is not a server: stale, replaced`));
      expect(sleeper.exitCode).toBeNull();
      expect(() => process.kill(sleeper.pid!, 0)).not.toThrow();
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('a live server (srsx serve or SRS) still holds it', () => {
    const file = path.join(dir, 'held.pid');
    fs.writeFileSync(file, `${process.pid}\n`);
    const srsx = () => ['/usr/bin/node', '--max-semi-space-size=2', '/opt/srsx/bin/srsx', 'serve', '-c', 'conf/srs.conf'];
    expect(() => writePidFile(file, { pid: 4243, cmdline: srsx })).toThrow(/is held by running process/);
    expect(() => writePidFile(file, { pid: 4243, cmdline: () => ['./objs/srs', '-c', 'conf/srs.conf'] })).toThrow(/is held by running process/);
    expect(() => writePidFile(file, { pid: 4243, cmdline: () => undefined })).toThrow(/is held by running process/);
    expect(isServerCommand(['node', 'dist/cli/main.js', 'serve'])).toBe(true);
    expect(isServerCommand(['node', 'bin/srsx', 'bench'])).toBe(false);
    expect(isServerCommand(['nginx: master process'])).toBe(false);
  });
});

describe('max_connections against the open-files limit (SRS: max_connections + 128 < soft limit)', () => {
  it.each([
    [1000, '1024', '1024', { action: 'refuse', need: 1128 }],
    [1000, '1024', '4096', { action: 'raise', need: 1128, to: 4096 }],
    [1000, '1129', '1129', { action: 'ok', need: 1128 }],
    [1000, '1128', '1128', { action: 'refuse', need: 1128 }],
    [19_000, '20000', '20000', { action: 'ok', need: 19_128 }],
    [20_000, '20000', '20000', { action: 'refuse', need: 20_128 }],
    [1000, '1024', 'unlimited', { action: 'raise', need: 1128, to: 1129 }],
  ])('max_connections %d, soft %s, hard %s', (max, soft, hard, plan) => {
    expect(planNofile(max, soft, hard)).toEqual(plan);
  });
});
