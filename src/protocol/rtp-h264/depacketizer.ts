/**
 * H.264 RTP depacketizer (RFC 6184: single NAL unit, STAP-A, FU-A): reassembles access units by
 * timestamp and marker bit. A sequence gap (loss) or a broken FU-A drops the access unit in
 * progress and everything after it until the next IDR, so the output always decodes. The last SPS
 * and PPS seen are kept (for the AVC sequence header).
 */
import { NalType } from './avc.js';
import { parseRtpHeader, seqDiff } from './rtp.js';

export interface AccessUnit {
  /** RTP timestamp (90 kHz) */
  timestamp: number;
  /** NAL units in order, without start codes or lengths */
  nalus: Buffer[];
  /** contains an IDR slice */
  keyframe: boolean;
}

export interface DepacketizerStats {
  packets: number;
  /** sequence numbers never seen (gaps) */
  lost: number;
  /** access units dropped (incomplete, or waiting for an IDR after a loss) */
  droppedUnits: number;
  /** packets that were not H.264 RTP (too short, bad NAL header, unsupported aggregation) */
  invalid: number;
}

export class H264Depacketizer {
  sps: Buffer | undefined;
  pps: Buffer | undefined;
  /** bumped whenever the SPS or PPS changes (rebuild the sequence header) */
  parameterSetsVersion = 0;
  readonly stats: DepacketizerStats = { packets: 0, lost: 0, droppedUnits: 0, invalid: 0 };

  private lastSeq = -1;
  private unitTs = 0;
  private nalus: Buffer[] = [];
  private hasUnit = false;
  /** the current unit lost something: drop it when it ends */
  private broken = false;
  private fragments: Buffer[] = [];
  private fragmentSize = 0;
  private inFragment = false;
  private waitKeyframe = true;

  /** @param onUnit called with each complete, decodable access unit */
  constructor(private readonly onUnit: (unit: AccessUnit) => void) {}

  /** Asks for a fresh start: everything until the next IDR is dropped. */
  resync(): void {
    this.waitKeyframe = true;
  }

  /** True while the output waits for an IDR (after a loss or at the start): ask the sender for a keyframe. */
  get waitingKeyframe(): boolean {
    return this.waitKeyframe;
  }

  push(packet: Buffer): void {
    const h = parseRtpHeader(packet);
    if (!h || h.payloadEnd - h.payloadOffset < 1) {
      this.stats.invalid++;
      return;
    }
    this.stats.packets++;
    let gap = false;
    if (this.lastSeq >= 0) {
      const d = seqDiff(h.sequence, this.lastSeq);
      if (d <= 0) return; // duplicate or late (already given up on)
      if (d > 1) {
        this.stats.lost += d - 1;
        gap = true;
        this.waitKeyframe = true;
      }
    }
    this.lastSeq = h.sequence;
    // the lost packets may be the open unit's end or the next unit's start: both are broken
    if (gap) this.broken = true;
    if (this.hasUnit && h.timestamp !== this.unitTs) this.endUnit(); // its marker was lost or never sent
    if (!this.hasUnit) {
      this.hasUnit = true;
      this.unitTs = h.timestamp;
      if (gap) this.broken = true;
    }
    this.payload(packet.subarray(h.payloadOffset, h.payloadEnd));
    if (h.marker) this.endUnit();
  }

  private payload(p: Buffer): void {
    const type = p[0]! & 0x1f;
    if (p[0]! & 0x80) {
      // forbidden_zero_bit
      this.stats.invalid++;
      this.broken = true;
      return;
    }
    if (type >= 1 && type <= 23) {
      this.inFragment = false;
      this.nal(p);
    } else if (type === NalType.STAPA) {
      this.inFragment = false;
      let pos = 1;
      while (pos + 2 <= p.length) {
        const len = p.readUInt16BE(pos);
        pos += 2;
        if (len === 0 || pos + len > p.length) {
          this.stats.invalid++;
          this.broken = true;
          return;
        }
        this.nal(p.subarray(pos, pos + len));
        pos += len;
      }
    } else if (type === NalType.FUA) {
      if (p.length < 3) {
        this.stats.invalid++;
        this.broken = true;
        return;
      }
      const start = (p[1]! & 0x80) !== 0;
      const end = (p[1]! & 0x40) !== 0;
      if (start) {
        if (this.inFragment) this.broken = true; // previous FU never ended
        this.inFragment = true;
        this.fragments = [Buffer.from([(p[0]! & 0xe0) | (p[1]! & 0x1f)])];
        this.fragmentSize = 1;
      } else if (!this.inFragment) {
        this.broken = true; // middle or end without a start
        return;
      }
      const body = p.subarray(2);
      this.fragments.push(body);
      this.fragmentSize += body.length;
      if (end) {
        this.inFragment = false;
        this.nal(Buffer.concat(this.fragments, this.fragmentSize));
        this.fragments = [];
      }
    } else {
      // STAP-B, MTAP, FU-B (interleaved mode) are not negotiated
      this.stats.invalid++;
      this.broken = true;
    }
  }

  private nal(n: Buffer): void {
    const t = n[0]! & 0x1f;
    if (t === NalType.SPS) {
      if (!this.sps || !this.sps.equals(n)) {
        this.sps = Buffer.from(n);
        this.parameterSetsVersion++;
      }
    } else if (t === NalType.PPS) {
      if (!this.pps || !this.pps.equals(n)) {
        this.pps = Buffer.from(n);
        this.parameterSetsVersion++;
      }
    }
    this.nalus.push(n);
  }

  private endUnit(): void {
    const nalus = this.nalus;
    const broken = this.broken || this.inFragment;
    this.nalus = [];
    this.hasUnit = false;
    this.broken = false;
    this.inFragment = false;
    this.fragments = [];
    if (nalus.length === 0) return;
    if (broken) {
      this.stats.droppedUnits++;
      this.waitKeyframe = true;
      return;
    }
    let keyframe = false;
    let slice = false;
    for (const n of nalus) {
      const t = n[0]! & 0x1f;
      if (t === NalType.IDR) keyframe = true;
      if (t >= 1 && t <= 5) slice = true;
    }
    if (this.waitKeyframe) {
      if (!keyframe) {
        if (slice) this.stats.droppedUnits++;
        return;
      }
      this.waitKeyframe = false;
    }
    this.onUnit({ timestamp: this.unitTs, nalus, keyframe });
  }
}
