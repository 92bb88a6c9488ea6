#include "io/tls_stream.hpp"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "crypto/tls.hpp"
#include "myco/identity.hpp"

namespace myco {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

std::unique_ptr<asio::ssl::context> Context(uint8_t seed_byte) {
  std::array<uint8_t, 32> seed{};
  seed.fill(seed_byte);
  Result<Identity> identity = Identity::FromSeed(seed);
  EXPECT_TRUE(identity.ok());
  Result<std::unique_ptr<asio::ssl::context>> context = MakeTlsContext(*identity);
  EXPECT_TRUE(context.ok());
  return std::move(context).value();
}

// Two TlsStreams over a loopback TCP connection, handshaken.
class TlsStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    tcp::socket client_socket(io_);
    client_socket.connect(acceptor.local_endpoint());
    tcp::socket server_socket = acceptor.accept();
    client_.emplace(std::move(client_socket), *client_context_);
    server_.emplace(std::move(server_socket), *server_context_);
    std::optional<error_code> client_result;
    std::optional<error_code> server_result;
    client_->async_handshake(asio::ssl::stream_base::client,
                             [&](const error_code& ec) { client_result = ec; });
    server_->async_handshake(asio::ssl::stream_base::server,
                             [&](const error_code& ec) { server_result = ec; });
    // Handlers never run inside the initiating call.
    ASSERT_FALSE(client_result.has_value());
    io_.run();
    io_.restart();
    ASSERT_TRUE(client_result.has_value());
    ASSERT_TRUE(server_result.has_value());
    ASSERT_FALSE(*client_result) << client_result->message();
    ASSERT_FALSE(*server_result) << server_result->message();
  }

  // Reads until `want` bytes arrived or an error; returns what was read and the error.
  std::pair<std::string, error_code> ReadAll(TlsStream& stream, size_t want) {
    std::string got;
    error_code last;
    std::array<char, 4096> buffer{};
    std::function<void()> next = [&] {
      stream.async_read_some(asio::buffer(buffer), [&](const error_code& ec, size_t n) {
        got.append(buffer.data(), n);
        last = ec;
        if (!ec && got.size() < want) next();
      });
    };
    next();
    io_.run();
    io_.restart();
    return {got, last};
  }

  asio::io_context io_;
  std::unique_ptr<asio::ssl::context> client_context_ = Context(1);
  std::unique_ptr<asio::ssl::context> server_context_ = Context(2);
  std::optional<TlsStream> client_;
  std::optional<TlsStream> server_;
};

TEST_F(TlsStreamTest, HandshakeIsTls13WithThePeersCertificate) {
  EXPECT_STREQ(SSL_get_version(client_->native_handle()), "TLSv1.3");
  Result<NodeId> server_id = PeerNodeId(client_->native_handle());
  Result<NodeId> client_id = PeerNodeId(server_->native_handle());
  EXPECT_TRUE(server_id.ok());
  EXPECT_TRUE(client_id.ok());
  EXPECT_NE(*server_id, *client_id);
}

TEST_F(TlsStreamTest, LargeWriteArrivesWhole) {
  // 1 MB: many records, and more than the socket buffers hold, so the write waits for the
  // reader (WANT_WRITE) while the reader waits for data (WANT_READ) on the same loop.
  std::string data(1 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 251);
  std::optional<error_code> write_result;
  size_t written = 0;
  client_->async_write(asio::buffer(data), [&](const error_code& ec, size_t n) {
    write_result = ec;
    written = n;
  });
  auto [got, read_error] = ReadAll(*server_, data.size());
  ASSERT_TRUE(write_result.has_value());
  EXPECT_FALSE(*write_result) << write_result->message();
  EXPECT_EQ(written, data.size());
  EXPECT_FALSE(read_error) << read_error.message();
  EXPECT_TRUE(got == data);
}

TEST_F(TlsStreamTest, BothDirectionsAtOnce) {
  const std::string ping = "ping from the client";
  const std::string pong = "pong from the server";
  client_->async_write(asio::buffer(ping), [](const error_code& ec, size_t) { EXPECT_FALSE(ec); });
  server_->async_write(asio::buffer(pong), [](const error_code& ec, size_t) { EXPECT_FALSE(ec); });
  EXPECT_EQ(ReadAll(*server_, ping.size()).first, ping);
  EXPECT_EQ(ReadAll(*client_, pong.size()).first, pong);
}

TEST_F(TlsStreamTest, PeerClosingWithoutCloseNotifyIsStreamTruncated) {
  // The transport half-closes TCP without a TLS close_notify; Asio calls that stream_truncated.
  server_->lowest_layer().shutdown(tcp::socket::shutdown_send);
  auto [got, ec] = ReadAll(*client_, 1);
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(ec, asio::ssl::error::stream_truncated) << ec.message();
}

TEST_F(TlsStreamTest, WritingToAClosedPeerFailsWithoutSigpipe) {
  server_->lowest_layer().close();
  std::string data(256 * 1024, 'x');
  std::optional<error_code> result;
  // The first writes may land in the socket buffer; keep writing until the reset shows.
  std::function<void()> write = [&] {
    client_->async_write(asio::buffer(data), [&](const error_code& ec, size_t) {
      if (ec) {
        result = ec;
        return;
      }
      write();
    });
  };
  write();
  io_.run();  // a SIGPIPE would end the test binary here
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(*result == asio::error::broken_pipe || *result == asio::error::connection_reset)
      << result->message();
}

TEST_F(TlsStreamTest, ClosingTheSocketAbortsAPendingRead) {
  std::optional<error_code> result;
  std::array<char, 64> buffer{};
  client_->async_read_some(asio::buffer(buffer),
                           [&](const error_code& ec, size_t) { result = ec; });
  asio::post(io_, [&] { client_->lowest_layer().close(); });
  io_.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, asio::error::operation_aborted);
  // And nothing more is done on the closed descriptor.
  std::optional<error_code> after;
  io_.restart();
  client_->async_read_some(asio::buffer(buffer), [&](const error_code& ec, size_t) { after = ec; });
  io_.run();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(*after, asio::error::bad_descriptor);
}

}  // namespace
}  // namespace myco
