// The HTTP-TS remuxer's player bounds (as HTTP-FLV's): shared batches, skip to a keyframe past queue_length, close when stuck.
import type { ServerResponse } from 'node:http';
import { Remux, type Player } from '../../src/server/http/ts-mount.js';
import { LiveSource } from '../../src/server/live/source.js';
import type { Logger } from '../../src/server/log.js';

const SPS = Buffer.from([0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80]);
const PPS = Buffer.from([0x68, 0xce, 0x3c, 0x80]);
const avcHeader = Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, SPS.length]), SPS, Buffer.from([1, 0, PPS.length]), PPS]);
const frame = (key: boolean) => Buffer.concat([Buffer.from([key ? 0x17 : 0x27, 1, 0, 0, 0, 0, 0, 0x03, 0xe8]), Buffer.alloc(1000, key ? 0x65 : 0x41)]);

function fakePlayer(id: string): Player & { written: Buffer[]; queued: number; closed?: string } {
  const p = {
    id,
    written: [] as Buffer[],
    queued: 0,
    closed: undefined as string | undefined,
    waitingKeyframe: false,
    stalledSince: 0,
    stalledAt: 0,
    close(reason: string) {
      p.closed = reason;
    },
    res: undefined as unknown as ServerResponse,
  };
  p.res = { write: (b: Buffer) => void p.written.push(b), get writableLength() { return p.queued; } } as unknown as ServerResponse;
  return p;
}

describe('HTTP-TS remux', () => {
  const warnings: string[] = [];
  const nop = () => undefined;
  const log = { verbose: nop, info: nop, trace: nop, error: nop, warn: (m: string) => void warnings.push(m), enabled: () => true } as unknown as Logger;

  it('writes one shared Buffer per batch to every player; a lagging player skips to the next keyframe (PAT first), a stuck one is closed after 30 s', () => {
    const source = new LiveSource('v', 'live', 's', 'vid-1', { gopCache: true, mwLatencyMs: 0, gopMaxFrames: 2500, serverSignature: 'x' });
    source.startPublish('c');
    const remux = new Remux(source, 'ts', 0, 1, log, () => undefined);
    const a = fakePlayer('a');
    const b = fakePlayer('b');
    remux.add(a);
    remux.add(b);
    source.onVideo(0, avcHeader);
    source.onVideo(0, frame(true));
    source.onVideo(40, frame(false));
    expect(a.written).toHaveLength(2);
    expect(a.written[0]).toBe(b.written[0]); // the same Buffer, not a copy
    expect(a.written[0]![0]).toBe(0x47);
    expect(((a.written[0]![1]! & 0x1f) << 8) | a.written[0]![2]!).toBe(0); // PAT first on a keyframe
    // b lags: 300 KB queued (budget max(256 KB, rate × 1 s))
    b.queued = 300 * 1024;
    source.onVideo(80, frame(false));
    expect(b.written).toHaveLength(2);
    expect(warnings.some((w) => /skipping to the next keyframe/.test(w))).toBe(true);
    b.queued = 0;
    source.onVideo(120, frame(false)); // not a keyframe: still waiting
    expect(b.written).toHaveLength(2);
    source.onVideo(160, frame(true));
    expect(b.written).toHaveLength(3);
    expect(((b.written[2]![1]! & 0x1f) << 8) | b.written[2]![2]!).toBe(0);
    expect(a.written).toHaveLength(5);
    // stuck for good: closed after 30 s without progress
    b.queued = 400 * 1024;
    source.onVideo(200, frame(false));
    const realNow = Date.now;
    try {
      Date.now = () => realNow() + 31_000;
      source.onVideo(240, frame(false));
    } finally {
      Date.now = realNow;
    }
    expect(b.closed).toMatch(/no progress writing for 3\ds/);
    expect(a.closed).toBeUndefined();
  });

  it('a player joining mid-GOP gets PAT/PMT and the GOP from its keyframe at once', () => {
    const source = new LiveSource('v', 'live', 's2', 'vid-2', { gopCache: true, mwLatencyMs: 0, gopMaxFrames: 2500, serverSignature: 'x' });
    source.startPublish('c');
    const remux = new Remux(source, 'ts', 0, 30, log, () => undefined);
    const a = fakePlayer('a');
    remux.add(a);
    source.onVideo(0, avcHeader);
    source.onVideo(0, frame(true));
    source.onVideo(40, frame(false));
    const late = fakePlayer('late');
    remux.add(late);
    expect(late.written).toHaveLength(1);
    expect(late.written[0]!.equals(Buffer.concat(a.written))).toBe(true);
  });
});
