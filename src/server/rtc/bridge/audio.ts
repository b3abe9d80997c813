/**
 * Audio between RTMP (AAC) and WebRTC (Opus): the system ffmpeg as one child per stream, fed and
 * read through pipes (AAC as ADTS <-> Opus in Ogg), never per player.
 */
import { startFfmpeg, type Transcoder } from '../../../host/transcoder.js';
import { AdtsReader, toAdts, type AacConfig } from '../../../protocol/audio/aac.js';
import { OggOpusReader, OggOpusWriter, opusPacketSamples } from '../../../protocol/audio/ogg-opus.js';

/** ffmpeg's arguments for AAC (ADTS on stdin) -> Opus 48 kHz stereo, 20 ms frames (Ogg on stdout, a page per packet). */
export const AAC_TO_OPUS_ARGS = [
  '-f', 'aac', '-probesize', '32', '-analyzeduration', '0', '-fflags', '+nobuffer', '-i', 'pipe:0',
  '-vn', '-c:a', 'libopus', '-b:a', '64k', '-ar', '48000', '-ac', '2', '-frame_duration', '20',
  '-f', 'ogg', '-page_duration', '20000', '-flush_packets', '1', 'pipe:1',
];

/** ffmpeg's arguments for Opus (Ogg on stdin) -> AAC LC 48 kHz stereo (ADTS on stdout). */
export const OPUS_TO_AAC_ARGS = [
  '-f', 'ogg', '-probesize', '32', '-analyzeduration', '0', '-fflags', '+nobuffer', '-i', 'pipe:0',
  '-vn', '-c:a', 'aac', '-b:a', '64k', '-ar', '48000', '-ac', '2',
  '-f', 'adts', '-flush_packets', '1', 'pipe:1',
];

/** Logs what a stream's transcoder cost (CPU seconds and % of one core over its life), before it is stopped. */
export function logTranscoderCost(log: { trace(msg: string): void }, what: string, t: AudioTranscoder | undefined, since: number): void {
  const cpu = t?.cpuSeconds();
  if (t === undefined || cpu === undefined) return;
  const seconds = Math.max(0.001, (Date.now() - since) / 1000);
  log.trace(`${what}: ffmpeg pid ${t.pid} used ${cpu.toFixed(2)} CPU-s in ${seconds.toFixed(1)} s (${((100 * cpu) / seconds).toFixed(1)}% of a core)`);
}

export interface AudioTranscoder {
  readonly pid: number | undefined;
  cpuSeconds(): number | undefined;
  stop(): void;
}

/** AAC frames in, Opus packets (with their length in 48 kHz samples) out. */
export class AacToOpus implements AudioTranscoder {
  private readonly child: Transcoder;
  private readonly reader: OggOpusReader;
  /** input frames dropped because ffmpeg could not keep up */
  dropped = 0;

  constructor(onPacket: (opus: Buffer, samples: number) => void, onExit: (reason: string) => void) {
    this.reader = new OggOpusReader((p) => onPacket(p, opusPacketSamples(p)));
    this.child = startFfmpeg(AAC_TO_OPUS_ARGS, { onData: (d) => this.reader.push(d), onExit });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  push(config: AacConfig, raw: Buffer): void {
    if (!this.child.write(toAdts(config, raw))) this.dropped++;
  }

  cpuSeconds(): number | undefined {
    return this.child.cpuSeconds();
  }

  stop(): void {
    this.child.stop();
  }
}

/** Opus packets in, AAC frames (raw, with their AudioSpecificConfig) out. */
export class OpusToAac implements AudioTranscoder {
  private readonly child: Transcoder;
  private readonly writer = new OggOpusWriter();
  private readonly reader: AdtsReader;
  private started = false;
  dropped = 0;

  constructor(
    private readonly channels: number,
    onFrame: (config: AacConfig, raw: Buffer) => void,
    onExit: (reason: string) => void,
  ) {
    this.reader = new AdtsReader((f) => onFrame(f.config, f.raw));
    this.child = startFfmpeg(OPUS_TO_AAC_ARGS, { onData: (d) => this.reader.push(d), onExit });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  push(opus: Buffer): void {
    const samples = opusPacketSamples(opus);
    if (samples === 0) return;
    if (!this.started) {
      this.started = true;
      this.child.write(this.writer.headers(this.channels));
    }
    if (!this.child.write(this.writer.packet(opus, samples))) this.dropped++;
  }

  cpuSeconds(): number | undefined {
    return this.child.cpuSeconds();
  }

  stop(): void {
    this.child.stop();
  }
}
