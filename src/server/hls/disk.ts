import fs from 'node:fs';
import path from 'node:path';

/**
 * Asynchronous, ordered file work for one muxer (HLS stream or DVR recording). Jobs run one
 * after the other off the live path; a caller checks `backlogged` first and drops work (with a
 * warning) instead of queueing without bound when the disk is slower than the stream.
 */
export class DiskQueue {
  private tail: Promise<void> = Promise.resolve();
  pendingJobs = 0;
  pendingBytes = 0;
  errors = 0;
  lastError: string | undefined;
  private readonly dirs = new Set<string>();

  /** when the job running now started (undefined: none runs) */
  private runningSince: number | undefined;

  constructor(
    private readonly onError: (what: string) => void,
    readonly maxBytes = 64 * 1024 * 1024,
    readonly maxJobs = 64,
    /** a job running this long means a stuck disk (an NFS server gone, a pipe nobody reads) */
    readonly maxStallMs = 10_000,
  ) {}

  /** ms the job running now has taken so far (0 when none runs) */
  get stalledMs(): number {
    return this.runningSince === undefined ? 0 : Date.now() - this.runningSince;
  }

  /** the disk is too slow for the stream: too many bytes or jobs waiting, or one job stuck */
  get backlogged(): boolean {
    return this.pendingBytes > this.maxBytes || this.pendingJobs > this.maxJobs || this.stalledMs > this.maxStallMs;
  }

  /**
   * Runs `job` after every job queued before it; `bytes` counts toward the backlog until it ends.
   * Resolves true when the job succeeded, false when it failed (counted and reported).
   */
  run(what: string, job: () => Promise<void>, bytes = 0): Promise<boolean> {
    this.pendingJobs++;
    this.pendingBytes += bytes;
    const timed = async () => {
      this.runningSince = Date.now();
      try {
        await job();
      } finally {
        this.runningSince = undefined;
      }
    };
    const p = this.tail.then(timed).then(
      () => true,
      (err: unknown) => {
        this.errors++;
        this.lastError = `${what}: ${(err as Error).message}`;
        this.onError(this.lastError);
        return false;
      },
    ).finally(() => {
      this.pendingJobs--;
      this.pendingBytes -= bytes;
    });
    this.tail = p.then(() => undefined);
    return p;
  }

  /** Resolves when everything queued so far is done. */
  idle(): Promise<void> {
    return this.tail;
  }

  async mkdirFor(file: string): Promise<void> {
    const dir = path.dirname(file);
    if (this.dirs.has(dir)) return;
    await fs.promises.mkdir(dir, { recursive: true });
    this.dirs.add(dir);
  }

  /** Writes `parts` to `file` through `file.tmp` and a rename, so a reader never sees half a file. */
  writeAtomic(file: string, parts: Buffer[], what = file): Promise<boolean> {
    let size = 0;
    for (const p of parts) size += p.length;
    return this.run(`write ${what}`, () => this.writeNow(file, parts), size);
  }

  /** The work of writeAtomic, for a job already running in the queue. */
  async writeNow(file: string, parts: Buffer[]): Promise<void> {
    await this.mkdirFor(file);
    const tmp = `${file}.tmp`;
    const fh = await fs.promises.open(tmp, 'w');
    try {
      await writeAll(fh, parts);
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, file);
  }

  unlink(file: string): Promise<boolean> {
    return this.run(`remove ${file}`, async () => {
      await fs.promises.unlink(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    });
  }
}

/** writev in slices (IOV_MAX is 1024 on Linux). */
export async function writeAll(fh: fs.promises.FileHandle, parts: Buffer[]): Promise<void> {
  for (let i = 0; i < parts.length; i += 512) {
    const slice = parts.slice(i, i + 512);
    let want = 0;
    for (const p of slice) want += p.length;
    const { bytesWritten } = await fh.writev(slice);
    if (bytesWritten !== want) {
      // short write: finish the rest one by one
      let skip = bytesWritten;
      for (const p of slice) {
        if (skip >= p.length) {
          skip -= p.length;
          continue;
        }
        await fh.write(p.subarray(skip));
        skip = 0;
      }
    }
  }
}
