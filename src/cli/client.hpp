// The `myco` client commands' view of a node: a small synchronous HTTP/1.1 client for the node's
// API (docs/API.md), with a timeout on every request, and the flags every client command shares.
// Errors are one-line messages ready for PrintError:
//   "cannot reach node API at 127.0.0.1:7301: connection refused".
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "cli/cli.hpp"
#include "myco/result.hpp"

namespace myco::cli {

struct HttpReply {
  unsigned status = 0;
  std::string body;
  std::string content_type;
};

class ApiClient {
 public:
  // `address` is "host:port"; `token` may be empty (then POSTs go without Authorization).
  ApiClient(std::string address, std::string token,
            std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Any HTTP status comes back as a reply; only transport failures are errors.
  Result<HttpReply> Get(const std::string& target) const;
  Result<HttpReply> Post(const std::string& target, const std::string& body) const;

  // Follows a server-sent event stream: calls on_event with the text of every "data:" line until
  // the server ends the stream (Ok), on_event returns false (Ok), or the connection fails or stays
  // silent for `idle_timeout` (error). Servers send keepalive comments every 15 s.
  Status Stream(const std::string& target, const std::function<bool(std::string_view)>& on_event,
                std::chrono::milliseconds idle_timeout = std::chrono::seconds(60)) const;

  const std::string& address() const { return address_; }

 private:
  Result<HttpReply> Request(bool post, const std::string& target, const std::string& body) const;

  std::string address_;
  std::string token_;
  std::chrono::milliseconds timeout_;
};

// The API's error for a non-2xx reply, as one line: "<the server's error> (HTTP 400)".
std::string DescribeHttpError(const HttpReply& reply);

// --token, else $MYCO_TOKEN, else the first line of <data_dir>/api.token, else empty.
std::string ResolveToken(const std::string& token_flag, const std::string& data_dir);

// `status`, `peers`, `topology`, `publish`, `share`, `knowledge`, `connect`, `watch`
// (client_cmds.cpp).
void AddClientCommands(CLI::App& app, CommandAction& action);

}  // namespace myco::cli
