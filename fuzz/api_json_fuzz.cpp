// libFuzzer target: the HTTP API's pure request parsers (src/io/api/requests.hpp), which see
// whatever a local client sends. The first byte picks the parser, the rest is the body or request
// target. Beyond "no crash, no sanitizer report, no deep recursion", every request that parses
// must be within the documented bounds.
//
// Run: build-fuzz/api_json_fuzz fuzz/corpus/api_json -max_total_time=60
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "io/api/requests.hpp"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

void FuzzPublish(std::string_view body) {
  myco::Result<myco::PublishRequest> request = myco::api::ParsePublishRequest(body);
  if (!request.ok()) {
    Check(!request.error().message.empty());
    return;
  }
  const myco::PublishRequest& r = request.value();
  Check(!r.information_type.empty() && r.information_type.size() <= myco::api::kTypeBytesMax);
  Check(std::isfinite(r.priority) && r.priority >= 0 && r.priority <= 1);
  Check(r.ttl <= myco::api::kTtlMax);
  Check(r.destinations.size() <= myco::api::kListEntriesMax);
  Check(myco::api::JsonNestingDepth(r.payload) <= myco::api::kJsonDepthMax);
}

void FuzzShare(std::string_view body) {
  myco::Result<myco::api::ShareRequest> request = myco::api::ParseShareRequest(body);
  if (!request.ok()) return;
  Check(request.value().discovery_type.size() <= myco::api::kTypeBytesMax);
  Check(request.value().targets.size() <= myco::api::kListEntriesMax);
  Check(myco::api::JsonNestingDepth(request.value().data_json) <= myco::api::kJsonDepthMax);
}

void FuzzConnect(std::string_view body) {
  myco::Result<myco::api::ConnectRequest> request = myco::api::ParseConnectRequest(body);
  if (!request.ok()) return;
  Check(!request.value().addresses.empty());
  Check(request.value().addresses.size() <= myco::api::kListEntriesMax);
  for (const std::string& address : request.value().addresses) {
    Check(myco::api::CheckAddress(address).ok());
  }
}

void FuzzTarget(std::string_view text) {
  myco::Result<myco::api::Target> target = myco::api::ParseTarget(text);
  if (!target.ok()) return;
  myco::Result<myco::api::KnowledgeQuery> query =
      myco::api::ParseKnowledgeQuery(target.value().query);
  if (query.ok()) {
    Check(query.value().limit <= myco::api::kKnowledgeLimitMax);
  }
  (void)myco::api::ParseTopologyFormat(target.value().query);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  (void)myco::api::JsonNestingDepth(input);
  switch (data[0] % 5) {
    case 0: FuzzPublish(input); break;
    case 1: FuzzShare(input); break;
    case 2: FuzzConnect(input); break;
    case 3: FuzzTarget(input); break;
    default: (void)myco::api::CheckAddress(input); break;
  }
  return 0;
}
