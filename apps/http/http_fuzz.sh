#!/usr/bin/env bash
# The HTTP library's libFuzzer target (http_fuzz.cc): its seeds, dictionary
# and flags. tools/fuzz/libfuzzer.sh, sourced below, compiles it with clang
# and runs it; see README.md.
#
#   bazel test //apps/http:http_fuzz_test     # seeds, then 25 s of fuzzing
#   bazel run //apps/http:http_fuzz -- -max_total_time=600   # fuzz longer
#   bazel run //apps/http:http_fuzz -- crash-1234abcd        # replay a file
#
# The seed corpus (valid, pipelined and broken requests, escaping targets,
# ranges, dates) and a dictionary of HTTP tokens are written here.
#
# Arguments (from libfuzzer_target in BUILD): tools/fuzz/libfuzzer.sh, then
# its own. Environment: HTTP_FUZZ_SECONDS (test length, default 25),
# HTTP_FUZZ_DIR (where bazel run keeps its corpus and crashes, default
# ${TMPDIR:-/tmp}/uk_http_fuzz).
set -euo pipefail
# shellcheck source=tools/fuzz/libfuzzer.sh
source "$1"
shift

fuzz_flags=(-max_len=4096 -timeout=10 -rss_limit_mb=2048)
# The seed check runs every seed through the invariants of http_fuzz.cc.
seed_check_failure="a seed broke an invariant or crashed"

# ---- Seed corpus and dictionary ----
make_seeds() {
  local seeds=$1 n=0
  rm -rf "$seeds"
  mkdir -p "$seeds"
  seed() { n=$((n + 1)); printf "$1" > "$seeds/seed_$(printf %02d $n)"; }
  seed 'GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'
  seed 'HEAD /index.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'
  seed 'GET /a/./b/../c//d/?q=1#f HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'
  seed 'GET http://example.com:8080/x%%20y HTTP/1.1\r\nHost: example.com\r\n\r\n'
  seed 'GET /big.bin HTTP/1.1\r\nHost: h\r\nRange: bytes=0-99\r\nIf-Range: "1-2-3"\r\n\r\n'
  seed 'GET /big.bin HTTP/1.1\r\nHost: h\r\nRange: bytes=-500\r\n\r\n'
  seed 'GET /s.css HTTP/1.1\r\nHost: h\r\nIf-None-Match: W/"a", "1-2-3"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n'
  seed 'GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyzHEAD /c HTTP/1.0\n\n'
  seed '\r\n\nGET /lf HTTP/1.1\nHost: h\nIf-Modified-Since: Sunday, 06-Nov-94 08:49:37 GMT\n\n'
  seed 'GET /../etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n'
  seed 'GET /%%2e%%2e/%%2E%%2E%%2Fetc/..%%2fpasswd HTTP/1.1\r\nHost: h\r\n\r\n'
  seed 'GET /a%%00b/%%5c/.%%2e/x HTTP/1.1\r\nHost: h\r\n\r\n'
  seed 'POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello'
  seed 'GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
  seed 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'
  seed 'GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n folded\r\nHost : x\r\n\r\n'
  seed 'GET / HTTP/2.0\r\nHost: h\r\n\r\n'
  seed 'GET /\x01\x7f HTTP/1.1\r\nHost: h\0\r\n\r\n'
  seed 'Sun Nov  6 08:49:37 1994'
  seed 'bytes=18446744073709551615-99999999999999999999999'
}

make_dictionary() {
  cat > "$1" <<'DICT'
"GET"
"HEAD"
"POST"
" HTTP/1.1\x0d\x0a"
" HTTP/1.0\x0d\x0a"
"\x0d\x0a"
"\x0d\x0a\x0d\x0a"
"Host: "
"Content-Length: "
"Transfer-Encoding: chunked"
"Connection: "
"keep-alive"
"close"
"Range: "
"bytes="
"If-None-Match: "
"If-Modified-Since: "
"If-Range: "
"W/"
"*"
"http://"
"/../"
"/./"
"//"
"%2e"
"%2E"
"%2f"
"%2F"
"%5c"
"%00"
"%0d%0a"
"\\"
"Sun, 06 Nov 1994 08:49:37 GMT"
"Sunday, 06-Nov-94 08:49:37 GMT"
"Sun Nov  6 08:49:37 1994"
"Feb 29"
"18446744073709551615"
"18446744073709551616"
DICT
}

libfuzzer_main "$@"
