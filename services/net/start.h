#pragma once
// Kernel glue: starts the network service on a core, over the first
// virtio-net device, with the device's interrupts routed to that core, and
// defines the hooks lwIP's port needs (sys_now, random numbers, asserts).
//
// Addressing from the kernel command line (runner flags --ip=, --netmask=,
// --gateway=): a static address if --ip is given, else DHCP, falling back
// to QEMU user networking's 10.0.2.15/24 via 10.0.2.2 if no lease comes.

#include <cstdint>

#include "services/runtime/service.h"

namespace uk::net {

struct NetStartResult {
  bool has_device = false;
  svc::Address address;  // where the service listens (valid if has_device)
};

// Blocks until the service is up on `core` or it is clear there is no NIC.
// Call once.
NetStartResult StartNetService(uint32_t core);

// The placement of a small network application (echo, udp_echo): the
// service on core 1 (core 0 on a one-core VM) and the application's own
// threads on core 2 if there is one, else with the service. Without a NIC
// it prints why, naming `app`'s image, and net.has_device is false.
struct AppPlacement {
  NetStartResult net;
  uint32_t net_core = 0;
  uint32_t app_core = 0;
};
AppPlacement StartNetForApp(const char* app);

}  // namespace uk::net
