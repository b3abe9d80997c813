/**
 * Paced reads for the load tool. After each read a player's stream is paused; every
 * `intervalMs` all paused streams resume together. Meanwhile the kernel gathers the player's
 * data, so one read takes what several would have: a server that writes every message as it
 * comes (nginx-rtmp does) costs the load tool a few reads per player per second instead of one
 * per message. The lag figures then include up to `intervalMs`.
 */
export interface Pausable {
  pause(): unknown;
  resume(): unknown;
  readonly destroyed: boolean;
}

export class ReadPacer {
  private held: Pausable[] = [];
  private readonly pending = new Set<Pausable>();
  private pauseSoon: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly intervalMs: number) {}

  /** A socket its owner has paused (an `onread` callback returned false): resumed at the next tick. */
  paused(stream: Pausable): void {
    this.held.push(stream);
    this.tick();
  }

  /**
   * A stream in flowing mode, after a 'data' event: paused once the current burst of events is
   * over (so what it has buffered is all handled), resumed at the next tick.
   */
  hold(stream: Pausable): void {
    if (this.intervalMs <= 0 || this.pending.has(stream)) return;
    this.pending.add(stream);
    this.pauseSoon ??= setImmediate(() => {
      this.pauseSoon = undefined;
      for (const s of this.pending) {
        s.pause();
        this.held.push(s);
      }
      this.pending.clear();
      this.tick();
    });
  }

  private tick(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.release(), this.intervalMs);
    this.timer.unref();
  }

  private release(): void {
    const list = this.held;
    if (list.length === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    this.held = [];
    for (const s of list) if (!s.destroyed) s.resume();
  }
}
