import { UserError } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** '16M', '16MiB', '512K', '16777216' → bytes (binary units, as the guide's 16M = 16777216). */
export function parseSize(text: string, flag = '--udp'): number {
  const m = /^(\d+)\s*([kmg](?:i?b)?)?$/i.exec(text.trim());
  const unit = m?.[2]?.toLowerCase() ?? '';
  if (!m || !(unit in UNITS)) {
    throw new UserError(`${flag} '${text}' is not a size`, { hint: 'accepted forms: 16777216 (bytes), 512K, 16M, 16MiB, 1G' });
  }
  const bytes = Number(m[1]) * UNITS[unit]!;
  if (bytes < 4096 || bytes > 2 ** 31 - 1) throw new UserError(`${flag} ${text} is out of range`, { hint: 'socket buffers take 4K to 2047M' });
  return bytes;
}
