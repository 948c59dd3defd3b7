// //images:fstest: drives the filesystem service from core 0 while the
// service runs on the last core with the virtio-blk disk (--disk=FILE).
//
//   --mode=verify (default)  reads /MANIFEST (tests/gen_tree.py writes it:
//                            "<crc32> <size> <path>" per file, "L <target>
//                            <path>" per symlink), checks every file's size
//                            and CRC-32 through the service, walks the tree
//                            with readdir and checks it holds exactly the
//                            listed files.
//   --mode=write             creates, writes, truncates, renames and removes
//                            files and directories under /fstest, reads them
//                            back, and leaves a known result for the host to
//                            check with e2fsck and debugfs.
//   --wait                   after a success, waits for the power button
//                            (or `q`) instead of exiting: a graceful
//                            shutdown after writes (tests/shutdown_test.py).
//
// Prints "fstest: ok" and exits 0 on success; exit 1 on a mismatch; exit 2
// if the disk is missing or does not mount (after checking that the service
// still answers, with the mount error).

#include <cstdint>
#include <span>
#include <string_view>

#include "apps/fstest/checks.h"
#include "kernel/lib/log.h"
#include "kernel/sched/scheduler.h"
#include "kernel/top/app.h"
#include "services/fs/fs_client.h"
#include "services/fs/start.h"

namespace uk {

int AppMain() {
  const std::string_view mode = KernelCommandLine().Get("mode", "verify");
  if (mode != "verify" && mode != "write") {
    Print("fstest: unknown mode '%.*s' (verify, write)\n", static_cast<int>(mode.size()),
          mode.data());
    return 64;
  }
  const uint32_t core = sched::Scheduler::CoreCount() - 1;
  const fs::FsStartResult started = fs::StartFsService(core);
  if (!started.has_disk) {
    Print("fstest: no disk; attach one with --disk=FILE\n");
    return 2;
  }
  Print("fstest: fs service on core %u, disk %lu bytes\n", core, started.disk_bytes);
  fs::FsClient client(started.address);
  if (started.mount != fs::Error::kOk) {
    // The service must still answer, with the reason.
    const fs::Result<fs::Stat> root = client.StatPath("/");
    Print("fstest: mount failed: %s; service answers stat(\"/\") with %s\n",
          fs::ErrorName(started.mount), fs::ErrorName(root.error()));
    return 2;
  }
  const bool ok = mode == "verify" ? fstest::VerifyTree(client) : fstest::WriteAndCheck(client);
  Print(ok ? "fstest: ok\n" : "fstest: FAILED\n");
  if (ok && KernelCommandLine().Has("wait")) {
    // For tests of a graceful shutdown after writes (tests/shutdown_test.py):
    // the power button or `q` ends the VM, with status 0.
    Print("fstest: waiting for the power button (or q on the console)\n");
    for (;;) sched::Scheduler::Current().Park();
  }
  return ok ? 0 : 1;
}

}  // namespace uk
