// Names of the filesystem errors, for logs and test failure messages.

#include "services/fs/error.h"

namespace uk::fs {

const char* ErrorName(Error error) {
  switch (error) {
    case Error::kOk:
      return "kOk";
    case Error::kIo:
      return "kIo";
    case Error::kBadMagic:
      return "kBadMagic";
    case Error::kBadSuperblock:
      return "kBadSuperblock";
    case Error::kUnsupported:
      return "kUnsupported";
    case Error::kTruncated:
      return "kTruncated";
    case Error::kCorrupt:
      return "kCorrupt";
    case Error::kInodeOutOfRange:
      return "kInodeOutOfRange";
    case Error::kBlockOutOfRange:
      return "kBlockOutOfRange";
    case Error::kBadDirEntry:
      return "kBadDirEntry";
    case Error::kFileTooLarge:
      return "kFileTooLarge";
    case Error::kNotFound:
      return "kNotFound";
    case Error::kNotDirectory:
      return "kNotDirectory";
    case Error::kNotSymlink:
      return "kNotSymlink";
    case Error::kInvalidPath:
      return "kInvalidPath";
    case Error::kNameTooLong:
      return "kNameTooLong";
    case Error::kTooManySymlinks:
      return "kTooManySymlinks";
    case Error::kNotMounted:
      return "kNotMounted";
    case Error::kExists:
      return "kExists";
    case Error::kNoSpace:
      return "kNoSpace";
    case Error::kBadHandle:
      return "kBadHandle";
    case Error::kTooManyOpenFiles:
      return "kTooManyOpenFiles";
    case Error::kNoService:
      return "kNoService";
    case Error::kTooManyLeases:
      return "kTooManyLeases";
    case Error::kCacheBusy:
      return "kCacheBusy";
    case Error::kNotEmpty:
      return "kNotEmpty";
    case Error::kIsDirectory:
      return "kIsDirectory";
    case Error::kReadOnly:
      return "kReadOnly";
    case Error::kStopped:
      return "kStopped";
    case Error::kInvalidArgument:
      return "kInvalidArgument";
    case Error::kCrossesRoot:
      return "kCrossesRoot";
    case Error::kTooManyLinks:
      return "kTooManyLinks";
  }
  return "unknown";
}

}  // namespace uk::fs
