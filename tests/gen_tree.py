#!/usr/bin/env python3
"""Writes a deterministic test tree for the ext2 reader and the fs service.

The same --seed and --files always give the same bytes. By default the tree
has exactly 1,000 regular data files, one relative symlink to a file and
/MANIFEST, 40-45 MiB in all (so a guest under QEMU TCG reads it quickly):

  /sizes/size_<N>   every size that sits on a block-map edge for 1, 2 and
                    4 KiB blocks: 0, 1, 511-513, one and two blocks +-1,
                    the end of the 12 direct blocks +-1, the end of the
                    single-indirect range +-1 (the next byte needs a
                    double-indirect block), and exactly 8 MiB
  /sizes/multi_*    a few more multi-MiB files
  /holes/           files with whole 4 KiB blocks of zeros (mke2fs -d stores
                    them as holes) and one that is all zeros
  /wide/            150 entries; /wide2/many/ 120 entries
  /deep/d1/.../d8   eight levels, files on each
  /t*/...           the rest: random sizes (mostly under a block, some up to
                    1 MiB) in random folders up to six levels deep, some with
                    long names (one of 255 bytes)

/MANIFEST lists every regular file but itself, sorted by path, one per line:

  <crc32, 8 lowercase hex digits> <size in bytes> <absolute path>
  L <symlink target> <absolute path of the symlink>

The CRC is zlib.crc32 (IEEE 802.3, as in gzip and PNG). Paths use only
[a-z0-9._-], so a line splits on its first two spaces.

  gen_tree.py --root=DIR [--seed=N] [--files=N]   write a tree into DIR
  gen_tree.py --check=DIR                          verify DIR against its MANIFEST
"""

import argparse
import os
import random
import sys
import zlib

KIB = 1 << 10
MIB = 1 << 20
MAX_FILE_SIZE = 8 * MIB
BLOCK_SIZES = (1024, 2048, 4096)
DIRECT_BLOCKS = 12
WIDE_ENTRIES = 150
WIDE2_ENTRIES = 120
DEEP_LEVELS = 8
DEEP_FILES_PER_LEVEL = 2
RANDOM_DIRS = 60
MAX_RANDOM_DEPTH = 6
NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789._-"
SYMLINK_PATH = "/deep/d1/d2/link_to_size_4097"
SYMLINK_TARGET = "../../../sizes/size_4097"


def edge_sizes():
    """Sizes on the block-map edges of every supported block size."""
    sizes = {0, 1, 511, 512, 513, MAX_FILE_SIZE}
    for block in BLOCK_SIZES:
        pointers = block // 4
        for edge in (block, 2 * block, DIRECT_BLOCKS * block,
                     (DIRECT_BLOCKS + pointers) * block):
            sizes.update((edge - 1, edge, edge + 1))
    return sorted(sizes)


def random_size(rng):
    """Mostly small files, as a web site or config tree has."""
    roll = rng.random()
    if roll < 0.60:
        return rng.randint(0, 4 * KIB)
    if roll < 0.95:
        return int(4 * KIB * (8 ** rng.random()))  # 4 KiB .. 32 KiB
    if roll < 0.995:
        return int(32 * KIB * (8 ** rng.random()))  # 32 KiB .. 256 KiB
    return int(256 * KIB * (4 ** rng.random()))  # 256 KiB .. 1 MiB


def random_name(rng, index):
    length = rng.choice((4, 6, 8, 12, 20, 40, 100))
    stem = "".join(rng.choice(NAME_CHARS) for _ in range(length))
    return "f%04d_%s" % (index, stem.strip("."))


def plan(seed, files, max_total):
    """Returns [(path, size, kind)] for every data file; kind picks content."""
    rng = random.Random("gen_tree:%d" % seed)
    entries = [("/sizes/size_%d" % size, size, "random") for size in edge_sizes()]
    for size in (3 * MIB + 17, 2 * MIB - 1):
        entries.append(("/sizes/multi_%d" % size, size, "random"))
    entries.append(("/holes/zero_blocks", 20 * 4 * KIB + 100, "holes"))
    entries.append(("/holes/all_zero", 64 * KIB, "zeros"))

    fixed = len(entries) + WIDE_ENTRIES + WIDE2_ENTRIES + DEEP_LEVELS * DEEP_FILES_PER_LEVEL
    if files < fixed + 2:
        raise SystemExit("gen_tree: --files must be at least %d (the fixed layout has %d)"
                         % (fixed + 2, fixed))

    index = len(entries)
    for i in range(WIDE_ENTRIES):
        entries.append(("/wide/w%03d_%s" % (i, random_name(rng, index)), random_size(rng),
                        "random"))
        index += 1
    for i in range(WIDE2_ENTRIES):
        entries.append(("/wide2/many/m%03d" % i, random_size(rng), "random"))
        index += 1
    deep = ""
    for level in range(1, DEEP_LEVELS + 1):
        deep += "/d%d" % level
        for i in range(DEEP_FILES_PER_LEVEL):
            entries.append(("/deep%s/level%d_%d" % (deep, level, i), random_size(rng), "random"))
            index += 1

    # Random folders: each hangs off the root or an earlier one.
    dirs = []
    for i in range(RANDOM_DIRS):
        parents = [d for d in dirs if d.count("/") < MAX_RANDOM_DEPTH]
        parent = rng.choice(parents) if parents and rng.random() < 0.8 else ""
        dirs.append("%s/t%02d_%s" % (parent, i, random_name(rng, i)[6:][:12]))
    long_name = "L" * 255
    while index < files:
        folder = rng.choice(dirs)
        if index == files - 1:
            name = long_name  # the longest name ext2 allows
        elif rng.random() < 0.02:
            name = random_name(rng, index) + "_" + "x" * rng.randint(100, 200)
        else:
            name = random_name(rng, index)
        entries.append(("%s/%s" % (folder, name[:255]), random_size(rng), "random"))
        index += 1

    # Keep the total under budget: halve the biggest random-sized files
    # (never the edge sizes, which are the point of the tree).
    fixed_paths = {path for path, _, _ in entries[:len(edge_sizes()) + 4]}
    total = sum(size for _, size, _ in entries)
    while total > max_total:
        biggest = max((e for e in entries if e[0] not in fixed_paths), key=lambda e: e[1])
        position = entries.index(biggest)
        entries[position] = (biggest[0], biggest[1] // 2, biggest[2])
        total -= biggest[1] - biggest[1] // 2
    return entries


def content(seed, path, size, kind):
    if kind == "zeros":
        return bytes(size)
    data = bytearray(random.Random("%d:%s" % (seed, path)).randbytes(size))
    if kind == "holes":
        # Every other 4 KiB block is zeros: a hole at every block size.
        for start in range(0, size, 8 * KIB):
            end = min(start + 4 * KIB, size)
            data[start:end] = bytes(end - start)
    return bytes(data)


def write_tree(root, seed, files, max_total, verbose):
    if os.path.exists(root) and os.listdir(root):
        raise SystemExit("gen_tree: %s is not empty" % root)
    os.makedirs(root, exist_ok=True)
    entries = plan(seed, files, max_total)
    manifest = []
    total = 0
    for path, size, kind in entries:
        data = content(seed, path, size, kind)
        host = os.path.join(root, path.lstrip("/"))
        os.makedirs(os.path.dirname(host), exist_ok=True)
        with open(host, "wb") as f:
            f.write(data)
        manifest.append((path, "%08x %d %s" % (zlib.crc32(data), size, path)))
        total += size
    link = os.path.join(root, SYMLINK_PATH.lstrip("/"))
    os.symlink(SYMLINK_TARGET, link)
    if not os.path.isfile(link):
        raise SystemExit("gen_tree: symlink %s does not reach a file" % SYMLINK_PATH)
    manifest.append((SYMLINK_PATH, "L %s %s" % (SYMLINK_TARGET, SYMLINK_PATH)))
    manifest.sort()
    with open(os.path.join(root, "MANIFEST"), "w") as f:
        f.write("".join(line + "\n" for _, line in manifest))
    if verbose:
        print("gen_tree: %d files, %d bytes (%.1f MiB), largest %d, 1 symlink, in %s"
              % (len(entries), total, total / MIB, max(s for _, s, _ in entries), root),
              file=sys.stderr)


def check_tree(root):
    """Checks every MANIFEST line and that no regular file is unlisted."""
    problems = []
    listed = set()
    with open(os.path.join(root, "MANIFEST")) as f:
        lines = f.read().splitlines()
    for line in lines:
        first, second, path = line.split(" ", 2)
        listed.add(path)
        host = os.path.join(root, path.lstrip("/"))
        if first == "L":
            if not os.path.islink(host) or os.readlink(host) != second:
                problems.append("%s: not a symlink to %s" % (path, second))
            continue
        if os.path.islink(host) or not os.path.isfile(host):
            problems.append("%s: missing or not a regular file" % path)
            continue
        with open(host, "rb") as f:
            data = f.read()
        if len(data) != int(second) or "%08x" % zlib.crc32(data) != first:
            problems.append("%s: size %d crc %08x, manifest says %s %s"
                            % (path, len(data), zlib.crc32(data), second, first))
    for directory, _, names in os.walk(root):
        for name in names:
            host = os.path.join(directory, name)
            path = "/" + os.path.relpath(host, root)
            if path != "/MANIFEST" and path not in listed and not os.path.islink(host):
                problems.append("%s: not in the manifest" % path)
    for problem in problems[:20]:
        print("gen_tree: " + problem, file=sys.stderr)
    if problems:
        raise SystemExit("gen_tree: %s does not match its manifest (%d problems)"
                         % (root, len(problems)))
    print("gen_tree: %s matches its manifest (%d entries)" % (root, len(lines)))


def main(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--root", help="folder to write the tree into (created; must be empty)")
    action.add_argument("--check", metavar="DIR", help="verify DIR against DIR/MANIFEST")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--files", type=int, default=1000,
                        help="regular data files, MANIFEST not counted (default 1000)")
    parser.add_argument("--max-total-mib", type=int, default=46,
                        help="upper bound on the data's total size (default 46 MiB)")
    parser.add_argument("--verbose", action="store_true", help="print a summary")
    args = parser.parse_args(argv)
    if args.check:
        check_tree(args.check)
    else:
        write_tree(args.root, args.seed, args.files, args.max_total_mib * MIB, args.verbose)


if __name__ == "__main__":
    main(sys.argv[1:])
