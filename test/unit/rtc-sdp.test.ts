// SDP offers as browsers write them (BUNDLE, rtcp-mux, mid/extmap, several H.264 profiles, RTX groups),
// the ICE-lite answer, and the RFC 7983 / RTCP helpers.
import { answerSetup, buildAnswer, parseSdp, pickH264, SdpError } from '../../src/protocol/rtc/sdp.js';
import { buildNack, buildPli, buildRr, buildSr, classify, parseRtcp } from '../../src/protocol/rtc/rtcp.js';

// shaped like a Chromium WHIP offer (sendonly audio + video), values made up
const OFFER = [
  'v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1', 'a=extmap-allow-mixed', 'a=msid-semantic: WMS s1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126', 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0',
  'a=ice-ufrag:Ab1c', 'a=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa', 'a=ice-options:trickle',
  'a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF',
  'a=setup:actpass', 'a=mid:0', 'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level', 'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=sendonly', 'a=msid:s1 a1', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2', 'a=rtcp-fb:111 transport-cc', 'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2', 'a=fmtp:63 111/111', 'a=rtpmap:9 G722/8000', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000',
  'a=ssrc:1001 cname:x', 'a=ssrc:1001 msid:s1 a1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 106 107', 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0',
  'a=ice-ufrag:Ab1c', 'a=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa',
  'a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF',
  'a=setup:actpass', 'a=mid:1', 'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid', 'a=sendonly', 'a=msid:s1 v1', 'a=rtcp-mux', 'a=rtcp-rsize',
  'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 nack', 'a=rtcp-fb:96 nack pli', 'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96',
  'a=rtpmap:102 H264/90000', 'a=rtcp-fb:102 goog-remb', 'a=rtcp-fb:102 nack', 'a=rtcp-fb:102 nack pli', 'a=rtcp-fb:102 ccm fir',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
  'a=rtpmap:103 rtx/90000', 'a=fmtp:103 apt=102',
  'a=rtpmap:106 H264/90000', 'a=rtcp-fb:106 nack', 'a=rtcp-fb:106 nack pli', 'a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:107 rtx/90000', 'a=fmtp:107 apt=106',
  'a=ssrc-group:FID 2001 2002', 'a=ssrc:2001 cname:x', 'a=ssrc:2002 cname:x',
].join('\r\n') + '\r\n';

describe('SDP', () => {
  test('parses a browser offer: BUNDLE, ICE, fingerprint, codecs with fmtp and rtcp-fb, SSRCs and RTX', () => {
    const o = parseSdp(OFFER);
    expect(o.bundle).toEqual(['0', '1']);
    expect(o.media.map((m) => [m.kind, m.mid, m.direction, m.rtcpMux])).toEqual([['audio', '0', 'sendonly', true], ['video', '1', 'sendonly', true]]);
    const [a, v] = o.media;
    expect(a!.iceUfrag).toBe('Ab1c');
    expect(a!.codecs.find((c) => c.name === 'opus')).toMatchObject({ pt: 111, clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1' });
    expect(v!.ssrcs).toEqual([2001, 2002]);
    expect(v!.secondarySsrcs).toEqual([2002]);
    expect(v!.rtcpRsize).toBe(true);
    expect(pickH264(v!.codecs)!.pt).toBe(106); // 42e01f preferred over the first (42001f)
    expect(pickH264(v!.codecs, '42001f')!.pt).toBe(102);
    expect(v!.codecs.find((c) => c.pt === 102)!.rtcpFb).toEqual(['goog-remb', 'nack', 'nack pli', 'ccm fir']);
  });

  test('H.264 packetization-mode 0 (or none: RFC 6184 default 0) only for a publisher, and only when no mode 1 is offered', () => {
    const h = (pt: number, fmtp?: string) => ({ pt, name: 'H264', clockRate: 90000, fmtp, rtcpFb: [] });
    // srs-bench's registerMiniCodecsWithoutNack: one H.264, mode 0
    const mode0 = [h(108, 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f')];
    expect(pickH264(mode0)).toBeUndefined();
    expect(pickH264(mode0, '42e01f', { mode0: true })!.pt).toBe(108);
    expect(pickH264([h(96, 'profile-level-id=640032'), h(97, 'profile-level-id=42001f')], '42e01f', { mode0: true })!.pt).toBe(97);
    // mode 1 wins over mode 0 whatever the profile
    expect(pickH264([h(102, 'packetization-mode=0;profile-level-id=42e01f'), h(104, 'packetization-mode=1;profile-level-id=640032')], '42e01f', { mode0: true })!.pt).toBe(104);
  });

  test('refuses what is not an offer it can answer', () => {
    expect(() => parseSdp('hello')).toThrow(SdpError);
    expect(() => parseSdp('v=0\r\ns=-\r\n')).toThrow(/no media section/);
    expect(() => parseSdp(OFFER.replace(/a=fingerprint:.*\r\n/g, ''))).toThrow(/fingerprint/);
    expect(() => parseSdp(OFFER.replace(/a=ice-pwd:.*\r\n/g, ''))).toThrow(/ice-pwd/);
  });

  test('the ICE-lite answer: BUNDLE, rtcp-mux, passive DTLS, one host candidate per m-line, rejected sections inactive', () => {
    const o = parseSdp(OFFER);
    const [a, v] = o.media;
    const ans = buildAnswer({
      iceUfrag: 'u1', icePwd: 'p'.repeat(32), fingerprint: 'sha-256 AA:BB', candidates: [{ ip: '192.0.2.7', port: 8000 }], sessionId: '1', sessionName: 'x',
      media: [{ offered: a!, direction: 'inactive' }, { offered: v!, codec: pickH264(v!.codecs), direction: 'recvonly' }],
    });
    const lines = ans.split('\r\n');
    expect(ans.endsWith('\r\n')).toBe(true);
    expect(lines).toContain('a=ice-lite');
    expect(lines).toContain('a=group:BUNDLE 1');
    expect(lines).toContain('m=audio 0 UDP/TLS/RTP/SAVPF 111');
    // a rejected section keeps its format's rtpmap (pion refuses an answer with an unmapped dynamic format)
    const rejected = lines.slice(lines.indexOf('m=audio 0 UDP/TLS/RTP/SAVPF 111'), lines.indexOf('m=video 9 UDP/TLS/RTP/SAVPF 106'));
    expect(rejected).toEqual(['m=audio 0 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=rtpmap:111 opus/48000/2', 'a=inactive']);
    expect(lines).toContain('m=video 9 UDP/TLS/RTP/SAVPF 106');
    for (const l of ['a=setup:passive', 'a=rtcp-mux', 'a=rtcp-rsize', 'a=recvonly', 'a=mid:1', 'a=ice-ufrag:u1', 'a=fingerprint:sha-256 AA:BB',
      'a=rtpmap:106 H264/90000', 'a=rtcp-fb:106 nack', 'a=rtcp-fb:106 nack pli', 'a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
      'a=candidate:0 1 udp 2130706431 192.0.2.7 8000 typ host generation 0', 'a=end-of-candidates']) expect(lines).toContain(l);
    expect(ans).not.toMatch(/a=extmap/);
    expect(ans.match(/a=candidate/g)).toHaveLength(1);
  });

  test('DTLS role (RFC 5763 §5): passive unless the offer is passive (FFmpeg\'s WHIP muxer), then active, on every m-line', () => {
    expect(answerSetup('actpass')).toBe('passive');
    expect(answerSetup('active')).toBe('passive');
    expect(answerSetup(undefined)).toBe('passive');
    expect(answerSetup('passive')).toBe('active');
    expect(answerSetup(' Passive ')).toBe('active');
    const o = parseSdp(OFFER.replace(/a=setup:actpass/g, 'a=setup:passive'));
    expect(o.media.map((m) => answerSetup(m.setup))).toEqual(['active', 'active']);
    const ans = buildAnswer({
      iceUfrag: 'u1', icePwd: 'p'.repeat(32), fingerprint: 'sha-256 AA:BB', candidates: [{ ip: '192.0.2.7', port: 8000 }], sessionId: '1', sessionName: 'x',
      media: o.media.map((m) => ({ offered: m, codec: m.kind === 'video' ? pickH264(m.codecs) : m.codecs.find((c) => c.name === 'opus'), direction: 'recvonly' as const })),
      setup: 'active',
    });
    expect(ans.match(/^a=setup:.*$/gm)).toEqual(['a=setup:active', 'a=setup:active']);
  });
});

describe('RFC 7983 demux and RTCP', () => {
  test('first byte ranges', () => {
    expect(classify(Buffer.from([0, 1, 0, 0]))).toBe('stun');
    expect(classify(Buffer.from([22, 0xfe, 0xfd, 0]))).toBe('dtls');
    expect(classify(Buffer.from([0x80, 96, 0, 1]))).toBe('rtp');
    expect(classify(Buffer.from([0x80, 96 | 0x80, 0, 1]))).toBe('rtp');
    expect(classify(Buffer.from([0x81, 200, 0, 6]))).toBe('rtcp');
    expect(classify(Buffer.from([0x81, 206, 0, 2]))).toBe('rtcp');
    expect(classify(Buffer.from([64, 0, 0, 0]))).toBe('unknown');
    expect(classify(Buffer.alloc(0))).toBe('unknown');
  });

  test('SR, RR, PLI and NACK round-trip through the parser (compound)', () => {
    const sr = buildSr(0x11, 1_700_000_000_500, 90000, 10, 12000);
    const rr = buildRr(0x22, [{ ssrc: 0x33, fractionLost: 12, cumulativeLost: 5, highestSeq: 70000, jitter: 0, lsr: 0xabcd, dlsr: 65536 }]);
    const nack = buildNack(0x22, 0x33, [10, 11, 13, 30, 65535]);
    const all = parseRtcp(Buffer.concat([sr, rr, buildPli(0x22, 0x33), nack]));
    expect(all[0]).toMatchObject({ type: 'sr', ssrc: 0x11, rtpTime: 90000, packets: 10, octets: 12000, ntpHigh: 1_700_000_000 + 2_208_988_800 });
    expect((all[0] as { ntpLow: number }).ntpLow).toBe(0x80000000);
    expect(all[1]).toMatchObject({ type: 'rr', ssrc: 0x22, reports: [{ ssrc: 0x33, fractionLost: 12, cumulativeLost: 5, highestSeq: 70000, lsr: 0xabcd, dlsr: 65536 }] });
    expect(all[2]).toEqual({ type: 'pli', sender: 0x22, media: 0x33 });
    expect(all[3]!.type).toBe('nack');
    expect([...(all[3] as { seqs: number[] }).seqs].sort((a, b) => a - b)).toEqual([10, 11, 13, 30, 65535]);
    // a lying length stops the walk without throwing
    const bad = Buffer.from(sr);
    bad.writeUInt16BE(200, 2);
    expect(parseRtcp(bad)).toEqual([]);
  });
});
