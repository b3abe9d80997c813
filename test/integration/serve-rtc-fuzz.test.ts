// Robustness of the WebRTC UDP port: random STUN, DTLS, RTP and RTCP datagrams (from a stranger, and
// from an address bound to a real session by a valid Binding request) while a werift publisher streams
// to a werift player. Bounded: ~8 s, ~16,000 datagrams. Nothing crashes, memory stays bounded, the
// player keeps receiving.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { bindingRequest, buildStun, StunAttr, StunType } from '../../src/protocol/rtc/stun.js';
import { sleep, startServer, stopAfterEach, type RunningServer } from '../helpers/serve.js';
import { Player, Publisher, startLoopbackStun, stopLoopbackStun } from '../helpers/werift-peers.js';

async function api(server: RunningServer, path: string): Promise<any> {
  return (await fetch(`http://127.0.0.1:${server.api}${path}`)).json();
}

function rand(n: number): number {
  return Math.floor(Math.random() * n);
}

/** One random datagram of a kind that passes the first-byte demux. */
function garbage(ufrags: string[]): Buffer {
  const len = 1 + rand(1400);
  const b = randomBytes(len);
  switch (rand(6)) {
    case 0: // STUN-looking, sometimes with a real session's ufrag and a wrong password
      return rand(2) ? bindingRequest(randomBytes(12), `${ufrags[rand(ufrags.length)] ?? 'x'}:${randomBytes(2).toString('hex')}`, 'wrong-password') : Object.assign(b, { 0: rand(4) });
    case 1: // STUN with random attributes (valid framing)
      return buildStun(StunType.bindingRequest, randomBytes(12), [{ type: rand(2) ? StunAttr.username : rand(0x10000), value: randomBytes(rand(64)) }], rand(2) ? 'k' : undefined, rand(2) === 0);
    case 2: // DTLS records: content type 20-25, version, epoch, seq, length (sometimes lying)
      b[0] = 20 + rand(6);
      if (len > 13) {
        b[1] = 0xfe;
        b[2] = 0xfd;
        b.writeUInt16BE(rand(2) ? len - 13 : rand(0x10000), 11);
      }
      return b;
    case 3: // RTP
      b[0] = 0x80 | rand(0x40);
      if (len > 1) b[1] = rand(128);
      return b;
    case 4: // RTCP (compound-looking)
      b[0] = 0x80 | rand(32);
      if (len > 1) b[1] = 192 + rand(32);
      if (len > 3) b.writeUInt16BE(rand(2) ? Math.floor(len / 4) - 1 : rand(0x10000), 2);
      return b;
    default:
      return b;
  }
}

describe('srsx serve: WebRTC UDP port under random datagrams', () => {
  const started = stopAfterEach();
  beforeAll(() => startLoopbackStun());
  afterAll(() => stopLoopbackStun());

  it('keeps playing, does not crash, memory bounded', async () => {
    const server = started.add(await startServer({ extra: 'rtc_server { enabled on; listen 0; candidate 127.0.0.1; }', vhostBody: '    rtc { enabled on; stun_timeout 30; }' }));
    const base = `http://127.0.0.1:${server.api}/rtc/v1`;
    const pub = new Publisher();
    const player = new Player();
    const fuzz = dgram.createSocket('udp4');
    const bound = dgram.createSocket('udp4');
    try {
      await pub.publish(`${base}/whip/?app=live&stream=fuzz`);
      await player.play(`${base}/whep/?app=live&stream=fuzz`);
      let streaming = true;
      const feeder = (async () => {
        while (streaming) await pub.sendFrames(5, 20);
      })();
      await sleep(1000);
      const rss0 = (await api(server, '/api/v1/summaries')).data.self.mem_kbyte as number;

      // a third session whose ICE credentials we know: the fuzzer binds its address with a valid Binding
      // request, so its garbage reaches that session's DTLS / SRTP paths too
      const offer = await (async () => {
        const p = new Player();
        await p.pc.setLocalDescription(await p.pc.createOffer());
        await sleep(300);
        const sdp = p.pc.localDescription!.sdp;
        await p.close();
        return sdp;
      })();
      const answer = await (await fetch(`${base}/whep/?app=live&stream=fuzz`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer })).text();
      const ufrag = /a=ice-ufrag:(\S+)/.exec(answer)![1]!;
      const pwd = /a=ice-pwd:(\S+)/.exec(answer)![1]!;
      const remoteUfrag = /a=ice-ufrag:(\S+)/.exec(offer)![1]!;
      const port = Number(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+)/.exec(answer)![1]);
      const answered = new Promise<void>((resolve) => bound.once('message', () => resolve()));
      await new Promise<void>((r) => bound.bind(0, '127.0.0.1', () => r()));
      bound.send(bindingRequest(randomBytes(12), `${ufrag}:${remoteUfrag}`, pwd), port, '127.0.0.1');
      await answered;

      const before = player.got.video;
      const end = Date.now() + 8000;
      let sent = 0;
      while (Date.now() < end && sent < 16_000) {
        for (let i = 0; i < 40; i++, sent++) {
          fuzz.send(garbage([ufrag]), port, '127.0.0.1');
          bound.send(garbage([ufrag]), port, '127.0.0.1');
        }
        await sleep(20);
      }
      await sleep(1500);
      streaming = false;
      await feeder;

      expect(server.child.exitCode).toBeNull();
      // still playing: frames kept arriving during the fuzzing (5 per 100 ms sent)
      expect(player.got.video - before).toBeGreaterThan(200);
      const summary = await api(server, '/api/v1/summaries');
      expect(summary.data.rtc_udp.bad).toBeGreaterThan(1000);
      const rss1 = summary.data.self.mem_kbyte as number;
      expect(rss1 - rss0).toBeLessThan(80 * 1024);
      const clients = (await api(server, '/api/v1/clients/')).clients;
      expect(clients.filter((c: any) => c.type === 'rtc-play' || c.type === 'rtc-publish').length).toBeGreaterThanOrEqual(2);
      expect(server.log()).not.toMatch(/Error\]|uncaught|unhandled/i);
    } finally {
      fuzz.close();
      bound.close();
      await pub.close();
      await player.close();
    }
  }, 60_000);
});
