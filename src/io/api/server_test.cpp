// The HTTP API end to end: an ApiServer on 127.0.0.1:0 over a NodeHost running a real Node (a
// manual clock), the io_context on its own thread, and real HTTP requests made with Beast.
#include "io/api/server.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <deque>
#include <future>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "core/node.hpp"
#include "core/propagation/propagation.hpp"
#include "core/topology/membership.hpp"
#include "io/api/handlers.hpp"
#include "io/api/metrics.hpp"
#include "io/api/sse.hpp"
#include "io/node_host.hpp"
#include "myco/identity.hpp"

namespace myco {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

constexpr const char* kToken = "test-token-0123456789";
constexpr int64_t kStartNs = 1'700'000'000'000'000'000;

std::shared_ptr<const Identity> IdentityFrom(uint8_t seed_byte) {
  std::array<uint8_t, 32> seed{};
  seed.fill(seed_byte);
  auto identity = Identity::FromSeed(seed);
  EXPECT_TRUE(identity.ok());
  return std::make_shared<const Identity>(std::move(identity).value());
}

Node MakeNode(uint8_t seed_byte, const std::string& name) {
  auto identity = IdentityFrom(seed_byte);
  NodeInfo info;
  info.id = identity->id();
  info.name = name;
  info.listen_addresses = {name};
  return Node(identity, info, NodeOptions{}, Rng(seed_byte));
}

struct HttpResult {
  unsigned status = 0;
  std::string body;
  std::string content_type;
  std::string allow;
  std::string error;  // transport failure, if any
  json Json() const { return json::parse(body, nullptr, false); }
};

HttpResult Http(uint16_t port, http::verb method, const std::string& target,
                const std::string& body = "", const std::string& authorization = "",
                const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(5));
  HttpResult result;
  http::request<http::string_body> request{method, target, 11};
  request.set(http::field::host, "127.0.0.1");
  if (!authorization.empty()) request.set(http::field::authorization, authorization);
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty() || method == http::verb::post) {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
  }
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  stream.async_connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), [&](beast::error_code ec) {
        if (ec) {
          result.error = ec.message();
          return;
        }
        http::async_write(stream, request, [&](beast::error_code wec, size_t) {
          // A server that refuses early (413) may close before reading it all.
          (void)wec;
          http::async_read(stream, buffer, parser, [&](beast::error_code rec, size_t) {
            if (rec) result.error = rec.message();
          });
        });
      });
  io.run();
  if (parser.is_header_done()) {
    const auto& message = parser.get();
    result.status = message.result_int();
    result.body = message.body();
    result.content_type = std::string(message[http::field::content_type]);
    result.allow = std::string(message[http::field::allow]);
  }
  return result;
}

HttpResult Get(uint16_t port, const std::string& target) {
  return Http(port, http::verb::get, target);
}

HttpResult Post(uint16_t port, const std::string& target, const std::string& body,
                const std::string& token = kToken) {
  return Http(port, http::verb::post, target, body, token.empty() ? "" : "Bearer " + token);
}

// Carries messages between the host's node and a second in-process node "b", instantly, so the
// host sees a real neighbour (and real deliveries) without sockets.
class LoopbackDriver final : public LinkDriver {
 public:
  void Send(const NodeId&, const Message& message, bool report) override {
    to_b.push_back({message, report});
  }
  void Dial(const std::string& address, const NodeId&) override { dials.push_back(address); }
  void Close(const NodeId&) override {}

  std::deque<std::pair<Message, bool>> to_b;
  std::deque<std::string> dials;
};

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_ = std::make_unique<NodeHost>(MakeNode(1, "api-node"),
                                       [this] { return TimePoint{now_ns_.load()}; });
    host_->Tick();
    ApiOptions options;
    options.listen = "127.0.0.1:0";
    options.token = kToken;
    options.extra_metrics = [](std::string& out) {
      out += "# HELP myco_test_extra An extra line.\n# TYPE myco_test_extra gauge\n";
      out += "myco_test_extra 42\n";
    };
    server_ = std::make_unique<ApiServer>(io_, *host_, options);
    auto bound = server_->Start();
    ASSERT_TRUE(bound.ok()) << bound.error().message;
    const std::string& text = bound.value();
    ASSERT_EQ(text.rfind("127.0.0.1:", 0), 0u) << text;
    port_ = static_cast<uint16_t>(std::stoi(text.substr(text.rfind(':') + 1)));
    ASSERT_NE(port_, 0);
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    OnLoop([this] { server_->Stop(); });
    guard_.reset();
    io_.stop();
    thread_.join();
    server_.reset();
    host_.reset();
  }

  // Runs `f` on the event-loop thread (where NodeHost lives) and waits for it.
  template <typename F>
  auto OnLoop(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto future = task.get_future();
    asio::post(io_, [&task] { task(); });
    return future.get();
  }

  // Joins node "b" to the host over the loopback driver; returns once the link is active.
  void ConnectPeerB() {
    OnLoop([this] {
      b_ = std::make_unique<Node>(MakeNode(2, "b"));
      host_->SetLinkDriver(&driver_);
      b_->Handle(Now(), Tick{});
      b_->Handle(Now(), Command{JoinCommand{{"api-node"}}});
      Pump();
    });
    const bool active = OnLoop([this] { return host_->node().membership().ActiveCount() == 1; });
    ASSERT_TRUE(active);
  }

  // On the loop: b publishes a broadcast that reaches the host.
  PacketId PublishFromB(const std::string& type, const std::string& payload) {
    return OnLoop([&] {
      PublishRequest request;
      request.information_type = type;
      request.payload = payload;
      auto ids = b_->Publish(Now(), request);
      EXPECT_TRUE(ids.ok()) << ids.error().message;
      Pump();
      return ids.value().front();
    });
  }

  TimePoint Now() const { return TimePoint{now_ns_.load()}; }

  void Pump() {
    const NodeId a = host_->node().id();
    const NodeId b = b_->id();
    for (int guard = 0; guard < 100000; ++guard) {
      bool progress = false;
      while (!driver_.to_b.empty()) {
        auto [message, report] = std::move(driver_.to_b.front());
        driver_.to_b.pop_front();
        b_->Handle(Now(), Received{a, std::move(message)});
        ++a_to_b_;
        if (report) host_->Feed(Written{b, a_to_b_});
        progress = true;
      }
      while (!driver_.dials.empty()) {
        const std::string address = driver_.dials.front();
        driver_.dials.pop_front();
        if (address == "b" && !linked_) {
          linked_ = true;
          host_->Feed(LinkUp{b, "b", true});
          b_->Handle(Now(), LinkUp{a, "ephemeral", false});
        } else {
          host_->Feed(DialFailed{address, "unreachable"});
        }
        progress = true;
      }
      std::vector<Effect> effects = std::move(b_->effects());
      b_->ClearEffects();
      for (Effect& effect : effects) {
        progress = true;
        if (auto* send = std::get_if<Send>(&effect)) {
          host_->Feed(Received{b, std::move(send->message)});
          ++b_to_a_;
          if (send->report_written) b_->Handle(Now(), Written{a, b_to_a_});
        } else if (auto* dial = std::get_if<Dial>(&effect)) {
          if (dial->address == "api-node" && !linked_) {
            linked_ = true;
            b_->Handle(Now(), LinkUp{a, "api-node", true});
            host_->Feed(LinkUp{b, "ephemeral", false});
          } else {
            b_->Handle(Now(), DialFailed{dial->address, "unreachable"});
          }
        }
      }
      if (!progress) return;
    }
    ADD_FAILURE() << "message storm";
  }

  std::atomic<int64_t> now_ns_{kStartNs};
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
  std::unique_ptr<NodeHost> host_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;
  LoopbackDriver driver_;
  std::unique_ptr<Node> b_;
  bool linked_ = false;
  uint64_t a_to_b_ = 0;
  uint64_t b_to_a_ = 0;
};

// A raw event-stream client: sends GET /v1/events and reads until a predicate holds.
class EventClient {
 public:
  explicit EventClient(uint16_t port, int receive_buffer = 0) : socket_(io_) {
    socket_.open(tcp::v4());
    if (receive_buffer > 0) {
      socket_.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
    }
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    const std::string request = "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n";
    asio::write(socket_, asio::buffer(request));
  }
  // Reads until `text` appears, EOF, or 10 s pass. Returns whether `text` was seen.
  bool ReadUntil(const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (received_.find(text) == std::string::npos) {
      if (eof_ || std::chrono::steady_clock::now() > deadline) return false;
      char chunk[65536];
      beast::error_code ec;
      // Poll with a short timeout so a broken server cannot hang the test.
      socket_.non_blocking(true);
      const size_t n = socket_.read_some(asio::buffer(chunk), ec);
      if (ec == asio::error::would_block) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
      if (ec) {
        eof_ = true;
        continue;
      }
      received_.append(chunk, n);
    }
    return true;
  }
  bool ReadToEof() {
    ReadUntil(std::string(1, '\0'));  // never sent: reads until EOF or the deadline
    return eof_;
  }
  const std::string& received() const { return received_; }
  // The JSON of every "data:" line received.
  std::vector<json> Events() const {
    std::vector<json> events;
    std::istringstream lines(received_);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("data: ", 0) == 0) events.push_back(json::parse(line.substr(6)));
    }
    return events;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  std::string received_;
  bool eof_ = false;
};

TEST_F(ApiServerTest, HealthAndStatus) {
  const HttpResult health = Get(port_, "/v1/health");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(health.Json(), json({{"status", "ok"}}));

  now_ns_ += 2'500'000'000;
  const HttpResult status = Get(port_, "/v1/status");
  ASSERT_EQ(status.status, 200u) << status.body;
  EXPECT_EQ(status.content_type, "application/json");
  const json s = status.Json();
  const std::string id = OnLoop([this] { return host_->node().id().Hex(); });
  EXPECT_EQ(s["local_node_id"], id);
  EXPECT_EQ(s["name"], "api-node");
  EXPECT_EQ(s["network_size_estimate"], 1);
  EXPECT_EQ(s["active_connections"], 0);
  EXPECT_EQ(s["passive_peers"], 0);
  EXPECT_EQ(s["active_requests"], 0);
  EXPECT_EQ(s["active_offers"], 0);
  EXPECT_DOUBLE_EQ(s["uptime_s"].get<double>(), 2.5);
  EXPECT_EQ(s["counters"]["published"], 0);
  EXPECT_TRUE(s["counters"].contains("sends_no_driver"));
}

TEST_F(ApiServerTest, MutationsNeedTheToken) {
  const std::string body = R"({"type":"threat_alert"})";
  for (const std::string& authorization :
       {std::string(), std::string("Bearer wrong"), std::string("Bearer ") + kToken + "x",
        std::string("Basic ") + kToken, std::string(kToken)}) {
    SCOPED_TRACE(authorization);
    const HttpResult r = Http(port_, http::verb::post, "/v1/messages", body, authorization);
    EXPECT_EQ(r.status, 401u);
    EXPECT_TRUE(r.Json()["error"].is_string()) << r.body;
  }
  EXPECT_EQ(OnLoop([this] { return host_->counters().published; }), 0u);
  // The scheme is case-insensitive, as RFC 7235 says.
  const HttpResult ok =
      Http(port_, http::verb::post, "/v1/messages", body, std::string("bearer ") + kToken);
  EXPECT_EQ(ok.status, 202u) << ok.body;
}

TEST_F(ApiServerTest, PublishReturnsIds) {
  now_ns_ += 1000;
  const HttpResult r = Post(port_, "/v1/messages",
                            R"({"type":"threat_alert","payload":{"level":"high"},"priority":1,
                                "ttl":15})");
  ASSERT_EQ(r.status, 202u) << r.body;
  const json j = r.Json();
  ASSERT_EQ(j["ids"].size(), 1u);
  const std::string short_id = OnLoop([this] { return host_->node().id().Short(); });
  EXPECT_EQ(j["ids"][0].get<std::string>().rfind(short_id + ":", 0), 0u) << j;
  EXPECT_EQ(j["published_at_ns"], now_ns_.load());
  EXPECT_EQ(OnLoop([this] { return host_->counters().published; }), 1u);
}

TEST_F(ApiServerTest, BadRequestsNameTheField) {
  struct Case {
    std::string target;
    std::string body;
    std::string error_prefix;
  };
  const std::vector<Case> cases = {
      {"/v1/messages", "{not json", "body: not valid JSON"},
      {"/v1/messages", R"({"type":"t","priority":2})", "priority: must be a number in [0,1]"},
      {"/v1/messages", R"({"type":"t","ttl":65})", "ttl: must be 1..64"},  // the core's bound
      {"/v1/messages", R"({"type":"t","destination_nodes":["zz"]})", "destination_nodes[0]:"},
      {"/v1/knowledge", R"({"data":{}})", "type: required"},
      {"/v1/connect", R"({"addresses":["nohost"]})", "addresses[0]:"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target + " " + c.body);
    const HttpResult r = Post(port_, c.target, c.body);
    EXPECT_EQ(r.status, 400u);
    const json j = r.Json();
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["error"].get<std::string>().rfind(c.error_prefix, 0), 0u) << r.body;
  }
  const HttpResult q = Get(port_, "/v1/knowledge?limit=0");
  EXPECT_EQ(q.status, 400u);
  EXPECT_EQ(q.Json()["error"], "limit: must be an integer in [1,1000]");
}

TEST_F(ApiServerTest, NotFoundMethodNotAllowedAndTooLarge) {
  const HttpResult missing = Get(port_, "/v1/nothing");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_TRUE(missing.Json()["error"].is_string());

  const HttpResult wrong = Http(port_, http::verb::delete_, "/v1/status");
  EXPECT_EQ(wrong.status, 405u);
  EXPECT_EQ(wrong.allow, "GET");
  EXPECT_TRUE(wrong.Json()["error"].is_string());
  const HttpResult get_messages = Get(port_, "/v1/messages");
  EXPECT_EQ(get_messages.status, 405u);
  EXPECT_EQ(get_messages.allow, "POST");

  const std::string big = R"({"type":"t","payload":{"x":")" + std::string(2 << 20, 'a') + "\"}}";
  const HttpResult large = Post(port_, "/v1/messages", big);
  EXPECT_EQ(large.status, 413u) << large.error;
  EXPECT_TRUE(large.Json()["error"].is_string());

  const HttpResult header = Http(port_, http::verb::get, "/v1/status", "", "",
                                 {{"X-Filler", std::string(32 * 1024, 'h')}});
  EXPECT_EQ(header.status, 431u) << header.error;
}

TEST_F(ApiServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  beast::flat_buffer buffer;
  for (int i = 0; i < 3; ++i) {
    http::request<http::empty_body> request{http::verb::get, "/v1/health", 11};
    request.set(http::field::host, "x");
    http::write(socket, request);
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    EXPECT_EQ(response.result_int(), 200u);
    EXPECT_TRUE(response.keep_alive());
  }
}

TEST_F(ApiServerTest, ShareThenQueryKnowledge) {
  const HttpResult shared =
      Post(port_, "/v1/knowledge", R"({"type":"optimization_insight","data":{"tip":"Use SIMD"}})");
  ASSERT_EQ(shared.status, 202u) << shared.body;
  const std::string id = shared.Json()["id"];
  Post(port_, "/v1/knowledge", R"({"type":"other","data":{"tip":"sleep more"}})");

  const HttpResult all = Get(port_, "/v1/knowledge");
  ASSERT_EQ(all.status, 200u);
  EXPECT_EQ(all.Json()["count"], 2);

  const HttpResult found = Get(port_, "/v1/knowledge?type=optimization_insight&q=simd&limit=5");
  ASSERT_EQ(found.status, 200u) << found.body;
  const json j = found.Json();
  ASSERT_EQ(j["count"], 1);
  EXPECT_EQ(j["entries"][0]["id"], id);
  EXPECT_EQ(j["entries"][0]["type"], "optimization_insight");
  EXPECT_EQ(j["entries"][0]["data"]["tip"], "Use SIMD");

  const HttpResult none = Get(port_, "/v1/knowledge?q=no%20such%20text");
  EXPECT_EQ(none.Json()["count"], 0);
}

TEST_F(ApiServerTest, ConnectDialsTheAddresses) {
  const HttpResult r = Post(port_, "/v1/connect", R"({"addresses":["127.0.0.1:7400"]})");
  ASSERT_EQ(r.status, 202u) << r.body;
  EXPECT_EQ(r.Json()["dialing"], json::array({"127.0.0.1:7400"}));
  EXPECT_GE(OnLoop([this] { return host_->counters().dials; }), 1u);
}

TEST_F(ApiServerTest, PeersAndTopologyShowTheNeighbour) {
  ConnectPeerB();
  const HttpResult peers = Get(port_, "/v1/peers");
  ASSERT_EQ(peers.status, 200u);
  const json p = peers.Json();
  ASSERT_EQ(p["count"], 1) << peers.body;
  const std::string b_id = OnLoop([this] { return b_->id().Hex(); });
  EXPECT_EQ(p["peers"][0]["id"], b_id);
  EXPECT_EQ(p["peers"][0]["name"], "b");
  EXPECT_TRUE(p["peers"][0]["direction"] == "inbound" || p["peers"][0]["direction"] == "outbound");
  EXPECT_TRUE(p["peers"][0]["strength"].is_string());
  EXPECT_TRUE(p["peers"][0]["health"].is_number());

  const HttpResult topology = Get(port_, "/v1/topology");
  ASSERT_EQ(topology.status, 200u);
  const json t = topology.Json();
  EXPECT_GE(t["nodes"].size(), 1u) << topology.body;
  const HttpResult dot = Get(port_, "/v1/topology?format=dot");
  ASSERT_EQ(dot.status, 200u);
  EXPECT_EQ(dot.body.rfind("graph myco {", 0), 0u) << dot.body;
  EXPECT_NE(dot.body.find("api-node"), std::string::npos);
  EXPECT_EQ(dot.body.back(), '\n');
  // Every edge of the JSON form appears in the DOT form.
  for (const json& edge : t["edges"]) {
    EXPECT_NE(dot.body.find("\"" + edge["a"].get<std::string>() + "\" -- \"" +
                            edge["b"].get<std::string>() + "\""),
              std::string::npos);
  }
  EXPECT_EQ(Get(port_, "/v1/topology?format=svg").status, 400u);
}

TEST_F(ApiServerTest, EventsStreamDeliveriesAndPeerChanges) {
  EventClient events(port_);
  ASSERT_TRUE(events.ReadUntil(": myco event stream\n\n")) << events.received();
  EXPECT_EQ(events.received().rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(events.received().find("Content-Type: text/event-stream"), std::string::npos);

  ConnectPeerB();
  now_ns_ += 3'000'000;  // the packet is delivered 3 ms after b created it
  const int64_t created_ns = now_ns_.load();
  const PacketId id = OnLoop([this] {
    PublishRequest request;
    request.information_type = "threat_alert";
    request.payload = R"({"level":"high"})";
    auto ids = b_->Publish(Now(), request);
    EXPECT_TRUE(ids.ok());
    now_ns_ += 3'000'000;
    Pump();
    return ids.value().front();
  });
  ASSERT_TRUE(events.ReadUntil("\"kind\":\"delivery\"")) << events.received();
  ASSERT_TRUE(events.ReadUntil("\n\n"));
  const std::vector<json> list = events.Events();
  const std::string b_id = OnLoop([this] { return b_->id().Hex(); });
  bool saw_up = false;
  bool saw_delivery = false;
  for (const json& e : list) {
    if (e["kind"] == "peer_up") {
      saw_up = true;
      EXPECT_EQ(e["peer"], b_id);
    }
    if (e["kind"] == "delivery") {
      saw_delivery = true;
      EXPECT_EQ(e["id"], id.ToString());
      EXPECT_EQ(e["type"], "threat_alert");
      EXPECT_EQ(e["origin"], b_id);
      EXPECT_EQ(e["hops"], 1);
      EXPECT_EQ(e["payload"]["level"], "high");
      EXPECT_EQ(e["at_ns"], created_ns + 3'000'000);
    }
  }
  EXPECT_TRUE(saw_up);
  EXPECT_TRUE(saw_delivery);

  // The delivery's latency (3 ms) is in the histogram.
  const HttpResult metrics = Get(port_, "/metrics");
  EXPECT_NE(metrics.body.find("myco_delivery_latency_seconds_bucket{le=\"0.0025\"} 0\n"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("myco_delivery_latency_seconds_bucket{le=\"0.005\"} 1\n"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("myco_messages_delivered_total 1\n"), std::string::npos);
  EXPECT_NE(metrics.body.find("myco_api_event_streams 1\n"), std::string::npos);
}

// The value of an unlabelled sample on a /metrics page, or -1.
double MetricValue(const std::string& page, const std::string& name) {
  const size_t at = page.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(page.substr(at + name.size() + 2));
}

TEST_F(ApiServerTest, SlowEventClientIsCutOffWithAnOverflowEvent) {
  // A client that does not read, with a tiny receive buffer: the kernel buffers fill, then the
  // server's per-client buffer, and the client is cut off with a final overflow event.
  EventClient slow(port_, 4096);
  ASSERT_TRUE(slow.ReadUntil(": myco event stream\n\n"));
  ConnectPeerB();
  const std::string payload = R"({"blob":")" + std::string(16 * 1024, 'x') + "\"}";
  double overflows = 0;
  int published = 0;
  // ~250 events fit the kernel buffers and kEventBufferMax the server's; 8000 is far beyond.
  while (published < 8000 && overflows == 0) {
    PublishFromB("bulk", payload);
    if (++published % 100 == 0)
      overflows = MetricValue(Get(port_, "/metrics").body, "myco_api_event_overflows_total");
  }
  ASSERT_EQ(overflows, 1) << "after " << published << " events";
  EXPECT_GT(published, static_cast<int>(api::kEventBufferMax));
  // Reading now drains what was written before the cut, then the overflow event, then EOF.
  EXPECT_TRUE(slow.ReadToEof());
  const std::vector<json> events = slow.Events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["kind"], "overflow");
  EXPECT_GT(events.back()["dropped"].get<uint64_t>(), 0u);
  for (size_t i = 0; i + 1 < events.size(); ++i) EXPECT_NE(events[i]["kind"], "overflow");
  // The server is still fine, and the stream is gone.
  const std::string page = Get(port_, "/metrics").body;
  EXPECT_EQ(MetricValue(page, "myco_api_event_streams"), 0);
  EXPECT_EQ(Get(port_, "/v1/health").status, 200u);
}

TEST_F(ApiServerTest, ConnectionsAboveTheBoundGet503) {
  // 64 idle connections fill the bound (the server accepts them in order).
  asio::io_context io;
  std::vector<std::unique_ptr<tcp::socket>> idle;
  for (int i = 0; i < 64; ++i) {
    idle.push_back(std::make_unique<tcp::socket>(io));
    idle.back()->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  }
  // The next one is answered 503 and closed; it reads without sending, so no request of its own
  // is left unread when the server closes (which could turn the answer into a reset).
  tcp::socket extra(io);
  extra.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  std::string answer;
  beast::error_code ec;
  char chunk[1024];
  while (!ec) {
    const size_t n = extra.read_some(asio::buffer(chunk), ec);
    answer.append(chunk, n);
  }
  EXPECT_EQ(answer.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("too many connections"), std::string::npos);
  // Once the idle clients leave, the server serves again.
  idle.clear();
  HttpResult health;
  for (int attempt = 0; attempt < 200 && health.status != 200; ++attempt) {
    health = Get(port_, "/v1/health");
    if (health.status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(health.status, 200u);
  EXPECT_GE(MetricValue(Get(port_, "/metrics").body, "myco_api_connections_rejected_total"), 1);
}

TEST_F(ApiServerTest, MetricsAreValidPrometheusText) {
  Post(port_, "/v1/messages", R"({"type":"threat_alert"})");
  const HttpResult r = Get(port_, "/metrics");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type.rfind("text/plain; version=0.0.4", 0), 0u);
  const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$)");
  const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
  std::istringstream lines(r.body);
  std::string line;
  size_t samples = 0;
  while (std::getline(lines, line)) {
    SCOPED_TRACE(line);
    const bool ok = std::regex_match(line, sample) || std::regex_match(line, comment);
    EXPECT_TRUE(ok);
    samples += line[0] != '#';
  }
  EXPECT_GT(samples, 40u);
  EXPECT_NE(r.body.find("myco_messages_published_total 1\n"), std::string::npos);
  EXPECT_NE(r.body.find("myco_peers 0\n"), std::string::npos);
  EXPECT_NE(r.body.find("myco_propagation_dropped_total{reason=\"invalid_signature\"} 0\n"),
            std::string::npos);
  EXPECT_NE(r.body.find("myco_test_extra 42\n"), std::string::npos);
}

TEST(ApiServerStartTest, BadListenAddressIsAnError) {
  asio::io_context io;
  NodeHost host(MakeNode(3, "n"), [] { return TimePoint{kStartNs}; });
  for (const char* listen :
       {"127.0.0.1", "127.0.0.1:99999", "127.0.0.1:x", "no.such.host.invalid:1"}) {
    SCOPED_TRACE(listen);
    ApiOptions options;
    options.listen = listen;
    ApiServer server(io, host, options);
    auto r = server.Start();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message.rfind(std::string("cannot listen on ") + listen, 0), 0u)
        << r.error().message;
  }
}

TEST(ApiServerStartTest, PortInUseIsAnError) {
  asio::io_context io;
  NodeHost host(MakeNode(3, "n"), [] { return TimePoint{kStartNs}; });
  ApiOptions options;
  options.listen = "127.0.0.1:0";
  ApiServer first(io, host, options);
  auto bound = first.Start();
  ASSERT_TRUE(bound.ok());
  options.listen = bound.value();
  ApiServer second(io, host, options);
  auto r = second.Start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("in use"), std::string::npos) << r.error().message;
}

TEST(ApiTokenTest, ConstantTimeCompareSemantics) {
  EXPECT_TRUE(api::TokenMatches("Bearer abc", "abc"));
  EXPECT_TRUE(api::TokenMatches("BEARER abc ", "abc"));
  EXPECT_FALSE(api::TokenMatches("Bearer abd", "abc"));
  EXPECT_FALSE(api::TokenMatches("Bearer ab", "abc"));
  EXPECT_FALSE(api::TokenMatches("Bearer ", ""));  // no token configured: nothing matches
  EXPECT_FALSE(api::TokenMatches("abc", "abc"));
}

TEST(ApiEventBufferTest, OverflowReplacesWhatWaitsByTheFinalEvent) {
  api::EventBuffer buffer(3);
  EXPECT_TRUE(buffer.Push("a"));
  EXPECT_TRUE(buffer.Push("b"));
  EXPECT_TRUE(buffer.Push("c"));
  EXPECT_FALSE(buffer.Push("d"));
  buffer.Overflow("overflow");
  EXPECT_TRUE(buffer.overflowed());
  EXPECT_EQ(buffer.dropped(), 3u);
  ASSERT_EQ(buffer.size(), 1u);
  EXPECT_EQ(buffer.front(), "overflow");
  EXPECT_FALSE(buffer.Push("e"));
}

TEST(ApiLatencyHistogramTest, BucketsAreCumulative) {
  api::LatencyHistogram h;
  h.Observe(0.0005);
  h.Observe(0.003);
  h.Observe(100);
  h.Observe(-1);  // clock skew: counted as 0
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.clock_skewed(), 1u);
  EXPECT_EQ(h.CumulativeCount(0), 2u);  // <= 1 ms
  EXPECT_EQ(h.CumulativeCount(2), 3u);  // <= 5 ms
  EXPECT_EQ(h.CumulativeCount(api::LatencyHistogram::kBoundsSeconds.size()), 4u);
}

}  // namespace
}  // namespace myco
