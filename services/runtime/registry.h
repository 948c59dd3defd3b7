#pragma once
// The registry: every service's id and the message kinds its protocol may
// use, one line per service. The checks below run at compile time: ids are
// unique, kind ranges never overlap each other or ipc/'s own kinds, and a
// protocol can only name kinds inside its range (svc::Kind). Adding a
// service adds one line here (docs/service.md).
//
// Ids are the same on every core; a service's address is (core, id). Image
// services (an application's own, like the tests') start at
// kFirstImageServiceId and share the image range of kinds.

#include <cstdint>

#include "ipc/message.h"

namespace uk::svc {

struct Registration {
  const char* name;
  uint16_t id;
  uint16_t first_kind;  // the protocol's kinds are first_kind .. first_kind + kinds - 1
  uint16_t kinds;
};

inline constexpr Registration kRegistry[] = {
    // name     id   first kind  kinds
    {"sched",   0,   0x0100,     0x20},  // services/runtime/sched_service.h, on every core
    {"fs",      1,   0x0200,     0x40},  // services/fs, on the core that owns the disk
    {"net",     2,   0x0300,     0x40},  // services/net, on the core that owns the NIC
    {"image",   4,   0x1000,     0x100},  // an image's own services, ids 4 and up
};

inline constexpr uint16_t kMaxServicesPerCore = 16;

// Not constexpr: reaching a call to it in a consteval function is a compile
// error that names it.
void RegistryError(const char* what);

consteval const Registration& Registered(const char* name) {
  for (const Registration& r : kRegistry) {
    const char* a = r.name;
    const char* b = name;
    while (*a != '\0' && *a == *b) ++a, ++b;
    if (*a == *b) return r;
  }
  RegistryError("svc::Registered: no such service in services/runtime/registry.h");
  return kRegistry[0];
}

// Kind number `n` of `service`'s protocol; out of its range fails to compile.
consteval ipc::MessageKind Kind(const Registration& service, uint16_t n) {
  if (n >= service.kinds) RegistryError("svc::Kind: beyond the service's range in registry.h");
  return static_cast<ipc::MessageKind>(service.first_kind + n);
}

namespace registry_check {

consteval bool Valid() {
  constexpr uint16_t kFirstServiceKind = static_cast<uint16_t>(ipc::MessageKind::kFirstServiceKind);
  for (const Registration& a : kRegistry) {
    if (a.id >= kMaxServicesPerCore) return false;
    if (a.first_kind < kFirstServiceKind || a.kinds == 0) return false;
    if (uint32_t{a.first_kind} + a.kinds > 0x10000) return false;
    for (const Registration& b : kRegistry) {
      if (&a == &b) continue;
      if (a.id == b.id) return false;
      const bool apart = a.first_kind + a.kinds <= b.first_kind || b.first_kind + b.kinds <= a.first_kind;
      if (!apart) return false;
    }
  }
  return true;
}
static_assert(Valid(), "services/runtime/registry.h: ids must be unique and below "
                       "kMaxServicesPerCore, kind ranges must not overlap");

}  // namespace registry_check

inline constexpr uint16_t kSchedServiceId = Registered("sched").id;
inline constexpr uint16_t kFirstImageServiceId = Registered("image").id;

}  // namespace uk::svc
