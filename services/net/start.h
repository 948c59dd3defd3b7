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

}  // namespace uk::net
