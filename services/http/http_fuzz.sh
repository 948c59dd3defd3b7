#!/usr/bin/env bash
# Builds the HTTP library's libFuzzer target (http_fuzz.cc) with clang and
# runs it; see README.md. The same approach as services/fs/ext2_fuzz.sh.
#
#   bazel test //services/http:http_fuzz_test     # seeds, then 25 s of fuzzing
#   bazel run //services/http:http_fuzz -- -max_total_time=600   # fuzz longer
#   bazel run //services/http:http_fuzz -- crash-1234abcd        # replay a file
#
# Bazel's C++ toolchain is gcc and libFuzzer needs clang, so this script
# compiles the fuzzer and the library sources it is given with clang++ at
# run time (a few seconds). The seed corpus (valid, pipelined and broken
# requests, escaping targets, ranges, dates) and a dictionary of HTTP
# tokens are written here too.
#
# Arguments (from BUILD): --test|--run FUZZER.cc SOURCES... -- [libFuzzer
# flags and inputs]. Environment: HTTP_FUZZ_SECONDS (test length, default
# 25), HTTP_FUZZ_DIR (where --run keeps its corpus and crashes, default
# ${TMPDIR:-/tmp}/uk_http_fuzz).
set -euo pipefail

export PATH="$PATH:/usr/bin:/bin:/usr/sbin:/sbin"
die() { echo "http_fuzz: $*" >&2; exit 1; }

mode=$1 fuzz_source=$2
shift 2
library_sources=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case $1 in *.cc) library_sources+=("$1") ;; esac
  shift
done
[ $# -gt 0 ] && shift
fuzzer_args=("$@")
[ -f "$fuzz_source" ] || die "$fuzz_source not found (run me through bazel)"

# ---- Compiler: Debian's clang-14 with compiler-rt's libFuzzer ----
cxx=""
for candidate in clang++-14 clang++; do
  if command -v "$candidate" >/dev/null; then cxx=$(command -v "$candidate"); break; fi
done
[ -n "$cxx" ] || die "clang++ not found: apt-get install clang-14 libclang-rt-14-dev (tools/setup.sh does)"
runtime="$("$cxx" -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a"
[ -f "$runtime" ] || die "libFuzzer runtime $runtime missing: apt-get install libclang-rt-14-dev (tools/setup.sh does)"
for symbolizer in llvm-symbolizer-14 llvm-symbolizer /usr/lib/llvm-14/bin/llvm-symbolizer; do
  if command -v "$symbolizer" >/dev/null; then
    export ASAN_SYMBOLIZER_PATH; ASAN_SYMBOLIZER_PATH=$(command -v "$symbolizer"); break
  fi
done
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then  # llvm-14 not installed: binutils
  export ASAN_OPTIONS="allow_addr2line=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
fi
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

if [ "$mode" = --test ]; then
  work="${TEST_TMPDIR:?}/http_fuzz"
  artifacts="${TEST_UNDECLARED_OUTPUTS_DIR:-$work}"
else
  work="${HTTP_FUZZ_DIR:-${TMPDIR:-/tmp}/uk_http_fuzz}"
  artifacts="$work/crashes"
fi
mkdir -p "$work/corpus" "$artifacts"
fuzzer="$work/http_fuzz"

echo "http_fuzz: compiling with $cxx into $fuzzer"
"$cxx" -std=c++20 -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I. "$fuzz_source" "${library_sources[@]}" -o "$fuzzer"

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

common_flags=(-max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
              "-dict=$work/http.dict" "-artifact_prefix=$artifacts/")
make_dictionary "$work/http.dict"

if [ "$mode" = --test ]; then
  make_seeds "$work/seeds"
  echo "http_fuzz: $(ls "$work/seeds" | wc -l) seeds"
  # Every seed must pass the invariants before mutations start.
  if ! "$fuzzer" "$work/seeds"/* > "$work/seeds.log" 2>&1; then
    cat "$work/seeds.log" >&2
    die "a seed broke an invariant or crashed (see above)"
  fi
  echo "http_fuzz: every seed runs cleanly; fuzzing for ${HTTP_FUZZ_SECONDS:-25} s"
  "$fuzzer" "${common_flags[@]}" -max_total_time="${HTTP_FUZZ_SECONDS:-25}" \
    "${fuzzer_args[@]}" "$work/corpus" "$work/seeds"
  exit
fi

# --run: inputs named on the command line are relative to where bazel ran.
inputs=0
for i in "${!fuzzer_args[@]}"; do
  arg=${fuzzer_args[$i]}
  if [ "${arg#-}" = "$arg" ]; then
    inputs=1
    case $arg in /*) ;; *) fuzzer_args[$i]="${BUILD_WORKING_DIRECTORY:-$PWD}/$arg" ;; esac
  fi
done
if [ $inputs = 1 ]; then
  exec "$fuzzer" "${common_flags[@]}" "${fuzzer_args[@]}"
fi
[ -d "$work/seeds" ] || make_seeds "$work/seeds"
echo "http_fuzz: corpus $work/corpus, crashes go to $artifacts/"
exec "$fuzzer" "${common_flags[@]}" "${fuzzer_args[@]}" "$work/corpus" "$work/seeds"
