/*
 * srsx_native: the server's small native addon (N-API, C).
 *
 *  - valgrind client requests for the incremental leak check of GET /api/v1/valgrind
 *    (VALGRIND_DO_LEAK_CHECK and friends, then VALGRIND_COUNT_LEAKS); outside valgrind
 *    every request is a no-op and runningOnValgrind() is 0;
 *  - two deliberately broken functions used only by the tests of `srsx profile`:
 *    testLeak(bytes) loses a malloc'd block, testOverflow(bytes) writes one byte past
 *    the end of a malloc'd block (caught by ASAN in the --asan build).
 *
 * Builds without valgrind's headers too (then the leak checks report unavailable).
 *
 *  - the WebRTC fan-out (SRSX_HAVE_SRTP, unless SRSX_NO_SRTP=1 at build): per player an SRTP
 *    sender context (AES_CM_128_HMAC_SHA1_80 on node's own OpenSSL) and its peer address;
 *    rtcFanout() copies one plain RTP packet per player into a scratch area (header without
 *    extension, the player's SSRC/PT), protects each copy and sends all of them with one
 *    sendmmsg() on the dgram socket's fd.
 */
#include <node_api.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define SRSX_HAVE_VALGRIND 1
#endif
#endif
#ifndef SRSX_HAVE_VALGRIND
#define SRSX_HAVE_VALGRIND 0
#endif
/* SRSX_HAVE_SRTP=1 comes from binding.gyp (the WebRTC fan-out; SRSX_NO_SRTP=1 at build leaves it out) */
#ifndef SRSX_HAVE_SRTP
#define SRSX_HAVE_SRTP 0
#endif

#define CHECK_NAPI(env, call)                                   \
  do {                                                          \
    if ((call) != napi_ok) {                                    \
      napi_throw_error((env), NULL, "srsx_native: " #call);     \
      return NULL;                                              \
    }                                                           \
  } while (0)

static napi_value make_uint(napi_env env, unsigned long v) {
  napi_value out;
  if (napi_create_double(env, (double)v, &out) != napi_ok) return NULL;
  return out;
}

static int set_prop(napi_env env, napi_value obj, const char *key, napi_value value) {
  return value != NULL && napi_set_named_property(env, obj, key, value) == napi_ok;
}

/* runningOnValgrind(): 0 outside valgrind, else the nesting depth (RUNNING_ON_VALGRIND). */
static napi_value running_on_valgrind(napi_env env, napi_callback_info info) {
  (void)info;
#if SRSX_HAVE_VALGRIND
  return make_uint(env, (unsigned long)RUNNING_ON_VALGRIND);
#else
  return make_uint(env, 0);
#endif
}

/* features(): what this build can do. */
static napi_value features(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj, t, f, newCheck;
  CHECK_NAPI(env, napi_create_object(env, &obj));
  CHECK_NAPI(env, napi_get_boolean(env, 1, &t));
  CHECK_NAPI(env, napi_get_boolean(env, 0, &f));
#if SRSX_HAVE_VALGRIND && defined(VALGRIND_DO_NEW_LEAK_CHECK)
  newCheck = t;
#else
  newCheck = f;
#endif
  if (!set_prop(env, obj, "valgrindHeaders", SRSX_HAVE_VALGRIND ? t : f)) return NULL;
  if (!set_prop(env, obj, "newLeakCheck", newCheck)) return NULL;
#if defined(__SANITIZE_ADDRESS__)
  if (!set_prop(env, obj, "asan", t)) return NULL;
#else
  if (!set_prop(env, obj, "asan", f)) return NULL;
#endif
  return obj;
}

/*
 * leakCheck(kind): kind is "full", "quick", "added", "changed" or "new"; returns
 * { call, leaked, dubious, reachable, suppressed } (bytes, from VALGRIND_COUNT_LEAKS
 * after the check). valgrind prints the details to its log.
 */
static napi_value leak_check(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char kind[16] = {0};
  size_t len = 0;
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], kind, sizeof kind, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "leakCheck(kind): kind must be a string");
    return NULL;
  }
  static const char *const kinds[] = {"full", "quick", "added", "changed", "new"};
  int known = 0;
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) known |= strcmp(kind, kinds[i]) == 0;
  if (!known) {
    napi_throw_range_error(env, NULL, "leakCheck(kind): kind is full, quick, added, changed or new");
    return NULL;
  }
  const char *call = "none (built without valgrind headers)";
  unsigned long leaked = 0, dubious = 0, reachable = 0, suppressed = 0;
#if SRSX_HAVE_VALGRIND
  if (strcmp(kind, "full") == 0) {
    VALGRIND_DO_LEAK_CHECK;
    call = "VALGRIND_DO_LEAK_CHECK";
  } else if (strcmp(kind, "quick") == 0) {
    VALGRIND_DO_QUICK_LEAK_CHECK;
    call = "VALGRIND_DO_QUICK_LEAK_CHECK";
  } else if (strcmp(kind, "changed") == 0) {
    VALGRIND_DO_CHANGED_LEAK_CHECK;
    call = "VALGRIND_DO_CHANGED_LEAK_CHECK";
#ifdef VALGRIND_DO_NEW_LEAK_CHECK
  } else if (strcmp(kind, "new") == 0) {
    VALGRIND_DO_NEW_LEAK_CHECK;
    call = "VALGRIND_DO_NEW_LEAK_CHECK";
#endif
  } else {
    /* "added", and "new" on valgrind < 3.21, which has no "new" check: "added" is the nearest */
    VALGRIND_DO_ADDED_LEAK_CHECK;
    call = "VALGRIND_DO_ADDED_LEAK_CHECK";
  }
  VALGRIND_COUNT_LEAKS(leaked, dubious, reachable, suppressed);
#endif
  napi_value obj, callValue;
  CHECK_NAPI(env, napi_create_object(env, &obj));
  CHECK_NAPI(env, napi_create_string_utf8(env, call, NAPI_AUTO_LENGTH, &callValue));
  if (!set_prop(env, obj, "call", callValue) || !set_prop(env, obj, "leaked", make_uint(env, leaked)) ||
      !set_prop(env, obj, "dubious", make_uint(env, dubious)) ||
      !set_prop(env, obj, "reachable", make_uint(env, reachable)) ||
      !set_prop(env, obj, "suppressed", make_uint(env, suppressed)))
    return NULL;
  return obj;
}

static size_t bytes_arg(napi_env env, napi_callback_info info, size_t fallback) {
  size_t argc = 1;
  napi_value argv[1];
  double v = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return fallback;
  if (napi_get_value_double(env, argv[0], &v) != napi_ok || !(v >= 1 && v <= 1 << 20)) return fallback;
  return (size_t)v;
}

/*
 * The block goes through a volatile global so the compiler cannot drop the allocation
 * (a malloc whose result is never used may be removed); clearing it loses the only pointer.
 * Kept out of line so the block's address is not left in the caller's frame.
 */
static void *volatile leak_sink;

__attribute__((noinline)) static void test_leak_block(size_t bytes) {
  leak_sink = malloc(bytes);
  if (leak_sink != NULL) memset(leak_sink, 0x5a, bytes);
  leak_sink = NULL; /* the only pointer to it is gone: "definitely lost" */
}

/* testLeak(bytes = 4096): TEST ONLY. Loses a malloc'd block of `bytes`. */
static napi_value test_leak(napi_env env, napi_callback_info info) {
  size_t bytes = bytes_arg(env, info, 4096);
  test_leak_block(bytes);
  return make_uint(env, bytes);
}

__attribute__((noinline)) static void test_overflow_block(size_t bytes) {
  char *block = malloc(bytes);
  if (block == NULL) return;
  volatile char *p = block;
  p[bytes] = 1; /* one past the end: heap-buffer-overflow */
  free(block);
}

/* testOverflow(bytes = 16): TEST ONLY. Writes one byte past a malloc'd block of `bytes`. */
static napi_value test_overflow(napi_env env, napi_callback_info info) {
  size_t bytes = bytes_arg(env, info, 16);
  test_overflow_block(bytes);
  return make_uint(env, bytes);
}

#if SRSX_HAVE_SRTP
/*
 * SRTP (RFC 3711, AES_CM_128_HMAC_SHA1_80) written here on the OpenSSL that node itself carries
 * (its headers ship with node's, its symbols are node's own): Debian's libsrtp2 is built on NSS,
 * whose AES and HMAC went through PKCS#11 sessions and mutexes for every packet (a third of the
 * server's CPU at 200 players in `srsx profile --perf`). AES-CTR through EVP (AES-NI), HMAC-SHA1
 * from precomputed inner/outer SHA-1 states.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define SRTP_TAG_LEN 10
#define RTC_MAX_SSRCS 8

typedef struct {
  uint32_t ssrc;
  uint32_t roc;
  uint16_t last_seq;
} srtp_ssrc_state;

typedef struct {
  EVP_CIPHER_CTX *aes; /* AES-128-CTR under the session encryption key */
  SHA_CTX inner, outer; /* HMAC-SHA1 under the session auth key, after the pads */
  unsigned char salt[14];
  srtp_ssrc_state ssrcs[RTC_MAX_SSRCS];
  unsigned int nssrcs;
  struct sockaddr_in peer;
  int has_peer;
} rtc_out;

static void rtc_out_free(rtc_out *o) {
  if (o->aes != NULL) {
    EVP_CIPHER_CTX_free(o->aes);
    o->aes = NULL;
  }
  OPENSSL_cleanse(&o->inner, sizeof o->inner);
  OPENSSL_cleanse(&o->outer, sizeof o->outer);
}

static void rtc_out_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  rtc_out *o = data;
  rtc_out_free(o);
  free(o);
}

static rtc_out *rtc_out_arg(napi_env env, napi_value v) {
  rtc_out *o = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  if (napi_get_value_external(env, v, (void **)&o) != napi_ok) return NULL;
  return o;
}

/* srtpVersion(): what protects the packets. */
static napi_value srtp_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  char text[160];
  snprintf(text, sizeof text, "AES-CM/HMAC-SHA1 on %s", OpenSSL_version(OPENSSL_VERSION));
  CHECK_NAPI(env, napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &out));
  return out;
}

/* RFC 3711 4.3.1 with key_derivation_rate 0: AES-CM(master key, (label << 48) XOR salt) keystream. */
static int srtp_kdf(const unsigned char *key, const unsigned char *salt, unsigned char label, unsigned char *out, int n) {
  unsigned char iv[16] = {0}, zeros[32] = {0};
  memcpy(iv, salt, 14);
  iv[7] ^= label;
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int len = 0, ok = c != NULL && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv) == 1 &&
                   EVP_EncryptUpdate(c, out, &len, zeros, n) == 1 && len == n;
  EVP_CIPHER_CTX_free(c);
  return ok;
}

/* rtcOutCreate(key16, salt14): an SRTP sender context (external; freed by rtcOutClose or the GC). */
static napi_value rtc_out_create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *key = NULL, *salt = NULL;
  size_t klen = 0, slen = 0;
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_buffer_info(env, argv[0], &key, &klen) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &salt, &slen) != napi_ok || klen != 16 || slen != 14) {
    napi_throw_type_error(env, NULL, "rtcOutCreate(key, salt): a 16-byte key and a 14-byte salt");
    return NULL;
  }
  rtc_out *o = calloc(1, sizeof *o);
  if (o == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  unsigned char ke[16], ka[20], pad[64];
  int ok = srtp_kdf(key, salt, 0x00, ke, 16) && srtp_kdf(key, salt, 0x01, ka, 20) && srtp_kdf(key, salt, 0x02, o->salt, 14);
  o->aes = ok ? EVP_CIPHER_CTX_new() : NULL;
  ok = ok && o->aes != NULL && EVP_EncryptInit_ex(o->aes, EVP_aes_128_ctr(), NULL, ke, NULL) == 1;
  if (ok) {
    memset(pad, 0x36, sizeof pad);
    for (int i = 0; i < 20; i++) pad[i] ^= ka[i];
    SHA1_Init(&o->inner);
    SHA1_Update(&o->inner, pad, sizeof pad);
    memset(pad, 0x5c, sizeof pad);
    for (int i = 0; i < 20; i++) pad[i] ^= ka[i];
    SHA1_Init(&o->outer);
    SHA1_Update(&o->outer, pad, sizeof pad);
  }
  OPENSSL_cleanse(ke, sizeof ke);
  OPENSSL_cleanse(ka, sizeof ka);
  OPENSSL_cleanse(pad, sizeof pad);
  if (!ok) {
    rtc_out_free(o);
    free(o);
    napi_throw_error(env, NULL, "rtcOutCreate: SRTP key derivation failed");
    return NULL;
  }
  napi_value ext;
  if (napi_create_external(env, o, rtc_out_finalize, NULL, &ext) != napi_ok) {
    rtc_out_free(o);
    free(o);
    napi_throw_error(env, NULL, "napi_create_external failed");
    return NULL;
  }
  return ext;
}

/*
 * The rollover counter for this SSRC's packet with sequence number `seq` (RFC 3711 3.3.1, the sender
 * side: a packet resent from the history keeps the ROC of its time), updating the highest seen.
 */
static int srtp_roc(rtc_out *o, uint32_t ssrc, uint16_t seq, uint32_t *roc) {
  srtp_ssrc_state *st = NULL;
  for (unsigned int i = 0; i < o->nssrcs; i++)
    if (o->ssrcs[i].ssrc == ssrc) st = &o->ssrcs[i];
  if (st == NULL) {
    if (o->nssrcs == RTC_MAX_SSRCS) return 0;
    st = &o->ssrcs[o->nssrcs++];
    st->ssrc = ssrc;
    st->roc = 0;
    st->last_seq = seq;
    *roc = 0;
    return 1;
  }
  uint32_t v = st->roc;
  if (st->last_seq < 32768) {
    /* at ROC 0 there is no index below 0: a packet that looks older than a wrap keeps ROC 0 (libsrtp) */
    if ((int)seq - (int)st->last_seq > 32768 && st->roc > 0) v = st->roc - 1;
  } else if ((int)st->last_seq - 32768 > (int)seq) {
    v = st->roc + 1;
  }
  if (v == st->roc + 1 || (v == st->roc && seq > st->last_seq)) {
    st->roc = v;
    st->last_seq = seq;
  }
  *roc = v;
  return 1;
}

/* Encrypts the payload after `hl` header bytes in place and appends the 10-byte tag; returns the length or 0. */
static size_t srtp_protect_packet(rtc_out *o, unsigned char *b, size_t hl, size_t len) {
  uint32_t ssrc = ((uint32_t)b[8] << 24) | ((uint32_t)b[9] << 16) | ((uint32_t)b[10] << 8) | b[11];
  uint16_t seq = (uint16_t)((b[2] << 8) | b[3]);
  uint32_t roc;
  if (!srtp_roc(o, ssrc, seq, &roc)) return 0;
  unsigned char iv[16];
  memcpy(iv, o->salt, 14);
  iv[14] = iv[15] = 0;
  iv[4] ^= ssrc >> 24;
  iv[5] ^= (ssrc >> 16) & 0xff;
  iv[6] ^= (ssrc >> 8) & 0xff;
  iv[7] ^= ssrc & 0xff;
  iv[8] ^= roc >> 24;
  iv[9] ^= (roc >> 16) & 0xff;
  iv[10] ^= (roc >> 8) & 0xff;
  iv[11] ^= roc & 0xff;
  iv[12] ^= seq >> 8;
  iv[13] ^= seq & 0xff;
  int outl = 0;
  if (len > hl) {
    if (EVP_EncryptInit_ex(o->aes, NULL, NULL, NULL, iv) != 1) return 0;
    if (EVP_EncryptUpdate(o->aes, b + hl, &outl, b + hl, (int)(len - hl)) != 1) return 0;
  }
  unsigned char rocb[4] = {roc >> 24, (roc >> 16) & 0xff, (roc >> 8) & 0xff, roc & 0xff};
  unsigned char h[SHA_DIGEST_LENGTH];
  SHA_CTX c = o->inner;
  SHA1_Update(&c, b, len);
  SHA1_Update(&c, rocb, 4);
  SHA1_Final(h, &c);
  c = o->outer;
  SHA1_Update(&c, h, sizeof h);
  SHA1_Final(h, &c);
  memcpy(b + len, h, SRTP_TAG_LEN);
  return len + SRTP_TAG_LEN;
}

/* rtcOutClose(h): frees the SRTP context now (the handle stays valid and sends nothing). */
static napi_value rtc_out_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  rtc_out *o = argc >= 1 ? rtc_out_arg(env, argv[0]) : NULL;
  if (o != NULL) rtc_out_free(o);
  return NULL;
}

/* rtcOutSetPeer(h, ipv4, port): where rtcFanout sends this player's packets. */
static napi_value rtc_out_set_peer(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char ip[64] = {0};
  size_t len = 0;
  uint32_t port = 0;
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  rtc_out *o = argc >= 3 ? rtc_out_arg(env, argv[0]) : NULL;
  if (o == NULL || napi_get_value_string_utf8(env, argv[1], ip, sizeof ip, &len) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &port) != napi_ok || port > 65535) {
    napi_throw_type_error(env, NULL, "rtcOutSetPeer(handle, ipv4, port)");
    return NULL;
  }
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
    o->has_peer = 0;
    napi_get_boolean(env, 0, &argv[0]);
    return argv[0];
  }
  o->peer = a;
  o->has_peer = 1;
  napi_get_boolean(env, 1, &argv[0]);
  return argv[0];
}

#define FANOUT_MAX 1024
#define FANOUT_SLOT 1600 /* scratch per player: an RTP packet up to 1500 bytes, the tag, room for MKI */

static unsigned char *fanout_scratch = NULL;
static size_t fanout_slots = 0;

/*
 * rtcFanout(fd, packet, handles, ssrcs, pts, count): for each of the first `count` players, copies
 * the plain RTP `packet` (its header extension dropped), sets the player's SSRC (Uint32Array) and
 * PT (Uint8Array, marker bit kept), protects it and sends all with sendmmsg(). Returns the number
 * of datagrams the kernel took; the rest (EAGAIN, ENOBUFS, a failed protect, no peer) are losses.
 */
static napi_value rtc_fanout(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  uint32_t count = 0;
  unsigned char *pkt = NULL;
  size_t plen = 0;
  void *ssrcs = NULL, *pts = NULL;
  size_t ns = 0, np = 0;
  napi_typedarray_type tt;
  napi_value ab;
  size_t off;
  if (argc < 6 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_buffer_info(env, argv[1], (void **)&pkt, &plen) != napi_ok ||
      napi_get_typedarray_info(env, argv[3], &tt, &ns, &ssrcs, &ab, &off) != napi_ok || tt != napi_uint32_array ||
      napi_get_typedarray_info(env, argv[4], &tt, &np, &pts, &ab, &off) != napi_ok || tt != napi_uint8_array ||
      napi_get_value_uint32(env, argv[5], &count) != napi_ok) {
    napi_throw_type_error(env, NULL, "rtcFanout(fd, packet, handles, ssrcs: Uint32Array, pts: Uint8Array, count)");
    return NULL;
  }
  if (count > ns || count > np || count > FANOUT_MAX) {
    napi_throw_range_error(env, NULL, "rtcFanout: count exceeds the arrays or 1024");
    return NULL;
  }
  /* the header as sendMedia builds it: fixed part + CSRCs, extension dropped */
  if (plen < 12 || (pkt[0] >> 6) != 2) return make_uint(env, 0);
  size_t hl = 12 + (size_t)(pkt[0] & 0x0f) * 4;
  size_t payload = hl;
  if (pkt[0] & 0x10) {
    if (plen < hl + 4) return make_uint(env, 0);
    payload = hl + 4 + (size_t)((pkt[hl + 2] << 8) | pkt[hl + 3]) * 4;
  }
  if (payload > plen) return make_uint(env, 0);
  size_t len = hl + plen - payload;
  if (len + SRTP_TAG_LEN > FANOUT_SLOT) {
    napi_throw_range_error(env, NULL, "rtcFanout: packet too large");
    return NULL;
  }
  if (fanout_slots < count) {
    unsigned char *grown = realloc(fanout_scratch, (size_t)count * FANOUT_SLOT);
    if (grown == NULL) {
      napi_throw_error(env, NULL, "out of memory");
      return NULL;
    }
    fanout_scratch = grown;
    fanout_slots = count;
  }
  static struct mmsghdr msgs[FANOUT_MAX];
  static struct iovec iovs[FANOUT_MAX];
  unsigned int n = 0;
  const uint32_t *ssrc = ssrcs;
  const uint8_t *pt = pts;
  for (uint32_t i = 0; i < count; i++) {
    napi_value hv;
    if (napi_get_element(env, argv[2], i, &hv) != napi_ok) continue;
    rtc_out *o = rtc_out_arg(env, hv);
    if (o == NULL || o->aes == NULL || !o->has_peer) continue;
    unsigned char *b = fanout_scratch + (size_t)n * FANOUT_SLOT;
    memcpy(b, pkt, hl);
    b[0] = pkt[0] & 0xef;
    b[1] = (pkt[1] & 0x80) | (pt[i] & 0x7f);
    b[8] = ssrc[i] >> 24;
    b[9] = (ssrc[i] >> 16) & 0xff;
    b[10] = (ssrc[i] >> 8) & 0xff;
    b[11] = ssrc[i] & 0xff;
    memcpy(b + hl, pkt + payload, plen - payload);
    size_t olen = srtp_protect_packet(o, b, hl, len);
    if (olen == 0) continue;
    iovs[n].iov_base = b;
    iovs[n].iov_len = olen;
    memset(&msgs[n], 0, sizeof msgs[n]);
    msgs[n].msg_hdr.msg_name = &o->peer;
    msgs[n].msg_hdr.msg_namelen = sizeof o->peer;
    msgs[n].msg_hdr.msg_iov = &iovs[n];
    msgs[n].msg_hdr.msg_iovlen = 1;
    n++;
  }
  unsigned int sent = 0;
  while (sent < n) {
    int r = sendmmsg(fd, msgs + sent, n - sent, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) break; /* counted as losses */
      sent++; /* e.g. EPERM/ECONNREFUSED for one message: skip it, send the rest */
      continue;
    }
    if (r == 0) break;
    sent += (unsigned int)r;
  }
  /* messages skipped on a per-message error were not taken by the kernel: count what it accepted */
  unsigned int ok = 0;
  for (unsigned int i = 0; i < n; i++) ok += msgs[i].msg_len > 0;
  return make_uint(env, ok);
}
#endif

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
#if SRSX_HAVE_SRTP
    {"srtpVersion", NULL, srtp_version, NULL, NULL, NULL, napi_enumerable, NULL},
    {"rtcOutCreate", NULL, rtc_out_create, NULL, NULL, NULL, napi_enumerable, NULL},
    {"rtcOutClose", NULL, rtc_out_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"rtcOutSetPeer", NULL, rtc_out_set_peer, NULL, NULL, NULL, napi_enumerable, NULL},
    {"rtcFanout", NULL, rtc_fanout, NULL, NULL, NULL, napi_enumerable, NULL},
#endif
    {"runningOnValgrind", NULL, running_on_valgrind, NULL, NULL, NULL, napi_enumerable, NULL},
    {"features", NULL, features, NULL, NULL, NULL, napi_enumerable, NULL},
    {"leakCheck", NULL, leak_check, NULL, NULL, NULL, napi_enumerable, NULL},
    {"testLeak", NULL, test_leak, NULL, NULL, NULL, napi_enumerable, NULL},
    {"testOverflow", NULL, test_overflow, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK_NAPI(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
