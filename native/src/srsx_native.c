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

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
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
