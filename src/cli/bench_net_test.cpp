// `myco bench net` as a user runs it, on a real 3-node network: the tool runs, reports in JSON,
// and every broadcast reaches every node. No timing thresholds: the figures are only reported.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#ifndef MYCO_BINARY
#error "MYCO_BINARY must name the myco executable (see CMakeLists.txt)"
#endif

namespace myco {
namespace {

// Runs `myco <args>` and returns its stdout (stderr goes to the test log).
std::string RunMyco(const std::string& args, int& exit_code) {
  const std::string command = std::string("'") + MYCO_BINARY + "' " + args;
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  if (pipe == nullptr) return out;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// Below the ephemeral port range (32768+); see launcher_test.cpp for the other tests' ranges.
std::string BasePort(int offset) {
  return std::to_string(20000 + (::getpid() % 300) * 20 + offset);
}

TEST(BenchNetTest, LatencyOnThreeNodesDeliversEveryBroadcast) {
  int exit_code = -1;
  const std::string out = RunMyco(
      "bench net latency --nodes 3 --broadcasts 10 --rate 50 --settle 1 "
      "--json --base-port " +
          BasePort(0),
      exit_code);
  ASSERT_EQ(exit_code, 0) << out;
  const nlohmann::json report = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << out;
  EXPECT_EQ(report["mode"], "latency");
  EXPECT_EQ(report["nodes"], 3);
  EXPECT_EQ(report["published"], 10);
  EXPECT_EQ(report["publish_errors"], 0);
  EXPECT_EQ(report["deliveries"], 20);  // 10 broadcasts x 2 receivers
  EXPECT_EQ(report["complete_fraction"], 1.0);
  EXPECT_GT(report["latency_ms"]["max"].get<double>(), 0);
  EXPECT_LE(report["latency_ms"]["p50"].get<double>(), report["latency_ms"]["p99"].get<double>());
}

TEST(BenchNetTest, ThroughputOnThreeNodesReportsCpuPerCopy) {
  int exit_code = -1;
  const std::string out = RunMyco(
      "bench net throughput --nodes 3 --seconds 1 --concurrency 2 --window 200 "
      "--settle 1 --json --base-port " +
          BasePort(10),
      exit_code);
  ASSERT_EQ(exit_code, 0) << out;
  const nlohmann::json report = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << out;
  EXPECT_EQ(report["mode"], "throughput");
  EXPECT_GT(report["published"].get<uint64_t>(), 0u);
  // Every accepted message reaches both other nodes.
  EXPECT_EQ(report["complete"], report["published"]);
  EXPECT_EQ(report["copies"], report["copies_expected"]);
  EXPECT_GT(report["node_cpu_us_per_copy"].get<double>(), 0);
}

TEST(BenchNetTest, BadFlagsAreOneLineErrors) {
  int exit_code = -1;
  RunMyco("bench net latency --nodes 1 2>/dev/null", exit_code);
  EXPECT_EQ(exit_code, 2);
  RunMyco("bench net latency --rate 0 2>/dev/null", exit_code);
  EXPECT_EQ(exit_code, 2);
  RunMyco("bench net throughput --attach /nonexistent 2>/dev/null", exit_code);
  EXPECT_EQ(exit_code, 1);
}

}  // namespace
}  // namespace myco
