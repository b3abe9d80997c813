// An HTTP callback server for http_hooks tests (srsx's and SRS's): each POST's JSON body goes to
// `answer`, which returns the hook's `code` (0 allows; anything else denies, as SRS reads it).
import http from 'node:http';

/** a hook body as SRS posts it (action, client_id, param, …) */
export type HookBody = Record<string, any>;

export interface HookServer {
  port: number;
  stop(): Promise<void>;
}

/** Listens on 127.0.0.1 (a free port); stop() closes it. */
export async function startHookServer(answer: (body: HookBody, path: string) => number): Promise<HookServer> {
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (d) => (data += d));
    req.on('end', () => {
      const code = answer(JSON.parse(data) as HookBody, req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ code }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
