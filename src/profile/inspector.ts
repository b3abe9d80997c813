import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { UserError } from '../errors.js';
import { listeningPortsOf } from '../host/proc-pid.js';
import { hostRoot } from '../host/root.js';
import { requireNodeProcess } from './target.js';

/** The first of `ports` (the target's own listening ports) that answers as a Node inspector. */
async function inspectorOn(ports: number[]): Promise<{ port: number; url: string } | undefined> {
  for (const port of ports) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(1000) });
      const targets = (await r.json()) as Array<{ webSocketDebuggerUrl?: string; type?: string }>;
      const t = targets.find((x) => x.type === 'node' && x.webSocketDebuggerUrl) ?? targets.find((x) => x.webSocketDebuggerUrl);
      if (t?.webSocketDebuggerUrl) return { port, url: t.webSocketDebuggerUrl };
    } catch {
      /* not an inspector (a server port), or not ready yet */
    }
  }
  return undefined;
}

/**
 * A session on a Node process's inspector, opened the way Node allows from outside: SIGUSR1
 * makes the process listen on 127.0.0.1:9229 (localhost only; off until asked). Closed again
 * (process._debugEnd) when done.
 *
 * The session is with that pid's inspector, never "whatever answers on 9229": the target must be a
 * Node process (checked before the signal: SIGUSR1 kills other programs), and the port used is one
 * the target itself listens on (its socket inodes in /proc/PID/fd matched against /proc/PID/net/tcp),
 * opened by the signal or already open (node --inspect=PORT).
 */
export class InspectorSession {
  private id = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<string, Array<(params: unknown) => void>>();

  private constructor(private readonly ws: WebSocket, readonly port: number) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: unknown };
      if (msg.id !== undefined) {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(msg.error.message));
        else p?.resolve(msg.result);
      } else if (msg.method) for (const l of this.listeners.get(msg.method) ?? []) l(msg.params);
    });
  }

  static async open(pid: number, opts: { flag?: string; waitMs?: number } = {}): Promise<InspectorSession> {
    await requireNodeProcess(pid, opts.flag ?? '--cpu/--heap');
    const root = hostRoot();
    const before = await listeningPortsOf(root, pid, { loopbackOnly: true });
    // an inspector already open (node --inspect): one of the target's own loopback ports answers /json/list
    let found = await inspectorOn(before);
    if (!found) {
      try {
        process.kill(pid, 'SIGUSR1');
      } catch (err) {
        throw new UserError(`cannot signal pid ${pid}: ${(err as NodeJS.ErrnoException).code}`, { hint: 'run as the same user as the server, or root' });
      }
      const waitMs = opts.waitMs ?? 3000;
      for (let t = 0; t < waitMs && !found; t += 100) {
        await sleep(100);
        const fresh = (await listeningPortsOf(root, pid, { loopbackOnly: true })).filter((p) => !before.includes(p));
        found = await inspectorOn(fresh);
      }
    }
    if (!found) {
      throw new UserError(`pid ${pid} did not open its inspector`, {
        hint: 'the inspector listens on 127.0.0.1:9229: is that port taken by another process (ss -ltnp \'sport = :9229\')? stop it, or start the server with node --inspect=127.0.0.1:PORT',
      });
    }
    const ws = new WebSocket(found.url, { perMessageDeflate: false, maxPayload: 1 << 30 });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new InspectorSession(ws, found.port);
  }

  post<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.id;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  on(method: string, fn: (params: unknown) => void): void {
    this.listeners.set(method, [...(this.listeners.get(method) ?? []), fn]);
  }

  async close(): Promise<void> {
    try {
      // stop listening on 9229 again: the inspector is off except while profiling
      await Promise.race([this.post('Runtime.evaluate', { expression: 'process._debugEnd()' }), sleep(1000)]);
    } catch {
      /* the socket closes with it */
    }
    this.ws.close();
  }
}

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export async function takeCpuProfile(session: InspectorSession, seconds: number, onTick?: (f: number) => void): Promise<CpuProfile> {
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  await session.post('Profiler.start');
  for (let i = 0; i < seconds * 4; i++) {
    await sleep(250);
    onTick?.((i + 1) / (seconds * 4));
  }
  const { profile } = await session.post<{ profile: CpuProfile }>('Profiler.stop');
  await session.post('Profiler.disable');
  return profile;
}

/** Self and total time per function of a V8 CPU profile. */
export function cpuProfileTop(profile: CpuProfile, limit = 20): Array<{ function: string; location: string; selfMs: number; totalMs: number; selfPercent: number }> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totalHits = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0) || 1;
  const msPerHit = (profile.endTime - profile.startTime) / 1000 / totalHits;
  const key = (n: CpuProfileNode) => `${n.callFrame.functionName || '(anonymous)'}\u0000${n.callFrame.url.replace(/^file:\/\//, '')}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (!hits) continue;
    self.set(key(n), (self.get(key(n)) ?? 0) + hits);
    const seen = new Set<string>();
    for (let cur: CpuProfileNode | undefined = n; cur; cur = byId.get(parent.get(cur.id) ?? -1)) {
      const k = key(cur);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + hits);
    }
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([k, hits]) => {
      const [fn, loc] = k.split('\u0000') as [string, string];
      return { function: fn, location: loc, selfMs: Math.round(hits * msPerHit), totalMs: Math.round((total.get(k) ?? hits) * msPerHit), selfPercent: Math.round((hits / totalHits) * 1000) / 10 };
    });
}

export async function takeHeapSnapshot(session: InspectorSession): Promise<string> {
  const chunks: string[] = [];
  session.on('HeapProfiler.addHeapSnapshotChunk', (p) => chunks.push((p as { chunk: string }).chunk));
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.collectGarbage');
  await session.post('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  await session.post('HeapProfiler.disable');
  return chunks.join('');
}
