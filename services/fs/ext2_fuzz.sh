#!/usr/bin/env bash
# The ext2 reader's libFuzzer target (ext2_fuzz.cc): its seeds and flags.
# tools/fuzz/libfuzzer.sh, sourced below, compiles it with clang and runs
# it; see README.md.
#
#   bazel test //services/fs:ext2_fuzz_test     # seeds, then 8,000 fixed runs
#   bazel run //services/fs:ext2_fuzz -- -max_total_time=600   # fuzz longer
#   bazel run //services/fs:ext2_fuzz -- crash-1234abcd        # replay a file
#
# The seed corpus is a set of tiny mke2fs -d images (256K-1M; 1, 2 and
# 4 KiB blocks, revisions 0 and 1, an htree directory, several block
# groups) built here. Fuzzing starts from them and from a committed corpus,
# testdata/ext2_fuzz_corpus.tar.xz: the inputs a longer run found that
# reach code the seeds do not (libFuzzer -merge=1; how to refresh it is in
# README.md). The test's run is fixed (-seed=1 -runs=8000, ~45 s on 2
# shared cores): the same inputs every time, so a failure in CI reproduces
# with the same command. It checks those inputs, no more: exploring is what
# `bazel run` (below) is for, and what it finds can be merged into the
# committed corpus.
#
# Arguments (from libfuzzer_target in BUILD): tools/fuzz/libfuzzer.sh, then
# its own. Environment: EXT2_FUZZ_SECONDS (the test's cap on fuzzing time, default 150),
# EXT2_FUZZ_DIR (where bazel run keeps its corpus and crashes, default
# ${TMPDIR:-/tmp}/uk_ext2_fuzz).
set -euo pipefail
# shellcheck source=tools/fuzz/libfuzzer.sh
source "$1"
shift

fuzz_flags=(-max_len=1048576 -timeout=20 -rss_limit_mb=2560)
test_flags=(-seed=1 -runs=8000)
# The seed check mounts every image and walks it: none may fail to mount.
seed_check_env=(EXT2_FUZZ_REQUIRE_MOUNT=1)
seed_check_failure="a seed image failed to mount or crashed the walk"

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

# ---- Committed corpus (see above) ----
make_corpus() {
  local archive=services/fs/testdata/ext2_fuzz_corpus.tar.xz
  [ -f "$archive" ] || die "$archive not found (run me through bazel)"
  tar -xJf "$archive" -C "$1"
}

libfuzzer_main "$@"
