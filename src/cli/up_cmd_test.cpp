// `myco up` as a user runs it: bounds are one-line errors; a real network starts, writes
// network.json, and stops cleanly (exit 0) on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "io/launcher.hpp"

#ifndef MYCO_BINARY
#error "MYCO_BINARY must name the myco executable (see CMakeLists.txt)"
#endif

namespace myco {
namespace {

TEST(UpCommandTest, TooManyNodesIsAUsageError) {
  const std::string command =
      std::string("'") + MYCO_BINARY + "' up --nodes 1001 --dir /nonexistent/x 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char line[512] = {};
  ASSERT_NE(std::fgets(line, sizeof line, pipe), nullptr);
  const int status = ::pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_STREQ(line, "myco: error: --nodes must be between 1 and 1000, got 1001\n");
}

TEST(UpCommandTest, StartsWritesNetworkJsonAndStopsOnSigterm) {
  const std::string dir = ::testing::TempDir() + "myco_up_cmd_test_" + std::to_string(::getpid());
  const std::string port = std::to_string(26000 + (::getpid() % 300) * 10);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl(MYCO_BINARY, MYCO_BINARY, "up", "--nodes", "3", "--dir", dir.c_str(), "--base-port",
            port.c_str(), "--quiet", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  Result<NetworkFile> network = MakeError(ErrorCode::kNotFound, "");
  for (int i = 0; i < 200 && !network.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    network = LoadNetworkJson(dir + "/network.json");
  }
  ASSERT_TRUE(network.ok()) << network.error().message;
  ASSERT_EQ(network.value().nodes.size(), 3u);
  for (const LaunchedNode& node : network.value().nodes) {
    EXPECT_EQ(node.id.size(), 64u);
    EXPECT_EQ(::kill(node.pid, 0), 0) << node.name << " is not running";
    EXPECT_TRUE(std::filesystem::exists(node.token_path)) << node.token_path;
  }
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  for (const LaunchedNode& node : network.value().nodes) {
    EXPECT_NE(::kill(node.pid, 0), 0) << node.name << " survived the stop";
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/network.json")) << "a stopped network's file";
  // The identities stay for the next run.
  EXPECT_TRUE(std::filesystem::exists(dir + "/n1/identity.key"));
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
}  // namespace myco
