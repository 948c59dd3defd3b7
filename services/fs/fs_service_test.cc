// The fs service on core 1 of a host machine (cores as threads), driven by
// FsClient from core 0 over the real rings, against mke2fs -d images.

#include "services/fs/fs_service.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/fs/fs_client.h"
#include "services/fs/test_image.h"
#include "services/runtime/call.h"
#include "services/runtime/host_machine.h"
#include "services/runtime/request_service.h"

namespace uk::fs {
namespace {

using svc::testing::Machine;

constexpr uint32_t kFsCore = 1;

struct Disk {
  std::vector<uint8_t> bytes;
  std::unique_ptr<MemoryBlockDevice> device;
  std::unique_ptr<FsService> service;
};

// Builds a small tree: /hello.txt, /dir/data.bin (3 blocks and a bit).
std::vector<uint8_t> SmallImage(const std::string& name) {
  const std::string root = testing::MakeTempDir(name + "_src");
  std::filesystem::create_directories(root + "/dir");
  std::ofstream(root + "/hello.txt") << "hello\n";
  const std::vector<uint8_t> data = testing::FileBytes("data", 3 * 1024 + 100);
  std::ofstream(root + "/dir/data.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), data.size());
  return testing::MakeImage(root, testing::MakeTempDir(name) + "/disk.img", {.size = "4M"});
}

void StartOnCore(void* arg) {
  auto* disk = static_cast<Disk*>(arg);
  disk->device = std::make_unique<MemoryBlockDevice>(disk->bytes.data(), disk->bytes.size());
  disk->service = std::make_unique<FsService>(*disk->device, 1700000000);
  (void)disk->service->Mount();  // a failed mount is what some tests want
  disk->service->Start();
}

// Runs `body(client)` on core 0 with the service on core 1 over `disk`.
template <typename Fn>
void WithService(Disk& disk, Fn body) {
  Machine machine(2);
  machine.Run([&] {
    ASSERT_TRUE(svc::Join(svc::SpawnOn(kFsCore, &StartOnCore, &disk, "fs-start")));
    FsClient client(disk.service->address());
    body(client);
  });
}

TEST(FsServiceTest, OpenReadStatReadDirClose) {
  Disk disk{SmallImage("fs_read")};
  ASSERT_FALSE(disk.bytes.empty());
  WithService(disk, [](FsClient& client) {
    const Result<uint32_t> file = client.Open("/dir//./data.bin");
    ASSERT_TRUE(file.ok()) << ErrorName(file.error());
    std::vector<uint8_t> out(10000);
    const Result<size_t> n = client.Read(file.value(), 0, {out.data(), out.size()});
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(n.value(), 3 * 1024 + 100u);
    out.resize(n.value());
    EXPECT_EQ(out, testing::FileBytes("data", 3 * 1024 + 100));
    EXPECT_EQ(client.StatHandle(file.value()).value().size, 3 * 1024 + 100u);
    EXPECT_EQ(client.Close(file.value()), Error::kOk);

    const Result<Stat> stat = client.StatPath("/hello.txt");
    ASSERT_TRUE(stat.ok());
    EXPECT_EQ(stat.value().size, 6u);
    EXPECT_EQ(stat.value().type, FileType::kRegular);

    const Result<uint32_t> root = client.Open("/");
    ASSERT_TRUE(root.ok());
    DirCursor cursor;
    DirEntry entry;
    std::vector<std::string> names;
    for (;;) {
      const Result<bool> more = client.ReadDir(root.value(), &cursor, &entry);
      ASSERT_TRUE(more.ok());
      if (!more.value()) break;
      names.emplace_back(entry.Name());
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{".", "..", "dir", "hello.txt", "lost+found"}));
    EXPECT_EQ(client.Close(root.value()), Error::kOk);
  });
}

TEST(FsServiceTest, ErrorsAreCodesAndHandlesAreChecked) {
  Disk disk{SmallImage("fs_errors")};
  WithService(disk, [](FsClient& client) {
    uint8_t buffer[16];
    EXPECT_EQ(client.Open("/nope").error(), Error::kNotFound);
    EXPECT_EQ(client.Open("relative").error(), Error::kInvalidPath);
    EXPECT_EQ(client.Open("").error(), Error::kInvalidPath);
    EXPECT_EQ(client.Read(12345, 0, buffer).error(), Error::kBadHandle);

    const Result<uint32_t> dir = client.Open("/dir");
    ASSERT_TRUE(dir.ok());
    EXPECT_EQ(client.Read(dir.value(), 0, buffer).error(), Error::kIsDirectory);
    const Result<uint32_t> file = client.Open("/hello.txt");
    ASSERT_TRUE(file.ok());
    DirCursor cursor;
    DirEntry entry;
    EXPECT_EQ(client.ReadDir(file.value(), &cursor, &entry).error(), Error::kNotDirectory);

    // A closed handle is stale, even once its slot is reused.
    EXPECT_EQ(client.Close(file.value()), Error::kOk);
    EXPECT_EQ(client.Close(file.value()), Error::kBadHandle);
    const Result<uint32_t> again = client.Open("/hello.txt");
    ASSERT_TRUE(again.ok());
    EXPECT_NE(again.value(), file.value());
    EXPECT_EQ(client.Read(file.value(), 0, buffer).error(), Error::kBadHandle);

    // The table fills up, and frees up.
    std::vector<uint32_t> handles;
    for (;;) {
      const Result<uint32_t> h = client.Open("/hello.txt");
      if (!h.ok()) {
        EXPECT_EQ(h.error(), Error::kTooManyOpenFiles);
        break;
      }
      handles.push_back(h.value());
      ASSERT_LE(handles.size(), FsService::kMaxOpenFiles);
    }
    EXPECT_EQ(handles.size() + 2, FsService::kMaxOpenFiles);  // + /dir and `again`
    EXPECT_EQ(client.Close(handles.back()), Error::kOk);
    EXPECT_TRUE(client.Open("/hello.txt").ok());

    // A request of a kind the service does not serve is rejected, and the
    // service goes on.
    ipc::Message message = ipc::MakeMessage(OpenRequest{}, 0, 0);
    message.header.kind = svc::Kind(kFs, 0x1f);
    ASSERT_EQ(svc::Call(client.server(), message), svc::SendStatus::kOk);
    svc::RejectedBody rejected;
    ASSERT_TRUE(ipc::Decode(message, &rejected));
    EXPECT_EQ(rejected.kind, static_cast<uint16_t>(svc::Kind(kFs, 0x1f)));
    EXPECT_TRUE(client.StatPath("/").ok());
  });
}

TEST(FsServiceTest, WritesThroughTheServiceLeaveACleanImage) {
  Disk disk{SmallImage("fs_write")};
  WithService(disk, [](FsClient& client) {
    ASSERT_TRUE(client.Mkdir("/new").ok());
    const Result<uint32_t> file = client.Create("/new/file");
    ASSERT_TRUE(file.ok()) << ErrorName(file.error());
    const std::vector<uint8_t> data = testing::FileBytes("written", 70000);
    const Result<size_t> n = client.Write(file.value(), 0, {data.data(), data.size()});
    ASSERT_TRUE(n.ok()) << ErrorName(n.error());
    EXPECT_EQ(n.value(), data.size());
    EXPECT_EQ(client.Truncate(file.value(), 50000), Error::kOk);
    EXPECT_EQ(client.Rename("/new/file", "/moved"), Error::kOk);
    EXPECT_EQ(client.Unlink("/hello.txt"), Error::kOk);
    EXPECT_TRUE(client.Symlink("/link", "moved").ok());
    EXPECT_EQ(client.Create("/moved").error(), Error::kExists);
    EXPECT_EQ(client.Rmdir("/dir"), Error::kNotEmpty);
    EXPECT_EQ(client.Sync(), Error::kOk);
    std::vector<uint8_t> out(60000);
    const Result<uint32_t> moved = client.Open("/link");
    ASSERT_TRUE(moved.ok());
    const Result<size_t> read = client.Read(moved.value(), 0, {out.data(), out.size()});
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(read.value(), 50000u);
    EXPECT_TRUE(std::equal(out.begin(), out.begin() + 50000, data.begin()));
  });
  const std::string path = testing::MakeTempDir("fs_write_check") + "/after.img";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(disk.bytes.data()), disk.bytes.size());
  // e2fsck -n exits 0 even for wrong free counts, so its output is checked
  // too: every problem it finds ends in "? no".
  const std::string log = path + ".fsck";
  EXPECT_EQ(std::system(("e2fsck -fn " + path + " > " + log + " 2>&1").c_str()), 0);
  std::ifstream fsck(log);
  const std::string output((std::istreambuf_iterator<char>(fsck)), std::istreambuf_iterator<char>());
  EXPECT_EQ(output.find("? no"), std::string::npos) << output;
}

// The graceful shutdown's stop (svc::StopServices, as kernel/top's shutdown
// thread sends it): later changes are refused, reads go on.
TEST(FsServiceTest, AStopRefusesLaterChangesAndReadsGoOn) {
  Disk disk{SmallImage("fs_stop")};
  WithService(disk, [](FsClient& client) {
    const Result<uint32_t> file = client.Create("/before");
    ASSERT_TRUE(file.ok()) << ErrorName(file.error());
    const std::vector<uint8_t> data = testing::FileBytes("before", 5000);
    ASSERT_TRUE(client.Write(file.value(), 0, {data.data(), data.size()}).ok());
    std::vector<const char*> stopped;
    const uint32_t late = svc::StopServices(
        sched::Scheduler::Current().NowNs() + 60'000'000'000,
        [](void* arg, const char* name, int32_t error) {
          EXPECT_EQ(error, 0) << name;
          static_cast<std::vector<const char*>*>(arg)->push_back(name);
        },
        &stopped);
    EXPECT_EQ(late, 0u);
    ASSERT_EQ(stopped.size(), 1u);
    EXPECT_STREQ(stopped[0], "fs");
    EXPECT_EQ(client.Write(file.value(), 0, {data.data(), 10}).error(), Error::kStopped);
    EXPECT_EQ(client.Create("/after").error(), Error::kStopped);
    EXPECT_EQ(client.Mkdir("/after").error(), Error::kStopped);
    EXPECT_EQ(client.Unlink("/hello.txt"), Error::kStopped);
    EXPECT_EQ(client.Rename("/before", "/after"), Error::kStopped);
    EXPECT_EQ(client.Truncate(file.value(), 0), Error::kStopped);
    EXPECT_EQ(client.Sync(), Error::kOk);
    std::vector<uint8_t> out(6000);
    const Result<size_t> read = client.Read(file.value(), 0, {out.data(), out.size()});
    ASSERT_TRUE(read.ok());
    out.resize(read.value());
    EXPECT_EQ(out, data);
  });
  const std::string path = testing::MakeTempDir("fs_stop_check") + "/after.img";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(disk.bytes.data()), disk.bytes.size());
  EXPECT_EQ(std::system(("e2fsck -fn " + path + " > /dev/null 2>&1").c_str()), 0);
}

// A disk nobody changed is not written by the stop (a read-only site disk).
TEST(FsServiceTest, AStopWritesNothingToAnUnchangedDisk) {
  Disk disk{SmallImage("fs_stop_unchanged")};
  const std::vector<uint8_t> before = disk.bytes;
  WithService(disk, [](FsClient& client) {
    EXPECT_TRUE(client.StatPath("/hello.txt").ok());
    EXPECT_EQ(svc::StopServices(sched::Scheduler::Current().NowNs() + 60'000'000'000,
                                [](void*, const char*, int32_t error) { EXPECT_EQ(error, 0); },
                                nullptr),
              0u);
  });
  EXPECT_TRUE(disk.bytes == before);
}

TEST(FsServiceTest, ACorruptDiskIsReportedAndTheServiceKeepsAnswering) {
  Disk disk{SmallImage("fs_corrupt")};
  disk.bytes[1024 + 56] = 0;  // the superblock magic
  WithService(disk, [](FsClient& client) {
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(client.Open("/hello.txt").error(), Error::kBadMagic);
      EXPECT_EQ(client.StatPath("/").error(), Error::kBadMagic);
      EXPECT_EQ(client.Create("/x").error(), Error::kBadMagic);
    }
  });
}

}  // namespace
}  // namespace uk::fs
