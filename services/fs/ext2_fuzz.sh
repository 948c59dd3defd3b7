#!/usr/bin/env bash
# Builds the ext2 reader's libFuzzer target (ext2_fuzz.cc) with clang and
# runs it; see README.md.
#
#   bazel test //services/fs:ext2_fuzz_test     # seeds, then 45 s of fuzzing
#   bazel run //services/fs:ext2_fuzz -- -max_total_time=600   # fuzz longer
#   bazel run //services/fs:ext2_fuzz -- crash-1234abcd        # replay a file
#
# Bazel's C++ toolchain is gcc and libFuzzer needs clang, so this script
# compiles the fuzzer and the library sources it is given with clang++ at
# run time (a few seconds). The seed corpus is a set of tiny mke2fs -d
# images (256K-1M; 1, 2 and 4 KiB blocks, revisions 0 and 1, an htree
# directory, several block groups) built here too.
#
# Arguments (from BUILD): --test|--run FUZZER.cc SOURCES... -- [libFuzzer
# flags and inputs]. Environment: EXT2_FUZZ_SECONDS (test length, default
# 45), EXT2_FUZZ_DIR (where --run keeps its corpus and crashes, default
# ${TMPDIR:-/tmp}/uk_ext2_fuzz).
set -euo pipefail

export PATH="$PATH:/usr/bin:/bin:/usr/sbin:/sbin"
die() { echo "ext2_fuzz: $*" >&2; exit 1; }

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
  work="${TEST_TMPDIR:?}/ext2_fuzz"
  artifacts="${TEST_UNDECLARED_OUTPUTS_DIR:-$work}"
else
  work="${EXT2_FUZZ_DIR:-${TMPDIR:-/tmp}/uk_ext2_fuzz}"
  artifacts="$work/crashes"
fi
mkdir -p "$work/corpus" "$artifacts"
fuzzer="$work/ext2_fuzz"

echo "ext2_fuzz: compiling with $cxx into $fuzzer"
"$cxx" -std=c++20 -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I. "$fuzz_source" "${library_sources[@]}" -o "$fuzzer"

# ---- Seed corpus: tiny images of a tree that has a bit of everything ----
make_seeds() {
  local seeds=$1 src=$work/seed_tree
  command -v mke2fs >/dev/null || die "mke2fs not found: apt-get install e2fsprogs (tools/setup.sh does)"
  rm -rf "$src" "$seeds"
  mkdir -p "$src/d/e/f/g" "$src/wide" "$seeds"
  : > "$src/f0"
  printf x > "$src/f1"
  head -c 1023 /dev/zero | tr '\0' 'a' > "$src/f1023"
  head -c 13317 /dev/zero | tr '\0' 'b' > "$src/f13k"  # single indirect at 1 KiB
  echo deep > "$src/d/e/f/g/deep.txt"
  echo shared > "$src/wide/entry_with_a_longish_name_0"  # 100 hard links:
  for i in $(seq 1 99); do                                # a multi-block
    ln "$src/wide/entry_with_a_longish_name_0" "$src/wide/entry_with_a_longish_name_$i"
  done                                                    # directory, one inode
  # Sparse: data in the double-indirect range (1 KiB blocks) and at 70 MiB
  # (triple indirect at 1 KiB), holes elsewhere.
  truncate -s 70M "$src/sparse"
  printf run1 | dd of="$src/sparse" bs=1 seek=307200 conv=notrunc 2>/dev/null
  printf run2 | dd of="$src/sparse" bs=1 seek=$((70 * 1048576 - 100)) conv=notrunc 2>/dev/null
  printf z > "$src/$(printf 'L%.0s' $(seq 1 255))"  # a 255-byte name
  mkfifo "$src/fifo"
  ln -s f1023 "$src/fast"  # target in i_block
  ln -s "d/e/f/g/../../f/g/../../f/g/../../f/g/../../f/g/../../f/g/deep.txt" "$src/slow"
  ln -s ../../../.. "$src/d/e/up_and_out"
  ln -s loop_b "$src/loop_a"
  ln -s loop_a "$src/loop_b"
  ln -s d/e "$src/dir_link"
  ln -s nowhere "$src/dangling"

  local block revision
  for block in 1024 2048 4096; do
    for revision in 0 1; do
      mke2fs -q -F -t ext2 -b $block -r $revision -N 64 -d "$src" \
        "$seeds/b${block}_r$revision.img" 256K >/dev/null
    done
  done
  cp "$seeds/b1024_r1.img" "$seeds/b1024_r1_htree.img"
  e2fsck -fyD "$seeds/b1024_r1_htree.img" >/dev/null 2>&1 || [ $? -le 1 ] ||
    die "e2fsck -fyD failed on a seed"
  mke2fs -q -F -t ext2 -b 1024 -g 256 -N 64 -I 128 -d "$src" "$seeds/b1024_groups4.img" 1M >/dev/null
  mke2fs -q -F -t ext2 -b 2048 -r 1 -N 32 -O ^filetype,^dir_index,^resize_inode \
    -d "$src" "$seeds/b2048_nofeatures.img" 512K >/dev/null
  rm -rf "$src"
}

common_flags=(-max_len=1048576 -timeout=20 -rss_limit_mb=2560 -print_final_stats=1
              "-artifact_prefix=$artifacts/")

if [ "$mode" = --test ]; then
  make_seeds "$work/seeds"
  echo "ext2_fuzz: seeds: $(ls "$work/seeds" | tr '\n' ' ')"
  # Every seed must mount and walk cleanly before mutations start.
  if ! EXT2_FUZZ_REQUIRE_MOUNT=1 "$fuzzer" "$work/seeds"/*.img > "$work/seeds.log" 2>&1; then
    cat "$work/seeds.log" >&2
    die "a seed image failed to mount or crashed the walk (see above)"
  fi
  echo "ext2_fuzz: every seed mounts and walks cleanly; fuzzing for ${EXT2_FUZZ_SECONDS:-45} s"
  "$fuzzer" "${common_flags[@]}" -max_total_time="${EXT2_FUZZ_SECONDS:-45}" \
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
echo "ext2_fuzz: corpus $work/corpus, crashes go to $artifacts/"
exec "$fuzzer" "${common_flags[@]}" "${fuzzer_args[@]}" "$work/corpus" "$work/seeds"
