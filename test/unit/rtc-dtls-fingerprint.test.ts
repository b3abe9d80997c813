// The peer's DTLS certificate against the offer's a=fingerprint (RFC 8122): the hash of the DER
// certificate, upper-case hex pairs joined by ':', under the offer's hash name.
import { X509Certificate } from 'node:crypto';
import { certificateFingerprint, checkPeerFingerprint, createCertificate } from '../../src/server/rtc/dtls.js';

describe('DTLS peer fingerprint', () => {
  it('matches what X509Certificate says for sha-256 and sha-1, and what our own answer announces', async () => {
    const cert = await createCertificate();
    const x = new X509Certificate(cert.certPem);
    expect(certificateFingerprint(x.raw, 'sha-256')).toBe(x.fingerprint256);
    expect(certificateFingerprint(x.raw, 'SHA-1')).toBe(x.fingerprint);
    expect(`sha-256 ${certificateFingerprint(x.raw, 'sha-256')}`).toBe(cert.fingerprint);
    expect(certificateFingerprint(x.raw, 'md5')).toBeUndefined();
  });

  it('accepts the matching certificate (any case), refuses another, none, or an unknown hash', async () => {
    const a = await createCertificate();
    const b = await createCertificate();
    const derA = new X509Certificate(a.certPem).raw;
    const derB = new X509Certificate(b.certPem).raw;
    expect(() => checkPeerFingerprint(derA, a.fingerprint)).not.toThrow();
    expect(() => checkPeerFingerprint(derA, a.fingerprint.toLowerCase())).not.toThrow();
    expect(() => checkPeerFingerprint(derB, a.fingerprint)).toThrow(/does not match the offer's a=fingerprint/);
    expect(() => checkPeerFingerprint(undefined, a.fingerprint)).toThrow(/sent no DTLS certificate/);
    expect(() => checkPeerFingerprint(derA, 'md5 AA:BB')).toThrow(/unknown hash 'md5'/);
  });
});
