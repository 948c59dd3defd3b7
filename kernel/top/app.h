#pragma once
// The application an image links in.
//
// AppMain runs as the first thread on core 0, once every core runs its
// scheduler and its sched service, so it can place work on any core
// (services/runtime/sched_service.h: SpawnOn, Join) and start the image's
// services. Returning from AppMain powers the VM off with the returned
// status, after printing every core's counters. A server never returns.

#include "kernel/lib/cmdline.h"

namespace uk {

int AppMain();

// The kernel command line (the image's flags), available before AppMain.
const CommandLine& KernelCommandLine();

}  // namespace uk
