/**
 * Receive-side replay protection of RFC 3711 3.3.2 / 3.4: a sliding window over packet indices (the
 * 48-bit SRTP index ROC * 2^16 + SEQ, or the 31-bit SRTCP index). A packet is new when its index is
 * above the highest accepted one, or within `size` of it and not yet seen; a packet seen before, or
 * older than the window, is a replay. The window is a ring of bits addressed by index mod size: no
 * allocation per packet, and moving forward by d clears d bits (the whole ring at most).
 *
 * Use: check() after the packet authenticated, accept() once it is taken (so a forged packet never
 * moves the window).
 */
export class ReplayWindow {
  /** highest accepted index, -1 before the first */
  top = -1;
  private readonly bits: Uint32Array;

  /** `size`: a multiple of 32, at least 64 (RFC 3711's minimum) */
  constructor(readonly size: number) {
    if (size < 64 || size % 32 !== 0) throw new RangeError('replay window size must be a multiple of 32, at least 64');
    this.bits = new Uint32Array(size / 32);
  }

  /** True when `index` may be accepted: above the top, or inside the window and not seen yet. */
  check(index: number): boolean {
    if (index > this.top) return true;
    if (this.top - index >= this.size) return false; // older than the window
    const slot = index % this.size;
    return (this.bits[slot >>> 5]! & (1 << (slot & 31))) === 0;
  }

  /** Marks `index` received (call only after check() said yes), moving the window when it is the new top. */
  accept(index: number): void {
    const bits = this.bits;
    if (index > this.top) {
      const d = this.top < 0 ? this.size : index - this.top;
      if (d >= this.size) bits.fill(0);
      else {
        // clear the slots of the indices skipped over (and the new top's): they held indices size older
        for (let i = this.top + 1; i <= index; i++) {
          const slot = i % this.size;
          bits[slot >>> 5] = bits[slot >>> 5]! & ~(1 << (slot & 31));
        }
      }
      this.top = index;
    }
    const slot = index % this.size;
    bits[slot >>> 5] = bits[slot >>> 5]! | (1 << (slot & 31));
  }
}

/**
 * RFC 3711 3.3.1 (appendix A) index estimate: the 48-bit index of `seq` given the highest accepted
 * index `top` (-1 when none). As libsrtp, the ROC stays 0 while the top is below 2^15 (a packet from
 * "before" the first one never gets ROC 2^32 - 1).
 */
export function estimateSrtpIndex(top: number, seq: number): number {
  if (top <= 0x8000) return seq;
  const roc = Math.floor(top / 0x10000);
  const s = top % 0x10000;
  let v = roc;
  if (s < 0x8000) {
    if (seq - s > 0x8000) v = roc - 1;
  } else if (s - 0x8000 > seq) v = roc + 1;
  return v * 0x10000 + seq;
}
