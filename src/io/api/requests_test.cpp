#include "io/api/requests.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace myco::api {
namespace {

const std::string kId(64, 'a');
const std::string kId2(64, 'b');

TEST(ApiPublishRequestTest, MinimalTakesTheCoreDefaults) {
  auto r = ParsePublishRequest(R"({"type":"threat_alert"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->information_type, "threat_alert");
  EXPECT_EQ(r->payload, "{}");
  EXPECT_EQ(r->priority, PublishRequest{}.priority);
  EXPECT_EQ(r->ttl, PublishRequest{}.ttl);
  EXPECT_TRUE(r->destinations.empty());
  EXPECT_FALSE(r->mode.has_value());
}

TEST(ApiPublishRequestTest, EveryField) {
  auto r = ParsePublishRequest(R"({"type":"resource_discovery","payload":{"a":[1,2,{"b":null}]},
      "priority":1,"ttl":15,"destination_nodes":[")" +
                               kId + R"("],
      "propagation_rules":{"follow_gradient":true,"resource":"memory_capacity","amount_min":4,
                           "prefer_specialists":true,"max_cost":-1},
      "selector":{"node_type":"edge","specialization":"gpu"},"mode":"targeted"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->payload, R"({"a":[1,2,{"b":null}]})");
  EXPECT_EQ(r->priority, 1.0);
  EXPECT_EQ(r->ttl, 15u);
  ASSERT_EQ(r->destinations.size(), 1u);
  EXPECT_EQ(r->destinations[0].Hex(), kId);
  EXPECT_TRUE(r->rules.follow_gradient);
  EXPECT_EQ(r->rules.resource, ResourceType::kMemoryCapacity);
  EXPECT_EQ(r->rules.amount_min, 4.0);
  EXPECT_TRUE(r->rules.prefer_specialists);
  EXPECT_EQ(r->selector.node_type, "edge");
  EXPECT_EQ(r->selector.specialization, "gpu");
  EXPECT_EQ(r->mode, PropagationMode::kTargeted);
}

// Each malformed body fails with a message that starts with the field at fault.
TEST(ApiPublishRequestTest, MalformedInputsNameTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "body:"},
      {"{", "body:"},
      {"[]", "body: must be a JSON object"},
      {"null", "body: must be a JSON object"},
      {"\"x\"", "body: must be a JSON object"},
      {"{}", "type: required"},
      {R"({"type":""})", "type: must be 1..256 bytes"},
      {R"({"type":7})", "type: must be a string"},
      {R"({"type":")" + std::string(257, 'x') + "\"}", "type: must be 1..256 bytes"},
      {R"({"type":"t","payload":[1]})", "payload: must be a JSON object"},
      {R"({"type":"t","payload":"{}"})", "payload: must be a JSON object"},
      {R"({"type":"t","priority":"high"})", "priority: must be a number in [0,1]"},
      {R"({"type":"t","priority":1.5})", "priority: must be a number in [0,1]"},
      {R"({"type":"t","priority":-0.1})", "priority: must be a number in [0,1]"},
      {R"({"type":"t","priority":1e400})", "body: not valid JSON"},
      {R"({"type":"t","ttl":0})", "ttl: must be an integer in [1,255]"},
      {R"({"type":"t","ttl":-3})", "ttl: must be an integer in [1,255]"},
      {R"({"type":"t","ttl":1.5})", "ttl: must be an integer in [1,255]"},
      {R"({"type":"t","ttl":256})", "ttl: must be an integer in [1,255]"},
      {R"({"type":"t","ttl":18446744073709551615})", "ttl: must be an integer in [1,255]"},
      {R"({"type":"t","ttl":"15"})", "ttl: must be an integer in [1,255]"},
      {R"({"type":"t","destination_nodes":"x"})", "destination_nodes: must be an array"},
      {R"({"type":"t","destination_nodes":[1]})", "destination_nodes[0]: must be"},
      {R"({"type":"t","destination_nodes":["abc"]})", "destination_nodes[0]: node id must be 64"},
      {R"({"type":"t","destination_nodes":[")" + std::string(64, 'z') + "\"]}",
       "destination_nodes[0]: node id has a non-hex"},
      {R"({"type":"t","destination_nodes":[")" + kId + "\",\"" + kId + "\"]}",
       "destination_nodes[1]: duplicate node id"},
      {R"({"type":"t","propagation_rules":[]})", "propagation_rules: must be a JSON object"},
      {R"({"type":"t","propagation_rules":{"follow_gradient":1}})",
       "propagation_rules.follow_gradient: must be true or false"},
      {R"({"type":"t","propagation_rules":{"resource":"GOLD"}})",
       "propagation_rules.resource: unknown resource type 'GOLD'"},
      {R"({"type":"t","propagation_rules":{"amount_min":-1}})",
       "propagation_rules.amount_min: must be a number"},
      {R"({"type":"t","propagation_rules":{"max_cost":-2}})",
       "propagation_rules.max_cost: must be a number"},
      {R"({"type":"t","propagation_rules":{"colour":1}})",
       "propagation_rules.colour: unknown field"},
      {R"({"type":"t","selector":"edge"})", "selector: must be a JSON object"},
      {R"({"type":"t","selector":{"node_type":3}})", "selector.node_type: must be a string"},
      {R"({"type":"t","selector":{"region":"eu"}})", "selector.region: unknown field"},
      {R"({"type":"t","mode":"ack"})", "mode: must be one of"},
      {R"({"type":"t","mode":1})", "mode: must be one of"},
      {R"({"type":"t","priorty":1})", "priorty: unknown field"},
  };
  for (const auto& [body, expected] : cases) {
    SCOPED_TRACE(body.substr(0, 120));
    auto r = ParsePublishRequest(body);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message.rfind(expected, 0), 0u) << r.error().message;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(ApiPublishRequestTest, TooManyDestinations) {
  std::string list;
  for (size_t i = 0; i <= kListEntriesMax; ++i) list += (i ? ",\"" : "\"") + kId + "\"";
  auto r = ParsePublishRequest(R"({"type":"t","destination_nodes":[)" + list + "]}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "destination_nodes: at most 256 entries");
}

TEST(ApiPublishRequestTest, DeepNestingIsRejectedWithoutParsing) {
  // Deep enough to overflow a recursive parser or printer; rejected by the flat scan.
  const std::string deep = R"({"type":"t","payload":{"a":)" + std::string(500000, '[') + "}}";
  auto r = ParsePublishRequest(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "body: JSON nested deeper than 64 levels");
  // Brackets inside strings do not count.
  auto ok = ParsePublishRequest(R"({"type":"t","payload":{"s":")" + std::string(1000, '[') +
                                R"(\"]]"}})");
  EXPECT_TRUE(ok.ok()) << ok.error().message;
}

TEST(ApiPublishRequestTest, NeverThrowsOnArbitraryBytes) {
  // A small deterministic fuzz: every prefix and byte-flip of a valid request.
  const std::string valid = R"({"type":"t","payload":{"k":"v\u00e9"},"priority":0.5,"ttl":3,)"
                            R"("destination_nodes":[")" +
                            kId + R"("],"selector":{"node_type":"x"}})";
  for (size_t cut = 0; cut <= valid.size(); ++cut) {
    (void)ParsePublishRequest(valid.substr(0, cut));
  }
  for (size_t i = 0; i < valid.size(); ++i) {
    for (const char c : {'\0', '"', '\\', '{', ']', '\xff', '9', '-'}) {
      std::string mutated = valid;
      mutated[i] = c;
      auto r = ParsePublishRequest(mutated);
      if (!r.ok()) {
        EXPECT_FALSE(r.error().message.empty());
      }
    }
  }
  EXPECT_TRUE(ParsePublishRequest(valid).ok());
}

TEST(ApiShareRequestTest, ParsesAndRejects) {
  auto r = ParseShareRequest(R"({"type":"optimization_insight","data":{"speedup":2},
                                 "target_nodes":[")" +
                             kId2 + "\"]}");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->discovery_type, "optimization_insight");
  EXPECT_EQ(r->data_json, R"({"speedup":2})");
  ASSERT_EQ(r->targets.size(), 1u);
  EXPECT_EQ(r->targets[0].Hex(), kId2);

  EXPECT_EQ(ParseShareRequest(R"({"data":{}})").error().message, "type: required");
  EXPECT_EQ(ParseShareRequest(R"({"type":"x","data":5})").error().message,
            "data: must be a JSON object");
  EXPECT_EQ(ParseShareRequest(R"({"type":"x","target_nodes":{}})")
                .error()
                .message.rfind("target_nodes: must be an array", 0),
            0u);
  EXPECT_EQ(ParseShareRequest(R"({"type":"x","payload":{}})").error().message,
            "payload: unknown field");
}

TEST(ApiConnectRequestTest, ParsesAndRejects) {
  auto r =
      ParseConnectRequest(R"({"addresses":["127.0.0.1:7000","seed.example.org:1","[::1]:9"]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->addresses.size(), 3u);

  EXPECT_EQ(ParseConnectRequest("{}").error().message, "addresses: required");
  EXPECT_EQ(ParseConnectRequest(R"({"addresses":[]})").error().message.rfind("addresses: must", 0),
            0u);
  EXPECT_EQ(ParseConnectRequest(R"({"addresses":"a:1"})").error().message.rfind("addresses:", 0),
            0u);
  for (const char* bad :
       {"host", "host:", "host:0", "host:65536", ":80", "ho st:1", "::1:80", "[::1:80", "h:1x"}) {
    SCOPED_TRACE(bad);
    auto e = ParseConnectRequest(std::string(R"({"addresses":[")") + bad + "\"]}");
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().message.rfind("addresses[0]: ", 0), 0u) << e.error().message;
  }
}

TEST(ApiTargetTest, SplitsAndDecodes) {
  auto t = ParseTarget("/v1/knowledge?type=a%20b&q=x+y&limit=5&&flag");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->path, "/v1/knowledge");
  EXPECT_EQ(t->query.at("type"), "a b");
  EXPECT_EQ(t->query.at("q"), "x y");
  EXPECT_EQ(t->query.at("limit"), "5");
  EXPECT_EQ(t->query.at("flag"), "");
  EXPECT_FALSE(ParseTarget("/v1/x?q=%zz").ok());
  EXPECT_FALSE(ParseTarget("/v1/x?q=%4").ok());
  EXPECT_FALSE(ParseTarget("/v1/x?q=%").ok());
  EXPECT_EQ(ParseTarget("/plain").value().path, "/plain");
}

TEST(ApiKnowledgeQueryTest, LimitsAndUnknownParameters) {
  auto q = ParseKnowledgeQuery({{"type", "t"}, {"q", "Fast"}, {"limit", "7"}});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->type, "t");
  EXPECT_EQ(q->text, "Fast");
  EXPECT_EQ(q->limit, 7u);
  EXPECT_EQ(ParseKnowledgeQuery({}).value().limit, kKnowledgeLimitDefault);
  for (const char* bad : {"0", "1001", "-1", "x", "", "5 "}) {
    SCOPED_TRACE(bad);
    auto e = ParseKnowledgeQuery({{"limit", bad}});
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().message, "limit: must be an integer in [1,1000]");
  }
  EXPECT_EQ(ParseKnowledgeQuery({{"kind", "x"}}).error().message.rfind("kind: unknown", 0), 0u);
}

TEST(ApiTopologyFormatTest, JsonOrDot) {
  EXPECT_EQ(ParseTopologyFormat({}).value(), TopologyFormat::kJson);
  EXPECT_EQ(ParseTopologyFormat({{"format", "dot"}}).value(), TopologyFormat::kDot);
  EXPECT_EQ(ParseTopologyFormat({{"format", "svg"}}).error().message,
            "format: must be json or dot, got 'svg'");
}

TEST(ApiJsonNestingDepthTest, CountsOutsideStrings) {
  EXPECT_EQ(JsonNestingDepth(""), 0u);
  EXPECT_EQ(JsonNestingDepth("{}"), 1u);
  EXPECT_EQ(JsonNestingDepth(R"({"a":[{"b":[]}]})"), 4u);
  EXPECT_EQ(JsonNestingDepth(R"({"a":"[[[\"[["})"), 1u);
  EXPECT_EQ(JsonNestingDepth("]]]]{"), 1u);
}

}  // namespace
}  // namespace myco::api
