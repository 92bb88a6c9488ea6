// Simulator throughput: the event queue alone, node-key derivation, and a growing network of
// real cores, reported as events per second of wall time (the budget is about 1 µs per event,
// see docs "Cost model"). Run with: build/myco_bench --benchmark_filter=Sim
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "myco/identity.hpp"
#include "myco/rng.hpp"
#include "sim/event_queue.hpp"
#include "sim/simulator.hpp"

namespace myco {
namespace {

// Steady state of a queue holding `range(0)` events: pop the earliest, push one a random delay
// later (a hold model, the classic priority-queue benchmark for discrete-event simulation).
void BM_SimEventQueueHold(benchmark::State& state) {
  const auto pending = static_cast<uint32_t>(state.range(0));
  EventQueue queue;
  queue.Reserve(pending + 1);
  Rng rng(1);
  constexpr uint64_t kDelayNsMax = 200'000'000;  // up to 200 ms, like link latencies and timers
  for (uint32_t i = 0; i < pending; ++i) {
    queue.Push(static_cast<int64_t>(rng.Uniform(kDelayNsMax)), 0, i);
  }
  for (auto _ : state) {
    const SimEvent event = queue.Pop();
    queue.Push(event.time_ns + static_cast<int64_t>(rng.Uniform(kDelayNsMax)), event.kind,
               event.node);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SimEventQueueHold)->Arg(1'000)->Arg(100'000)->Arg(1'000'000);

// What AddNode pays per node for its Ed25519 key (100k nodes cost 100'000 times this).
void BM_SimIdentityFromSeed(benchmark::State& state) {
  (void)InitCrypto();
  std::array<uint8_t, 32> seed{};
  uint64_t i = 0;
  for (auto _ : state) {
    seed[0] = static_cast<uint8_t>(i);
    seed[1] = static_cast<uint8_t>(i >> 8);
    ++i;
    Result<Identity> identity = Identity::FromSeed(seed);
    benchmark::DoNotOptimize(identity);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SimIdentityFromSeed);

// A network growing to `range(0)` nodes: one arrival per `kArrivalGap` of virtual time, each
// joining through a uniformly drawn earlier node, then a settle period. Only the time inside
// RunUntil counts as event time (AddNode's key derivation is reported separately), so
// ns_per_event is the CPU cost of an event including the core's own work on it.
void BM_SimGrowth(benchmark::State& state) {
  const auto nodes = static_cast<uint32_t>(state.range(0));
  constexpr Duration kArrivalGap = Milliseconds(2);  // 500 joins per virtual second
  constexpr Duration kSettle = Seconds(10);
  TopologyConfig topology;
  topology.map_flood_radius = 0;  // O(N^2) map memory at this size; the grow scenario does the same
  // CPU time of this thread, not wall time: on a shared machine the scheduler's share is not
  // the simulator's cost.
  const auto cpu_s = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  };
  double run_s = 0;
  double add_s = 0;
  uint64_t events = 0;
  uint64_t messages = 0;
  for (auto _ : state) {
    Simulator sim(SimConfig{.seed = 1});
    Rng join_rng(2);
    for (uint32_t i = 0; i < nodes; ++i) {
      const double t0 = cpu_s();
      sim.RunFor(kArrivalGap);
      const double t1 = cpu_s();
      std::vector<uint32_t> bootstrap;
      if (i > 0) bootstrap.push_back(static_cast<uint32_t>(join_rng.Uniform(i)));
      sim.AddNode("n" + std::to_string(i), topology, bootstrap);
      const double t2 = cpu_s();
      run_s += t1 - t0;
      add_s += t2 - t1;
    }
    const double t0 = cpu_s();
    sim.RunFor(kSettle);
    run_s += cpu_s() - t0;
    events += sim.counters().events;
    messages += sim.counters().messages;
    benchmark::DoNotOptimize(sim.ActiveGraph().edge_count());
  }
  state.counters["events"] = static_cast<double>(events);
  state.counters["messages"] = static_cast<double>(messages);
  state.counters["events_per_s"] = static_cast<double>(events) / run_s;
  state.counters["ns_per_event"] = run_s * 1e9 / static_cast<double>(events);
  state.counters["add_node_us"] =
      add_s * 1e6 / static_cast<double>(nodes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_SimGrowth)->Arg(10'000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace myco
