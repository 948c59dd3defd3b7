# shellcheck shell=bash
# tools/fuzz/libfuzzer.sh: the half of a libFuzzer target's script that
# every target shares. The target's own script (services/fs/ext2_fuzz.sh,
# apps/http/http_fuzz.sh) sources it, says how to make its seeds and
# which flags it wants, and calls libfuzzer_main; fuzz.bzl's
# libfuzzer_target writes the BUILD side.
#
# Bazel's C++ toolchain is gcc and libFuzzer needs clang, so libfuzzer_main
# compiles the fuzzer and the library sources it is given with Debian's
# clang++-14 (-fsanitize=fuzzer,address,undefined) at run time, a few
# seconds. Then, by mode:
#   --test (bazel test): makes the seeds, checks that each one runs cleanly
#     on its own, adds the committed corpus (make_corpus) and fuzzes with
#     test_flags for at most $<PREFIX>_SECONDS (the default comes from
#     BUILD). A crashing input lands in the test's undeclared outputs.
#   --run (bazel run): replays the input files among the arguments, if
#     any; otherwise fuzzes with the corpus kept in $<PREFIX>_DIR (default
#     ${TMPDIR:-/tmp}/uk_<name>), so a longer run resumes where the last
#     one stopped, and crashes in its crashes/. Flags go to libFuzzer.
#
# The target's script sets, before it calls libfuzzer_main "$@":
#   make_seeds DIR            a function writing the seed corpus into DIR
#                             (required); it may use $work as scratch space
#   make_dictionary FILE      a function writing a libFuzzer dictionary
#                             (optional)
#   fuzz_flags=(...)          its libFuzzer flags: -max_len, -timeout, ...
#   test_flags=(...)          flags for --test only, e.g. -seed=1 -runs=N
#                             for the same inputs on every CI run (optional)
#   make_corpus DIR           a function adding committed corpus inputs to
#                             DIR, the corpus that fuzzing starts from and
#                             that need not pass the seed check (optional)
#   seed_check_env=(VAR=1)    environment of the seed check (optional)
#   seed_check_failure=TEXT   what a failed seed check means (optional)
#
# Arguments (from libfuzzer_target): --test|--run NAME PREFIX SECONDS
# FUZZER.cc SOURCES... -- [libFuzzer flags and inputs].

export PATH="$PATH:/usr/bin:/bin:/usr/sbin:/sbin"  # mke2fs is in /sbin

fuzz_name=fuzz
fuzz_flags=()
test_flags=()
seed_check_env=()
seed_check_failure="a seed crashed"

die() { echo "$fuzz_name: $*" >&2; exit 1; }

# Sets cxx to Debian's clang-14 with compiler-rt's libFuzzer, and points
# the sanitizers at a symbolizer.
find_clang() {
  cxx=""
  local candidate symbolizer
  for candidate in clang++-14 clang++; do
    if command -v "$candidate" >/dev/null; then cxx=$(command -v "$candidate"); break; fi
  done
  [ -n "$cxx" ] || die "clang++ not found: apt-get install clang-14 libclang-rt-14-dev (tools/setup.sh does)"
  local runtime
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
}

libfuzzer_main() {
  local mode=$1 prefix=$3 default_seconds=$4 fuzz_source=$5
  fuzz_name=$2
  shift 5
  local library_sources=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    case $1 in *.cc) library_sources+=("$1") ;; esac
    shift
  done
  [ $# -gt 0 ] && shift
  local fuzzer_args=("$@")
  [ -f "$fuzz_source" ] || die "$fuzz_source not found (run me through bazel)"
  declare -F make_seeds >/dev/null || die "the target's script defines no make_seeds"
  find_clang

  local seconds_var=${prefix}_SECONDS dir_var=${prefix}_DIR artifacts
  if [ "$mode" = --test ]; then
    work="${TEST_TMPDIR:?}/$fuzz_name"
    artifacts="${TEST_UNDECLARED_OUTPUTS_DIR:-$work}"
  else
    work="${!dir_var:-${TMPDIR:-/tmp}/uk_$fuzz_name}"
    artifacts="$work/crashes"
  fi
  mkdir -p "$work/corpus" "$artifacts"
  local fuzzer="$work/$fuzz_name"

  echo "$fuzz_name: compiling with $cxx into $fuzzer"
  "$cxx" -std=c++20 -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I. "$fuzz_source" "${library_sources[@]}" -o "$fuzzer"

  local flags=("${fuzz_flags[@]}" -print_final_stats=1)
  if declare -F make_dictionary >/dev/null; then
    make_dictionary "$work/$fuzz_name.dict"
    flags+=("-dict=$work/$fuzz_name.dict")
  fi
  flags+=("-artifact_prefix=$artifacts/")

  if [ "$mode" = --test ]; then
    local seconds=${!seconds_var:-$default_seconds}
    make_seeds "$work/seeds"
    echo "$fuzz_name: $(ls "$work/seeds" | wc -l) seeds: $(ls "$work/seeds" | tr '\n' ' ')"
    # Every seed must run cleanly on its own before mutations start.
    if ! env "${seed_check_env[@]}" "$fuzzer" "$work/seeds"/* > "$work/seeds.log" 2>&1; then
      cat "$work/seeds.log" >&2
      die "$seed_check_failure (see above)"
    fi
    if declare -F make_corpus >/dev/null; then
      make_corpus "$work/corpus"
      echo "$fuzz_name: $(ls "$work/corpus" | wc -l) committed corpus inputs"
    fi
    echo "$fuzz_name: every seed runs cleanly; fuzzing ${test_flags[*]:+(${test_flags[*]}) }for at most $seconds s"
    exec "$fuzzer" "${flags[@]}" "${test_flags[@]}" -max_total_time="$seconds" \
      "${fuzzer_args[@]}" "$work/corpus" "$work/seeds"
  fi

  # --run: inputs named on the command line are relative to where bazel ran.
  local inputs=0 i arg
  for i in "${!fuzzer_args[@]}"; do
    arg=${fuzzer_args[$i]}
    if [ "${arg#-}" = "$arg" ]; then
      inputs=1
      case $arg in /*) ;; *) fuzzer_args[$i]="${BUILD_WORKING_DIRECTORY:-$PWD}/$arg" ;; esac
    fi
  done
  if [ $inputs = 1 ]; then
    exec "$fuzzer" "${flags[@]}" "${fuzzer_args[@]}"
  fi
  [ -d "$work/seeds" ] || make_seeds "$work/seeds"
  if declare -F make_corpus >/dev/null && [ -z "$(ls -A "$work/corpus")" ]; then
    make_corpus "$work/corpus"
  fi
  echo "$fuzz_name: corpus $work/corpus, crashes go to $artifacts/"
  exec "$fuzzer" "${flags[@]}" "${fuzzer_args[@]}" "$work/corpus" "$work/seeds"
}
