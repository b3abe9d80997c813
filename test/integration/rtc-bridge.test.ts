import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OggOpusReader, opusPacketSamples } from '../../src/protocol/audio/ogg-opus.js';
import { encodeTag, flvFileHeader, FlvDemuxer, TagType, type FlvTag } from '../../src/protocol/flv.js';
import { MessageType } from '../../src/protocol/rtmp/message.js';
import { H264Depacketizer, H264Packetizer, parseFlvAvc, splitAvcc, writeRtpHeader, type AccessUnit } from '../../src/protocol/rtp-h264/index.js';
import type { RtcMediaKind, RtcStreamHub, RtcStreamPort, RtcTrackInfo, RtpSink } from '../../src/server/rtc/contracts.js';
import { RtcToRtmp } from '../../src/server/rtc/bridge/rtc-to-rtmp.js';
import { bridgeTracks, RtmpToRtc } from '../../src/server/rtc/bridge/rtmp-to-rtc.js';
import type { MediaMessage } from '../../src/server/live/media.js';
import type { SourceRegistry } from '../../src/server/live/registry.js';
import { LiveSource } from '../../src/server/live/source.js';
import type { Logger } from '../../src/server/log.js';
import { itIf } from '../helpers/env.js';
import { probeStreams, testFlv } from '../helpers/media.js';
import { spawnTool, startServer, stopAfterEach } from '../helpers/serve.js';

const itFF = itIf({ tools: ['ffmpeg', 'ffprobe'] });

function logger(lines: string[]): Logger {
  const put = (l: string) => (m: string) => lines.push(`[${l}] ${m}`);
  return { verbose: put('verbose'), info: put('info'), trace: put('trace'), warn: put('warn'), error: put('error'), enabled: () => true, reopen: () => undefined, close: async () => undefined };
}

class FakePort implements RtcStreamPort {
  readonly key = '__defaultVhost__/live/s';
  readonly fed: Array<{ kind: RtcMediaKind; packet: Buffer }> = [];
  readonly sinks = new Set<RtpSink>();
  keyframeRequests = 0;
  onKeyframeRequest: (() => void) | undefined;
  constructor(readonly tracks: RtcTrackInfo[]) {}
  feed(kind: RtcMediaKind, packet: Buffer): void {
    this.fed.push({ kind, packet });
  }
  subscribe(sink: RtpSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }
  requestKeyframe(): void {
    this.keyframeRequests++;
  }
}

const hub = (unpublished: RtcStreamPort[]): RtcStreamHub => ({
  publish: () => undefined,
  unpublish: (p) => void unpublished.push(p),
  addPublishListener: () => () => undefined,
});

function newSource(): LiveSource {
  return new LiveSource('__defaultVhost__', 'live', 's', 'vid-test', { gopCache: true, mwLatencyMs: 0, gopMaxFrames: 2500, serverSignature: 'srsx-test' });
}

function flvTags(file: string): FlvTag[] {
  const tags: FlvTag[] = [];
  new FlvDemuxer((t) => tags.push({ ...t, payload: Buffer.from(t.payload) })).push(readFileSync(file));
  return tags;
}

async function until(what: string, ok: () => boolean, ms: number, poll?: () => Promise<void>): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    await poll?.();
    if (ok()) return;
    if (Date.now() > end) throw new Error(`${what}: not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('RTMP -> WebRTC bridge (in process, ffmpeg for the audio)', () => {
  itFF('turns an FLV stream into H.264 RTP (SPS/PPS before every IDR, same NAL units) and Opus RTP, once', async () => {
    const file = testFlv({ seconds: 4, gop: 25, kbps: 300, size: '320x240' });
    const tags = flvTags(file);
    const lines: string[] = [];
    const source = newSource();
    source.startPublish('c1');
    const port = new FakePort(bridgeTracks(true));
    const unpublished: RtcStreamPort[] = [];
    const bridge = new RtmpToRtc(source, hub(unpublished), port, logger(lines), undefined);
    let lengthSize = 4;
    const sent: Buffer[][] = [];
    for (const t of tags) {
      if (t.type === TagType.Video) {
        source.onVideo(t.timestamp, t.payload);
        const avc = parseFlvAvc(t.payload)!;
        if (avc.packetType === 1) sent.push(splitAvcc(avc.data, lengthSize).filter((n) => (n[0]! & 0x1f) !== 9 && (n[0]! & 0x1f) !== 12));
        else lengthSize = 4;
      } else if (t.type === TagType.Audio) source.onAudio(t.timestamp, t.payload);
    }
    const aacFrames = tags.filter((t) => t.type === TagType.Audio).length - 1;
    // ffmpeg turns ~4 s of AAC into ~200 Opus packets of 20 ms
    await until('opus packets', () => bridge.audioPackets >= 180, 15_000);
    const units: AccessUnit[] = [];
    const d = new H264Depacketizer((u) => units.push(u));
    for (const f of port.fed) if (f.kind === 'video') d.push(f.packet);
    expect(d.stats).toMatchObject({ lost: 0, invalid: 0, droppedUnits: 0 });
    expect(units.length).toBe(sent.length);
    for (let i = 0; i < units.length; i++) {
      const u = units[i]!;
      if (u.keyframe) {
        expect(u.nalus.slice(0, 2).map((n) => n[0]! & 0x1f)).toEqual([7, 8]);
        expect(u.nalus.filter((n) => (n[0]! & 0x1f) !== 7 && (n[0]! & 0x1f) !== 8)).toEqual(sent[i]!.filter((n) => (n[0]! & 0x1f) !== 7 && (n[0]! & 0x1f) !== 8));
      } else expect(u.nalus).toEqual(sent[i]);
    }
    expect(units.filter((u) => u.keyframe).length).toBe(4);
    for (const f of port.fed) expect(f.packet.length).toBeLessThanOrEqual(1200);
    // Opus RTP: PT 111, marker, timestamps advance by each packet's samples
    const audio = port.fed.filter((f) => f.kind === 'audio').map((f) => f.packet);
    expect(audio[0]![1]! & 0x7f).toBe(111);
    for (let i = 1; i < audio.length; i++) {
      expect((audio[i]!.readUInt16BE(2) - audio[i - 1]!.readUInt16BE(2)) & 0xffff).toBe(1);
      expect((audio[i]!.readUInt32BE(4) - audio[i - 1]!.readUInt32BE(4)) >>> 0).toBe(opusPacketSamples(audio[i - 1]!.subarray(12)));
    }
    expect(aacFrames).toBeGreaterThan(150);
    expect(bridge.audioUnavailable).toBeUndefined();
    const cpu = bridge.transcoderCpuSeconds();
    expect(cpu).toBeDefined();
    source.stopPublish(); // the tap's onUnpublish stops the bridge and its ffmpeg
    expect(unpublished).toEqual([port]);
    expect(source.taps.size).toBe(0);
    expect(lines.join('\n')).toMatch(/RTMP->RTC __defaultVhost__\/live\/s: ffmpeg pid \d+ used \d+\.\d\d CPU-s in \d+\.\d s \(\d+\.\d% of a core\)/);
  }, 40_000);

  itFF('without a transcoder: video still flows, and the reason is on the stream and in the log', async () => {
    const tags = flvTags(testFlv({ seconds: 4, gop: 25, kbps: 300, size: '320x240' }));
    const lines: string[] = [];
    const source = newSource();
    source.startPublish('c1');
    const port = new FakePort(bridgeTracks(false));
    const bridge = new RtmpToRtc(source, hub([]), port, logger(lines), 'no transcoder: ffmpeg is not installed (apt-get install ffmpeg)');
    for (const t of tags.slice(0, 60).filter((x) => x.type !== TagType.Script)) (t.type === TagType.Video ? source.onVideo : source.onAudio).call(source, t.timestamp, t.payload);
    expect(bridge.videoPackets).toBeGreaterThan(10);
    expect(port.fed.every((f) => f.kind === 'video')).toBe(true);
    expect(bridge.audioUnavailable).toMatch(/ffmpeg is not installed/);
    expect((port as { audioUnavailable?: string }).audioUnavailable).toBe(bridge.audioUnavailable);
    expect(source.audioUnavailable).toBe(bridge.audioUnavailable); // /api/v1/streams shows it as audio_unavailable
    expect(lines.join('\n')).toMatch(/no audio for WebRTC players: no transcoder/);
    bridge.stop();
  });
});

describe('WebRTC -> RTMP bridge (in process, ffmpeg for the audio)', () => {
  itFF('publishes H.264 RTP + Opus RTP into a live source as FLV: sequence headers, keyframes, AAC; ffprobe reads it', async () => {
    const tags = flvTags(testFlv({ seconds: 4, gop: 25, kbps: 300, size: '320x240' }));
    // video RTP from the FLV's frames (SPS/PPS from its sequence header, as a browser sends them before IDRs)
    const pk = new H264Packetizer({ payloadType: 102, ssrc: 7 });
    const video: Buffer[] = [];
    let params: Buffer[] = [];
    for (const t of tags) {
      if (t.type !== TagType.Video) continue;
      const avc = parseFlvAvc(t.payload)!;
      if (avc.packetType === 0) {
        const { parseAvcConfig } = await import('../../src/protocol/rtp-h264/avc.js');
        const c = parseAvcConfig(avc.data);
        params = [...c.sps, ...c.pps];
        continue;
      }
      const nalus = splitAvcc(avc.data);
      pk.packetize(avc.keyframe ? [...params, ...nalus] : nalus, t.timestamp * 90, (p) => video.push(p));
    }
    // Opus RTP from ffmpeg's encoding of a tone
    const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-bridge-'));
    const ogg = path.join(dir, 'tone.ogg');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '4', '-ac', '2', '-c:a', 'libopus', '-b:a', '48k', ogg]);
    const audio: Buffer[] = [];
    let ts = 1000;
    new OggOpusReader((p) => {
      const pkt = Buffer.alloc(12 + p.length);
      writeRtpHeader(pkt, true, 111, audio.length, ts, 9);
      p.copy(pkt, 12);
      ts += opusPacketSamples(p);
      audio.push(pkt);
    }).push(readFileSync(ogg));
    expect(audio.length).toBeGreaterThan(190);

    const lines: string[] = [];
    const source = newSource();
    const got: MediaMessage[] = [];
    const port = new FakePort([
      { kind: 'video', codec: 'H264', payloadType: 102, clockRate: 90000, ssrc: 7 },
      { kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48000, channels: 2, ssrc: 9 },
    ]);
    source.startPublish('rtc-1');
    source.taps.add({ onMessage: (m) => got.push(m), onUnpublish: () => undefined });
    const registry = { release: () => undefined } as unknown as SourceRegistry;
    const bridge = new RtcToRtmp(port, source, registry, logger(lines), { noTranscoder: undefined, pliForRtmpSeconds: 6 });
    expect(port.sinks.size).toBe(1);
    const sink = [...port.sinks][0]!;
    // interleave as they would arrive: 40 ms of video, then 2 audio packets
    let a = 0;
    for (const v of video) {
      sink.onRtp('video', v);
      if ((v[1]! & 0x80) && a < audio.length) {
        sink.onRtp('audio', audio[a++]!);
        if (a < audio.length) sink.onRtp('audio', audio[a++]!);
      }
    }
    while (a < audio.length) sink.onRtp('audio', audio[a++]!);
    const audioMsgs = () => got.filter((m) => m.type === MessageType.Audio).length;
    await until('AAC frames', () => audioMsgs() >= 150, 15_000);
    const vids = got.filter((m) => m.type === MessageType.Video);
    expect(vids[0]!.sequenceHeader).toBe(true);
    expect(vids[1]!.keyframe).toBe(true);
    expect(vids.filter((m) => !m.sequenceHeader).length).toBe(100); // 4 s at 25 fps
    expect(vids.filter((m) => m.keyframe).length).toBe(4);
    const auds = got.filter((m) => m.type === MessageType.Audio);
    expect(auds[0]!.sequenceHeader).toBe(true);
    expect(auds[0]!.payload.subarray(0, 2)).toEqual(Buffer.from([0xaf, 0x00]));
    // and what the live source got plays: write it as an FLV and ask ffprobe
    const out = path.join(dir, 'out.flv');
    const sorted = got.filter((m) => m.type !== MessageType.DataAmf0);
    writeFileSync(out, Buffer.concat([flvFileHeader(), ...sorted.map((m) => encodeTag(m.type === MessageType.Video ? TagType.Video : TagType.Audio, m.timestamp, m.payload))]));
    expect(probeStreams(out).map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(bridge.audioUnavailable).toBeUndefined();
    bridge.onEnd();
    expect(source.isPublishing).toBe(false);
    expect(port.sinks.size).toBe(0);
  }, 40_000);
});

describe('srsx serve without a transcoder (SRSX_TRANSCODER=none)', () => {
  const started = stopAfterEach();

  itFF('an RTMP stream bridged to WebRTC says why it has no audio: log line and /api/v1/streams audio_unavailable', async () => {
    const server = started.add(
      await startServer({
        env: { SRSX_TRANSCODER: 'none' },
        extra: 'rtc_server { enabled on; listen 0; candidate 127.0.0.1; }',
        vhostBody: '    rtc { enabled on; rtmp_to_rtc on; }',
      }),
    );
    const file = testFlv({ seconds: 4, gop: 25, kbps: 300, size: '320x240' });
    started.add(spawnTool('ffmpeg', ['-v', 'error', '-re', '-i', file, '-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${server.rtmp}/live/mute`]).child);
    let stream: { url: string; audio_unavailable?: string } | undefined;
    await until(
      'audio_unavailable in the API',
      () => stream !== undefined,
      10_000,
      async () => {
        const body = (await (await fetch(`http://127.0.0.1:${server.api}/api/v1/streams/`)).json()) as { streams: Array<{ url: string; audio_unavailable?: string }> };
        stream = body.streams.find((s) => s.url === '/live/mute' && s.audio_unavailable);
      },
    );
    expect(stream!.audio_unavailable).toMatch(/no transcoder: ffmpeg is not installed \(apt-get install ffmpeg\)/);
    // both sides of the stream say it: the RTMP one and the WebRTC one
    const all = ((await (await fetch(`http://127.0.0.1:${server.api}/api/v1/streams/`)).json()) as { streams: Array<{ url: string; audio_unavailable?: string }> }).streams.filter((s) => s.url === '/live/mute');
    expect(all.length).toBeGreaterThanOrEqual(1);
    for (const s of all) expect(s.audio_unavailable).toBe(stream!.audio_unavailable);
    expect(server.log()).toMatch(/RTMP->RTC __defaultVhost__\/live\/mute: no audio for WebRTC players: no transcoder/);
    expect(server.log()).toMatch(/RTMP->RTC __defaultVhost__\/live\/mute: bridged \(H\.264 RTP, no audio\)/);
  }, 30_000);
});
