#pragma once
// Host-test support: a machine of `cores` cores as host threads, each running
// the real scheduler loop (a futex stands in for `hlt` + IPI) with its sched
// service, so services and their clients run as they do in the kernel.

#include <atomic>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "kernel/sched/host_platform.h"
#include "services/runtime/sched_service.h"
#include "services/runtime/service.h"

namespace uk::svc::testing {

// Runs `body` as a thread on core 0 of a `cores`-core machine and returns
// when it has finished and every core has stopped.
class Machine {
 public:
  explicit Machine(uint32_t cores) {
    for (uint32_t i = 0; i < cores; ++i) {
      platforms_.push_back(std::make_unique<sched::HostPlatform>());
      scheds_.push_back(std::make_unique<sched::Scheduler>(i, i, *platforms_.back()));
      sched::Scheduler::Register(scheds_.back().get());
    }
  }

  template <typename Fn>
  void Run(Fn body) {
    std::atomic<uint32_t> started{0};
    std::vector<std::thread> threads;
    for (uint32_t i = 0; i < scheds_.size(); ++i) {
      threads.emplace_back([this, i, &started, &body] {
        sched::SetCurrentCoreForTest(i);
        StartSchedService();
        started.fetch_add(1);
        while (started.load() < scheds_.size()) std::this_thread::yield();
        if (i == 0) {
          scheds_[0]->Spawn(
              [](void* arg) {
                std::unique_ptr<std::pair<Machine*, Fn*>> self(
                    static_cast<std::pair<Machine*, Fn*>*>(arg));
                (*self->second)();
                for (auto& s : self->first->scheds_) s->RequestStop(ServiceCount(s->core()));
              },
              new std::pair<Machine*, Fn*>(this, &body), "body", sched::Joinable::kNo);
        }
        scheds_[i]->Run();
      });
    }
    for (auto& t : threads) t.join();
  }

  sched::Scheduler& sched(uint32_t core) { return *scheds_[core]; }

 private:
  std::vector<std::unique_ptr<sched::HostPlatform>> platforms_;
  std::vector<std::unique_ptr<sched::Scheduler>> scheds_;
};

}  // namespace uk::svc::testing
