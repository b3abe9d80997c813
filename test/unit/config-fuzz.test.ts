// Mutated SRS configs (seeded, bounded): the loader either accepts a file or refuses it with a UserError
// that names file:line; it never throws anything else, never hangs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../src/errors.js';
import { loadConfig } from '../../src/server/config/index.js';
import { SRS_DIR } from '../helpers/env.js';


/** mulberry32: a small seeded PRNG, so a failure is reproducible from the printed seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = [';', '{', '}', '#', '"', "'", '\n', '\r', ' ', '\t', '$', '\0', 'include ', 'listen ', 'vhost '];

function mutate(text: string, rand: () => number): string {
  let s = text;
  const n = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rand() * (s.length + 1));
    const op = rand();
    if (op < 0.35) s = s.slice(0, at) + SPECIAL[Math.floor(rand() * SPECIAL.length)] + s.slice(at);
    else if (op < 0.6) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rand() * 8));
    else if (op < 0.8) s = s.slice(0, at) + String.fromCharCode(Math.floor(rand() * 256)) + s.slice(at + 1);
    else s = s.slice(0, at) + s.slice(Math.floor(rand() * s.length)); // splice two parts
  }
  return s;
}

describe('config fuzz', () => {
  it('mutated corpus files are accepted or refused with a located UserError', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srsx-fuzz-'));
    const seed = Number(process.env.SRSX_FUZZ_SEED ?? 20261125);
    const rand = rng(seed);
    const sources = ['srs.conf', 'compatible.conf', 'full.conf', 'http.flv.live.conf', 'forward.master.conf', 'nginx.proxy.conf']
      .map((f) => fs.readFileSync(path.join(SRS_DIR, 'conf', f), 'utf8'));
    const deadline = Date.now() + 10_000;
    let accepted = 0;
    let refused = 0;
    try {
      for (let i = 0; i < 1500 && Date.now() < deadline; i++) {
        const text = mutate(sources[i % sources.length]!, rand);
        fs.writeFileSync(path.join(dir, 'm.conf'), text);
        try {
          loadConfig({ file: 'm.conf', cwd: dir, env: {}, allowFull: true });
          accepted++;
        } catch (err) {
          if (!(err instanceof UserError)) throw new Error(`seed ${seed} case ${i}: ${String(err)}\n---\n${text.slice(0, 2000)}`);
          expect(err.message).toMatch(/m\.conf|no config file|include file|<embedded>/);
          refused++;
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(accepted + refused).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(0);
  });
});
