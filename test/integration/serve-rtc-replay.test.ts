// SRTP/SRTCP replay protection in `srsx serve`: SRTP datagrams captured on the way out of a werift
// WHIP publisher's UDP socket, and a player's SRTCP PLI, are sent again from the same sockets (so the
// server finds the same session by address). The player never gets the media twice, the publisher no
// second PLI; the server counts the replays (rtc_udp.replayed, srs_rtc_udp_replayed_total, the
// session's close line).
import type dgram from 'node:dgram';
import { PictureLossIndication, RtcpPayloadSpecificFeedback, type RTCPeerConnection } from 'werift';
import { freePort } from '../helpers/env.js';
import { sleep, startServer, stopAfterEach, until, type RunningServer } from '../helpers/serve.js';
import { Player, Publisher, startLoopbackStun, stopLoopbackStun } from '../helpers/werift-peers.js';

async function api(server: RunningServer, path: string, init?: RequestInit): Promise<any> {
  return (await fetch(`http://127.0.0.1:${server.api}${path}`, init)).json();
}


interface Sent {
  socket: dgram.Socket;
  data: Buffer;
  port: number;
  address: string;
}

/** Records every datagram a werift peer sends to `port` from now on (its ICE sockets' send, wrapped). */
function tap(pc: RTCPeerConnection, port: number): { sent: Sent[]; stop(): void } {
  const sent: Sent[] = [];
  let on = true;
  for (const t of pc.dtlsTransports) {
    const conn = (t.iceTransport as unknown as { connection?: { protocols?: Array<{ transport: { socket: dgram.Socket } }> } }).connection;
    for (const p of conn?.protocols ?? []) {
      const socket = p.transport.socket;
      const send = socket.send.bind(socket) as (...a: unknown[]) => void;
      (socket as unknown as { send: (...a: unknown[]) => void }).send = (...a: unknown[]) => {
        const [data, toPort, address] = a as [Buffer, number, string];
        if (on && toPort === port && Buffer.isBuffer(data)) sent.push({ socket, data: Buffer.from(data), port: toPort, address });
        send(...a);
      };
    }
  }
  return { sent, stop: () => void (on = false) };
}

const isRtp = (b: Buffer) => b.length > 12 && b[0]! >= 128 && b[0]! < 192 && !(b[1]! >= 192 && b[1]! <= 223);
const isRtcp = (b: Buffer) => b.length > 12 && b[0]! >= 128 && b[0]! < 192 && b[1]! >= 192 && b[1]! <= 223;

describe('srsx serve: WebRTC replay protection', () => {
  const started = stopAfterEach();
  beforeAll(() => startLoopbackStun());
  afterAll(() => stopLoopbackStun());

  it("SRTP and SRTCP sent again from the peer's own address are dropped and counted; players get each packet once", async () => {
    const exporter = await freePort();
    const server = started.add(await startServer({ extra: `rtc_server { enabled on; listen 0; candidate 127.0.0.1; }\nexporter { enabled on; listen ${exporter}; }`, vhostBody: '    rtc { enabled on; stun_timeout 30; }' }));
    const base = `http://127.0.0.1:${server.api}/rtc/v1`;
    const pub = new Publisher();
    const player = new Player();
    try {
      await pub.publish(`${base}/whip/?app=live&stream=replay`);
      await pub.sendFrames(5);
      await player.play(`${base}/whep/?app=live&stream=replay`);
      await pub.sendFrames(20, 5);
      await until(() => `the first frames at the player, got ${JSON.stringify(player.got)}`, () => player.got.video >= 15);
      const udpPort = (await api(server, '/api/v1/summaries')).data.rtc_udp.port as number;

      // 30 frames (a video and an audio packet each) captured on the wire as the publisher sends them
      const cap = tap(pub.pc, udpPort);
      await pub.sendFrames(30, 5);
      await until(() => `30 more frames at the player, got ${JSON.stringify(player.got)}`, () => player.got.video >= 45 && player.got.audio >= 45);
      cap.stop();
      const srtp = cap.sent.filter((s) => isRtp(s.data));
      expect(srtp.length).toBeGreaterThanOrEqual(60);
      // settled: nothing more in flight (the count holds while a fresh frame makes the round trip)
      const v0 = player.got.video;
      await pub.sendFrames(1);
      await until('the fresh frame', () => player.got.video > v0 && player.got.audio > v0 - 1);
      const got = { ...player.got };
      const replayed0 = (await api(server, '/api/v1/summaries')).data.rtc_udp.replayed as number;
      expect(replayed0).toBe(0);

      // send them all again, from the publisher's own socket (same address, so the same session)
      for (const s of srtp) s.socket.send(s.data, s.port, s.address);
      let udp: unknown;
      await until(
        () => `${srtp.length} replays counted, rtc_udp ${JSON.stringify(udp)}`,
        async () => ((udp = (await api(server, '/api/v1/summaries')).data.rtc_udp) as { replayed: number }).replayed >= srtp.length,
      );
      // one fresh frame after the replays: when it arrives, anything the replays caused has arrived too
      pub.sendFrame();
      await until(() => `the frame after the replays, got ${JSON.stringify(player.got)}`, () => player.got.video >= got.video + 1 && player.got.audio >= got.audio + 1);
      await pub.sendFrames(3, 20);
      await until(() => `3 more frames, got ${JSON.stringify(player.got)}`, () => player.got.video >= got.video + 4);
      expect(player.got).toEqual({ video: got.video + 4, audio: got.audio + 4 });

      // SRTCP: a player's PLI reaches the publisher once; the same SRTCP datagram again does not
      await sleep(600); // the stream passes one keyframe request per 500 ms
      const pcap = tap(player.pc, udpPort);
      const plis = pub.plis;
      await player.sendRtcp(new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc: 1, mediaSsrc: player.videoSsrc }) }));
      await until('the PLI at the publisher', () => pub.plis > plis);
      pcap.stop();
      const srtcp = pcap.sent.filter((s) => isRtcp(s.data));
      expect(srtcp.length).toBeGreaterThanOrEqual(1);
      await sleep(600);
      const plis1 = pub.plis;
      const replayed1 = (await api(server, '/api/v1/summaries')).data.rtc_udp.replayed as number;
      for (const s of srtcp) s.socket.send(s.data, s.port, s.address);
      await until('the SRTCP replays counted', async () => ((await api(server, '/api/v1/summaries')).data.rtc_udp.replayed as number) >= replayed1 + srtcp.length);
      // a fresh frame's round trip: a PLI forwarded by the replay would have reached the publisher by then
      const v = player.got.video;
      pub.sendFrame();
      await until('a frame after the SRTCP replay', () => player.got.video > v);
      expect(pub.plis).toBe(plis1);

      const summary = (await api(server, '/api/v1/summaries')).data.rtc_udp;
      expect(summary.replayed).toBe(srtp.length + srtcp.length);
      const metrics = await (await fetch(`http://127.0.0.1:${exporter}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`^srs_rtc_udp_replayed_total ${srtp.length + srtcp.length}$`, 'm'));

      // per session: the publisher's close line has its count
      const id = (await api(server, '/api/v1/clients/')).clients.find((c: any) => c.type === 'rtc-publish').id;
      expect((await api(server, `/api/v1/clients/${id}`, { method: 'DELETE' })).code).toBe(0);
      await until('the close line', () => new RegExp(`publish session ${id} of \\S+ closed: .*\\(${srtp.length} replayed SRTP/SRTCP packets dropped\\)`).test(server.log()));
      expect(server.log()).not.toMatch(/Error\]|uncaught|unhandled/i);
    } finally {
      await pub.close();
      await player.close();
    }
  }, 60_000);
});
