import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseTcpSendQueues } from '../../src/host/proc-net.js';
import { ClientTable, type ClientRecord } from '../../src/server/live/clients.js';
import { clientJson } from '../../src/server/api/shapes.js';
import { REPO } from '../helpers/env.js';

const fixture = (name: string) => readFileSync(path.join(REPO, 'test/fixtures/diagnose', name), 'utf8');

function client(id: string, port: number, ip = '127.0.0.1'): ClientRecord {
  return { id, type: 'rtmp-play', ip, port, connectedAt: Date.now(), vhost: '__defaultVhost__', app: 'live', streamName: 's',
    bytesRead: () => 0, bytesWritten: () => 0, queued: () => 1234, kick: () => undefined };
}

describe('kernel send queues per client (/api/v1/clients)', () => {
  it('reads /proc/net/tcp and tcp6 (IPv4-mapped peers as plain IPv4), keyed by the remote address', () => {
    const v4 = parseTcpSendQueues(fixture('proc-net-tcp-stalled.txt'), 'tcp');
    // the server's socket to the never-reading client (remote port 0xCA82) holds 0x39DC00 bytes
    expect(v4.get('127.0.0.1:51842')).toBe(0x39dc00);
    expect(v4.get('127.0.0.1:38361')).toBe(0); // the client's own socket: nothing to send
    const v6 = parseTcpSendQueues(fixture('proc-net-tcp6-stalled.txt'), 'tcp6');
    expect(v6.get('127.0.0.1:37574')).toBe(0x39dc00);
  });

  it('a queue of 64 KiB or more that does not shrink is a stalled client; a draining one is not', () => {
    const t = new ClientTable();
    t.add(client('stalled', 40000));
    t.add(client('healthy', 40001, '::ffff:127.0.0.1'));
    t.updateSendQueues(new Map([['127.0.0.1:40000', 200_000], ['127.0.0.1:40001', 100_000]]), 1000);
    t.updateSendQueues(new Map([['127.0.0.1:40000', 300_000], ['127.0.0.1:40001', 0]]), 3500);
    const byId = new Map(t.toStats(4000).map((c) => [c.id, c]));
    expect(byId.get('stalled')).toMatchObject({ sendQueueBytes: 300_000, serverQueueBytes: 1234, stalledMs: 3000 });
    expect(byId.get('healthy')).toMatchObject({ sendQueueBytes: 0, stalledMs: 0 });
    expect(clientJson(byId.get('stalled')!, 4000).send_queue).toEqual({ kernel_bytes: 300_000, server_bytes: 1234, stalled_ms: 3000 });
    // it drains: no longer stalled
    t.updateSendQueues(new Map([['127.0.0.1:40000', 1000]]), 5000);
    expect(t.toStats(5000).find((c) => c.id === 'stalled')!.stalledMs).toBe(0);
  });
});
