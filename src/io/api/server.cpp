#include "io/api/server.hpp"

#include "io/node_host.hpp"

namespace myco {

struct ApiServer::Impl {};

ApiServer::ApiServer(boost::asio::io_context&, NodeHost&, ApiOptions)
    : impl_(std::make_shared<Impl>()) {}
ApiServer::~ApiServer() { Stop(); }
Result<std::string> ApiServer::Start() {
  return MakeError(ErrorCode::kInternal, "the HTTP API is not implemented yet");
}
void ApiServer::Stop() {}

}  // namespace myco
