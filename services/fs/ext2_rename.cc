// Rename for the ext2 writer. The checks come first (types, emptiness, a
// directory moving into its own subtree, link limits); then the new name is
// added (or repointed) before the old one is removed, so a full disk leaves
// the old name in place; then a moved directory's ".." and the link counts
// of both parents; then a replaced inode loses its link.

#include "services/fs/ext2.h"

namespace uk::fs {

using namespace ext2;  // NOLINT: the on-disk constants, used throughout

namespace {

bool EndsWithSlash(std::string_view path) {
  return !path.empty() && path.back() == '/';
}

// Upper bound on directory depth when walking ".." up to the root; a path
// of kMaxPath bytes cannot name anything deeper.
constexpr int kMaxDepth = kMaxPath / 2;

}  // namespace

// kCrossesRoot if `ancestor` is `dir` or one of its ancestors.
Error Ext2::CheckNotAncestor(uint32_t ancestor, uint32_t dir) {
  uint32_t current = dir;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    if (current == ancestor) return Error::kCrossesRoot;
    if (current == kRootIno) return Error::kOk;
    Inode inode;
    if (Error e = ReadInode(current, &inode); e != Error::kOk) return e;
    Result<uint32_t> parent = FindInDirectory(inode, "..");
    if (!parent.ok()) return parent.error();
    current = parent.value();
  }
  return Error::kCorrupt;  // a ".." cycle
}

Error Ext2::Rename(std::string_view from, std::string_view to) {
  if (Error e = BeginWrite(); e != Error::kOk) return e;
  std::string_view from_name;
  std::string_view to_name;
  Result<uint32_t> from_parent = LookupParent(from, &from_name, true);
  if (!from_parent.ok()) return from_parent.error();
  Result<uint32_t> to_parent = LookupParent(to, &to_name, true);
  if (!to_parent.ok()) return to_parent.error();
  Inode from_dir;
  Inode to_dir;
  if (Error e = ReadInode(from_parent.value(), &from_dir); e != Error::kOk)
    return e;
  if (Error e = ReadInode(to_parent.value(), &to_dir); e != Error::kOk)
    return e;
  Result<uint32_t> source_number = FindInDirectory(from_dir, from_name);
  if (!source_number.ok()) return source_number.error();
  Inode source;
  if (Error e = ReadInode(source_number.value(), &source); e != Error::kOk)
    return e;
  const bool is_dir = source.Type() == FileType::kDirectory;
  if (!is_dir && (EndsWithSlash(from) || EndsWithSlash(to)))
    return Error::kNotDirectory;

  Result<uint32_t> existing = FindInDirectory(to_dir, to_name);
  if (!existing.ok() && existing.error() != Error::kNotFound)
    return existing.error();
  // Two names of one inode: rename(2) does nothing.
  if (existing.ok() && existing.value() == source.number) return Error::kOk;
  if (is_dir) {
    if (Error e = CheckNotAncestor(source.number, to_parent.value());
        e != Error::kOk) {
      return e;
    }
  }
  bool replaces_dir = false;
  if (existing.ok()) {
    Inode target;
    if (Error e = ReadInode(existing.value(), &target); e != Error::kOk)
      return e;
    replaces_dir = target.Type() == FileType::kDirectory;
    if (replaces_dir && !is_dir) return Error::kIsDirectory;
    if (!replaces_dir && is_dir) return Error::kNotDirectory;
    if (replaces_dir) {
      Result<bool> empty = IsEmptyDirectory(target);
      if (!empty.ok()) return empty.error();
      if (!empty.value()) return Error::kNotEmpty;
    }
  }
  const bool moves_dir = is_dir && from_parent.value() != to_parent.value();
  if (moves_dir && !replaces_dir && to_dir.links >= kMaxLinks)
    return Error::kTooManyLinks;

  // The new name first, so that a full disk leaves the old one in place.
  Error e =
      existing.ok()
          ? SetEntry(to_parent.value(), to_name, source.number, source.mode)
          : AddEntry(to_parent.value(), to_name, source.number, source.mode);
  if (e == Error::kOk) e = RemoveEntry(from_parent.value(), from_name);
  if (e == Error::kOk && moves_dir) {
    e = SetEntry(source.number, "..", to_parent.value(), kModeDirectory);
    if (e == Error::kOk) e = AdjustLinks(from_parent.value(), -1);
    if (e == Error::kOk && !replaces_dir) e = AdjustLinks(to_parent.value(), 1);
  } else if (e == Error::kOk && replaces_dir) {
    e = AdjustLinks(to_parent.value(), -1);  // the old directory's ".."
  }
  if (e == Error::kOk) e = AdjustLinks(source.number, 0);  // ctime
  if (e == Error::kOk && existing.ok()) e = DropLink(existing.value());
  return FinishWrite(e);
}

}  // namespace uk::fs
