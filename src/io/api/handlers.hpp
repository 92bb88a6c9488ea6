// The HTTP API's request handlers, apart from the sockets: a request in, a response out, on the
// event-loop thread next to NodeHost. The server (server.cpp) owns connections and streams; this
// file owns what every endpoint answers (docs/API.md). No exception leaves Handle.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/api/metrics.hpp"
#include "myco/time.hpp"

namespace myco {
class NodeHost;
}

namespace myco::api {

struct ApiRequest {
  std::string_view method;  // "GET", "POST", ...
  std::string_view target;  // "/v1/knowledge?type=x"
  std::string_view authorization;
  std::string_view body;
};

struct ApiResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // GET /v1/events: the server turns the connection into an event stream instead.
  bool event_stream = false;
};

// {"error": message} with `status`.
ApiResponse ErrorResponse(unsigned status, std::string_view message);

// Constant-time token check of an Authorization header value ("Bearer <token>"). False when
// `expected` is empty: a node without a token accepts no mutation.
bool TokenMatches(std::string_view authorization, std::string_view expected);

class Handlers {
 public:
  Handlers(NodeHost& host, std::string token, std::function<void(std::string&)> extra_metrics);

  ApiResponse Handle(const ApiRequest& request);

  TimePoint started() const { return started_; }
  ApiCounters& api_counters() { return api_; }
  LatencyHistogram& latency() { return latency_; }

 private:
  ApiResponse Route(const ApiRequest& request);
  ApiResponse Status();
  ApiResponse Peers();
  ApiResponse Topology(const std::map<std::string, std::string>& query);
  ApiResponse KnowledgeGet(const std::map<std::string, std::string>& query);
  ApiResponse Publish(std::string_view body);
  ApiResponse Share(std::string_view body);
  ApiResponse Connect(std::string_view body);
  ApiResponse Metrics();

  NodeHost& host_;
  std::string token_;
  std::function<void(std::string&)> extra_metrics_;
  TimePoint started_;
  ApiCounters api_;
  LatencyHistogram latency_;
};

}  // namespace myco::api
