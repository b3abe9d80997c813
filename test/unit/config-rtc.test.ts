// rtc_server { } and vhost rtc { }: SRS's defaults, $CANDIDATE, env overrides, srsx's recvbuf/sendbuf,
// warnings for what srsx does not implement, located errors for bad values.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/server/config/index.js';

function load(text: string, env: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srsx-rtc-conf-'));
  const file = path.join(dir, 'rtc.conf');
  fs.writeFileSync(file, text);
  try {
    return loadConfig({ file, env });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('config: rtc_server and vhost rtc', () => {
  test("SRS's defaults: off, 8000, candidate *, 10 MB buffers; vhost rtc off with nack on, pli_for_rtmp 6, stun_timeout 30", () => {
    const c = load('listen 1935; vhost __defaultVhost__ { }');
    expect(c.rtcServer).toEqual({ enabled: false, listen: 8000, candidate: '*', recvbuf: 10 * 1024 * 1024, sendbuf: 10 * 1024 * 1024 });
    expect(c.vhosts[0]!.rtc).toEqual({ enabled: false, rtmpToRtc: false, rtcToRtmp: false, nack: true, pliForRtmp: 6, stunTimeout: 30 });
  });

  test('conf/rtc.conf-style: candidate $CANDIDATE from the environment, * when unset; other directives warn', () => {
    const text = `listen 1935;
rtc_server { enabled on; listen 8001; candidate $CANDIDATE; ecdsa on; recvbuf 4194304; }
vhost __defaultVhost__ { rtc { enabled on; rtmp_to_rtc on; rtc_to_rtmp on; nack off; twcc on; stun_timeout 5; pli_for_rtmp 2.5; } }`;
    const c = load(text, { CANDIDATE: '192.0.2.9' });
    expect(c.rtcServer).toMatchObject({ enabled: true, listen: 8001, candidate: '192.0.2.9', recvbuf: 4194304, sendbuf: 10485760 });
    expect(c.vhosts[0]!.rtc).toEqual({ enabled: true, rtmpToRtc: true, rtcToRtmp: true, nack: false, pliForRtmp: 2.5, stunTimeout: 5 });
    expect(c.warnings.filter((w) => /rtc/.test(w)).map((w) => w.replace(/^.*?: /, ''))).toEqual([
      'rtc_server.ecdsa is not implemented by srsx (ignored)',
      'vhost.rtc.twcc is not implemented by srsx (ignored)',
    ]);
    expect(load(text).rtcServer.candidate).toBe('*');
  });

  test('SRS_RTC_SERVER_* and SRS_VHOST_RTC_* override the file', () => {
    const c = load('listen 1935; rtc_server { enabled off; } vhost __defaultVhost__ { }', { SRS_RTC_SERVER_ENABLED: 'on', SRS_RTC_SERVER_LISTEN: '9000', SRS_VHOST_RTC_ENABLED: 'on', SRS_VHOST_RTC_STUN_TIMEOUT: '7' });
    expect(c.rtcServer).toMatchObject({ enabled: true, listen: 9000 });
    expect(c.vhosts[0]!.rtc).toMatchObject({ enabled: true, stunTimeout: 7 });
  });

  test('bad values are one located line', () => {
    expect(() => load('listen 1935; rtc_server { listen abc; }')).toThrow(/rtc\.conf:1:\d+: listen: expected a whole number, got 'abc'/);
    expect(() => load('listen 1935; vhost v { rtc { stun_timeout 0; } }')).toThrow(/stun_timeout: expected a value in \[1, inf\], got '0'/);
  });
});
