// srsx players: small helpers shared by the pages (no build step, no CDN).
// Query parameters: ?app=live&stream=livestream&api=1985 (the HTTP API port for WHIP/WHEP),
// &host=... (default: this page's host), &codec=h264|vp8 (video codec preferred by WHIP/WHEP, default h264).
'use strict';

const srsx = (window.srsx = window.srsx || {});

srsx.params = function () {
  const q = new URLSearchParams(location.search);
  return {
    app: q.get('app') || 'live',
    stream: q.get('stream') || 'livestream',
    api: q.get('api') || '1985',
    host: q.get('host') || location.hostname,
    codec: (q.get('codec') || 'h264').toLowerCase(),
    autostart: q.get('autostart') !== 'false',
  };
};

srsx.apiUrl = function (p, kind) {
  return `${location.protocol}//${p.host}:${p.api}/rtc/v1/${kind}/?app=${encodeURIComponent(p.app)}&stream=${encodeURIComponent(p.stream)}`;
};

srsx.log = function (text) {
  const el = document.getElementById('log');
  if (el) el.textContent += `${new Date().toISOString().slice(11, 23)} ${text}\n`;
  console.log(text);
};

/** Puts the preferred video codec first on a transceiver (WHIP/WHEP servers may take only H.264). */
srsx.preferCodec = function (transceiver, codec) {
  if (!transceiver.setCodecPreferences || !window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) return;
  const caps = RTCRtpReceiver.getCapabilities('video');
  if (!caps) return;
  const want = `video/${codec}`;
  const first = caps.codecs.filter((c) => c.mimeType.toLowerCase() === want);
  if (first.length === 0) return;
  const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== want);
  transceiver.setCodecPreferences([...first, ...rest]);
};

/** POSTs an SDP offer (WHIP/WHEP); resolves to the answer and keeps the Location for DELETE. */
srsx.exchange = async function (pc, url) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer.sdp });
  const body = await res.text();
  if (res.status !== 201 && res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${body.slice(0, 200)}`);
  const location = res.headers.get('Location');
  srsx.resource = location ? new URL(location, url).toString() : undefined;
  await pc.setRemoteDescription({ type: 'answer', sdp: body });
  return body;
};

/** Ends the session: DELETE on the resource the server named, then close the peer connection. */
srsx.stop = async function () {
  if (srsx.resource) await fetch(srsx.resource, { method: 'DELETE' }).catch(() => undefined);
  if (srsx.pc) srsx.pc.close();
  srsx.state = 'stopped';
};

/** Inbound/outbound RTP counters by kind, for the page and for tests. */
srsx.stats = async function () {
  const out = { video: {}, audio: {} };
  if (!srsx.pc) return out;
  const report = await srsx.pc.getStats();
  report.forEach((s) => {
    if ((s.type === 'inbound-rtp' || s.type === 'outbound-rtp') && (s.kind === 'video' || s.kind === 'audio')) {
      const o = out[s.kind];
      o.type = s.type;
      o.packets = (s.packetsReceived || 0) + (s.packetsSent || 0);
      o.bytes = (s.bytesReceived || 0) + (s.bytesSent || 0);
      if (s.framesDecoded !== undefined) o.framesDecoded = s.framesDecoded;
      if (s.framesEncoded !== undefined) o.framesEncoded = s.framesEncoded;
      if (s.packetsLost !== undefined) o.packetsLost = s.packetsLost;
      if (s.codecId && report.get(s.codecId)) o.codec = report.get(s.codecId).mimeType;
    }
  });
  return out;
};

srsx.showStats = function () {
  const el = document.getElementById('stats');
  if (!el) return;
  setInterval(async () => {
    el.textContent = JSON.stringify(await srsx.stats(), null, 1);
  }, 1000);
};

srsx.fail = function (err) {
  srsx.state = 'failed';
  srsx.error = String(err && err.message ? err.message : err);
  srsx.log(`error: ${srsx.error}`);
};
