// SRS 7 as a test's server: the binary built from SRS's source (srs-cache.ts ensureSrs()), on free
// ports, its default vhost's body given; stopped by PID like srsx (stopChild).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './env.js';
import { sleep, stopChild } from './serve.js';
import { SRS_BIN } from './srs-cache.js';

export interface SrsProcess {
  child: ChildProcess;
  rtmp: number;
  api: number;
  http: number;
  log: () => string;
  stop: () => Promise<void>;
}

/** SRS 7 on free ports with `vhostBody` in its default vhost; ready when its API answers. */
export async function startSrs(vhostBody = ''): Promise<SrsProcess> {
  const [rtmp, api, http] = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-srs7-'));
  const conf = path.join(dir, 'srs.conf');
  writeFileSync(conf, `listen ${rtmp};
max_connections 1000;
daemon off;
srs_log_tank console;
pid ${dir}/srs.pid;
http_api { enabled on; listen ${api}; }
http_server { enabled on; listen ${http}; dir ${dir}; }
vhost __defaultVhost__ {
    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }
${vhostBody}
}
`);
  const child = spawn(SRS_BIN, ['-c', conf], { cwd: path.dirname(path.dirname(SRS_BIN)), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const proc: SrsProcess = { child, rtmp, api, http, log: () => out, stop: () => stopChild(child) };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`SRS exited with ${child.exitCode}:\n${out.slice(-3000)}`);
    try {
      const r = await fetch(`http://127.0.0.1:${api}/api/v1/versions`);
      if (r.ok) return proc;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  await proc.stop();
  throw new Error(`SRS did not answer on its API in 10 s:\n${out.slice(-3000)}`);
}
