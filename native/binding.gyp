{
  # srsx's native addon. SRSX_ASAN=1 in the environment builds it with AddressSanitizer
  # (scripts/build-native.mjs --asan does that into native/build-asan).
  "variables": {
    "srsx_asan%": "<!(node -p \"process.env.SRSX_ASAN === '1' ? 1 : 0\")",
    # the WebRTC fan-out's SRTP uses node's own OpenSSL (headers in node's include dir, symbols in node);
    # SRSX_NO_SRTP=1 builds the addon without it (the JS path then runs)
    "srsx_srtp%": "<!(node -p \"process.env.SRSX_NO_SRTP !== '1' ? 1 : 0\")"
  },
  "targets": [
    {
      "target_name": "srsx_native",
      "sources": ["src/srsx_native.c"],
      "cflags": ["-g", "-O1", "-Wall", "-Wextra", "-fno-omit-frame-pointer"],
      "conditions": [
        ["srsx_asan==1", {
          "cflags": ["-fsanitize=address"],
          "ldflags": ["-fsanitize=address"]
        }],
        ["srsx_srtp==1", {
          "defines": ["SRSX_HAVE_SRTP=1", "_GNU_SOURCE"]
        }]
      ]
    }
  ]
}
