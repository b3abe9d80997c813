import { createHmac } from 'node:crypto';
import { decodeAmf0, encodeAmf0, EcmaArray } from '../../src/protocol/amf0.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { ChunkReader } from '../../src/protocol/rtmp/chunk-reader.js';
import { encodeChunks } from '../../src/protocol/rtmp/chunk-writer.js';
import { ClientHandshake, digestOffset, findC1Digest, makeComplexC1, ServerHandshake } from '../../src/protocol/rtmp/handshake.js';
import { command, parseCommand, setChunkSize } from '../../src/protocol/rtmp/control.js';
import type { RtmpMessage } from '../../src/protocol/rtmp/message.js';
import { encodeTag, FlvDemuxer, flvFileHeader } from '../../src/protocol/flv.js';

function collect(limits?: ConstructorParameters<typeof ChunkReader>[1]) {
  const out: RtmpMessage[] = [];
  const reader = new ChunkReader((m) => out.push(m), limits);
  return { out, reader };
}

function msg(csid: number, type: number, timestamp: number, size: number, fill = 7): RtmpMessage {
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 31 + fill) & 0xff;
  return { csid, type, streamId: 1, timestamp, payload };
}

describe('AMF0', () => {
  it('round-trips every type', () => {
    const values = [1.5, true, false, 'hello', null, undefined, { a: 1, b: 'x', c: { d: [1, 'two', null] } }, [1, 2, 3], new Date(1700000000000)];
    const decoded = decodeAmf0(encodeAmf0(values));
    expect(decoded).toEqual(values);
  });

  it('encodes an ECMA array and long strings', () => {
    const long = 'x'.repeat(70000);
    const decoded = decodeAmf0(encodeAmf0([new EcmaArray({ width: 640, height: 360 }), long]));
    expect(decoded).toEqual([{ width: 640, height: 360 }, long]);
  });

  it('decodes a connect command with the properties ffmpeg sends', () => {
    const payload = encodeAmf0(['connect', 1, { app: 'live', type: 'nonprivate', flashVer: 'FMLE/3.0 (compatible; Lavf59.27.100)', tcUrl: 'rtmp://127.0.0.1:1935/live' }]);
    const cmd = parseCommand({ csid: 3, type: 20, streamId: 0, timestamp: 0, payload });
    expect(cmd.name).toBe('connect');
    expect(cmd.transactionId).toBe(1);
    expect((cmd.object as Record<string, unknown>).tcUrl).toBe('rtmp://127.0.0.1:1935/live');
  });

  it('refuses truncated and malformed input with ProtocolError', () => {
    const good = encodeAmf0(['name', 1, { a: 'b' }]);
    for (let i = 1; i < good.length; i++) {
      try {
        decodeAmf0(good.subarray(0, i));
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
      }
    }
    expect(() => decodeAmf0(Buffer.from([0x42]))).toThrow(ProtocolError);
    expect(() => decodeAmf0(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff]))).toThrow(/strict array/);
    const deep = Buffer.alloc(200, 0x0a);
    for (let i = 0; i < 40; i++) deep.writeUInt32BE(1, i * 5 + 1), (deep[i * 5] = 0x0a);
    expect(() => decodeAmf0(deep)).toThrow(ProtocolError);
  });
});

describe('chunk stream', () => {
  it.each([1, 128, 4096, 60000])('round-trips messages at chunk size %i', (size) => {
    const { out, reader } = collect();
    reader.push(encodeChunks(setChunkSize(size), 128));
    const msgs = [msg(6, 9, 0, 5000), msg(7, 8, 23, 300), msg(6, 9, 40, 0), msg(6, 9, 0x1000000 + 5, 1000), msg(3, 20, 0, 10)];
    for (const m of msgs) reader.push(encodeChunks(m, size));
    expect(out.slice(1).map((m) => [m.csid, m.type, m.timestamp, m.payload.length])).toEqual(msgs.map((m) => [m.csid, m.type, m.timestamp, m.payload.length]));
    out.slice(1).forEach((m, i) => expect(m.payload.equals(msgs[i]!.payload)).toBe(true));
    expect(reader.chunkSize).toBe(size);
  });

  it('reassembles when bytes arrive split at every boundary', () => {
    const msgs = [msg(6, 9, 1, 700), msg(400, 8, 0xffffff + 9, 300), msg(70, 18, 2, 129)];
    const wire = Buffer.concat(msgs.map((m) => encodeChunks(m, 128)));
    for (let split = 1; split < wire.length; split += 7) {
      const { out, reader } = collect();
      reader.push(wire.subarray(0, split));
      reader.push(wire.subarray(split));
      expect(out.map((m) => [m.csid, m.timestamp, m.payload.length])).toEqual(msgs.map((m) => [m.csid, m.timestamp, m.payload.length]));
    }
    const { out, reader } = collect();
    for (let i = 0; i < wire.length; i++) reader.push(wire.subarray(i, i + 1));
    expect(out).toHaveLength(3);
  });

  it('skip mode follows media without copying it and delivers only the control messages', () => {
    const msgs = [setChunkSize(4096), msg(6, 9, 1, 9000), msg(7, 8, 0xffffff + 9, 300), msg(6, 9, 40, 0), msg(3, 5, 0, 4), msg(5, 18, 2, 129)];
    const wire = Buffer.concat(msgs.map((m, i) => encodeChunks(m, i === 0 ? 128 : 4096)));
    for (const step of [1, 13, wire.length]) {
      const delivered: RtmpMessage[] = [];
      const skipped: number[][] = [];
      const reader = new ChunkReader((m) => delivered.push(m), {}, { skip: (t) => t === 8 || t === 9 || t === 18, onSkipped: (type, ts, len) => skipped.push([type, ts, len]) });
      for (let i = 0; i < wire.length; i += step) reader.push(wire.subarray(i, i + step));
      expect(skipped).toEqual([[9, 1, 9000], [8, 0xffffff + 9, 300], [9, 40, 0], [18, 2, 129]]);
      expect(delivered.map((m) => [m.type, m.payload.length])).toEqual([[1, 4], [5, 4]]);
      expect(reader.chunkSize).toBe(4096);
    }
  });

  it('applies fmt 1/2/3 timestamp deltas', () => {
    // fmt0 ts=100 len=2 type=9 sid=1; fmt1 delta=40 len=2 type 9; fmt2 delta 40; fmt3 (delta 40 again)
    const wire = Buffer.from([
      0x06, 0, 0, 100, 0, 0, 2, 9, 1, 0, 0, 0, 0xaa, 0xbb,
      0x46, 0, 0, 40, 0, 0, 2, 9, 0xaa, 0xbb,
      0x86, 0, 0, 40, 0xaa, 0xbb,
      0xc6, 0xaa, 0xbb,
    ]);
    const { out, reader } = collect();
    reader.push(wire);
    expect(out.map((m) => m.timestamp)).toEqual([100, 140, 180, 220]);
  });

  it('accepts continuation chunks without the extended timestamp (some encoders)', () => {
    const m = msg(6, 9, 0x2000000, 200);
    const full = encodeChunks(m, 128);
    // drop the 4 extended-timestamp bytes after the fmt3 basic header
    const first = 1 + 11 + 4 + 128;
    const wire = Buffer.concat([full.subarray(0, first + 1), full.subarray(first + 5)]);
    const { out, reader } = collect();
    reader.push(wire);
    expect(out).toHaveLength(1);
    expect(out[0]!.payload.equals(m.payload)).toBe(true);
  });

  it('refuses absurd lengths, a first fmt 3 chunk and bad chunk sizes', () => {
    expect(() => collect({ maxMessageSize: 1000 }).reader.push(encodeChunks(msg(6, 9, 0, 2000), 4096))).toThrow(/exceeds/);
    expect(() => collect().reader.push(Buffer.from([0xc5, 1, 2, 3]))).toThrow(/starts with fmt 3/);
    const zero = { csid: 2, type: 1, streamId: 0, timestamp: 0, payload: Buffer.from([0, 0, 0, 0]) };
    expect(() => collect().reader.push(encodeChunks(zero, 128))).toThrow(/chunk size 0/);
  });

  it('survives random bytes: only ProtocolError, bounded time', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const base = Buffer.concat([encodeChunks(msg(6, 9, 0, 3000), 128), encodeChunks(msg(3, 20, 0, 50), 128)]);
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(base);
      for (let k = 0; k < 1 + rand() * 8; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      const { reader } = collect({ maxMessageSize: 1 << 20 });
      try {
        reader.push(b);
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
      }
    }
  });
});

describe('handshake', () => {
  it('simple: S2 echoes C1, C2 completes it, trailing bytes are passed on', () => {
    const client = new ClientHandshake(false);
    const server = new ServerHandshake();
    const c0c1 = client.start();
    const r1 = server.push(c0c1);
    expect(server.complex).toBe(false);
    expect(r1.send!.subarray(1 + 1536).equals(c0c1.subarray(1))).toBe(true);
    const r2 = client.push(r1.send!);
    expect(r2.done).toBe(true);
    const r3 = server.push(Buffer.concat([r2.send!, Buffer.from([1, 2, 3])]));
    expect(r3.done).toBe(true);
    expect([...r3.rest!]).toEqual([1, 2, 3]);
  });

  it('complex: a Flash-style C1 digest validates and S2 is keyed by it', () => {
    const c1 = makeComplexC1();
    const found = findC1Digest(c1);
    expect(found?.schema).toBe(1);
    const server = new ServerHandshake();
    const r = server.push(Buffer.concat([Buffer.from([3]), c1]));
    expect(server.complex).toBe(true);
    const s1 = r.send!.subarray(1, 1537);
    const off = digestOffset(s1, 1);
    const fmsKey36 = Buffer.from('Genuine Adobe Flash Media Server 001');
    const expected = createHmac('sha256', fmsKey36).update(s1.subarray(0, off)).update(s1.subarray(off + 32)).digest();
    expect(s1.subarray(off, off + 32).equals(expected)).toBe(true);
  });

  it('refuses a C0 that is not RTMP 3 (e.g. an HTTP request)', () => {
    expect(() => new ServerHandshake().push(Buffer.concat([Buffer.from('GET / HTTP/1.1\r\n'), Buffer.alloc(1600)]))).toThrow(/not RTMP 3/);
  });
});

describe('commands and FLV', () => {
  it('builds commands that parse back', () => {
    const m = command('_result', 1, { fmsVer: 'FMS/3,5,3,888' }, [{ code: 'NetConnection.Connect.Success' }]);
    const c = parseCommand(m);
    expect(c).toEqual({ name: '_result', transactionId: 1, object: { fmsVer: 'FMS/3,5,3,888' }, args: [{ code: 'NetConnection.Connect.Success' }] });
  });

  it('demuxes FLV written by encodeTag, split anywhere', () => {
    const tags = [encodeTag(9, 0, Buffer.from([0x17, 0, 1, 2])), encodeTag(8, 0x1234567, Buffer.from([0xaf, 1, 9]))];
    const file = Buffer.concat([flvFileHeader(), ...tags]);
    for (let split = 0; split <= file.length; split += 3) {
      const got: Array<[number, number, number]> = [];
      const d = new FlvDemuxer((t) => got.push([t.type, t.timestamp, t.payload.length]));
      d.push(file.subarray(0, split));
      d.push(file.subarray(split));
      expect(got).toEqual([[9, 0, 4], [8, 0x1234567, 3]]);
    }
    expect(() => new FlvDemuxer(() => {}).push(Buffer.from('<html>not an flv stream</html>'))).toThrow(/not an FLV/);
  });
});
