import type { DvrConfig } from '../config/types.js';
import type { LiveSource } from '../live/source.js';
import type { Logger } from '../log.js';

/** DVR: not yet wired (placeholder while HLS lands). */
export class DvrManager {
  constructor(private readonly log: Logger) {}
  onPublish(source: LiveSource, cfg: DvrConfig | undefined): void {
    if (cfg?.enabled) this.log.warn(`dvr ${source.key}: not implemented yet`);
  }
  stop(): void {}
}
