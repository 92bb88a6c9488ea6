#include "sim/stress.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace myco {
namespace {

StressReport MustRun(const StressOptions& options) {
  Result<StressReport> report = RunStress(options);
  EXPECT_TRUE(report.ok()) << report.error().message;
  return std::move(report).value();
}

// ORIGINAL_DESIGN.md's stress_test_network(100, 0.1), with fewer messages to stay fast.
StressOptions Small(uint64_t seed) {
  StressOptions o;
  o.nodes = 100;
  o.failure_rate = 0.1;
  o.seed = seed;
  o.messages = 200;
  return o;
}

TEST(StressTest, HundredNodesTenPercentCrashedStayServedAndRecover) {
  const StressOptions options = Small(1);
  const StressReport r = MustRun(options);
  EXPECT_EQ(r.nodes, 100u);
  EXPECT_EQ(r.crashed, 10u);
  EXPECT_EQ(r.live, 90u);
  ASSERT_TRUE(r.baseline.has_value());
  ASSERT_TRUE(r.degradation.has_value());
  EXPECT_EQ(r.baseline->messages, 100u);
  EXPECT_EQ(r.stress.messages, 200u);
  EXPECT_DOUBLE_EQ(r.stress.rate_per_s, 2 * r.baseline->rate_per_s);
  EXPECT_DOUBLE_EQ(r.stress.duration_s, r.baseline->duration_s);
  // The mix: a fifth broadcasts, spread exactly.
  EXPECT_EQ(r.baseline->broadcasts, 20u);
  EXPECT_EQ(r.stress.broadcasts, 40u);
  EXPECT_EQ(r.stress.targeted, 160u);

  // A settled, healthy network serves everything.
  EXPECT_EQ(r.baseline->targeted_acked, r.baseline->targeted);
  EXPECT_DOUBLE_EQ(r.baseline->delivery_ratio, 1.0);
  EXPECT_GT(r.stress.fulfillment, 0.9);
  EXPECT_GT(r.stress.ack_ratio, 0.9);
  EXPECT_GT(r.stress.delivery_ratio, 0.9);
  EXPECT_EQ(r.stress.targeted_unresolved, 0u);
  EXPECT_EQ(r.stress.targeted_acked + r.stress.targeted_failed + r.stress.targeted_refused,
            r.stress.targeted);
  uint64_t by_retries = 0;
  for (const uint64_t count : r.stress.acked_by_retries) by_retries += count;
  EXPECT_EQ(by_retries, r.stress.targeted_acked);
  EXPECT_GT(r.stress.targeted_latency.p50_ms, 0.0);
  EXPECT_LE(r.stress.targeted_latency.p50_ms, r.stress.targeted_latency.p99_ms);

  ASSERT_TRUE(r.recovery.recovery_time_s.has_value());
  EXPECT_GE(*r.recovery.recovery_time_s, 0.0);
  EXPECT_LT(*r.recovery.recovery_time_s, 60.0);
  ASSERT_TRUE(r.recovery.connected_s.has_value());
  EXPECT_LE(*r.recovery.connected_s, *r.recovery.recovery_time_s);
  ASSERT_TRUE(r.recovery.failures_detected_s.has_value());
  EXPECT_GE(r.recovery.probes, 1u);
}

TEST(StressTest, SameOptionsSameReport) {
  StressOptions options = Small(7);
  options.messages = 60;
  EXPECT_EQ(MustRun(options), MustRun(options));
}

// Issue must-show, scaled down: targeted messages right after 20% of the nodes crashed.
TEST(StressTest, TargetedOnlyAfterTwentyPercentCrashAcknowledgesAlmostAll) {
  StressOptions o;
  o.nodes = 200;
  o.failure_rate = 0.2;
  o.messages = 400;
  o.rate_per_s = 100;  // four virtual seconds, so early messages meet undetected crashes
  o.targeted_only = true;
  o.seed = 1;
  const StressReport r = MustRun(o);
  EXPECT_FALSE(r.baseline.has_value());
  EXPECT_FALSE(r.degradation.has_value());
  EXPECT_EQ(r.crashed, 40u);
  EXPECT_EQ(r.stress.broadcasts, 0u);
  EXPECT_EQ(r.stress.targeted, 400u);
  EXPECT_GE(r.stress.ack_ratio, 0.99)
      << r.stress.targeted_failed << " failed, " << r.stress.targeted_refused << " refused";
  // Routes through crashed nodes must have been repaired by retries.
  EXPECT_GT(r.stress.retries, 0u);
  EXPECT_GT(r.stress.alternative_path_acks, 0u);
}

TEST(StressTest, ValidateNamesTheFlag) {
  StressOptions o;
  o.failure_rate = 1.0;
  EXPECT_NE(o.Validate().error().message.find("--failure-rate"), std::string::npos);
  o = StressOptions{};
  o.nodes = 5000;
  EXPECT_NE(o.Validate().error().message.find("--nodes"), std::string::npos);
  o = StressOptions{};
  o.nodes = 3;
  o.failure_rate = 0.5;  // crashes 2 of 3
  EXPECT_FALSE(o.Validate().ok());
  o = StressOptions{};
  o.broadcast_share = 1.5;
  EXPECT_NE(o.Validate().error().message.find("--broadcast-share"), std::string::npos);
  EXPECT_TRUE(StressOptions{}.Validate().ok());
}

TEST(StressTest, DefaultLoadSpansTenSeconds) {
  StressOptions o;
  o.nodes = 100;
  EXPECT_EQ(o.EffectiveMessages(), 1000u);
  EXPECT_EQ(o.BaselineMessages(), 500u);
  EXPECT_DOUBLE_EQ(o.EffectiveRate(), 50.0);
  o.targeted_only = true;
  EXPECT_EQ(o.BaselineMessages(), 0u);
  EXPECT_DOUBLE_EQ(o.EffectiveRate(), 100.0);
}

#ifdef MYCO_BINARY
struct CommandRun {
  int exit_code = -1;
  std::string out;
};

// Runs `myco simulate stress <args>` as a user would; stderr goes to the test log.
CommandRun Stress(const std::string& args) {
  const std::string command = std::string("'") + MYCO_BINARY + "' simulate stress " + args;
  CommandRun run;
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) run.out.append(buffer, n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

TEST(StressCommandTest, JsonIsByteIdenticalAcrossRunsAndCarriesTheResilienceFigures) {
  const std::string args = "--nodes 100 --failure-rate 0.1 --messages 60 --seed 3 --json -q";
  const CommandRun first = Stress(args);
  const CommandRun second = Stress(args);
  ASSERT_EQ(first.exit_code, 0);
  EXPECT_EQ(first.out, second.out);
  const auto json = nlohmann::json::parse(first.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(json.is_object()) << first.out;
  const auto& resilience = json["resilience"];
  EXPECT_TRUE(resilience["performance_degradation"].is_object());
  EXPECT_TRUE(resilience["recovery_time_s"].is_number());
  EXPECT_TRUE(resilience["alternative_path_usage"]["share"].is_number());
  EXPECT_GT(resilience["fulfillment_rate"]["combined"].get<double>(), 0.9);
  EXPECT_EQ(json["crashed"], 10);
}

TEST(StressCommandTest, BadFlagIsOneLineAndExitTwo) {
  const CommandRun run = Stress("--failure-rate 1 2>&1");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "myco: error: --failure-rate must be a number in [0, 1), got 1\n");
}
#endif

}  // namespace
}  // namespace myco
