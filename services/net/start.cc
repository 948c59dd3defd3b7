#include "services/net/start.h"

#include <cstdarg>

#include "kernel/arch/cpu.h"
#include "kernel/drivers/virtio/net.h"
#include "kernel/lib/log.h"
#include "kernel/lib/panic.h"
#include "kernel/sched/scheduler.h"
#include "kernel/top/app.h"
#include "services/net/net_client.h"
#include "services/net/net_service.h"
#include "services/runtime/sched_service.h"
#include "third_party/lwip/port/uk_lwip_port.h"

// ---- The hooks lwIP's port needs (third_party/lwip/port/uk_lwip_port.h) ----
// All are called on the net core's service thread only.

extern "C" uint32_t sys_now(void) {
  return static_cast<uint32_t>(uk::sched::Scheduler::Current().NowNs() / 1000000);
}

extern "C" uint32_t uk_lwip_rand(void) {
  // xorshift64*, seeded from the TSC: DHCP ids and initial ports only.
  static uint64_t state = 0;
  if (state == 0) state = uk::arch::ReadTsc() | 1;
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return static_cast<uint32_t>((state * 0x2545f4914f6cdd1dull) >> 32);
}

// The TCP ISN secret (services/net/tcp_isn.h): RDRAND where CPUID says the
// CPU has it (QEMU's TCG -cpu max does, as KVM hosts do), else 64 TSC
// readings folded together: a weak fallback (the log line says which).
extern "C" void uk_net_isn_secret(uint8_t key[16]) {
  const bool rdrand = ((uk::arch::Cpuid(1).ecx >> 30) & 1) != 0;
  bool from_rdrand = rdrand;
  for (int word = 0; word < 2; ++word) {
    uint64_t value = 0;
    bool ok = false;
    for (int attempt = 0; rdrand && !ok && attempt < 10; ++attempt) {
      uint8_t carry = 0;
      asm volatile("rdrand %0; setc %1" : "=r"(value), "=qm"(carry)::"cc");
      ok = carry != 0;
    }
    if (!ok) {
      from_rdrand = false;
      for (int i = 0; i < 64; ++i) value = (value << 5 | value >> 59) ^ uk::arch::ReadTsc();
    }
    for (int i = 0; i < 8; ++i) key[word * 8 + i] = static_cast<uint8_t>(value >> (8 * i));
  }
  uk::Log(uk::LogLevel::kInfo, "net: TCP initial sequence numbers keyed from %s",
          from_rdrand ? "RDRAND" : "the TSC (no RDRAND)");
}

extern "C" void uk_lwip_diag(const char* format, ...) {
  // Only with LWIP_DEBUG, which is off: keep the text, drop the arguments.
  uk::Log(uk::LogLevel::kDebug, "lwip: %s", format);
}

extern "C" void uk_lwip_assert(const char* message, const char* file, int line) {
  uk::Panic("lwIP assertion failed at %s:%d: %s", file, line, message);
}

namespace uk::net {
namespace {

struct StartArgs {
  NetStartResult result;
};

uint32_t AddressFlag(std::string_view key, uint32_t fallback) {
  const std::string_view text = KernelCommandLine().Get(key);
  uint32_t ip = 0;
  if (text.empty()) return fallback;
  if (!ParseIp(text, &ip)) {
    Log(LogLevel::kWarn, "net: --%.*s=%.*s is not an IPv4 address; ignored",
        static_cast<int>(key.size()), key.data(), static_cast<int>(text.size()), text.data());
    return fallback;
  }
  return ip;
}

void StartOnThisCore(void* arg) {
  auto* args = static_cast<StartArgs*>(arg);
  virtio::NetDriver* nic = virtio::NetDriver::Start();
  if (nic == nullptr) {
    Log(LogLevel::kInfo, "net: no virtio-net device; the network service is not started");
    return;
  }
  uint32_t qemu_ip = 0, qemu_mask = 0, qemu_gw = 0;
  ParseIp("10.0.2.15", &qemu_ip);
  ParseIp("255.255.255.0", &qemu_mask);
  ParseIp("10.0.2.2", &qemu_gw);
  NetConfig config;
  config.ip = AddressFlag("ip", 0);
  config.netmask = AddressFlag("netmask", qemu_mask);
  config.gateway = AddressFlag("gateway", qemu_gw);
  config.fallback_ip = qemu_ip;
  config.fallback_netmask = qemu_mask;
  config.fallback_gateway = qemu_gw;
  auto* service = new NetService(*nic, config);
  service->BringUp();
  service->Start();
  char ip[16];
  Log(LogLevel::kInfo, "net: service up; %s", config.ip != 0 ? FormatIp(config.ip, ip) : "DHCP");
  args->result = {true, service->address()};
}

}  // namespace

NetStartResult StartNetService(uint32_t core) {
  StartArgs args;
  svc::RunOn(core, [&] { StartOnThisCore(&args); }, "net-start");
  return args.result;
}

AppPlacement StartNetForApp(const char* app) {
  const uint32_t cores = sched::Scheduler::CoreCount();
  AppPlacement placed;
  placed.net_core = cores > 1 ? 1 : 0;
  placed.app_core = cores > 2 ? 2 : placed.net_core;
  placed.net = StartNetService(placed.net_core);
  if (!placed.net.has_device) {
    Print("%s: no network device (the runner adds one for this image: bazel run //images:%s)\n",
          app, app);
  }
  return placed;
}

}  // namespace uk::net
