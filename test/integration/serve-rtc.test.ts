// WebRTC in `srsx serve`: werift 0.22 peers in this process publish with WHIP and play with WHEP through
// the server's one UDP port (ICE-lite, DTLS-SRTP, SRTP); RTP counts, NACK answered, PLI forwarded, the
// API (streams, clients, kick), WHIP/WHEP DELETE, SRS's JSON API, session timeout.
import { GenericNack, PictureLossIndication, RtcpPayloadSpecificFeedback, RtcpTransportLayerFeedback } from 'werift';
import { freePort } from '../helpers/env.js';
import { sleep, startServer, stopAfterEach, until, type RunningServer } from '../helpers/serve.js';
import { Player, Publisher, startLoopbackStun, stopLoopbackStun, vanish } from '../helpers/werift-peers.js';

const RTC = (timeout = 3) => ({ extra: 'rtc_server { enabled on; listen 0; candidate 127.0.0.1; }', vhostBody: `    rtc { enabled on; stun_timeout ${timeout}; }` });

async function api(server: RunningServer, path: string, init?: RequestInit): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${server.api}${path}`, init);
  return res.json();
}


/** Runs `body`; a failure carries the server's RTC log lines (what the server saw of the peers). */
async function withLog(server: RunningServer, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const lines = server.log().split('\n').filter((l) => l.includes('RTC')).slice(-15).join('\n');
    (err as Error).message += `\n--- server log (RTC) ---\n${lines}`;
    throw err;
  }
}

describe('srsx serve: WebRTC (WHIP/WHEP over one UDP port)', () => {
  const started = stopAfterEach();
  beforeAll(() => startLoopbackStun());
  afterAll(() => stopLoopbackStun());
  const peers: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const p of peers.splice(0)) await p.close().catch(() => undefined);
  });
  const peer = <T extends { close(): Promise<void> }>(p: T) => (peers.push(p), p);

  it('a WHIP publisher reaches a WHEP player: packets decrypted, PLI on join and on request, NACK answered, API, DELETE', async () => {
    const server = started.add(await startServer(RTC(10)));
    await withLog(server, async () => {
      const base = `http://127.0.0.1:${server.api}/rtc/v1`;
      const pub = peer(new Publisher());
      await pub.publish(`${base}/whip/?app=live&stream=cam`);
      expect(pub.location).toMatch(/^\/rtc\/v1\/whip\/\?action=delete&token=\w+&app=live&stream=cam&session=\w+$/);
      await pub.sendFrames(10);

      const player = peer(new Player());
      await player.play(`${base}/whep/?app=live&stream=cam`);
      // a player joining asks the publisher for a keyframe
      await until('PLI at the publisher after the join', () => pub.plis >= 1, 8000);
      await pub.sendFrames(100, 5);
      await until(() => `~100 packets at the player, got ${JSON.stringify(player.got)}`, () => player.got.video >= 99 && player.got.audio >= 95, 8000);

      // PLI from the player reaches the publisher (rate-limited to one per 500 ms)
      await sleep(600);
      const before = pub.plis;
      await player.sendRtcp(new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc: 1, mediaSsrc: player.videoSsrc }) }));
      await until('the player PLI forwarded', () => pub.plis > before, 8000);

      // NACK: the server resends from its history (the player sees the same sequence numbers again)
      const got = player.got.video;
      const lost = player.videoSeqs.slice(-20, -15);
      await player.sendRtcp(new RtcpTransportLayerFeedback({ feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: player.videoSsrc, lost }) }));
      await until('5 retransmissions', () => player.got.video >= got + 5, 8000);
      expect(player.videoSeqs.slice(-5)).toEqual(lost);

      // the API: one stream with a publisher and a player, two rtc clients
      const streams = await api(server, '/api/v1/streams/');
      const s = streams.streams.find((x: any) => x.name === 'cam');
      expect(s).toMatchObject({ app: 'live', clients: 2, publish: { active: true }, video: { codec: 'H264', profile: 'Baseline' }, audio: { codec: 'Opus', sample_rate: 48000 } });
      expect(s.frames).toBeGreaterThanOrEqual(110);
      const clients = (await api(server, '/api/v1/clients/')).clients;
      expect(clients.map((c: any) => c.type).sort()).toEqual(['rtc-play', 'rtc-publish']);
      const summary = await api(server, '/api/v1/summaries');
      expect(summary.data.rtc_udp).toMatchObject({ loss: { r: 0, s: 0 } });
      expect(summary.data.rtc_udp.port).toBeGreaterThan(0);

      // WHEP DELETE ends the player's session; a wrong token does not
      expect((await fetch(`http://127.0.0.1:${server.api}${player.location.replace(/token=\w+/, 'token=bad')}`, { method: 'DELETE' })).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${server.api}${player.location}`, { method: 'DELETE' })).status).toBe(200);
      await until('the player gone from the API', async () => (await api(server, '/api/v1/clients/')).clients.length === 1, 8000);

      // kicking the publisher (DELETE /api/v1/clients/ID) ends it: the stream is freed
      const pid = (await api(server, '/api/v1/clients/')).clients[0].id;
      expect((await api(server, `/api/v1/clients/${pid}`, { method: 'DELETE' })).code).toBe(0);
      await until('the stream freed', async () => !(await api(server, '/api/v1/streams/')).streams.some((x: any) => x.name === 'cam'), 8000);
      expect(server.log()).toMatch(/RTC: Server conns=\d+, .*loss=\(r:0,s:0\)/);
    });
  }, 60_000);

  it('an offer with a=setup:passive (FFmpeg\'s WHIP muxer) is answered active: srsx starts the DTLS handshake as the client, media flows', async () => {
    const server = started.add(await startServer(RTC(10)));
    await withLog(server, async () => {
      const base = `http://127.0.0.1:${server.api}/rtc/v1`;
      const pub = peer(new Publisher());
      await pub.publish(`${base}/whip/?app=live&stream=passive`, 'passive');
      const player = peer(new Player());
      await player.play(`${base}/whep/?app=live&stream=passive`, 'passive');
      for (const pc of [pub.pc, player.pc]) {
        const answer = pc.remoteDescription!.sdp;
        expect(answer.match(/^a=setup:\w+/gm)).toEqual(answer.match(/^m=/gm)!.map(() => 'a=setup:active'));
        // werift took the server role from the answer, so the handshake it completed was srsx's ClientHello
        expect(pc.dtlsTransports[0]!.role).toBe('server');
      }
      await pub.sendFrames(60, 5);
      await until(() => `~60 packets at the player, got ${JSON.stringify(player.got)}`, () => player.got.video >= 55 && player.got.audio >= 55, 8000);
      // the default offer (actpass) still gets passive: srsx is the server
      const other = peer(new Player());
      await other.play(`${base}/whep/?app=live&stream=passive`);
      expect(other.pc.remoteDescription!.sdp).toMatch(/^a=setup:passive$/m);
      expect(other.pc.dtlsTransports[0]!.role).toBe('client');
    });
  }, 60_000);

  it('SRS JSON API /rtc/v1/publish/ and /play/, CORS preflight, errors; a second publisher is refused', async () => {
    const exporter = await freePort();
    const server = started.add(await startServer({ ...RTC(), extra: `${RTC().extra}\nexporter { enabled on; listen ${exporter}; }` }));
    await withLog(server, async () => {
      const pre = await fetch(`http://127.0.0.1:${server.api}/rtc/v1/whip/?app=live&stream=x`, { method: 'OPTIONS', headers: { Origin: 'http://example.test' } });
      expect(pre.status).toBe(200);
      expect(pre.headers.get('access-control-allow-origin')).toBe('*');

      const pub = peer(new Publisher());
      await pub.pc.setLocalDescription(await pub.pc.createOffer());
      await sleep(500);
      const r = await api(server, '/rtc/v1/publish/', { method: 'POST', body: JSON.stringify({ api: 'x', streamurl: 'webrtc://127.0.0.1/live/json', sdp: pub.pc.localDescription!.sdp }) });
      expect(r.code).toBe(0);
      expect(r.sessionid).toMatch(/^\w+:\w+$/);
      expect(r.sdp).toMatch(/a=ice-lite/);
      expect(r.sdp).toMatch(/a=setup:passive/);
      expect(r.sdp).toMatch(/a=group:BUNDLE/);
      expect(r.sdp).toMatch(/a=rtcp-mux/);
      expect(r.sdp).toMatch(/a=candidate:\d+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host/);
      expect(r.sdp).toMatch(/a=fmtp:\d+ .*profile-level-id=42e01f/);
      expect(r.sdp).toMatch(/a=fingerprint:sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
      // the stream is taken
      const again = await api(server, '/rtc/v1/publish/', { method: 'POST', body: JSON.stringify({ api: 'x', streamurl: 'webrtc://127.0.0.1/live/json', sdp: pub.pc.localDescription!.sdp }) });
      expect(again.code).toBe(5014);
      // bad bodies
      expect((await api(server, '/rtc/v1/play/', { method: 'POST', body: '{"streamurl": 1}' })).code).toBe(5012);
      expect((await api(server, '/rtc/v1/play/', { method: 'POST', body: JSON.stringify({ streamurl: 'webrtc://h/live/s', sdp: 'hello' }) })).code).toBe(5012);
      const whep = await fetch(`http://127.0.0.1:${server.api}/rtc/v1/whep/?app=live&stream=s`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0\r\n' });
      expect(whep.status).toBe(400);
      expect(await whep.text()).toMatch(/no media section/);
      // the UDP loop's counters on the exporter
      const metrics = await (await fetch(`http://127.0.0.1:${exporter}/metrics`)).text();
      expect(metrics).toMatch(/^srs_rtc_udp_recv_drops_total 0$/m);
      expect(metrics).toMatch(/^srs_rtc_udp_send_errors_total 0$/m);
      expect(metrics).toMatch(/^srs_rtc_udp_bad_total \d+$/m);
    });
  }, 30_000);

  it('a publisher that vanishes times out (stun_timeout) and frees its stream; its player stays until it times out too', async () => {
    const server = started.add(await startServer(RTC(2)));
    await withLog(server, async () => {
      const base = `http://127.0.0.1:${server.api}/rtc/v1`;
      const pub = peer(new Publisher());
      await pub.publish(`${base}/whip/?app=live&stream=gone`);
      await pub.sendFrames(5);
      await until('the stream published', async () => (await api(server, '/api/v1/streams/')).streams.some((x: any) => x.name === 'gone' && x.publish.active), 8000);
      vanish(pub.pc);
      const t0 = Date.now();
      await until('the stream freed', async () => !(await api(server, '/api/v1/streams/')).streams.some((x: any) => x.name === 'gone'), 10_000);
      expect(Date.now() - t0).toBeGreaterThan(1500);
      expect(server.log()).toMatch(/publish session \w+ of __defaultVhost__\/live\/gone closed: timeout/);
    });
  }, 30_000);
});
