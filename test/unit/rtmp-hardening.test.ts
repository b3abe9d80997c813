/**
 * RTMP sessions in-process on real loopback sockets, with short deadlines: a connection's role
 * is decided once (a second publish/play is refused and everything released), every phase has
 * a deadline (handshake, publish/play, the publisher's firstpkt/normal timeouts, reloadable),
 * bounded chunk-stream state, nested aggregates, tcp_nodelay, and the last-resort guard.
 */
import net from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeAmf0, type Amf0Object } from '../../src/protocol/amf0.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { ChunkReader } from '../../src/protocol/rtmp/chunk-reader.js';
import { encodeChunks } from '../../src/protocol/rtmp/chunk-writer.js';
import { command } from '../../src/protocol/rtmp/control.js';
import { MessageType, type RtmpMessage } from '../../src/protocol/rtmp/message.js';
import { RtmpClient } from '../../src/client/rtmp-client.js';
import { loadConfig, type ServerConfig } from '../../src/server/config/index.js';
import { ClientTable } from '../../src/server/live/clients.js';
import { newId, SourceRegistry } from '../../src/server/live/registry.js';
import type { Logger } from '../../src/server/log.js';
import { RtmpSession } from '../../src/server/rtmp/session.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function config(vhostBody = ''): ServerConfig {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-rtmp-hard-'));
  writeFileSync(path.join(dir, 'srs.conf'), `listen 1935;\nvhost __defaultVhost__ {\n${vhostBody}\n}\n`);
  return loadConfig({ file: 'srs.conf', cwd: dir, env: {} });
}

interface Harness {
  port: number;
  registry: SourceRegistry;
  clients: ClientTable;
  lines: string[];
  noDelay: boolean[];
  close(): Promise<void>;
}

const harnesses: Harness[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const h of harnesses.splice(0)) await h.close();
});

async function serve(cfg: ServerConfig, timeouts: { handshakeMs?: number; identifyMs?: number } = {}): Promise<Harness> {
  const registry = new SourceRegistry(cfg);
  const clients = new ClientTable();
  const lines: string[] = [];
  const noDelay: boolean[] = [];
  const put = (level: string) => (msg: string, cid?: string) => void lines.push(`${level} [${cid ?? ''}] ${msg}`);
  const log: Logger = {
    verbose: () => {},
    info: () => {},
    trace: put('trace'),
    warn: put('warn'),
    error: put('error'),
    enabled: () => true,
    reopen: () => {},
    close: async () => {},
  };
  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    const orig = socket.setNoDelay.bind(socket);
    socket.setNoDelay = (v?: boolean) => {
      noDelay.push(v !== false);
      return orig(v);
    };
    new RtmpSession(socket, {
      registry,
      clients,
      log,
      maxMessageSize: 16 * 1024 * 1024,
      handshakeTimeoutMs: timeouts.handshakeMs ?? 10_000,
      identifyTimeoutMs: timeouts.identifyMs ?? 30_000,
    }, newId('rtmp'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const h: Harness = {
    port: (server.address() as net.AddressInfo).port,
    registry,
    clients,
    lines,
    noDelay,
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      for (const s of registry.all()) s.dispose();
    },
  };
  harnesses.push(h);
  return h;
}

/** A raw RTMP peer: simple handshake, then whatever commands and messages a test sends. */
class Raw {
  readonly statuses: string[] = [];
  closedAt = 0;
  readonly closed: Promise<void>;
  private skip = 3073; // S0 S1 S2
  private readonly reader = new ChunkReader((m) => this.onMessage(m));

  private constructor(readonly socket: net.Socket) {
    sockets.push(socket);
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.on('close', () => {
      this.closedAt = Date.now();
      resolve();
    }));
    socket.on('data', (d: Buffer) => {
      if (this.skip > 0) {
        const n = Math.min(this.skip, d.length);
        this.skip -= n;
        d = d.subarray(n);
      }
      if (d.length > 0) {
        try {
          this.reader.push(d);
        } catch {
          // not what the test looks at
        }
      }
    });
  }

  static async open(port: number, handshake = true): Promise<Raw> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
    const raw = new Raw(socket);
    if (handshake) {
      const c0c1 = Buffer.alloc(1537);
      c0c1[0] = 3;
      socket.write(c0c1);
      socket.write(Buffer.alloc(1536));
    }
    return raw;
  }

  private onMessage(m: RtmpMessage): void {
    if (m.type !== MessageType.CommandAmf0) return;
    const v = decodeAmf0(m.payload);
    if (v[0] === 'onStatus') this.statuses.push(String((v[3] as Amf0Object | undefined)?.code));
    else if (typeof v[0] === 'string') this.statuses.push(v[0]);
  }

  send(msg: RtmpMessage): void {
    if (!this.socket.destroyed) this.socket.write(encodeChunks(msg, 128));
  }

  connect(): void {
    this.send(command('connect', 1, { app: 'live', tcUrl: 'rtmp://127.0.0.1/live' }));
    this.send(command('createStream', 2, null));
  }

  publish(name: string): void {
    this.send(command('publish', 3, null, [name, 'live'], 1, 5));
  }

  play(name: string): void {
    this.send(command('play', 4, null, [name, -1000], 1, 5));
  }

  audio(timestamp: number): void {
    this.send({ csid: 7, type: MessageType.Audio, streamId: 1, timestamp, payload: Buffer.from([0xaf, 1, 1, 2, 3]) });
  }

  async waitStatus(code: string, ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (!this.statuses.includes(code)) {
      if (Date.now() > end) throw new Error(`no ${code} within ${ms} ms; got ${this.statuses.join(', ')}`);
      await sleep(10);
    }
  }

  /** resolves true when the server closed the connection within `ms` */
  closedWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
    return Promise.race([this.closed.then(() => true), timeout]).finally(() => clearTimeout(timer));
  }
}

async function publishes(port: number, stream: string): Promise<void> {
  const c = new RtmpClient(`rtmp://127.0.0.1:${port}/live/${stream}`, { timeoutMs: 3000 });
  try {
    await c.connect();
    await c.publish();
  } finally {
    c.close();
  }
}

const handlerFailed = (h: Harness) => h.lines.filter((l) => /connection handler failed|internal error|RangeError/.test(l));

describe('RTMP: one role per connection', () => {
  it.each([
    ['publish a, then publish b', (r: Raw) => r.publish('b'), 'NetStream.Publish.BadName'],
    ['publish a, then play b', (r: Raw) => r.play('b'), 'NetStream.Play.Failed'],
  ])('%s: refused, closed, and a is free for the next publisher', async (_name, second, refusal) => {
    const h = await serve(config());
    const r = await Raw.open(h.port);
    r.connect();
    r.publish('a');
    await r.waitStatus('NetStream.Publish.Start');
    expect(h.registry.find('__defaultVhost__', 'live', 'a')?.isPublishing).toBe(true);
    second(r);
    await r.waitStatus(refusal);
    expect(await r.closedWithin(3000)).toBe(true);
    await sleep(50);
    expect(h.registry.all().map((s) => s.key)).toEqual([]); // nothing locked, no ghost source
    expect(h.clients.size).toBe(0); // and no ghost client
    await publishes(h.port, 'a');
    expect(handlerFailed(h)).toEqual([]);
  });

  it('play twice: refused, closed, the consumer removed (no writes to a destroyed socket)', async () => {
    const h = await serve(config());
    const pub = await Raw.open(h.port);
    pub.connect();
    pub.publish('x');
    await pub.waitStatus('NetStream.Publish.Start');
    const r = await Raw.open(h.port);
    r.connect();
    r.play('x');
    await r.waitStatus('NetStream.Play.Start');
    r.play('y');
    await r.waitStatus('NetStream.Play.Failed');
    expect(await r.closedWithin(3000)).toBe(true);
    await sleep(50);
    const x = h.registry.find('__defaultVhost__', 'live', 'x')!;
    expect(x.consumers.size).toBe(0);
    expect(h.registry.find('__defaultVhost__', 'live', 'y')).toBeUndefined();
    expect(h.clients.size).toBe(1); // the publisher only
  });

  it('after a clean closeStream the connection may play again (SRS re-identifies), and it is released', async () => {
    const h = await serve(config());
    const r = await Raw.open(h.port);
    r.connect();
    r.play('p');
    await r.waitStatus('NetStream.Play.Start');
    r.send(command('closeStream', 0, null, [], 1, 5));
    await sleep(50);
    expect(h.registry.all()).toEqual([]);
    expect(h.clients.all().map((c) => c.streamName)).toEqual([undefined]);
    r.statuses.length = 0;
    r.play('q');
    await r.waitStatus('NetStream.Play.Start');
    expect(h.registry.find('__defaultVhost__', 'live', 'q')?.consumers.size).toBe(1);
    expect(await r.closedWithin(200)).toBe(false);
  });
});

describe('RTMP: a deadline per phase', () => {
  it('a connection that does not finish the handshake is closed after the handshake timeout', async () => {
    const h = await serve(config(), { handshakeMs: 300 });
    const r = await Raw.open(h.port, false);
    r.socket.write(Buffer.from([3, 0, 0, 0]));
    const t0 = Date.now();
    expect(await r.closedWithin(3000)).toBe(true);
    expect(r.closedAt - t0).toBeGreaterThanOrEqual(250);
  });

  it.each([
    ['handshake only', (_r: Raw) => {}],
    ['connect and createStream only', (r: Raw) => r.connect()],
  ])('%s: closed when no publish or play comes within the timeout (slots are not held)', async (_name, then) => {
    const h = await serve(config(), { identifyMs: 400 });
    const r = await Raw.open(h.port);
    then(r);
    const t0 = Date.now();
    expect(await r.closedWithin(3000)).toBe(true);
    expect(r.closedAt - t0).toBeGreaterThanOrEqual(300);
    expect(h.clients.size).toBe(0);
    expect(h.lines.some((l) => /no publish or play within 400 ms/.test(l))).toBe(true);
  });

  it('a player or publisher is not closed by the publish/play deadline', async () => {
    const h = await serve(config('publish { firstpkt_timeout 5000; normal_timeout 5000; }'), { identifyMs: 300 });
    const p = await Raw.open(h.port);
    p.connect();
    p.publish('s');
    const r = await Raw.open(h.port);
    r.connect();
    r.play('s');
    await r.waitStatus('NetStream.Play.Start');
    for (let i = 0; i < 8; i++) {
      p.audio(i * 100);
      await sleep(100);
    }
    expect(await r.closedWithin(10)).toBe(false);
    expect(await p.closedWithin(10)).toBe(false);
  });

  it('publish firstpkt_timeout: a publisher that sends no media is closed and the stream freed', async () => {
    const h = await serve(config('publish { firstpkt_timeout 400; normal_timeout 5000; }'));
    const r = await Raw.open(h.port);
    r.connect();
    r.publish('obs');
    await r.waitStatus('NetStream.Publish.Start');
    const t0 = Date.now();
    expect(await r.closedWithin(3000)).toBe(true);
    expect(r.closedAt - t0).toBeGreaterThanOrEqual(300);
    expect(h.lines.some((l) => /firstpkt_timeout 400 ms/.test(l))).toBe(true);
    await publishes(h.port, 'obs');
  });

  it('publish normal_timeout: a publisher whose media stops is unpublished, so the encoder can publish again', async () => {
    const h = await serve(config('publish { firstpkt_timeout 5000; normal_timeout 500; }'));
    const r = await Raw.open(h.port);
    r.connect();
    r.publish('obs');
    await r.waitStatus('NetStream.Publish.Start');
    for (let i = 0; i < 8; i++) {
      r.audio(i * 100);
      await sleep(100);
    }
    expect(await r.closedWithin(10)).toBe(false); // media kept it alive past 500 ms
    const t0 = Date.now();
    expect(await r.closedWithin(3000)).toBe(true);
    expect(r.closedAt - t0).toBeGreaterThanOrEqual(350);
    expect(h.lines.some((l) => /normal_timeout 500 ms/.test(l))).toBe(true);
    await publishes(h.port, 'obs');
  });

  it('a reload that shortens normal_timeout applies to a publisher already on', async () => {
    const h = await serve(config('publish { normal_timeout 60000; }'));
    const r = await Raw.open(h.port);
    r.connect();
    r.publish('obs');
    await r.waitStatus('NetStream.Publish.Start');
    r.audio(0);
    await sleep(100);
    h.registry.reload(config('publish { normal_timeout 300; }'));
    expect(await r.closedWithin(2500)).toBe(true);
  });
});

describe('RTMP: bounded state per connection', () => {
  it('caps the bytes of partial messages and the chunk stream ids (ChunkReader)', () => {
    const header = (csid: number, length: number) => {
      const b = Buffer.alloc(12);
      b[0] = csid; // fmt 0, one-byte csid (2..63)
      b.writeUIntBE(length, 4, 3);
      b[7] = MessageType.Video;
      return b;
    };
    // two partial 16 MiB messages: the second exceeds maxMessageSize + 4 MiB of partial bytes
    const r = new ChunkReader(() => {});
    r.push(Buffer.concat([header(4, 16 * 1024 * 1024 - 1), Buffer.alloc(128)]));
    expect(() => r.push(Buffer.concat([header(5, 16 * 1024 * 1024 - 1), Buffer.alloc(128)]))).toThrow(ProtocolError);
    // many small partial messages within the count and byte caps are fine
    const ok = new ChunkReader(() => {});
    for (let csid = 3; csid < 40; csid++) ok.push(Buffer.concat([header(csid, 200), Buffer.alloc(128)]));
    // chunk stream ids: 3-byte ids up to 65599, each a new stream with a complete 0-byte message
    const ids = new ChunkReader(() => {});
    let error: unknown;
    for (let id = 64; id < 64 + 1000 && error === undefined; id++) {
      const b = Buffer.alloc(14);
      b[0] = 1; // fmt 0, csid field 1: two-byte id follows
      b.writeUInt16LE(id - 64, 1);
      b[10] = MessageType.Audio;
      try {
        ids.push(b);
      } catch (e) {
        error = e;
      }
    }
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toMatch(/more than 256 chunk stream ids/);
  });

  it('nested aggregate messages: no recursion, no stack trace, the publisher keeps publishing; audio inside is taken', async () => {
    const h = await serve(config());
    const r = await Raw.open(h.port);
    r.connect();
    r.publish('agg');
    await r.waitStatus('NetStream.Publish.Start');
    // 60,000 aggregates nested inside each other, an audio tag at the bottom
    const tag = (type: number, payload: Buffer) => {
      const b = Buffer.alloc(11 + payload.length + 4);
      b[0] = type;
      b.writeUIntBE(payload.length, 1, 3);
      payload.copy(b, 11);
      b.writeUInt32BE(11 + payload.length, 11 + payload.length);
      return b;
    };
    const depth = 60_000;
    let size = 11 + 5 + 4;
    for (let i = 1; i < depth; i++) size += 15;
    const nested = Buffer.alloc(size);
    let pos = 0;
    for (let i = 0; i < depth - 1; i++) {
      const len = size - 4 * i - pos; // this level's tag: header, the levels inside, its back pointer
      nested[pos] = MessageType.Aggregate;
      nested.writeUIntBE(len - 15, pos + 1, 3);
      nested.writeUInt32BE(len - 4, pos + len - 4);
      pos += 11;
    }
    tag(MessageType.Audio, Buffer.from([0xaf, 1, 9, 9, 9])).copy(nested, pos);
    r.send({ csid: 7, type: MessageType.Aggregate, streamId: 1, timestamp: 0, payload: nested });
    // a flat aggregate with two audio tags is taken
    r.send({ csid: 7, type: MessageType.Aggregate, streamId: 1, timestamp: 100, payload: Buffer.concat([tag(8, Buffer.from([0xaf, 1, 1])), tag(8, Buffer.from([0xaf, 1, 2]))]) });
    await sleep(300);
    expect(handlerFailed(h)).toEqual([]);
    expect(await r.closedWithin(10)).toBe(false);
    expect(h.registry.find('__defaultVhost__', 'live', 'agg')!.recvBytes).toBe(6);
  });
});

describe('RTMP: settings and the guard', () => {
  it('tcp_nodelay on sets TCP_NODELAY on the connection; off leaves Nagle on', async () => {
    const on = await serve(config('tcp_nodelay on;'));
    const a = await Raw.open(on.port);
    a.connect();
    await a.waitStatus('_result');
    expect(on.noDelay).toEqual([true]);
    const off = await serve(config());
    const b = await Raw.open(off.port);
    b.connect();
    await b.waitStatus('_result');
    expect(off.noDelay.every((v) => v === false)).toBe(true);
  });

  it('an exception escaping a session handler closes that connection only, logged with its id', async () => {
    const h = await serve(config());
    const getOrCreate = h.registry.getOrCreate.bind(h.registry);
    h.registry.getOrCreate = (vhost, app, stream) => {
      if (stream === 'boom') throw new TypeError('injected');
      return getOrCreate(vhost, app, stream);
    };
    const other = await Raw.open(h.port);
    other.connect();
    other.publish('fine');
    await other.waitStatus('NetStream.Publish.Start');
    const r = await Raw.open(h.port);
    r.connect();
    r.publish('boom');
    expect(await r.closedWithin(3000)).toBe(true);
    const failed = h.lines.filter((l) => l.includes('connection handler failed'));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatch(/^error \[rtmp-[0-9a-f]+\] connection handler failed: TypeError: injected/);
    expect(failed[0]).not.toMatch(/\n/);
    expect(await other.closedWithin(10)).toBe(false);
    await sleep(50);
    expect(h.clients.size).toBe(1);
  });
});
