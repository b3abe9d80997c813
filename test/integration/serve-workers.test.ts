// `srsx serve --workers N` (src/server/cluster/workers.ts): a supervisor with an in-process origin
// and N edge workers sharing the RTMP port. ffmpeg publishes to the shared port, RTMP players are
// spread over the workers (each worker's API on http_api + i lists its own), a killed worker is
// restarted, SIGTERM stops every process and removes the pid file.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, itIf, runCli, SRSX_BIN } from '../helpers/env.js';
import { stopAfterEach, stopChild, waitExit } from '../helpers/serve.js';
import { apiList, playersOf, publishLoop, waitFor, type ApiStream } from '../helpers/cluster.js';
import { RtmpClient } from '../../src/client/rtmp-client.js';
import { MessageType, type RtmpMessage } from '../../src/protocol/rtmp/message.js';

const itFF = itIf({ tools: ['ffmpeg'] });

async function writeConf(extra = ''): Promise<{ dir: string; conf: string; rtmp: number; http: number; api: number }> {
  const [rtmp, http, api] = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-workers-'));
  const conf = path.join(dir, 'srs.conf');
  writeFileSync(conf, `listen ${rtmp};
srs_log_tank console;
pid ${dir}/srs.pid;
http_api { enabled on; listen ${api}; }
http_server { enabled on; listen ${http}; dir ${dir}; }
${extra}
vhost __defaultVhost__ {
    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }
}
`);
  return { dir, conf, rtmp, http, api };
}

async function countingPlayer(url: string): Promise<{ client: RtmpClient; frames: () => number }> {
  const client = new RtmpClient(url, { timeoutMs: 10_000 });
  let n = 0;
  client.on('media', (m: RtmpMessage) => {
    if (m.type === MessageType.Video) n++;
  });
  client.on('error', () => undefined);
  await client.connect();
  await client.play();
  return { client, frames: () => n };
}

const selfPid = async (apiPort: number): Promise<number> => {
  const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1/summaries`);
  return ((await res.json()) as { data: { self: { pid: number } } }).data.self.pid;
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('srsx serve --workers', () => {
  const started = stopAfterEach();

  it('--workers 0 and --workers 65 exit 2', async () => {
    const { conf } = await writeConf();
    for (const n of ['0', '65', 'x']) {
      const r = runCli(['serve', '-c', conf, '--workers', n], { timeoutMs: 20_000 });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--workers ${n}`);
    }
  }, 40_000);

  it('--workers with rtc_server enabled exits 2 with the reason', async () => {
    const { conf } = await writeConf(`rtc_server { enabled on; listen ${await freePort()}; candidate 127.0.0.1; }`);
    const r = runCli(['serve', '-c', conf, '--workers', '2'], { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('rtc_server needs one process: drop --workers');
  }, 30_000);

  itFF('2 workers: players on both, a killed worker restarted, SIGTERM stops all and removes the pid file', async () => {
    const { dir, conf, rtmp, api } = await writeConf();
    const child = started.add(spawn(process.execPath, [SRSX_BIN, 'serve', '-c', conf, '--workers', '2'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    await waitFor('the supervisor ready', async () => /srsx serve pid=\d+ workers=2 /.test(out), 30_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${out}`);
    });
    const pidFile = path.join(dir, 'srs.pid');
    const supervisor = Number(readFileSync(pidFile, 'utf8').trim());
    const workers = [await selfPid(api), await selfPid(api + 1)];
    expect(workers[0]).not.toBe(workers[1]);
    expect(workers).not.toContain(supervisor);

    const pub = started.add(publishLoop(`rtmp://127.0.0.1:${rtmp}/live/w1`).child);
    await waitFor('the stream published on one worker', async () => {
      const lists = await Promise.all([apiList<ApiStream>(api, 'streams'), apiList<ApiStream>(api + 1, 'streams')]);
      return lists.flat().some((s) => s.name === 'w1' && s.publish.active);
    });
    const players: Array<{ client: RtmpClient; frames: () => number }> = [];
    for (let i = 0; i < 4; i++) players.push(await countingPlayer(`rtmp://127.0.0.1:${rtmp}/live/w1`));
    try {
      const counts = await waitFor('players listed by both workers', async () => {
        const c = [(await playersOf(api, 'w1')).length, (await playersOf(api + 1, 'w1')).length];
        return c[0]! >= 1 && c[1]! >= 1 && c[0]! + c[1]! === 4 && c;
      });
      await waitFor('every player counting frames', async () => players.every((p) => p.frames() >= 25), 20_000).catch((e) => {
        throw new Error(`${(e as Error).message}: frames ${players.map((p) => p.frames()).join(',')}, players per worker ${counts.join(',')}`);
      });
    } finally {
      for (const p of players) p.client.close();
      await stopChild(pub, 'SIGKILL');
    }

    // a worker that dies is restarted (1 s later), its API answers again with a new pid
    process.kill(workers[1]!, 'SIGKILL');
    const again = await waitFor('worker 1 restarted', async () => {
      const pid = await selfPid(api + 1);
      return pid !== workers[1] && pid;
    }, 20_000);
    expect(alive(workers[1]!)).toBe(false);
    expect(out).toMatch(/worker 1 pid=\d+ died \(signal SIGKILL\): restarting in 1 s/);

    // SIGHUP reaches every worker (each reloads as serve does) and the origin
    process.kill(supervisor, 'SIGHUP');
    await waitFor('both workers and the origin reloaded', async () => (out.match(/SIGHUP: reloaded /g) ?? []).length >= 2 && /SIGHUP: origin reloaded/.test(out));

    process.kill(supervisor, 'SIGTERM');
    await waitExit(child, 20_000);
    for (const pid of [supervisor, workers[0]!, again]) expect(alive(pid)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
  }, 90_000);
});
