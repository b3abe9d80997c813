// `srsx bench rtc-load`: WHEP players (our own ICE, werift-dtls client, RTP header counting) against
// `srsx serve` with a werift WHIP publisher in this process: every player connects, receives the
// stream with no sequence gap, and the SRTP auth tags it samples check out.
import { SRSX_BIN } from '../helpers/env.js';
import { sleep, spawnTool, startServer, stopAfterEach, waitExit } from '../helpers/serve.js';
import { Publisher, startLoopbackStun, stopLoopbackStun } from '../helpers/werift-peers.js';
import { createCertificate } from '../../src/server/rtc/dtls.js';

const RTC = { extra: 'rtc_server { enabled on; listen 0; candidate 127.0.0.1; }', vhostBody: '    rtc { enabled on; stun_timeout 10; }' };

describe('srsx bench rtc-load', () => {
  const started = stopAfterEach();
  beforeAll(() => startLoopbackStun());
  afterAll(() => stopLoopbackStun());

  it('5 WHEP players for 5 s: all connected, packets and bytes counted, no loss, auth tags verified', async () => {
    const server = started.add(await startServer(RTC));
    const pub = new Publisher();
    let sending = true;
    try {
      await pub.publish(`http://127.0.0.1:${server.api}/rtc/v1/whip/?app=live&stream=bench`);
      // 25 frames/s: one 600-byte video packet and one audio packet each
      const pump = (async () => {
        while (sending) {
          pub.sendFrame();
          await sleep(40);
        }
      })();
      const load = spawnTool(process.execPath, [SRSX_BIN, 'bench', 'rtc-load', '-c', '5', '-r', `whep://127.0.0.1:${server.api}/live/bench`, '--duration', '5s', '--interval', '1s', '--verify-every', '10', '--json']);
      started.add(load.child);
      const code = await waitExit(load.child, 20_000);
      sending = false;
      await pump;
      const out = load.output();
      expect(code).toBe(0);
      const summary = JSON.parse(out.slice(out.indexOf('{\n')));
      expect(summary.errors).toEqual({});
      expect(summary).toMatchObject({ clients: 5, started: 5, connected: 5, receiving: 5, failed: 0, lost: 0, verifyFailed: 0 });
      // ~4 s of 50 packets/s per player at least, with 600-byte video payloads
      expect(summary.packets).toBeGreaterThan(5 * 100);
      expect(summary.bytes).toBeGreaterThan(5 * 50 * 600);
      expect(summary.expected).toBeGreaterThanOrEqual(summary.packets);
      expect(summary.lossPercent).toBe(0);
      expect(summary.verified).toBeGreaterThan(5 * 10);
      // progress lines on stderr (not a terminal: one per interval)
      expect(out).toMatch(/\[\d+\.\ds\] connected 5\/5 \(started 5, receiving 5, failed 0\)/);
      // the server saw 5 players (and the publisher) come and go
      expect(server.log()).not.toMatch(/\[Error\]/);
    } finally {
      sending = false;
      await pub.close();
    }
  }, 40_000);

  it("a player whose DTLS certificate does not match its offer's a=fingerprint is refused", async () => {
    const server = started.add(await startServer(RTC));
    const pub = new Publisher();
    try {
      await pub.publish(`http://127.0.0.1:${server.api}/rtc/v1/whip/?app=live&stream=fp`);
      const { runRtcLoad } = await import('../../src/bench/rtc-load.js');
      const other = await createCertificate();
      const summary = await runRtcLoad({ url: `whep://127.0.0.1:${server.api}/live/fp`, clients: 1, durationMs: 3000, rampPerSecond: 10, reportEveryMs: 60_000, connectTimeoutMs: 2500, offerFingerprint: other.fingerprint });
      expect(summary).toMatchObject({ connected: 0, receiving: 0, failed: 1 });
      expect(server.log()).toMatch(/DTLS failed: the peer's DTLS certificate does not match the offer's a=fingerprint \(sha-256 [0-9A-F:]{95}, offered [0-9A-F:]{95}\)/);
    } finally {
      await pub.close();
    }
  }, 30_000);

  it('a bad URL is one clear line and exit 2', async () => {
    const t = spawnTool(process.execPath, [SRSX_BIN, 'bench', 'rtc-load', '-c', '1', '-r', 'rtmp://127.0.0.1/live/x']);
    expect(await waitExit(t.child, 10_000)).toBe(2);
    expect(t.output()).toMatch(/--url 'rtmp:\/\/127\.0\.0\.1\/live\/x' is not a whep:\/\/host:port\/app\/stream/);
    expect(t.output()).not.toMatch(/at .*\.js:\d+/);
  }, 15_000);
});
