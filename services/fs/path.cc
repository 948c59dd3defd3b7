// Path resolution for the ext2 reader: Lookup and StatPath.
//
// The walk consumes the path one component at a time from a view `rest`.
// Following a symlink replaces `rest` with "target + rest", written into
// whichever of the two path buffers does not hold the current `rest`; an
// absolute target restarts at the root. Every step either consumes a
// component or follows a link, and links are capped at kMaxSymlinkDepth,
// so the walk ends even on an image full of link loops.
//
// ".." is the on-disk entry, except at the root, where it is the root
// itself: no path, however many ".." it has or links it crosses, leaves
// the filesystem.

#include "services/fs/ext2.h"

namespace uk::fs {

namespace {

void SkipSlashes(std::string_view* rest) {
  while (!rest->empty() && rest->front() == '/') rest->remove_prefix(1);
}

bool OnlySlashes(std::string_view s) {
  for (char c : s) {
    if (c != '/') return false;
  }
  return true;
}

}  // namespace

Result<uint32_t> Ext2::Lookup(std::string_view path, FollowLinks follow) {
  if (device_ == nullptr) return Error::kNotMounted;
  if (path.empty() || path.front() != '/') return Error::kInvalidPath;
  if (path.size() >= kMaxPath) return Error::kNameTooLong;

  Inode current;
  if (Error e = ReadInode(ext2::kRootIno, &current); e != Error::kOk) return e;
  std::string_view rest = path;
  int rest_buffer = -1;  // which path_buf_ `rest` points into; -1: the caller's
  int links_followed = 0;
  bool must_be_directory = false;

  for (;;) {
    SkipSlashes(&rest);
    if (rest.empty()) break;
    if (current.Type() != FileType::kDirectory) return Error::kNotDirectory;
    size_t length = 0;
    while (length < rest.size() && rest[length] != '/') ++length;
    const std::string_view name = rest.substr(0, length);
    rest.remove_prefix(length);
    if (name.size() > ext2::kMaxNameLen) return Error::kNameTooLong;
    const bool last = OnlySlashes(rest);
    // "dir/" names a directory: a trailing slash follows a final symlink
    // and rejects a final non-directory.
    must_be_directory = last && !rest.empty();

    if (name == ".") continue;
    if (name == ".." && current.number == ext2::kRootIno) continue;

    const uint32_t next_number = TRY(FindInDirectory(current, name));
    Inode next;
    if (Error e = ReadInode(next_number, &next); e != Error::kOk) return e;

    const bool follow_this =
        !last || must_be_directory || follow == FollowLinks::kYes;
    if (next.Type() != FileType::kSymlink || !follow_this) {
      current = next;
      continue;
    }
    if (++links_followed > kMaxSymlinkDepth) return Error::kTooManySymlinks;
    const int target_buffer = rest_buffer == 0 ? 1 : 0;
    char* buffer = path_buf_[target_buffer];
    const size_t target_length = TRY(ReadLink(next, std::span<char>(buffer, kMaxPath)));
    if (target_length == 0) return Error::kNotFound;  // as Linux: ENOENT
    if (target_length + rest.size() >= kMaxPath) return Error::kNameTooLong;
    // `rest` is empty or starts with '/', so it appends as is. It lives in
    // the other buffer (or the caller's memory): no overlap.
    __builtin_memcpy(buffer + target_length, rest.data(), rest.size());
    rest = std::string_view(buffer, target_length + rest.size());
    rest_buffer = target_buffer;
    if (buffer[0] == '/') {
      if (Error e = ReadInode(ext2::kRootIno, &current); e != Error::kOk)
        return e;
    }
    // A relative target resolves from the directory holding the link,
    // which is still `current`.
  }
  if (must_be_directory && current.Type() != FileType::kDirectory)
    return Error::kNotDirectory;
  return current.number;
}

Result<Stat> Ext2::StatPath(std::string_view path, FollowLinks follow) {
  Inode inode;
  if (Error e = ReadInode(TRY(Lookup(path, follow)), &inode); e != Error::kOk) return e;
  Stat stat;
  stat.inode = inode.number;
  stat.type = inode.Type();
  stat.mode = inode.mode;
  stat.links = inode.links;
  stat.uid = inode.uid;
  stat.gid = inode.gid;
  stat.size = inode.size;
  stat.mtime = inode.mtime;
  return stat;
}

}  // namespace uk::fs
