// The client commands as a user runs them: the built `myco` binary (MYCO_BINARY) against an
// ApiServer started in this process (a real Node, no transport), and against no server at all.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "core/node.hpp"
#include "core/propagation/propagation.hpp"
#include "io/api/server.hpp"
#include "io/node_host.hpp"
#include "myco/identity.hpp"

#ifndef MYCO_BINARY
#error "MYCO_BINARY must name the myco executable (see CMakeLists.txt)"
#endif

namespace myco {
namespace {

namespace asio = boost::asio;
using nlohmann::json;

constexpr const char* kToken = "client-test-token";

struct MycoRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Scratch(const std::string& name) {
  return ::testing::TempDir() + "myco_client_test_" + std::to_string(::getpid()) + "_" + name;
}

// `args` goes through /bin/sh; MYCO_API and MYCO_TOKEN are cleared unless `env` sets them.
MycoRun Myco(const std::string& args, const std::string& env = "") {
  static int calls = 0;
  const std::string out = Scratch("out" + std::to_string(calls));
  const std::string err = Scratch("err" + std::to_string(calls));
  ++calls;
  const std::string command = "env -u MYCO_API -u MYCO_TOKEN " + env + " '" + MYCO_BINARY + "' " +
                              args + " > '" + out + "' 2> '" + err + "'";
  const int status = std::system(command.c_str());
  MycoRun run;
  run.exit_code = (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  run.out = ReadFile(out);
  run.err = ReadFile(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  return run;
}

size_t LineCount(const std::string& text) {
  size_t lines = 0;
  for (const char c : text) lines += c == '\n';
  return lines;
}

void ExpectOneLineError(const MycoRun& run, int exit_code, const std::string& text) {
  EXPECT_EQ(run.exit_code, exit_code);
  EXPECT_EQ(LineCount(run.err), 1u) << run.err;
  EXPECT_EQ(run.err.rfind("myco: error: ", 0), 0u) << run.err;
  EXPECT_NE(run.err.find(text), std::string::npos) << run.err;
  EXPECT_TRUE(run.out.empty()) << run.out;
}

// A loopback port nothing listens on (bound, then released).
uint16_t ClosedPort() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const uint16_t port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

TEST(ClientCliTest, UnreachableApiIsOneLine) {
  const std::string api = "127.0.0.1:" + std::to_string(ClosedPort());
  for (const std::string command : {"status", "peers", "topology", "knowledge", "watch"}) {
    SCOPED_TRACE(command);
    ExpectOneLineError(Myco(command + " --api " + api), 1,
                       "cannot reach node API at " + api + ": connection refused");
  }
  // $MYCO_API is the default address.
  ExpectOneLineError(Myco("status", "MYCO_API=" + api), 1, "cannot reach node API at " + api);
}

TEST(ClientCliTest, BadArgumentsAreOneLineBeforeAnyRequest) {
  const std::string api = "--api 127.0.0.1:" + std::to_string(ClosedPort());
  ExpectOneLineError(Myco("publish threat_alert '{bad' " + api), 2, "JSON is not valid JSON");
  ExpectOneLineError(Myco("publish threat_alert '[1]' " + api), 2, "must be a JSON object");
  ExpectOneLineError(Myco("publish t '{}' --priority high " + api), 2, "--priority");
  ExpectOneLineError(Myco("publish t '{}' --priority 2 " + api), 2, "--priority");
  ExpectOneLineError(Myco("publish t '{}' --ttl 0 " + api), 2, "--ttl");
  ExpectOneLineError(Myco("publish t '{}' --to abc " + api), 2, "--to abc");
  ExpectOneLineError(Myco("share t 'nope' " + api), 2, "JSON is not valid JSON");
  ExpectOneLineError(Myco("knowledge --limit 0 " + api), 2, "--limit");
  ExpectOneLineError(Myco("topology --format svg " + api), 2, "--format");
  ExpectOneLineError(Myco("status --api nocolon"), 2, "--api must be HOST:PORT");
}

class ClientCliServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::array<uint8_t, 32> seed{};
    seed.fill(7);
    auto identity = Identity::FromSeed(seed);
    ASSERT_TRUE(identity.ok());
    auto shared = std::make_shared<const Identity>(std::move(identity).value());
    NodeInfo info;
    info.id = shared->id();
    info.name = "cli-node";
    host_ = std::make_unique<NodeHost>(Node(shared, info, NodeOptions{}, Rng(7)), SystemClock);
    ApiOptions options;
    options.listen = "127.0.0.1:0";
    options.token = kToken;
    server_ = std::make_unique<ApiServer>(io_, *host_, options);
    auto bound = server_->Start();
    ASSERT_TRUE(bound.ok()) << bound.error().message;
    address_ = bound.value();
    api_ = "--api " + address_;
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    std::promise<void> stopped;
    asio::post(io_, [&] {
      server_->Stop();
      stopped.set_value();
    });
    stopped.get_future().wait();
    guard_.reset();
    io_.stop();
    thread_.join();
    server_.reset();
    host_.reset();
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
  std::unique_ptr<NodeHost> host_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  std::string address_;
  std::string api_;
};

// GET /metrics from the server under test (plain synchronous Beast: loopback, test only).
std::string MetricsPage(const std::string& address) {
  namespace http = boost::beast::http;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  const size_t colon = address.rfind(':');
  socket.connect({asio::ip::make_address(address.substr(0, colon)),
                  static_cast<uint16_t>(std::stoi(address.substr(colon + 1)))});
  http::request<http::empty_body> request{http::verb::get, "/metrics", 11};
  request.set(http::field::host, address);
  http::write(socket, request);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  return response.body();
}

TEST_F(ClientCliServerTest, StatusTableAndJson) {
  const MycoRun table = Myco("status " + api_);
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("cli-node"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("0 active requests, 0 active offers"), std::string::npos);

  const MycoRun j = Myco("status --json " + api_);
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const json status = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(status.is_object()) << j.out;
  EXPECT_EQ(status["name"], "cli-node");
  EXPECT_EQ(status["active_connections"], 0);

  const MycoRun peers = Myco("peers " + api_);
  EXPECT_EQ(peers.exit_code, 0);
  EXPECT_EQ(peers.out, "no active peers\n");
  const MycoRun dot = Myco("topology --format dot " + api_);
  EXPECT_EQ(dot.exit_code, 0);
  EXPECT_EQ(dot.out.rfind("graph myco {", 0), 0u) << dot.out;
}

TEST_F(ClientCliServerTest, PublishAndShareUseTheTokenFromFlagEnvOrDataDir) {
  const MycoRun flag = Myco(
      "publish threat_alert '{\"level\":\"high\"}' --priority 1 --ttl 15 "
      "--token " +
      std::string(kToken) + " " + api_);
  EXPECT_EQ(flag.exit_code, 0) << flag.err;
  EXPECT_EQ(flag.out.rfind("published 1 packet: ", 0), 0u) << flag.out;

  const MycoRun env = Myco("publish t '{}' --json " + api_, std::string("MYCO_TOKEN=") + kToken);
  EXPECT_EQ(env.exit_code, 0) << env.err;
  EXPECT_EQ(json::parse(env.out, nullptr, false)["ids"].size(), 1u) << env.out;

  const std::string dir = Scratch("data");
  ASSERT_EQ(std::system(("mkdir -p '" + dir + "'").c_str()), 0);
  std::ofstream(dir + "/api.token") << kToken << "\n";
  const MycoRun shared =
      Myco("share optimization_insight '{\"tip\":\"Use SIMD\"}' --data-dir '" + dir + "' " + api_);
  EXPECT_EQ(shared.exit_code, 0) << shared.err;
  EXPECT_EQ(shared.out.rfind("shared discovery ", 0), 0u) << shared.out;
  std::remove((dir + "/api.token").c_str());

  const MycoRun found = Myco("knowledge --query simd " + api_);
  EXPECT_EQ(found.exit_code, 0) << found.err;
  EXPECT_NE(found.out.find("optimization_insight"), std::string::npos) << found.out;
  EXPECT_NE(found.out.find("Use SIMD"), std::string::npos) << found.out;
}

TEST_F(ClientCliServerTest, ServerErrorsAreOneLine) {
  ExpectOneLineError(Myco("publish t '{}' --token wrong " + api_), 1,
                     "node API: wrong API token (HTTP 401)");
  ExpectOneLineError(Myco("publish t '{}' --data-dir /nonexistent " + api_), 1, "(HTTP 401)");
  ExpectOneLineError(Myco("publish t '{}' --ttl 99 --token " + std::string(kToken) + " " + api_), 2,
                     "ttl: must be 1..64, got 99 (HTTP 400)");
  ExpectOneLineError(Myco("connect nohost --token " + std::string(kToken) + " " + api_), 2,
                     "addresses[0]:");
}

TEST_F(ClientCliServerTest, WatchEndsWithOneLineWhenTheNodeStops) {
  MycoRun run;
  std::thread watcher([&] { run = Myco("watch " + api_); });
  // Wait until the stream is open, then stop the server: the stream ends under the watcher.
  bool open = false;
  for (int attempt = 0; attempt < 500 && !open; ++attempt) {
    open = MetricsPage(address_).find("\nmyco_api_event_streams 1\n") != std::string::npos;
    if (!open) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(open);
  std::promise<void> stopped;
  asio::post(io_, [&] {
    server_->Stop();
    stopped.set_value();
  });
  stopped.get_future().wait();
  watcher.join();
  ExpectOneLineError(run, 1, "node API at " + address_ + " closed the event stream");
}

}  // namespace
}  // namespace myco
