/**
 * `srsx publish` / `srsx play` as an operator meets them (issue 17, item 4): input that is not
 * FLV, a stream that does not exist, Ctrl-C. Every case runs bin/srsx as a real process.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ChunkReader } from '../../src/protocol/rtmp/chunk-reader.js';
import { encodeChunks } from '../../src/protocol/rtmp/chunk-writer.js';
import { command, onStatus, parseCommand } from '../../src/protocol/rtmp/control.js';
import { ServerHandshake } from '../../src/protocol/rtmp/handshake.js';
import { MessageType } from '../../src/protocol/rtmp/message.js';
import { freePort, itIf, runCli, SRSX_BIN } from '../helpers/env.js';
import { testFlv } from '../helpers/media.js';
import { sleep, startServer, stopAfterEach, waitExit } from '../helpers/serve.js';

const itFF = itIf({ tools: ['ffmpeg'] });
const noStack = /\n\s+at /;

/** bin/srsx as a child with stdout and stderr kept apart. */
function srsx(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string } {
  const child = spawn(process.execPath, [SRSX_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  return { child, stdout: () => out, stderr: () => err };
}

/** A TCP listener on 127.0.0.1 that counts who connects (and says nothing). */
async function countingListener(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let n = 0;
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    n++;
    sockets.push(s);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { port, connections: () => n, close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }) };
}

/**
 * A minimal RTMP server that answers connect and createStream, then refuses every play with
 * NetStream.Play.StreamNotFound, as Wowza or Red5 do for a name they do not have.
 */
async function streamNotFoundServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    const hs = new ServerHandshake();
    let handshaking = true;
    const reader = new ChunkReader((msg) => {
      if (msg.type !== MessageType.CommandAmf0) return;
      const c = parseCommand(msg);
      if (c.name === 'connect') socket.write(encodeChunks(command('_result', c.transactionId, { fmsVer: 'FMS/3,0,1,123' }, [{ level: 'status', code: 'NetConnection.Connect.Success', description: 'ok' }]), 128));
      else if (c.name === 'createStream') socket.write(encodeChunks(command('_result', c.transactionId, null, [1]), 128));
      else if (c.name === 'play') socket.write(encodeChunks(onStatus(1, 'error', 'NetStream.Play.StreamNotFound', `${String(c.args[0])} is not found`), 128));
    });
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      if (handshaking) {
        const r = hs.push(d);
        if (r.send) socket.write(r.send);
        if (!r.done) return;
        handshaking = false;
        if (r.rest) reader.push(r.rest);
        return;
      }
      reader.push(d);
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { port, close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }) };
}

describe('srsx publish of input that is not FLV', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-client-ux-'));

  it('a text file, an empty file and text on stdin exit 2 with "not an FLV file", a fix, and never connect', async () => {
    const listener = await countingListener();
    try {
      const url = `rtmp://127.0.0.1:${listener.port}/live/x`;
      const text = path.join(dir, 'notes.txt');
      writeFileSync(text, 'hello, this is not a video\n');
      const empty = path.join(dir, 'empty.flv');
      writeFileSync(empty, '');
      const cases: Array<[string, Parameters<typeof runCli>[1], RegExp]> = [
        [text, {}, /notes\.txt is not an FLV file: it starts with "hell", not the FLV signature "FLV"/],
        [empty, {}, /empty\.flv is not an FLV file: it is empty/],
        ['-', { input: 'hello on stdin' }, /stdin is not an FLV file/],
      ];
      for (const [file, options, message] of cases) {
        const r = runCli(['publish', file, url], { ...options, timeoutMs: 20_000 });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).toMatch(/hint: .*ffmpeg -i .* -c copy -f flv/);
        expect(r.stderr).not.toMatch(noStack);
        expect(r.stdout).toBe('');
      }
      await sleep(200);
      expect(listener.connections()).toBe(0);
    } finally {
      await listener.close();
    }
  });

  itFF('an MP4 is named as one', () => {
    const mp4 = path.join(dir, 'clip.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', testFlv({ seconds: 2 }), '-c', 'copy', mp4]);
    const r = runCli(['publish', mp4, 'rtmp://127.0.0.1:1/live/x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/clip\.mp4 is not an FLV file: it looks like an MP4\/MOV file/);
    expect(r.stderr).toMatch(/ffmpeg -i .*clip\.mp4 -c copy -f flv out\.flv/);
  });
});

describe('srsx play of a stream that does not exist', () => {
  const started = stopAfterEach();

  it('srsx serve accepts the play and sends nothing: exit 1 naming "no audio or video within 2s", no table of -1', async () => {
    const server = started.add(await startServer());
    const t0 = Date.now();
    const r = runCli(['play', `rtmp://127.0.0.1:${server.rtmp}/live/nobody-publishes`, '--duration', '30s', '--wait', '2s'], { timeoutMs: 20_000 });
    const took = Date.now() - t0;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no audio or video within 2s: the server accepted the play but sent no media/);
    expect(r.stderr).toMatch(/hint: is anyone publishing this stream\?/);
    expect(r.stderr).not.toMatch(noStack);
    expect(r.stdout).not.toMatch(/-1/);
    expect(r.stdout).toBe('');
    expect(took).toBeLessThan(10_000); // --wait, not --duration
    // HTTP-FLV the same
    const h = runCli(['play', `http://127.0.0.1:${server.http}/live/nobody-publishes.flv`, '--wait', '2s'], { timeoutMs: 20_000 });
    expect(h.code).toBe(1);
    expect(h.stderr + h.stdout).not.toMatch(/-1/);
  }, 30_000);

  it('a server answering NetStream.Play.StreamNotFound: exit 1 saying so', async () => {
    const fake = await streamNotFoundServer();
    try {
      // not spawnSync: the fake server answers from this process's event loop
      const r = srsx(['play', `rtmp://127.0.0.1:${fake.port}/live/missing`, '--duration', '5s']);
      expect(await waitExit(r.child, 20_000)).toBe(1);
      expect(r.stderr()).toMatch(/the server has no such stream \(NetStream\.Play\.StreamNotFound: missing is not found\)/);
      expect(r.stderr()).toMatch(/hint: check the app and stream names/);
      expect(r.stderr()).not.toMatch(noStack);
      expect(r.stdout()).toBe('');
    } finally {
      await fake.close();
    }
  }, 30_000);
});

/**
 * Waits until the server lists `n` clients of `stream` (the clients' processes are up, their signal
 * handlers installed): a fixed sleep is not enough on a loaded machine, where node can take seconds to start.
 */
async function waitForClients(api: number, stream: string, n: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const body = (await (await fetch(`http://127.0.0.1:${api}/api/v1/clients?count=100`)).json()) as { clients?: Array<{ stream?: string; url?: string }> };
      const mine = (body.clients ?? []).filter((c) => `${c.url ?? ''} ${c.stream ?? ''}`.includes(stream));
      if (mine.length >= n) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${n} client(s) of ${stream} not on the server after ${timeoutMs} ms`);
    await sleep(200);
  }
}

describe('Ctrl-C on srsx publish / srsx play', () => {
  const started = stopAfterEach();

  itFF('prints the summary so far and exits 130', async () => {
    const server = started.add(await startServer());
    const url = `rtmp://127.0.0.1:${server.rtmp}/live/ctrlc`;
    const pub = srsx(['publish', '--re', '--loop', testFlv({ seconds: 6 }), url, '--json']);
    started.add(pub.child);
    await waitForClients(server.api, 'ctrlc', 1);
    const play = srsx(['play', url, '--duration', '60s']);
    started.add(play.child);
    await waitForClients(server.api, 'ctrlc', 2);
    await sleep(2000);
    play.child.kill('SIGINT');
    expect(await waitExit(play.child, 10_000)).toBe(130);
    expect(play.stdout()).toMatch(/played \(interrupted by Ctrl-C\)/);
    expect(play.stdout()).toMatch(/endedBy\s+│ interrupted/);
    const video = Number(/video\s+│\s+(\d+)/.exec(play.stdout())?.[1]);
    expect(video).toBeGreaterThan(0); // what arrived so far (about 25 a second, fewer on a loaded machine)
    expect(play.stdout()).not.toMatch(/-1\b/);

    pub.child.kill('SIGINT');
    expect(await waitExit(pub.child, 10_000)).toBe(130);
    const summary = JSON.parse(pub.stdout()) as { tags: number; streamSeconds: number; endedBy: string };
    expect(summary.endedBy).toBe('interrupted');
    expect(summary.tags).toBeGreaterThan(50);
    expect(summary.streamSeconds).toBeGreaterThan(1); // paced by --re: about the seconds it ran, less its start-up on a loaded machine
    expect(pub.stderr()).not.toMatch(noStack);
  }, 60_000);

  it('a play interrupted while waiting for media still prints its summary (nothing received) and exits 130', async () => {
    const server = started.add(await startServer());
    const play = srsx(['play', `rtmp://127.0.0.1:${server.rtmp}/live/empty`, '--duration', '60s', '--wait', '60s']);
    started.add(play.child);
    await waitForClients(server.api, 'empty', 1);
    play.child.kill('SIGINT');
    expect(await waitExit(play.child, 15_000)).toBe(130);
    expect(play.stdout()).toMatch(/played \(interrupted by Ctrl-C\)/);
    expect(play.stdout()).toMatch(/video\s+│\s+0/);
    expect(play.stdout()).not.toMatch(/-1\b/);
    // SIGTERM (a service manager, timeout(1)) the same, with 128 + 15
    const term = srsx(['play', `rtmp://127.0.0.1:${server.rtmp}/live/waiting2`, '--duration', '60s', '--wait', '60s', '--json']);
    started.add(term.child);
    await waitForClients(server.api, 'waiting2', 1);
    term.child.kill('SIGTERM');
    expect(await waitExit(term.child, 15_000)).toBe(143);
    expect(JSON.parse(term.stdout())).toMatchObject({ video: 0, audio: 0, endedBy: 'interrupted' });
  }, 60_000);
});
