"""ext2_image: builds an ext2 disk image with e2fsprogs' `mke2fs -d`.

    load("//images:ext2_image.bzl", "ext2_image", "generated_tree")

    # From files: each lands at its path relative to its package, minus
    # strip_prefix ("site/index.html" -> "/index.html").
    ext2_image(
        name = "site_disk",
        srcs = glob(["site/**"]),
        strip_prefix = "site",
        size = "16M",
    )

    # From a folder another rule generates (a directory artifact, made with
    # ctx.actions.declare_directory): its contents become the image's root.
    generated_tree(
        name = "tree",
        tool = "gen_tree.py",     # run as: [python3] tool --root=<dir> [tool_args]
        tool_args = ["--seed=1"],
    )
    ext2_image(name = "tree_disk", tree = ":tree", size = "96M")

creates `<name>.img`. Attributes:

    srcs           files (or directory artifacts) to copy in; paths as above
    strip_prefix   package-relative folder removed from every srcs path
    tree           a directory artifact whose contents become the root; srcs
                   are added on top (a path given twice is an error)
    size           "<number>K", "M" or "G"; at least 64 blocks and 128K
    block_size     1024, 2048 or 4096
    revision       0 (good old: 128-byte inodes, no features) or 1 (dynamic)
    inodes         inode count (mke2fs -N), 0 for mke2fs' default
    inode_size     bytes per inode (mke2fs -I) for revision 1, 0 for default
    volume_label   up to 16 bytes (mke2fs -L)

The image is the same for the same inputs except for inode ctimes (mke2fs
copies them from the staging copy and nothing can set them): the UUID and
directory hash seed come from the label, file and superblock times are
fixed (mtime = 2000-01-01), files are mode 0644 and directories 0755, owned
by whoever runs the build. Symlinks in srcs are copied as the files they
point to; relative symlinks inside a directory artifact stay symlinks.

Only e2fsprogs from the host is used (tools/setup.sh installs it); nothing
is downloaded.
"""

# 2000-01-01T00:00:00Z: every file's atime/mtime and the superblock's times.
_FIXED_TIME = 946684800

_UNITS_KIB = {"K": 1, "M": 1024, "G": 1024 * 1024}

# Fails the build with a message that names the target.
def _fail(ctx, message):
    fail("ext2_image(%s): %s" % (ctx.label, message))

def _size_kib(ctx):
    """The `size` attribute in KiB (Starlark ints are enough for 2 TiB)."""
    size = ctx.attr.image_size
    unit = size[-1:].upper()
    digits = size[:-1]
    if unit not in _UNITS_KIB or not digits.isdigit() or len(digits) > 9:
        _fail(ctx, ('size = "%s" is not a size: use a whole number followed by ' +
                    'K, M or G, like "64M"') % size)
    kib = int(digits.lstrip("0") or "0") * _UNITS_KIB[unit]
    if kib > 2 * 1024 * 1024 * 1024 - 1:
        _fail(ctx, 'size = "%s" is too large (ext2 images here stay under 2T)' % size)
    return kib

def _check_attributes(ctx):
    """Validates everything mke2fs would otherwise reject obscurely."""
    block_size = ctx.attr.block_size
    if block_size not in [1024, 2048, 4096]:
        _fail(ctx, "block_size = %d: ext2 block sizes here are 1024, 2048 or 4096" %
                   block_size)
    size_kib = _size_kib(ctx)
    block_kib = block_size // 1024
    if size_kib % block_kib != 0:
        _fail(ctx, 'size = "%s" is not a whole number of %d-byte blocks' %
                   (ctx.attr.image_size, block_size))
    if size_kib < 128 or size_kib // block_kib < 64:
        _fail(ctx, 'size = "%s" is too small: mke2fs needs at least 64 blocks and 128K' %
                   ctx.attr.image_size)
    if ctx.attr.revision not in [0, 1]:
        _fail(ctx, "revision = %d: ext2 revisions are 0 (good old) or 1 (dynamic)" %
                   ctx.attr.revision)
    if ctx.attr.inodes < 0:
        _fail(ctx, "inodes = %d must be positive (or 0 for mke2fs' default)" % ctx.attr.inodes)
    inode_size = ctx.attr.inode_size
    if inode_size != 0:
        if ctx.attr.revision == 0:
            _fail(ctx, "inode_size is fixed at 128 in revision 0 images; leave it 0")
        if inode_size not in [128, 256, 512, 1024, 2048, 4096] or inode_size > block_size:
            _fail(ctx, ("inode_size = %d: must be a power of two from 128 up to " +
                        "block_size") % inode_size)
    if len(ctx.attr.volume_label) > 16:
        _fail(ctx, 'volume_label = "%s" is longer than 16 bytes' % ctx.attr.volume_label)
    return size_kib

def _strip_prefix(ctx):
    prefix = ctx.attr.strip_prefix.strip("/")
    return "" if prefix == "." else prefix

def _image_path(ctx, f, prefix):
    """Where `f` goes in the image: package-relative path minus the prefix."""
    path = f.short_path
    if path.startswith("../"):  # external repository: ../<repo>/<path>
        path = path[3:].partition("/")[2]
    package = f.owner.package
    if package and path.startswith(package + "/"):
        path = path[len(package) + 1:]
    if prefix:
        if not path.startswith(prefix + "/"):
            _fail(ctx, '%s is not under strip_prefix = "%s" (its package-relative path is "%s")' %
                       (f.short_path, prefix, path))
        path = path[len(prefix) + 1:]
    return path

def _hex(value, digits):
    """`value` as exactly `digits` lowercase hex digits (Starlark has no %08x)."""
    out = ""
    for _ in range(digits):
        out = "0123456789abcdef"[value % 16] + out
        value //= 16
    return out

def _uuid(ctx):
    """A UUID derived from the label, so rebuilding gives the same image."""
    h = hash(str(ctx.label))
    if h < 0:
        h = -h
    return "%s-e2e2-4e2e-8e2e-%s%s" % (_hex(h, 8), _hex(h // 7, 4), _hex(h, 8))

# Runs in the action: $1 output image, $2 file list ("dest\tsource" lines),
# $3 tree directory or "", $4 size in KiB, $5 block size, $6 revision,
# $7 UUID, $8 time, $9 label of the target, $10.. extra mke2fs flags.
_BUILD_SCRIPT = r"""
set -euo pipefail
out=$1 list=$2 tree=$3 size_kib=$4 block_size=$5 revision=$6 uuid=$7 time=$8 target=$9
shift 9
export PATH="$PATH:/usr/sbin:/sbin"
die() { echo "ext2_image($target): $*" >&2; exit 1; }
command -v mke2fs >/dev/null || die "mke2fs not found: install Debian's e2fsprogs (tools/setup.sh does)"

staging=$(mktemp -d "${TMPDIR:-/tmp}/ext2_image.XXXXXX")
trap 'chmod -R u+w "$staging" 2>/dev/null; rm -rf "$staging"' EXIT
root=$staging/root
mkdir "$root"

# A relative symlink's target, following the absolute links a sandbox puts
# in front of each input; fails for anything that is not such a symlink.
relative_link_target() {
  local path=$1 target
  while [ -L "$path" ]; do
    target=$(readlink "$path")
    case $target in
      /*) path=$target ;;
      *) printf '%s' "$target"; return 0 ;;
    esac
  done
  return 1
}

if [ -n "$tree" ]; then
  [ -d "$tree" ] || die "tree $tree is not a directory"
  cp -RL "$tree/." "$root/"
  # cp -L turned the tree's own symlinks into copies; make them links again.
  (cd "$tree" && find . -mindepth 1 -type l) | while IFS= read -r link; do
    if target=$(relative_link_target "$tree/$link"); then
      rm -rf "${root:?}/$link"
      ln -s "$target" "$root/$link"
    fi
  done
fi

while IFS=$'\t' read -r dest source; do
  [ -e "$root/$dest" ] || [ -L "$root/$dest" ] && die "/$dest is given twice"
  mkdir -p "$(dirname "$root/$dest")"
  cp -RL "$source" "$root/$dest"
done < "$list"

chmod -R u+w "$root"
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -exec chmod 0644 {} +
find "$root" -exec touch -h -d "@$time" {} +

content_kib=$(du -sk --apparent-size "$root" | cut -f1)
if ! E2FSPROGS_FAKE_TIME=$time mke2fs -q -F -t ext2 -b "$block_size" -r "$revision" \
    -U "$uuid" -E "hash_seed=$uuid" "$@" -d "$root" "$out" "${size_kib}k" \
    > "$staging/mke2fs.log" 2>&1; then
  cat "$staging/mke2fs.log" >&2
  die "mke2fs failed (content: ${content_kib} KiB in $(find "$root" | wc -l) entries; image: ${size_kib} KiB; if it ran out of space or inodes, raise size or inodes)"
fi
"""

def _ext2_image_impl(ctx):
    size_kib = _check_attributes(ctx)
    prefix = _strip_prefix(ctx)
    out = ctx.actions.declare_file(ctx.label.name + ".img")

    lines = []
    seen = {}
    for f in ctx.files.srcs:
        dest = _image_path(ctx, f, prefix)
        if not dest:
            _fail(ctx, "%s would be the image's root itself; use tree = for a directory" %
                       f.short_path)
        if dest in seen:
            _fail(ctx, "%s and %s both go to /%s" % (seen[dest], f.short_path, dest))
        if "\t" in dest or "\n" in dest:
            _fail(ctx, "%s: tabs and newlines in paths are not supported" % f.short_path)
        seen[dest] = f.short_path
        lines.append("%s\t%s" % (dest, f.path))
    file_list = ctx.actions.declare_file(ctx.label.name + ".img.files")
    ctx.actions.write(file_list, "".join([line + "\n" for line in lines]))

    tree_path = ""
    tree_inputs = []
    if ctx.attr.tree:
        tree_inputs = ctx.files.tree
        if len(tree_inputs) != 1 or not tree_inputs[0].is_directory:
            _fail(ctx, ("tree = %s must be exactly one directory artifact (made with " +
                        "ctx.actions.declare_directory); use srcs for files") % ctx.attr.tree.label)
        tree_path = tree_inputs[0].path

    extra = []
    if ctx.attr.inodes:
        extra += ["-N", str(ctx.attr.inodes)]
    if ctx.attr.inode_size:
        extra += ["-I", str(ctx.attr.inode_size)]
    if ctx.attr.volume_label:
        extra += ["-L", ctx.attr.volume_label]

    # The script is a file of its own so a failure prints one short command.
    script = ctx.actions.declare_file(ctx.label.name + ".img.sh")
    ctx.actions.write(script, "#!/bin/bash\n" + _BUILD_SCRIPT, is_executable = True)
    ctx.actions.run(
        executable = script,
        inputs = ctx.files.srcs + tree_inputs + [file_list],
        outputs = [out],
        arguments = [
            out.path,
            file_list.path,
            tree_path,
            str(size_kib),
            str(ctx.attr.block_size),
            str(ctx.attr.revision),
            _uuid(ctx),
            str(_FIXED_TIME),
            str(ctx.label),
        ] + extra,
        mnemonic = "Ext2Image",
        progress_message = "Building ext2 image %s" % out.short_path,
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

_ext2_image = rule(
    implementation = _ext2_image_impl,
    attrs = {
        "srcs": attr.label_list(allow_files = True),
        "strip_prefix": attr.string(default = ""),
        "tree": attr.label(allow_files = True),
        # "size" is reserved by Bazel (test sizes): the macro renames it.
        "image_size": attr.string(default = "64M"),
        "block_size": attr.int(default = 4096),
        "revision": attr.int(default = 1),
        "inodes": attr.int(default = 0),
        "inode_size": attr.int(default = 0),
        "volume_label": attr.string(default = ""),
    },
)

def ext2_image(name, srcs = [], strip_prefix = "", tree = None, size = "64M", block_size = 4096,
               revision = 1, inodes = 0, inode_size = 0, volume_label = "", **kwargs):
    """An ext2 disk image `<name>.img` built with mke2fs -d; see this file's docstring."""
    _ext2_image(
        name = name,
        srcs = srcs,
        strip_prefix = strip_prefix,
        tree = tree,
        image_size = size,
        block_size = block_size,
        revision = revision,
        inodes = inodes,
        inode_size = inode_size,
        volume_label = volume_label,
        **kwargs
    )

def _generated_tree_impl(ctx):
    tree = ctx.actions.declare_directory(ctx.label.name)
    tool = ctx.file.tool

    # A .py tool runs under the host's python3, found through the default
    # PATH bash provides (Bazel gives actions an empty environment, and
    # py_binary's stub wants a `python` that Debian does not install).
    launcher = "python3 " if tool.path.endswith(".py") else ""
    ctx.actions.run_shell(
        inputs = [tool],
        outputs = [tree],
        command = launcher + '"$@"',
        arguments = [tool.path, "--root=" + tree.path] + ctx.attr.tool_args,
        mnemonic = "GeneratedTree",
        progress_message = "Generating folder %s" % tree.short_path,
    )
    return [DefaultInfo(files = depset([tree]))]

generated_tree = rule(
    implementation = _generated_tree_impl,
    doc = ("A directory artifact `<name>/` filled by `tool --root=<dir> [tool_args]`, " +
           "e.g. for ext2_image(tree = ...). The tool must be deterministic."),
    attrs = {
        # An executable file, or a .py script run with python3.
        "tool": attr.label(allow_single_file = True, cfg = "exec", mandatory = True),
        "tool_args": attr.string_list(),
    },
)
