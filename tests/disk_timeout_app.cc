// A test image for the virtio-blk request timeout (tests/disk_timeout_test.py).
// The host makes QEMU suspend the first write the disk receives (blkdebug
// `break write_aio`): the device never completes it until the host resumes
// it, long after the driver has given up.
//
//   1. the fs service on the last core; /hello.txt is read once;
//   2. a writer on core 1 creates /new: its flush is the write that hangs;
//   3. readers on cores 0 and 2 queue behind it, reading far into /big.bin;
//   4. once the timeout (disk_timeout_ms) passes, every one of them must get
//      an error, none much later than the timeout;
//   5. a later read must fail at once;
//   6. "disk-timeout: device failed": the host resumes the write, which
//      completes into buffers the driver and the cache have given up;
//   7. after a pause for that, requests must still fail at once, and
//      nothing may have panicked.
//
// Prints "disk-timeout: ok" and exits 0; 1 if a check failed; 2 without a
// disk that mounts.

#include <cstdint>

#include "kernel/lib/log.h"
#include "kernel/sched/scheduler.h"
#include "kernel/top/app.h"
#include "services/fs/fs_client.h"
#include "services/fs/start.h"
#include "services/runtime/sched_service.h"

namespace uk {
namespace {

constexpr uint64_t kMs = 1'000'000;

struct Call {
  const char* who;
  svc::Address server;
  bool create;  // Create(path), or a read of 4 KiB at `offset`
  const char* path;
  uint64_t offset;
  fs::Error error = fs::Error::kOk;
  uint64_t elapsed_ms = 0;

  static void Run(void* arg) {
    auto& call = *static_cast<Call*>(arg);
    sched::Scheduler& scheduler = sched::Scheduler::Current();
    fs::FsClient client(call.server);
    static uint8_t buffers[3][4096];  // one per client core (0-2)
    const uint64_t start = scheduler.NowNs();
    call.error =
        call.create
            ? client.Create(call.path).error()
            : client.ReadPath(call.path, call.offset, buffers[scheduler.core()], nullptr).error();
    call.elapsed_ms = (scheduler.NowNs() - start) / kMs;
    Print("disk-timeout: %s on cpu %u: %s after %lu ms\n", call.who, scheduler.core(),
          fs::ErrorName(call.error), call.elapsed_ms);
  }
};

bool Check(bool ok, const char* what) {
  if (!ok) Print("disk-timeout: FAILED: %s\n", what);
  return ok;
}

}  // namespace

int AppMain() {
  const uint64_t timeout_ms = KernelCommandLine().GetNumber("disk_timeout_ms", 5000);
  sched::Scheduler& here = sched::Scheduler::Current();
  if (sched::Scheduler::CoreCount() < 4) {
    Print("disk-timeout: needs 4 cores (--smp=4)\n");
    return 2;
  }
  const fs::FsStartResult started = fs::StartFsService(sched::Scheduler::CoreCount() - 1);
  if (!started.has_disk || started.mount != fs::Error::kOk) {
    Print("disk-timeout: no disk that mounts\n");
    return 2;
  }
  const svc::Address server = started.address;
  Call hello{"hello read", server, false, "/hello.txt", 0};
  Call::Run(&hello);
  bool ok = Check(hello.error == fs::Error::kOk, "reading /hello.txt before the hang");

  // The writer's flush hangs; give it time to get there, then queue readers.
  Call writer{"writer", server, true, "/new", 0};
  const svc::RemoteThread writing = svc::SpawnOn(1, &Call::Run, &writer, "writer");
  here.SleepFor(500 * kMs);
  Call readers[2] = {{"reader", server, false, "/big.bin", 512 << 10},
                     {"reader", server, false, "/big.bin", 768 << 10}};
  const svc::RemoteThread reading[2] = {svc::SpawnOn(0, &Call::Run, &readers[0], "reader"),
                                        svc::SpawnOn(2, &Call::Run, &readers[1], "reader")};
  svc::Join(writing);
  for (const svc::RemoteThread& thread : reading) svc::Join(thread);

  // ext2 reports a failed write-back as kReadOnly; reads get kIo.
  ok &= Check(writer.error != fs::Error::kOk, "the writer got an error");
  ok &= Check(writer.elapsed_ms >= timeout_ms, "the writer waited for the timeout");
  for (const Call& reader : readers) {
    ok &= Check(reader.error == fs::Error::kIo, "a reader got kIo");
    ok &= Check(reader.elapsed_ms < timeout_ms + 5000, "a reader was answered after the timeout");
  }
  Call later{"later read", server, false, "/big.bin", 900 << 10};
  Call::Run(&later);
  ok &= Check(later.error == fs::Error::kIo && later.elapsed_ms < timeout_ms / 2,
              "a later read fails at once");

  Print("disk-timeout: device failed; waiting for its late completion\n");
  here.SleepFor(3000 * kMs);
  Call last{"last read", server, false, "/big.bin", 256 << 10};
  Call::Run(&last);
  ok &= Check(last.error == fs::Error::kIo && last.elapsed_ms < timeout_ms / 2,
              "a read after the late completion fails at once");
  Print(ok ? "disk-timeout: ok\n" : "disk-timeout: FAILED\n");
  return ok ? 0 : 1;
}

}  // namespace uk
