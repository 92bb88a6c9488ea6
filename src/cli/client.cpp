#include "cli/client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

namespace myco::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Replies larger than this are refused (a node's biggest page, /v1/topology of a large map, is
// far smaller); the client never buffers without bound.
constexpr uint64_t kReplyBytesMax = 64 * 1024 * 1024;
// One event line larger than this ends the stream with an error.
constexpr size_t kEventLineBytesMax = 4 * 1024 * 1024;

std::string Lowered(std::string text) {
  if (text.size() >= 2 && std::isupper(static_cast<unsigned char>(text[0])) &&
      !std::isupper(static_cast<unsigned char>(text[1]))) {
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  }
  return text;
}

// Runs one asynchronous operation to completion on `io` (the stream's timeout bounds it).
template <typename Initiate>
beast::error_code RunOne(asio::io_context& io, Initiate&& initiate) {
  beast::error_code result = asio::error::would_block;
  initiate([&result](beast::error_code ec, auto&&...) { result = ec; });
  io.restart();
  io.run();
  return result;
}

struct Connection {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
};

Error TransportError(const std::string& address, const std::string& stage, beast::error_code ec,
                     std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout) {
    const auto seconds = std::chrono::duration<double>(timeout).count();
    char text[32];
    std::snprintf(text, sizeof text, "%g", seconds);
    return MakeError(ErrorCode::kUnavailable, "node API at " + address + " did not answer within " +
                                                  text + " s (" + stage + ")");
  }
  if (stage == "connect") {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot reach node API at " + address + ": " + Lowered(ec.message()));
  }
  return MakeError(ErrorCode::kUnavailable,
                   "node API at " + address + " failed (" + stage + "): " + Lowered(ec.message()));
}

// Splits "host:port" ("[v6]:port" too) and connects within `timeout`.
Status Connect(Connection& c, const std::string& address, std::chrono::milliseconds timeout) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return MakeError(ErrorCode::kInvalidArgument, "--api must be HOST:PORT, got '" + address + "'");
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port = address.substr(colon + 1);
  beast::error_code ec;
  tcp::resolver resolver(c.io);
  const auto endpoints = resolver.resolve(host, port, tcp::resolver::numeric_service, ec);
  if (ec) {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot reach node API at " + address + ": " + Lowered(ec.message()));
  }
  c.stream.expires_after(timeout);
  ec = RunOne(c.io, [&](auto handler) { c.stream.async_connect(endpoints, std::move(handler)); });
  if (ec) return TransportError(address, "connect", ec, timeout);
  return Status::Ok();
}

}  // namespace

ApiClient::ApiClient(std::string address, std::string token, std::chrono::milliseconds timeout)
    : address_(std::move(address)), token_(std::move(token)), timeout_(timeout) {}

Result<HttpReply> ApiClient::Get(const std::string& target) const {
  return Request(false, target, "");
}

Result<HttpReply> ApiClient::Post(const std::string& target, const std::string& body) const {
  return Request(true, target, body);
}

Result<HttpReply> ApiClient::Request(bool post, const std::string& target,
                                     const std::string& body) const {
  try {
    Connection c;
    if (Status s = Connect(c, address_, timeout_); !s.ok()) return s.error();
    http::request<http::string_body> request{post ? http::verb::post : http::verb::get, target, 11};
    request.set(http::field::host, address_);
    request.set(http::field::user_agent, "myco-cli");
    request.keep_alive(false);
    if (post) {
      if (!token_.empty()) request.set(http::field::authorization, "Bearer " + token_);
      request.set(http::field::content_type, "application/json");
      request.body() = body;
      request.prepare_payload();
    }
    c.stream.expires_after(timeout_);
    beast::error_code ec = RunOne(
        c.io, [&](auto handler) { http::async_write(c.stream, request, std::move(handler)); });
    // A server that answers early (401, 413) may close before reading the whole request; its
    // answer is still worth reading.
    const bool write_failed = static_cast<bool>(ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(kReplyBytesMax);
    ec = RunOne(c.io, [&](auto handler) {
      http::async_read(c.stream, c.buffer, parser, std::move(handler));
    });
    if (ec && !parser.is_done()) {
      return TransportError(address_, write_failed ? "write" : "read", ec, timeout_);
    }
    HttpReply reply;
    reply.status = parser.get().result_int();
    reply.content_type = std::string(parser.get()[http::field::content_type]);
    reply.body = std::move(parser.get().body());
    beast::error_code ignored;
    c.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return reply;
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal,
                     "node API at " + address_ + ": unexpected failure: " + e.what());
  }
}

Status ApiClient::Stream(const std::string& target,
                         const std::function<bool(std::string_view)>& on_event,
                         std::chrono::milliseconds idle_timeout) const {
  try {
    Connection c;
    if (Status s = Connect(c, address_, timeout_); !s.ok()) return s;
    http::request<http::empty_body> request{http::verb::get, target, 11};
    request.set(http::field::host, address_);
    request.set(http::field::user_agent, "myco-cli");
    request.set(http::field::accept, "text/event-stream");
    c.stream.expires_after(timeout_);
    beast::error_code ec = RunOne(
        c.io, [&](auto handler) { http::async_write(c.stream, request, std::move(handler)); });
    if (ec) return TransportError(address_, "write", ec, timeout_);
    http::response_parser<http::string_body> parser;
    parser.body_limit(kReplyBytesMax);
    ec = RunOne(c.io, [&](auto handler) {
      http::async_read_header(c.stream, c.buffer, parser, std::move(handler));
    });
    if (ec) return TransportError(address_, "read", ec, timeout_);
    if (parser.get().result_int() != 200) {
      RunOne(c.io, [&](auto handler) {
        http::async_read(c.stream, c.buffer, parser, std::move(handler));
      });
      HttpReply reply{parser.get().result_int(), parser.get().body(), ""};
      return MakeError(ErrorCode::kUnavailable, DescribeHttpError(reply));
    }
    // The body is the stream (no length, no chunking): read raw bytes until the server closes.
    std::string pending(static_cast<const char*>(c.buffer.data().data()), c.buffer.size());
    c.buffer.consume(c.buffer.size());
    std::array<char, 16 * 1024> chunk{};
    while (true) {
      size_t newline;
      while ((newline = pending.find('\n')) != std::string::npos) {
        std::string_view line(pending.data(), newline);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.rfind("data:", 0) == 0) {
          line.remove_prefix(5);
          if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
          if (!on_event(line)) return Status::Ok();
        }
        pending.erase(0, newline + 1);
      }
      if (pending.size() > kEventLineBytesMax) {
        return MakeError(ErrorCode::kTooLarge, "node API at " + address_ +
                                                   " sent an event line over " +
                                                   std::to_string(kEventLineBytesMax) + " bytes");
      }
      size_t read = 0;
      c.stream.expires_after(idle_timeout);
      ec = RunOne(c.io, [&](auto handler) {
        c.stream.async_read_some(asio::buffer(chunk), [&read, handler = std::move(handler)](
                                                          beast::error_code e, size_t n) mutable {
          read = n;
          handler(e);
        });
      });
      pending.append(chunk.data(), read);
      if (ec == asio::error::eof) return Status::Ok();
      if (ec == beast::error::timeout) {
        return MakeError(ErrorCode::kUnavailable,
                         "node API at " + address_ + " went silent (no event or keepalive in " +
                             std::to_string(idle_timeout.count() / 1000) + " s)");
      }
      if (ec) return TransportError(address_, "read", ec, timeout_);
    }
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal,
                     "node API at " + address_ + ": unexpected failure: " + e.what());
  }
}

std::string DescribeHttpError(const HttpReply& reply) {
  std::string message;
  const auto json = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object() && json.contains("error") && json["error"].is_string()) {
    message = json["error"].get<std::string>();
  } else {
    message = reply.body.substr(0, 200);
    while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) {
      message.pop_back();
    }
    if (message.empty()) message = "no details";
  }
  std::string line = "node API: " + message + " (HTTP " + std::to_string(reply.status) + ")";
  if (reply.status == 401) {
    line += "; pass --token, set MYCO_TOKEN, or point --data-dir at the node's data directory";
  }
  return line;
}

std::string ResolveToken(const std::string& token_flag, const std::string& data_dir) {
  if (!token_flag.empty()) return token_flag;
  if (const char* env = std::getenv("MYCO_TOKEN"); env != nullptr && *env != '\0') return env;
  std::ifstream in(data_dir + "/api.token");
  std::string token;
  if (in && std::getline(in, token)) {
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
      token.pop_back();
    }
  }
  return token;
}

}  // namespace myco::cli
