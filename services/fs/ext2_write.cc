// The write operations of the ext2 writer: create, mkdir, symlink, write,
// truncate, unlink, rmdir, sync. Rename is in ext2_rename.cc.
//
// Each call checks everything it can before changing anything (names,
// types, emptiness, link limits, free space), then makes its changes in an
// order that keeps the filesystem consistent if a later step fails for
// lack of space: a new inode is complete before its name is added, and is
// released again if the name cannot be added. FinishWrite then writes the
// superblock's free counts, whatever happened.

#include "services/fs/ext2.h"

namespace uk::fs {

using namespace ext2;  // NOLINT: the on-disk constants, used throughout

namespace {

bool HasNul(std::string_view s) {
  for (char c : s) {
    if (c == '\0') return true;
  }
  return false;
}

}  // namespace

// Splits `path` into its parent directory, which it resolves, and its last
// component, which it validates as a name to create or remove.
Result<uint32_t> Ext2::LookupParent(std::string_view path,
                                    std::string_view* name,
                                    bool allow_trailing_slash) {
  if (path.empty() || path.front() != '/') return Error::kInvalidPath;
  if (path.size() >= kMaxPath) return Error::kNameTooLong;
  size_t end = path.size();
  while (end > 0 && path[end - 1] == '/') --end;
  if (end == 0) return Error::kInvalidArgument;  // the root itself
  if (end != path.size() && !allow_trailing_slash) return Error::kInvalidPath;
  size_t start = end;
  while (path[start - 1] != '/') --start;
  *name = path.substr(start, end - start);
  if (*name == "." || *name == "..") return Error::kInvalidArgument;
  if (name->size() > kMaxNameLen) return Error::kNameTooLong;
  if (HasNul(*name)) return Error::kInvalidArgument;
  Result<uint32_t> parent = Lookup(path.substr(0, start));
  if (!parent.ok()) return parent.error();
  Inode dir;
  if (Error e = ReadInode(parent.value(), &dir); e != Error::kOk) return e;
  if (dir.Type() != FileType::kDirectory) return Error::kNotDirectory;
  return parent;
}

// The inode `path` names (into `child`), its parent directory (returned) and
// its last component (into `name`): what Unlink and Rmdir start from.
Result<uint32_t> Ext2::LookupChild(std::string_view path,
                                   std::string_view* name,
                                   bool allow_trailing_slash, Inode* child) {
  Result<uint32_t> parent = LookupParent(path, name, allow_trailing_slash);
  if (!parent.ok()) return parent;
  Inode dir;
  if (Error e = ReadInode(parent.value(), &dir); e != Error::kOk) return e;
  Result<uint32_t> number = FindInDirectory(dir, *name);
  if (!number.ok()) return number.error();
  if (Error e = ReadInode(number.value(), child); e != Error::kOk) return e;
  return parent;
}

Error Ext2::AdjustLinks(uint32_t number, int delta) {
  Inode inode;
  if (Error e = ReadInode(number, &inode); e != Error::kOk) return e;
  const int links = inode.links + delta;
  if (links > kMaxLinks) return Error::kTooManyLinks;
  if (links < 0) return Error::kCorrupt;
  inode.links = static_cast<uint16_t>(links);
  inode.ctime = now_;
  return WriteInode(inode);
}

// Frees an inode's blocks, its extended attribute block reference and the
// inode itself, leaving it as Linux does: no links, a deletion time.
Error Ext2::Release(Inode* inode) {
  Error e = Error::kOk;
  if (IsFastSymlink(*inode)) {
    __builtin_memset(inode->block, 0, sizeof inode->block);
  } else {
    e = FreeBlocksFrom(inode, 0);
  }
  if (e == Error::kOk && inode->file_acl != 0) {
    const uint32_t acl = inode->file_acl;
    uint8_t header[8];
    if (CheckBlock(acl) != Error::kOk) {
      e = Error::kBlockOutOfRange;
    } else if (!device_->ReadBytes(uint64_t{acl} * block_size_, header,
                                   sizeof header)) {
      e = Error::kIo;
    } else if (Load32(header) != kXattrMagic) {
      e = Error::kCorrupt;
    } else if (Load32(header + kXattrRefcount) <= 1) {
      e = FreeBlock(acl, inode);
    } else if (inode->blocks_512 < block_size_ / 512) {
      e = Error::kCorrupt;
    } else {
      // Shared with other inodes: drop our reference only.
      Store32(header + kXattrRefcount, Load32(header + kXattrRefcount) - 1);
      inode->blocks_512 -= block_size_ / 512;
      e = Write(uint64_t{acl} * block_size_ + kXattrRefcount,
                header + kXattrRefcount, 4);
    }
    if (e == Error::kOk) inode->file_acl = 0;
  }
  if (e != Error::kOk) {
    (void)WriteInode(*inode);  // record what was freed before the error
    return e;
  }
  const bool directory = inode->Type() == FileType::kDirectory;
  inode->links = 0;
  inode->size = 0;
  // e2fsck reads a dtime below s_inodes_count as an orphan list link, so a
  // clock that was never set must not produce one.
  inode->dtime = now_ > inodes_count_ ? now_ : inodes_count_;
  inode->ctime = now_;
  if (Error e = WriteInode(*inode); e != Error::kOk) return e;
  return FreeInodeNumber(inode->number, directory);
}

// Drops one name of `number`: the last one (or a directory's) releases it.
Error Ext2::DropLink(uint32_t number) {
  Inode inode;
  if (Error e = ReadInode(number, &inode); e != Error::kOk) return e;
  if (inode.links == 0) return Error::kCorrupt;
  inode.links = inode.Type() == FileType::kDirectory ? 0 : inode.links - 1;
  inode.ctime = now_;
  if (inode.links == 0) return Release(&inode);
  return WriteInode(inode);
}

// Fills in a new inode's data: a directory's first block, a symlink's
// target. The inode is already allocated and zeroed on disk.
Error Ext2::InitNode(Inode* inode, uint32_t parent, std::string_view target) {
  bool fresh = false;
  if (inode->Type() == FileType::kDirectory) {
    Result<uint32_t> block = MapForWrite(inode, 0, &fresh);
    if (!block.ok()) return block.error();
    const uint8_t type = has_filetype_ ? kDirTypeDirectory : 0;
    __builtin_memset(block_buf_, 0, block_size_);
    Store32(block_buf_, inode->number);
    Store16(block_buf_ + 4, static_cast<uint16_t>(DirRecLen(1)));
    block_buf_[6] = 1;
    block_buf_[7] = type;
    block_buf_[8] = '.';
    uint8_t* dotdot = block_buf_ + DirRecLen(1);
    Store32(dotdot, parent);
    Store16(dotdot + 4, static_cast<uint16_t>(block_size_ - DirRecLen(1)));
    dotdot[6] = 2;
    dotdot[7] = type;
    dotdot[8] = '.';
    dotdot[9] = '.';
    inode->size = block_size_;
    return Write(uint64_t{block.value()} * block_size_, block_buf_,
                 block_size_);
  }
  if (inode->Type() != FileType::kSymlink) return Error::kOk;
  inode->size = target.size();
  if (target.size() < kFastSymlinkMax) {
    // NUL-padded in i_block, as e2fsck checks.
    __builtin_memcpy(inode->block, target.data(), target.size());
    return Error::kOk;
  }
  Result<uint32_t> block = MapForWrite(inode, 0, &fresh);
  if (!block.ok()) return block.error();
  __builtin_memset(block_buf_, 0, block_size_);
  __builtin_memcpy(block_buf_, target.data(), target.size());
  return Write(uint64_t{block.value()} * block_size_, block_buf_, block_size_);
}

Result<uint32_t> Ext2::CreateNode(std::string_view path, uint16_t mode,
                                  std::string_view target) {
  if (Error e = BeginWrite(); e != Error::kOk) return e;
  const bool directory = (mode & 0xF000) == kModeDirectory;
  std::string_view name;
  Result<uint32_t> parent = LookupParent(path, &name, directory);
  if (!parent.ok()) return parent.error();
  Inode dir;
  if (Error e = ReadInode(parent.value(), &dir); e != Error::kOk) return e;
  Result<uint32_t> existing = FindInDirectory(dir, name);
  if (existing.ok()) return Error::kExists;
  if (existing.error() != Error::kNotFound) return existing.error();
  if (directory && dir.links >= kMaxLinks) return Error::kTooManyLinks;

  Result<uint32_t> number = AllocateInode(parent.value(), directory);
  if (!number.ok()) return FinishWrite(number.error());
  Inode inode;
  inode.number = number.value();
  inode.mode = mode;
  inode.links = directory ? 2 : 1;
  inode.atime = inode.ctime = inode.mtime = now_;
  Result<uint64_t> at = InodeOffset(inode.number);
  Error e = at.ok() ? WriteZeros(at.value(), inode_size_) : at.error();
  if (e == Error::kOk) e = InitNode(&inode, parent.value(), target);
  if (Error written = WriteInode(inode); e == Error::kOk) e = written;
  if (e == Error::kOk && directory) e = AdjustLinks(parent.value(), 1);
  if (e == Error::kOk) {
    e = AddEntry(parent.value(), name, inode.number, mode);
    if (e != Error::kOk && directory) (void)AdjustLinks(parent.value(), -1);
  }
  if (e != Error::kOk) {
    (void)Release(&inode);
    return FinishWrite(e);
  }
  if (Error finished = FinishWrite(Error::kOk); finished != Error::kOk)
    return finished;
  return inode.number;
}

Result<uint32_t> Ext2::Create(std::string_view path, uint16_t permissions) {
  return CreateNode(path, kModeRegular | (permissions & 07777), {});
}

Result<uint32_t> Ext2::Mkdir(std::string_view path, uint16_t permissions) {
  return CreateNode(path, kModeDirectory | (permissions & 07777), {});
}

Result<uint32_t> Ext2::Symlink(std::string_view path, std::string_view target) {
  if (target.empty() || HasNul(target)) return Error::kInvalidArgument;
  if (target.size() >= block_size_ || target.size() >= kMaxPath)
    return Error::kNameTooLong;
  return CreateNode(path, kModeSymlink | 0777, target);
}

Result<size_t> Ext2::WriteFile(uint32_t number, uint64_t offset,
                               std::span<const uint8_t> data) {
  if (Error e = BeginWrite(); e != Error::kOk) return e;
  Inode inode;
  if (Error e = ReadInode(number, &inode); e != Error::kOk) return e;
  if (inode.Type() == FileType::kDirectory) return Error::kIsDirectory;
  if (inode.Type() != FileType::kRegular) return Error::kInvalidArgument;
  if (data.empty()) return size_t{0};
  if (offset > max_file_size_ || data.size() > max_file_size_ - offset)
    return Error::kFileTooLarge;
  if (Error e = NeedSize(offset + data.size()); e != Error::kOk) return e;

  Error e = Error::kOk;
  size_t done = 0;
  while (done < data.size()) {
    const uint64_t position = offset + done;
    const uint32_t in_block = static_cast<uint32_t>(position % block_size_);
    const size_t left = data.size() - done;
    const size_t chunk =
        block_size_ - in_block < left ? block_size_ - in_block : left;
    bool fresh = false;
    Result<uint32_t> block =
        MapForWrite(&inode, position / block_size_, &fresh);
    if (!block.ok()) {
      e = block.error();
      break;
    }
    const uint64_t at = uint64_t{block.value()} * block_size_;
    if (fresh) {  // what the write does not cover must read as zeros
      e = WriteZeros(at, in_block);
      if (e == Error::kOk)
        e = WriteZeros(at + in_block + chunk, block_size_ - in_block - chunk);
    }
    if (e == Error::kOk) e = Write(at + in_block, data.data() + done, chunk);
    if (e != Error::kOk) break;
    done += chunk;
  }
  if (offset + done > inode.size) inode.size = offset + done;
  if (done > 0) inode.mtime = inode.ctime = now_;
  if (Error written = WriteInode(inode); e == Error::kOk) e = written;
  e = FinishWrite(e);
  if (done > 0) return done;  // a short write, as write(2) reports it
  if (e != Error::kOk) return e;
  return done;
}

Error Ext2::Truncate(uint32_t number, uint64_t size) {
  if (Error e = BeginWrite(); e != Error::kOk) return e;
  Inode inode;
  if (Error e = ReadInode(number, &inode); e != Error::kOk) return e;
  if (inode.Type() == FileType::kDirectory) return Error::kIsDirectory;
  if (inode.Type() != FileType::kRegular) return Error::kInvalidArgument;
  if (Error e = NeedSize(size); e != Error::kOk) return e;
  Error e = Error::kOk;
  if (size < inode.size) {
    // The tail of the new last block must read as zeros if the file grows
    // again.
    const uint32_t in_block = static_cast<uint32_t>(size % block_size_);
    if (in_block != 0) {
      Result<uint32_t> block = MapBlock(inode, size / block_size_);
      e = block.error();
      if (block.ok() && block.value() != 0) {
        e = WriteZeros(uint64_t{block.value()} * block_size_ + in_block,
                       block_size_ - in_block);
      }
    }
    if (e == Error::kOk)
      e = FreeBlocksFrom(&inode, (size + block_size_ - 1) / block_size_);
  }
  if (e == Error::kOk) inode.size = size;
  inode.mtime = inode.ctime = now_;
  if (Error written = WriteInode(inode); e == Error::kOk) e = written;
  return FinishWrite(e);
}

Error Ext2::Unlink(std::string_view path) {
  if (Error e = BeginWrite(); e != Error::kOk) return e;
  std::string_view name;
  Inode inode;
  Result<uint32_t> parent = LookupChild(path, &name, false, &inode);
  if (!parent.ok()) return parent.error();
  if (inode.Type() == FileType::kDirectory) return Error::kIsDirectory;
  Error e = RemoveEntry(parent.value(), name);
  if (e == Error::kOk) e = DropLink(inode.number);
  return FinishWrite(e);
}

Error Ext2::Rmdir(std::string_view path) {
  if (Error e = BeginWrite(); e != Error::kOk) return e;
  std::string_view name;
  Inode inode;
  Result<uint32_t> parent = LookupChild(path, &name, true, &inode);
  if (!parent.ok()) return parent.error();
  if (inode.Type() != FileType::kDirectory) return Error::kNotDirectory;
  Result<bool> empty = IsEmptyDirectory(inode);
  if (!empty.ok()) return empty.error();
  if (!empty.value()) return Error::kNotEmpty;
  Error e = RemoveEntry(parent.value(), name);
  if (e == Error::kOk) e = AdjustLinks(parent.value(), -1);  // its ".."
  if (e == Error::kOk) e = DropLink(inode.number);
  return FinishWrite(e);
}

Error Ext2::Sync() {
  if (device_ == nullptr) return Error::kNotMounted;
  if (writable_) {
    if (Error e = FinishWrite(Error::kOk); e != Error::kOk) return e;
  }
  return device_->Flush() ? Error::kOk : Error::kReadOnly;
}

}  // namespace uk::fs
