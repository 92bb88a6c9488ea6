// Transports on loopback in one io_context, driven by hand (no core): the test plays the core,
// sending Hellos and messages and looking at the inputs each transport feeds.
#include "io/transport.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/config.hpp"

namespace myco {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::shared_ptr<const Identity> MakeIdentity(uint8_t seed_byte) {
  std::array<uint8_t, 32> seed{};
  seed.fill(seed_byte);
  Result<Identity> identity = Identity::FromSeed(seed);
  EXPECT_TRUE(identity.ok());
  return std::make_shared<const Identity>(std::move(identity).value());
}

struct Peer {
  std::shared_ptr<const Identity> identity;
  std::vector<Input> inputs;
  std::vector<std::string> log;
  std::unique_ptr<Transport> transport;
  std::string address;

  const NodeId& id() const { return identity->id(); }

  template <typename T>
  std::vector<T> All() const {
    std::vector<T> out;
    for (const Input& in : inputs) {
      if (const T* t = std::get_if<T>(&in)) out.push_back(*t);
    }
    return out;
  }
  template <typename T>
  size_t Count() const {
    return All<T>().size();
  }
  std::vector<Message> ReceivedMessages() const {
    std::vector<Message> out;
    for (const Received& r : All<Received>()) out.push_back(r.message);
    return out;
  }
  bool Logged(const std::string& needle) const {
    for (const std::string& line : log) {
      if (line.find(needle) != std::string::npos) return true;
    }
    return false;
  }
  uint64_t Refused(const std::string& reason) const {
    const auto& refused = transport->counters().refused;
    auto it = refused.find(reason);
    return it == refused.end() ? 0 : it->second;
  }
  Message MakeHello() const {
    auto info = std::make_shared<NodeInfo>();
    info->id = id();
    info->name = "peer";
    info->listen_addresses = {address};
    return Hello{info, HelloIntent::kNeighbor, 0};
  }
};

class TransportTest : public ::testing::Test {
 protected:
  std::unique_ptr<Peer> Make(uint8_t seed, TransportOptions options = {}) {
    auto peer = std::make_unique<Peer>();
    peer->identity = MakeIdentity(seed);
    Peer* raw = peer.get();
    options.listen = "127.0.0.1:0";
    if (options.handshake_timeout == Seconds(5)) options.handshake_timeout = Seconds(3);
    options.close_timeout = Milliseconds(300);
    options.log = [raw](const std::string& line) { raw->log.push_back(line); };
    peer->transport = std::make_unique<Transport>(
        io_, peer->identity, options, [raw](Input in) { raw->inputs.push_back(std::move(in)); });
    Result<std::string> bound = peer->transport->Start();
    EXPECT_TRUE(bound.ok()) << bound.error().message;
    peer->address = bound.ok() ? *bound : "";
    return peer;
  }

  // Runs the loop until `done` holds or 5 s pass (a generous bound, not a timing assertion).
  bool RunUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.restart();
      io_.run_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  void RunFor(std::chrono::milliseconds d) {
    io_.restart();
    io_.run_for(d);
  }

  // Dials b from a and waits until both ends have LinkUp, then exchanges Hellos.
  void Link(Peer& a, Peer& b) {
    const size_t a_ups = a.Count<LinkUp>();
    const size_t b_ups = b.Count<LinkUp>();
    a.transport->Dial(b.address, b.id());
    ASSERT_TRUE(RunUntil([&] { return a.Count<LinkUp>() > a_ups && b.Count<LinkUp>() > b_ups; }));
    const size_t a_in = a.Count<Received>();
    const size_t b_in = b.Count<Received>();
    a.transport->Send(b.id(), a.MakeHello(), false);
    b.transport->Send(a.id(), b.MakeHello(), false);
    ASSERT_TRUE(RunUntil([&] { return a.Count<Received>() > a_in && b.Count<Received>() > b_in; }));
  }

  asio::io_context io_;
};

TEST_F(TransportTest, LinkUpHelloAndMessagesWithWrittenReports) {
  auto a = Make(1);
  auto b = Make(2);
  Link(*a, *b);
  EXPECT_EQ(b->All<LinkUp>()[0].peer, a->id());
  EXPECT_FALSE(b->All<LinkUp>()[0].outbound);
  EXPECT_EQ(a->All<LinkUp>()[0].peer, b->id());
  EXPECT_TRUE(a->All<LinkUp>()[0].outbound);
  EXPECT_EQ(a->All<LinkUp>()[0].address, b->address);

  // Several sends in one turn of the loop go out as one batch; the report counts them all.
  for (uint64_t seq = 1; seq <= 5; ++seq) a->transport->Send(b->id(), Ping{seq, -1}, seq == 5);
  ASSERT_TRUE(RunUntil([&] { return b->Count<Received>() == 6 && a->Count<Written>() > 0; }));
  const std::vector<Message> got = b->ReceivedMessages();
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    ASSERT_TRUE(std::holds_alternative<Ping>(got[seq])) << MessageName(got[seq]);
    EXPECT_EQ(std::get<Ping>(got[seq]).seq, seq);
  }
  EXPECT_EQ(a->All<Written>().back().messages_total, 6u);  // the Hello and 5 pings
  EXPECT_EQ(a->All<Written>().back().peer, b->id());
  EXPECT_GE(a->transport->counters().frames_out, 6u);
  EXPECT_GE(b->transport->counters().frames_in, 6u);

  std::string metrics;
  a->transport->AppendMetrics(metrics);
  EXPECT_NE(metrics.find("myco_frames_out_total 6"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("myco_connections{state=\"linked\"} 1"), std::string::npos);
}

TEST_F(TransportTest, CloseFlushesThenThePeerSeesLinkDown) {
  auto a = Make(1);
  auto b = Make(2);
  Link(*a, *b);
  a->transport->Send(b->id(), Disconnect{DisconnectReason::kShutdown, "bye", {}}, false);
  a->transport->Close(b->id());
  ASSERT_TRUE(RunUntil([&] { return b->Count<LinkDown>() == 1; }));
  const std::vector<Message> got = b->ReceivedMessages();
  ASSERT_TRUE(std::holds_alternative<Disconnect>(got.back()));
  EXPECT_EQ(std::get<Disconnect>(got.back()).reason, DisconnectReason::kShutdown);
  EXPECT_EQ(a->Count<LinkDown>(), 0u);  // the core asked for the close: no LinkDown
  ASSERT_TRUE(RunUntil([&] { return a->transport->connection_count() == 0; }));
}

TEST_F(TransportTest, DialExpectingAnotherIdFails) {
  auto a = Make(1);
  auto b = Make(2);
  a->transport->Dial(b->address, MakeIdentity(3)->id());
  ASSERT_TRUE(RunUntil([&] { return a->Count<DialFailed>() == 1; }));
  EXPECT_EQ(a->All<DialFailed>()[0].why, "unexpected peer id");
  EXPECT_EQ(a->All<DialFailed>()[0].address, b->address);
  EXPECT_EQ(a->Refused("unexpected_id"), 1u);
  RunFor(std::chrono::milliseconds(50));
  EXPECT_EQ(a->Count<LinkUp>() + b->Count<LinkUp>(), 0u);
}

TEST_F(TransportTest, WrongNetworkSecretIsRefusedAndBothSidesSaySo) {
  TransportOptions guarded;
  guarded.network_secret = "the fleet secret, 16+ chars";
  auto a = Make(1, guarded);
  TransportOptions stranger;
  stranger.network_secret = "another secret, also long";
  auto b = Make(2, stranger);
  auto c = Make(3);  // no secret at all

  b->transport->Dial(a->address, NodeId{});
  c->transport->Dial(a->address, NodeId{});
  ASSERT_TRUE(RunUntil([&] { return b->Count<DialFailed>() == 1 && c->Count<DialFailed>() == 1; }));
  EXPECT_EQ(a->Refused("network_secret"), 2u);
  EXPECT_TRUE(a->Logged("network secret mismatch")) << a->log.size();
  // c has no secret, so it does not check a; it hears a's refusal and says who refused it.
  EXPECT_TRUE(c->Logged("refused by " + a->address)) << (c->log.empty() ? "" : c->log[0]);
  EXPECT_NE(c->All<DialFailed>()[0].why.find("network secret mismatch"), std::string::npos);
  // b refuses a as well (both check): each logs its own refusal.
  EXPECT_TRUE(b->Logged("network secret mismatch"));
  RunFor(std::chrono::milliseconds(50));
  EXPECT_EQ(a->Count<LinkUp>() + b->Count<LinkUp>() + c->Count<LinkUp>(), 0u);

  // The right secret is admitted.
  auto d = Make(4, guarded);
  Link(*d, *a);
  EXPECT_TRUE(a->transport->linked(d->id()));
}

TEST_F(TransportTest, AllowlistRefusesAStranger) {
  auto friendly = MakeIdentity(2);
  TransportOptions options;
  options.allowed_nodes = {friendly->id()};
  auto a = Make(1, options);
  auto b = Make(2);
  auto stranger = Make(3);
  stranger->transport->Dial(a->address, a->id());
  ASSERT_TRUE(RunUntil([&] { return stranger->Count<DialFailed>() == 1; }));
  EXPECT_EQ(a->Refused("allowlist"), 1u);
  EXPECT_TRUE(a->Logged("not in allowed_nodes"));
  EXPECT_TRUE(stranger->Logged("refused by " + a->address));
  Link(*b, *a);
  EXPECT_TRUE(a->transport->linked(b->id()));
  EXPECT_FALSE(a->transport->linked(stranger->id()));
}

TEST_F(TransportTest, HelloClaimingAnotherIdClosesTheLink) {
  auto a = Make(1);
  TransportOptions liar;
  liar.test_hello_id = MakeIdentity(9)->id();
  auto b = Make(2, liar);
  b->transport->Dial(a->address, a->id());
  ASSERT_TRUE(RunUntil([&] { return b->Count<LinkUp>() == 1 && a->Count<LinkUp>() == 1; }));
  b->transport->Send(a->id(), b->MakeHello(), false);
  ASSERT_TRUE(RunUntil([&] { return a->Count<LinkDown>() == 1 && b->Count<LinkDown>() == 1; }));
  EXPECT_EQ(a->All<LinkDown>()[0].why, "hello id mismatch");
  EXPECT_EQ(a->Count<Received>(), 0u);  // the lying Hello never reaches the core
  EXPECT_EQ(a->Refused("hello_id_mismatch"), 1u);
  EXPECT_TRUE(a->Logged("its Hello claims id " + liar.test_hello_id.Short()));
}

TEST_F(TransportTest, OversizeFrameClosesOnlyThatLink) {
  TransportOptions small;
  small.frame_bytes_max = 2048;
  auto a = Make(1, small);
  auto b = Make(2);
  auto c = Make(3);
  Link(*b, *a);
  Link(*c, *a);
  PeerExchange big;
  for (int i = 0; i < 200; ++i) {
    big.peers.push_back(PeerRecord{MakeIdentity(static_cast<uint8_t>(10 + i % 50))->id(),
                                   "127.0.0.1:" + std::to_string(1000 + i), 3});
  }
  b->transport->Send(a->id(), big, false);
  ASSERT_TRUE(RunUntil([&] { return a->Count<LinkDown>() == 1 && b->Count<LinkDown>() == 1; }));
  EXPECT_EQ(a->All<LinkDown>()[0].peer, b->id());
  EXPECT_EQ(a->transport->counters().dropped.at("oversize"), 1u);
  // c's link is untouched.
  const size_t before = a->Count<Received>();
  c->transport->Send(a->id(), Ping{7, -1}, false);
  ASSERT_TRUE(RunUntil([&] { return a->Count<Received>() == before + 1; }));
  EXPECT_TRUE(a->transport->linked(c->id()));
}

TEST_F(TransportTest, GarbageAndSilentClientsAreClosedAndTheListenerKeepsServing) {
  TransportOptions options;
  options.handshake_timeout = Milliseconds(200);
  auto a = Make(1, options);
  Result<HostPort> hp = ParseHostPort(a->address, false);
  ASSERT_TRUE(hp.ok());
  const tcp::endpoint endpoint(asio::ip::make_address(hp->host), hp->port);

  // Plain TCP bytes instead of a TLS ClientHello.
  tcp::socket garbage(io_);
  garbage.connect(endpoint);
  asio::write(garbage, asio::buffer(std::string("GET / HTTP/1.0\r\n\r\n")));
  // A client that connects and says nothing.
  tcp::socket silent(io_);
  silent.connect(endpoint);

  ASSERT_TRUE(
      RunUntil([&] { return a->Refused("tls") == 1 && a->Refused("handshake_timeout") == 1; }));
  ASSERT_TRUE(RunUntil([&] { return a->transport->connection_count() == 0; }));
  // Both sockets see the connection closed.
  for (tcp::socket* s : {&garbage, &silent}) {
    boost::system::error_code ec;
    std::array<char, 4096> buffer{};
    while (!ec) s->read_some(asio::buffer(buffer), ec);
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  }
  auto b = Make(2);
  Link(*b, *a);
  EXPECT_TRUE(a->transport->linked(b->id()));
}

TEST_F(TransportTest, ConnectionLimitRefusesNewAccepts) {
  TransportOptions options;
  options.connections_max = 1;
  options.handshakes_max = 1;
  auto a = Make(1, options);
  Result<HostPort> hp = ParseHostPort(a->address, false);
  ASSERT_TRUE(hp.ok());
  const tcp::endpoint endpoint(asio::ip::make_address(hp->host), hp->port);
  tcp::socket first(io_);
  first.connect(endpoint);
  ASSERT_TRUE(RunUntil([&] { return a->transport->connection_count() == 1; }));
  tcp::socket second(io_);
  second.connect(endpoint);
  ASSERT_TRUE(RunUntil([&] { return a->Refused("connection_limit") == 1; }));
  EXPECT_EQ(a->transport->connection_count(), 1u);
  // A dial at the bound fails at once.
  auto b = Make(2);
  a->transport->Dial(b->address, NodeId{});
  ASSERT_TRUE(RunUntil([&] { return a->Count<DialFailed>() == 1; }));
  EXPECT_EQ(a->All<DialFailed>()[0].why, "connection limit");
}

TEST_F(TransportTest, FaultLayerLosesFramesButStillReportsThemWritten) {
  auto a = Make(1);
  TransportOptions lossy;
  lossy.faults.drop_probability = 1.0;
  auto b = Make(2, lossy);
  b->transport->Dial(a->address, a->id());
  ASSERT_TRUE(RunUntil([&] { return b->Count<LinkUp>() == 1 && a->Count<LinkUp>() == 1; }));
  for (uint64_t seq = 1; seq <= 3; ++seq) b->transport->Send(a->id(), Ping{seq, -1}, seq == 3);
  ASSERT_TRUE(RunUntil([&] { return b->Count<Written>() == 1; }));
  EXPECT_EQ(b->All<Written>()[0].messages_total, 3u);
  RunFor(std::chrono::milliseconds(50));
  EXPECT_EQ(a->Count<Received>(), 0u);
  EXPECT_EQ(b->transport->counters().dropped.at("fault"), 3u);
}

TEST_F(TransportTest, FaultLayerDelayKeepsOrder) {
  auto a = Make(1);
  TransportOptions slow;
  slow.faults.delay = Milliseconds(30);
  auto b = Make(2, slow);
  Link(*b, *a);
  for (uint64_t seq = 1; seq <= 10; ++seq) b->transport->Send(a->id(), Ping{seq, -1}, false);
  ASSERT_TRUE(RunUntil([&] { return a->Count<Received>() == 11; }));
  const std::vector<Message> got = a->ReceivedMessages();
  for (uint64_t seq = 1; seq <= 10; ++seq) EXPECT_EQ(std::get<Ping>(got[seq]).seq, seq);
}

TEST_F(TransportTest, SimultaneousDialsSettleOnOneConnection) {
  auto a = Make(1);
  auto b = Make(2);
  a->transport->Dial(b->address, b->id());
  b->transport->Dial(a->address, a->id());
  ASSERT_TRUE(RunUntil([&] {
    return a->transport->connection_count() == 1 && b->transport->connection_count() == 1 &&
           a->transport->linked(b->id()) && b->transport->linked(a->id());
  }));
  // The surviving connection carries messages both ways.
  const size_t a_in = a->Count<Received>();
  const size_t b_in = b->Count<Received>();
  a->transport->Send(b->id(), a->MakeHello(), false);
  b->transport->Send(a->id(), b->MakeHello(), false);
  ASSERT_TRUE(RunUntil([&] { return a->Count<Received>() > a_in && b->Count<Received>() > b_in; }));
}

}  // namespace
}  // namespace myco
