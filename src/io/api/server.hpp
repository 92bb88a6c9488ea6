// ApiServer: the node's local HTTP/1.1 + JSON API (docs/API.md), served with Boost.Beast on the
// daemon's single event loop, next to the NodeHost it talks to (so no locks anywhere).
//
// Bounds (what happens at each is documented in docs/API.md):
// - request header 16 KiB and body 1 MiB: larger requests get 431/413 and the connection closes;
// - at most kMaxConnections concurrent connections: a connection above the bound is accepted and
//   closed at once (the client sees the connection reset/closed), counted in /metrics;
// - an idle connection (no complete request within the idle timeout) is closed;
// - an event-stream client keeps at most kEventBufferMax unsent events; a client that falls
//   further behind gets a final "overflow" event and is disconnected (counted).
// Every POST needs `Authorization: Bearer <token>` (compared in constant time).
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "myco/result.hpp"

namespace myco {

class NodeHost;

struct ApiOptions {
  std::string listen = "127.0.0.1:7301";
  std::string token;
  std::function<void(std::string& out)> extra_metrics;  // appends Prometheus text lines
};

class ApiServer {
 public:
  ApiServer(boost::asio::io_context& io, NodeHost& host, ApiOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds and starts accepting; returns the bound "host:port" (port 0 = any free port).
  Result<std::string> Start();
  // Stops accepting and closes every connection (event streams included). Idempotent; the
  // destructor calls it.
  void Stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace myco
