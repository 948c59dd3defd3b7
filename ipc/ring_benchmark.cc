// Ring throughput and round-trip latency: ours vs boost::lockfree::spsc_queue
// vs DPDK rte_ring (SP/SC), in one run, threads pinned to cores 0 and 1.
//
//   bazel run -c opt //ipc:ring_benchmark
//
// Throughput: a producer thread streams sequence-numbered items; the
// benchmark thread receives one item (single) or 32 (burst) per iteration
// and checks the order. Latency: ping-pong through two queues, one sample
// per round trip; median and p99 in ns. Each case is repeated, repetitions
// of all cases are randomly interleaved, and the median repetition is
// reported; the table at the end gives peer / ours.

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "ipc/message.h"
#include "ipc/ring_benchmark_peers.h"

namespace uk::ipc::bench {
namespace {

constexpr int kBurst = 32;
// Many short repetitions, randomly interleaved across cases (see main), so
// each peer samples the same moments of a noisy shared VM.
constexpr int kRepetitions = 9;
constexpr std::uint64_t kStop = ~0ull;

void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// Item types: 8 bytes, and one 64-byte cache line (our Message).
std::uint64_t Make(std::uint64_t seq, std::uint64_t*) { return seq; }
Message Make(std::uint64_t seq, Message*) {
  Message m{};
  m.header.request_id = seq;
  return m;
}
std::uint64_t SeqOf(const std::uint64_t& v) { return v; }
std::uint64_t SeqOf(const Message& m) { return m.header.request_id; }

template <typename T>
T Item(std::uint64_t seq) {
  return Make(seq, static_cast<T*>(nullptr));
}

template <typename Q, typename T, bool kBatched>
void Throughput(benchmark::State& state) {
  auto queue = std::make_unique<Q>();
  const std::uint64_t per_iteration = kBatched ? kBurst : 1;
  const std::uint64_t total = state.max_iterations * per_iteration;
  std::thread producer([&queue, total] {
    PinTo(1);
    if constexpr (kBatched) {
      T items[kBurst];
      for (std::uint64_t seq = 0; seq < total; seq += kBurst) {
        for (int i = 0; i < kBurst; ++i) items[i] = Item<T>(seq + i);
        std::uint32_t done = 0;
        while (done < kBurst) done += queue->PushBurst(items + done, kBurst - done);
      }
    } else {
      for (std::uint64_t seq = 0; seq < total; ++seq) {
        const T item = Item<T>(seq);
        while (!queue->Push(item)) __builtin_ia32_pause();
      }
    }
  });
  std::uint64_t expected = 0;
  std::uint64_t errors = 0;
  T items[kBurst];
  for (auto _ : state) {
    if constexpr (kBatched) {
      std::uint32_t got = 0;
      while (got < kBurst) got += queue->PopBurst(items + got, kBurst - got);
      for (int i = 0; i < kBurst; ++i) errors += SeqOf(items[i]) != expected++;
    } else {
      while (!queue->Pop(items)) __builtin_ia32_pause();
      errors += SeqOf(items[0]) != expected++;
    }
  }
  producer.join();
  if (errors != 0) state.SkipWithError("items out of order");
  state.SetItemsProcessed(static_cast<std::int64_t>(expected));
}

template <typename Q, typename T>
void PingPong(benchmark::State& state) {
  auto ping = std::make_unique<Q>();
  auto pong = std::make_unique<Q>();
  std::thread echo([&ping, &pong] {
    PinTo(1);
    T item;
    while (true) {
      while (!ping->Pop(&item)) __builtin_ia32_pause();
      if (SeqOf(item) == kStop) return;
      while (!pong->Push(item)) __builtin_ia32_pause();
    }
  });
  std::vector<std::int64_t> samples;
  samples.reserve(state.max_iterations);
  std::uint64_t seq = 0;
  std::uint64_t errors = 0;
  T reply;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    while (!ping->Push(Item<T>(seq))) __builtin_ia32_pause();
    while (!pong->Pop(&reply)) __builtin_ia32_pause();
    const auto end = std::chrono::steady_clock::now();
    samples.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(end - start)
            .count());
    errors += SeqOf(reply) != seq++;
  }
  while (!ping->Push(Item<T>(kStop))) __builtin_ia32_pause();
  echo.join();
  if (errors != 0) state.SkipWithError("replies out of order");
  std::sort(samples.begin(), samples.end());
  state.counters["median_ns"] = static_cast<double>(samples[samples.size() / 2]);
  state.counters["p99_ns"] =
      static_cast<double>(samples[samples.size() * 99 / 100]);
}

// Collects median, min and max over the repetitions of every case for the
// summary table (the spread shows how noisy the machine was).
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Aggregate) continue;
      // Names look like "throughput/8B/single/uk".
      const std::string name = run.run_name.function_name;
      const std::size_t slash = name.rfind('/');
      const std::string test = name.substr(0, slash);
      const std::string peer = name.substr(slash + 1);
      for (const char* key : {"items_per_second", "median_ns", "p99_ns"}) {
        auto it = run.counters.find(key);
        if (it != run.counters.end()) {
          results_[test + " " + key][peer][run.aggregate_name] =
              it->second.value;
        }
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void PrintRatios() const {
    std::printf("\nmedian of %d repetitions [min..max]\n", kRepetitions);
    std::printf("%-32s %-26s %-26s %-26s %8s %8s\n", "case", "uk", "boost",
                "dpdk", "boost/uk", "dpdk/uk");
    for (const auto& [test, by_peer] : results_) {
      auto get = [&by_peer](const char* peer, const char* agg) {
        auto p = by_peer.find(peer);
        if (p == by_peer.end()) return 0.0;
        auto a = p->second.find(agg);
        return a == p->second.end() ? 0.0 : a->second;
      };
      auto cell = [&get](const char* peer) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3g [%.3g..%.3g]",
                      get(peer, "median"), get(peer, "min"), get(peer, "max"));
        return std::string(buf);
      };
      const double uk = get("uk", "median");
      std::printf("%-32s %-26s %-26s %-26s %8.2f %8.2f\n", test.c_str(),
                  cell("uk").c_str(), cell("boost").c_str(),
                  cell("dpdk").c_str(),
                  uk > 0 ? get("boost", "median") / uk : 0,
                  uk > 0 ? get("dpdk", "median") / uk : 0);
    }
    std::printf(
        "items_per_second: higher is better, ratio > 1 means the peer is "
        "faster.\n*_ns: lower is better, ratio > 1 means the peer is "
        "slower.\n");
  }

 private:
  // test -> peer -> aggregate ("median", "min", "max", ...) -> value
  std::map<std::string, std::map<std::string, std::map<std::string, double>>>
      results_;
};

double Min(const std::vector<double>& v) {
  return *std::min_element(v.begin(), v.end());
}
double Max(const std::vector<double>& v) {
  return *std::max_element(v.begin(), v.end());
}

template <typename T>
void RegisterSize(const std::string& size) {
  auto add = [&size](const std::string& kind, const char* peer, auto fn) {
    benchmark::RegisterBenchmark(
        (kind.substr(0, kind.find('/')) + "/" + size +
         kind.substr(kind.find('/')) + "/" + peer)
            .c_str(),
        fn)
        ->Repetitions(kRepetitions)
        ->ReportAggregatesOnly(true)
        ->ComputeStatistics("min", Min)
        ->ComputeStatistics("max", Max)
        ->UseRealTime();
  };
  add("throughput/single", UkQueue<T>::kName, Throughput<UkQueue<T>, T, false>);
  add("throughput/single", BoostQueue<T>::kName,
      Throughput<BoostQueue<T>, T, false>);
  add("throughput/single", DpdkQueue<T>::kName,
      Throughput<DpdkQueue<T>, T, false>);
  add("throughput/burst32", UkQueue<T>::kName, Throughput<UkQueue<T>, T, true>);
  add("throughput/burst32", BoostQueue<T>::kName,
      Throughput<BoostQueue<T>, T, true>);
  add("throughput/burst32", DpdkQueue<T>::kName,
      Throughput<DpdkQueue<T>, T, true>);
  add("pingpong/rtt", UkQueue<T>::kName, PingPong<UkQueue<T>, T>);
  add("pingpong/rtt", BoostQueue<T>::kName, PingPong<BoostQueue<T>, T>);
  add("pingpong/rtt", DpdkQueue<T>::kName, PingPong<DpdkQueue<T>, T>);
}

}  // namespace
}  // namespace uk::ipc::bench

int main(int argc, char** argv) {
  using namespace uk::ipc::bench;
  // Interleave repetitions of all cases by default; later flags override.
  std::vector<char*> args(argv, argv + argc);
  char interleave[] = "--benchmark_enable_random_interleaving=true";
  args.insert(args.begin() + 1, interleave);
  int args_count = static_cast<int>(args.size());
  benchmark::Initialize(&args_count, args.data());
  PinTo(0);
  RegisterSize<std::uint64_t>("8B");
  RegisterSize<uk::ipc::Message>("64B");
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios();
  benchmark::Shutdown();
  return 0;
}
