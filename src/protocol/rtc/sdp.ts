/**
 * SDP (RFC 8866) as WHIP/WHEP need it: parse an offer's media sections (mid, direction, ICE, DTLS
 * fingerprint/setup, codecs with fmtp and rtcp-fb, SSRCs, extmap, rtcp-mux) and write an ICE-lite answer
 * (a=ice-lite, BUNDLE, rtcp-mux, a=setup passive or active, a host candidate). Pure functions on strings.
 */

export interface SdpCodec {
  pt: number;
  name: string; // as written, e.g. 'H264', 'opus', 'VP8'
  clockRate: number;
  channels?: number;
  fmtp?: string;
  rtcpFb: string[];
}

export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface SdpMedia {
  kind: string; // audio | video | application | ...
  port: number;
  proto: string;
  formats: string[];
  mid?: string;
  direction: SdpDirection;
  iceUfrag?: string;
  icePwd?: string;
  fingerprint?: string; // 'sha-256 AB:CD:...'
  setup?: string;
  rtcpMux: boolean;
  rtcpRsize: boolean;
  codecs: SdpCodec[];
  extmaps: Array<{ id: number; uri: string }>;
  ssrcs: number[];
  /** SSRCs that are retransmission/FEC streams (a=ssrc-group FID/FEC-FR second members) */
  secondarySsrcs: number[];
  msid?: string;
}

export interface SdpOffer {
  iceUfrag?: string;
  icePwd?: string;
  fingerprint?: string;
  setup?: string;
  bundle: string[];
  media: SdpMedia[];
}

export class SdpError extends Error {}

/** Parses an SDP offer; throws SdpError with what is missing or wrong. */
export function parseSdp(text: string): SdpOffer {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (!lines[0]?.startsWith('v=0')) throw new SdpError('not an SDP document (it must start with v=0)');
  const offer: SdpOffer = { bundle: [], media: [] };
  let m: SdpMedia | undefined;
  const codecOf = (pt: number) => m?.codecs.find((c) => c.pt === pt);
  for (const line of lines) {
    const type = line[0];
    const value = line.slice(2);
    if (type === 'm') {
      const [kind = '', port = '0', proto = '', ...formats] = value.split(/\s+/);
      m = { kind, port: Number(port) || 0, proto, formats, direction: 'sendrecv', rtcpMux: false, rtcpRsize: false, codecs: [], extmaps: [], ssrcs: [], secondarySsrcs: [] };
      offer.media.push(m);
      continue;
    }
    if (type !== 'a') continue;
    const colon = value.indexOf(':');
    const name = colon < 0 ? value : value.slice(0, colon);
    const arg = colon < 0 ? '' : value.slice(colon + 1);
    switch (name) {
      case 'ice-ufrag':
        if (m) m.iceUfrag = arg;
        else offer.iceUfrag = arg;
        break;
      case 'ice-pwd':
        if (m) m.icePwd = arg;
        else offer.icePwd = arg;
        break;
      case 'fingerprint':
        if (m) m.fingerprint = arg;
        else offer.fingerprint = arg;
        break;
      case 'setup':
        if (m) m.setup = arg;
        else offer.setup = arg;
        break;
      case 'group':
        if (arg.startsWith('BUNDLE')) offer.bundle = arg.split(/\s+/).slice(1);
        break;
      case 'mid':
        if (m) m.mid = arg;
        break;
      case 'sendrecv':
      case 'sendonly':
      case 'recvonly':
      case 'inactive':
        if (m) m.direction = name;
        break;
      case 'rtcp-mux':
        if (m) m.rtcpMux = true;
        break;
      case 'rtcp-rsize':
        if (m) m.rtcpRsize = true;
        break;
      case 'rtpmap': {
        const r = /^(\d+)\s+([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(arg);
        if (m && r) m.codecs.push({ pt: Number(r[1]), name: r[2]!, clockRate: Number(r[3]), channels: r[4] ? Number(r[4]) : undefined, rtcpFb: [] });
        break;
      }
      case 'fmtp': {
        const r = /^(\d+)\s+(.*)$/.exec(arg);
        const c = r ? codecOf(Number(r[1])) : undefined;
        if (c) c.fmtp = r![2]!.trim();
        break;
      }
      case 'rtcp-fb': {
        const r = /^(\d+|\*)\s+(.*)$/.exec(arg);
        if (m && r) {
          for (const c of m.codecs) if (r[1] === '*' || c.pt === Number(r[1])) c.rtcpFb.push(r[2]!.trim());
        }
        break;
      }
      case 'extmap': {
        const r = /^(\d+)(?:\/\w+)?\s+(\S+)/.exec(arg);
        if (m && r) m.extmaps.push({ id: Number(r[1]), uri: r[2]! });
        break;
      }
      case 'ssrc': {
        const r = /^(\d+)/.exec(arg);
        if (m && r) {
          const s = Number(r[1]) >>> 0;
          if (!m.ssrcs.includes(s)) m.ssrcs.push(s);
        }
        break;
      }
      case 'ssrc-group': {
        const parts = arg.split(/\s+/);
        if (m && (parts[0] === 'FID' || parts[0] === 'FEC-FR')) for (const s of parts.slice(2)) m.secondarySsrcs.push(Number(s) >>> 0);
        break;
      }
      case 'msid':
        if (m) m.msid = arg;
        break;
      default:
        break;
    }
  }
  // payload types listed without rtpmap (static ones) are ignored; session-level values fill the media
  for (const x of offer.media) {
    x.iceUfrag ??= offer.iceUfrag;
    x.icePwd ??= offer.icePwd;
    x.fingerprint ??= offer.fingerprint;
    x.setup ??= offer.setup;
  }
  if (offer.media.length === 0) throw new SdpError('the offer has no media section (m=)');
  const first = offer.media[0]!;
  if (!first.iceUfrag || !first.icePwd) throw new SdpError('the offer has no a=ice-ufrag/a=ice-pwd');
  if (!first.fingerprint) throw new SdpError('the offer has no a=fingerprint (DTLS-SRTP is required)');
  return offer;
}

/** fmtp 'a=b;c=d' → map (keys lower-cased). */
export function fmtpMap(fmtp: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (fmtp ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return out;
}

/**
 * The H.264 codec to use from a list, packetization-mode 1 first: the one whose profile-level-id is
 * `prefer` (default 42e01f), else the first constrained-baseline/baseline (42xxxx), else the first
 * packetization-mode 1 of any profile. With `mode0` (a publisher: we only receive), an offer with no
 * mode 1 gets its packetization-mode 0 codec (single NAL units, which the depacketizer reads), in the
 * same order of preference, as SRS takes the first H.264 when none is mode 1; never for players, to
 * whom srsx sends FU-A.
 */
export function pickH264(codecs: SdpCodec[], prefer = '42e01f', opts: { mode0?: boolean } = {}): SdpCodec | undefined {
  const mode = (c: SdpCodec) => fmtpMap(c.fmtp).get('packetization-mode') ?? '0';
  const pli = (c: SdpCodec) => (fmtpMap(c.fmtp).get('profile-level-id') ?? '').toLowerCase();
  const best = (list: SdpCodec[]) => list.find((c) => pli(c) === prefer.toLowerCase()) ?? list.find((c) => pli(c).startsWith('42')) ?? list[0];
  const h264 = codecs.filter((c) => c.name.toUpperCase() === 'H264');
  return best(h264.filter((c) => mode(c) === '1')) ?? (opts.mode0 ? best(h264.filter((c) => mode(c) === '0')) : undefined);
}

export interface AnswerMedia {
  /** the offer's section this answers */
  offered: SdpMedia;
  /** undefined: rejected (port 0) */
  codec?: SdpCodec;
  direction: SdpDirection;
  /** what we send in this section (players): ssrc, cname, msid */
  send?: { ssrc: number; cname: string; streamId: string; trackId: string };
}

export interface AnswerOptions {
  iceUfrag: string;
  icePwd: string;
  fingerprint: string; // 'sha-256 AB:...'
  candidates: Array<{ ip: string; port: number }>;
  sessionId: string;
  sessionName: string;
  media: AnswerMedia[];
  /** our DTLS role in a=setup (answerSetup); passive when left out */
  setup?: 'passive' | 'active';
}

/**
 * The answer's a=setup for the offer's (RFC 5763 §5): passive — we are the DTLS server and the peer sends
 * the ClientHello — unless the offer is passive itself (FFmpeg's WHIP muxer, or srs-bench's "client passive"
 * cases): then active, and we start the handshake, as SRS does. actpass, active or none get passive.
 */
export function answerSetup(offerSetup: string | undefined): 'passive' | 'active' {
  return offerSetup?.trim().toLowerCase() === 'passive' ? 'active' : 'passive';
}

/** Writes the ICE-lite answer (DTLS passive unless o.setup says active). */
export function buildAnswer(o: AnswerOptions): string {
  const L: string[] = [];
  const accepted = o.media.filter((x) => x.codec && x.offered.mid !== undefined).map((x) => x.offered.mid!);
  L.push('v=0', `o=srsx ${o.sessionId} 2 IN IP4 0.0.0.0`, `s=${o.sessionName}`, 't=0 0', 'a=ice-lite');
  if (accepted.length) L.push(`a=group:BUNDLE ${accepted.join(' ')}`);
  L.push('a=msid-semantic: WMS *');
  for (const x of o.media) {
    const off = x.offered;
    if (!x.codec) {
      const fmt = off.formats[0] ?? '0';
      L.push(`m=${off.kind} 0 ${off.proto} ${fmt}`, 'c=IN IP4 0.0.0.0');
      if (off.mid !== undefined) L.push(`a=mid:${off.mid}`);
      // the offer's rtpmap of that format: pion fails the whole answer on a dynamic format it cannot map
      const oc = off.codecs.find((c) => String(c.pt) === fmt);
      if (oc) L.push(`a=rtpmap:${oc.pt} ${oc.name}/${oc.clockRate}${oc.channels ? `/${oc.channels}` : ''}`);
      L.push('a=inactive');
      continue;
    }
    const c = x.codec;
    L.push(`m=${off.kind} 9 ${off.proto} ${c.pt}`, 'c=IN IP4 0.0.0.0');
    L.push(`a=ice-ufrag:${o.iceUfrag}`, `a=ice-pwd:${o.icePwd}`);
    L.push(`a=fingerprint:${o.fingerprint}`, `a=setup:${o.setup ?? 'passive'}`);
    if (off.mid !== undefined) L.push(`a=mid:${off.mid}`);
    L.push(`a=${x.direction}`, 'a=rtcp-mux');
    if (off.rtcpRsize) L.push('a=rtcp-rsize');
    L.push(`a=rtpmap:${c.pt} ${c.name}/${c.clockRate}${c.channels ? `/${c.channels}` : ''}`);
    const fbs = off.kind === 'video' ? ['nack', 'nack pli', 'ccm fir'] : ['nack'];
    for (const fb of fbs) if (c.rtcpFb.includes(fb)) L.push(`a=rtcp-fb:${c.pt} ${fb}`);
    if (c.fmtp) L.push(`a=fmtp:${c.pt} ${c.fmtp}`);
    if (x.send) {
      L.push(`a=msid:${x.send.streamId} ${x.send.trackId}`);
      L.push(`a=ssrc:${x.send.ssrc} cname:${x.send.cname}`, `a=ssrc:${x.send.ssrc} msid:${x.send.streamId} ${x.send.trackId}`);
    }
    o.candidates.forEach((cand, i) => {
      const prio = 2130706431 - i;
      L.push(`a=candidate:${i} 1 udp ${prio} ${cand.ip} ${cand.port} typ host generation 0`);
    });
    L.push('a=end-of-candidates');
  }
  return L.join('\r\n') + '\r\n';
}
