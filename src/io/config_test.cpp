#include "io/config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace myco {
namespace {

NodeConfig MustParse(std::string_view text) {
  Result<NodeConfig> config = ParseNodeConfig(text, "node.toml");
  EXPECT_TRUE(config.ok()) << config.error().message;
  return config.ok() ? config.value() : NodeConfig{};
}

std::string ErrorOf(std::string_view text) {
  Result<NodeConfig> config = ParseNodeConfig(text, "node.toml");
  EXPECT_FALSE(config.ok()) << "parsed:\n" << text;
  return config.ok() ? std::string() : config.error().message;
}

TEST(ConfigTest, FullConfigWithEveryKey) {
  const NodeConfig c = MustParse(R"(
node_id = "genesis_prime_node_1"
node_type = "genesis_hive"
location = { region = "us-east", datacenter = "dc1" }
cpu_capacity = 200.0
memory_capacity = 500
knowledge_capacity = 1000.0
max_connections = 50
specializations = ["consciousness_processing", "humor_generation", "philosophy"]
interests = ["threat_alert"]
listen = "0.0.0.0:7400"
api = "127.0.0.1:0"
bootstrap = ["10.0.0.2:7300", "seed.example.org:7300", "[fe80::1]:7300"]
data_dir = "/var/lib/myco"
network_secret = "0123456789abcdef0123"

[topology]
target_degree = 4
passive_view_max = 40
walk_length = 7
walk_extensions_max = 9
pex_sample_size = 10
dials_in_flight_max = 5
dial_failures_max = 6
heartbeat_ms = 500
failure_timeout_ms = 2000
handshake_timeout_ms = 4000
shuffle_period_ms = 20000
redial_backoff_ms = 1000
map_flood_radius = 3
map_entries_max = 1000
map_refresh_period_ms = 60000
link_bandwidth_bytes_per_s = 1.25e8
)");
  EXPECT_EQ(c.node_id, "genesis_prime_node_1");
  EXPECT_EQ(c.node_type, "genesis_hive");
  EXPECT_EQ(c.location.region, "us-east");
  EXPECT_EQ(c.location.datacenter, "dc1");
  EXPECT_EQ(c.cpu_capacity, 200.0);
  EXPECT_EQ(c.memory_capacity, 500.0);  // an integer where a number is expected
  EXPECT_EQ(c.knowledge_capacity, 1000.0);
  EXPECT_EQ(c.max_connections, 50u);
  EXPECT_EQ(c.specializations, (std::vector<std::string>{"consciousness_processing",
                                                         "humor_generation", "philosophy"}));
  EXPECT_EQ(c.interests, (std::vector<std::string>{"threat_alert"}));
  EXPECT_EQ(c.listen, "0.0.0.0:7400");
  EXPECT_EQ(c.api, "127.0.0.1:0");
  EXPECT_EQ(c.bootstrap.size(), 3u);
  EXPECT_EQ(c.data_dir, "/var/lib/myco");
  EXPECT_EQ(c.network_secret, "0123456789abcdef0123");
  const TopologyConfig& t = c.topology;
  EXPECT_EQ(t.max_connections, 50u);  // mirrored from the top level
  EXPECT_EQ(t.bootstrap, c.bootstrap);
  EXPECT_EQ(t.target_degree, 4u);
  EXPECT_EQ(t.passive_view_max, 40u);
  EXPECT_EQ(t.walk_length, 7u);
  EXPECT_EQ(t.walk_extensions_max, 9u);
  EXPECT_EQ(t.pex_sample_size, 10u);
  EXPECT_EQ(t.dials_in_flight_max, 5u);
  EXPECT_EQ(t.dial_failures_max, 6u);
  EXPECT_EQ(t.heartbeat_period, Milliseconds(500));
  EXPECT_EQ(t.failure_timeout, Seconds(2));
  EXPECT_EQ(t.handshake_timeout, Seconds(4));
  EXPECT_EQ(t.shuffle_period, Seconds(20));
  EXPECT_EQ(t.redial_backoff, Seconds(1));
  EXPECT_EQ(t.map_flood_radius, 3u);
  EXPECT_EQ(t.map_entries_max, 1000u);
  EXPECT_EQ(t.map_refresh_period, Seconds(60));
  EXPECT_EQ(t.link_bandwidth_bytes_per_s, 1.25e8);
}

TEST(ConfigTest, EmptyFileGivesTheDefaults) {
  const NodeConfig c = MustParse("");
  const NodeConfig defaults;
  EXPECT_EQ(FormatNodeConfig(c), FormatNodeConfig(defaults));
  EXPECT_EQ(c.node_id, "myco-node");
  EXPECT_EQ(c.max_connections, 100u);
  EXPECT_EQ(c.listen, "0.0.0.0:7300");
  EXPECT_EQ(c.api, "127.0.0.1:7301");
  EXPECT_TRUE(c.bootstrap.empty());
  EXPECT_TRUE(c.network_secret.empty());
  // The topology defaults are the protocol's own.
  const TopologyConfig protocol_defaults;
  EXPECT_EQ(c.topology.target_degree, protocol_defaults.target_degree);
  EXPECT_EQ(c.topology.heartbeat_period, protocol_defaults.heartbeat_period);
  EXPECT_EQ(c.topology.map_flood_radius, protocol_defaults.map_flood_radius);
  EXPECT_TRUE(c.topology.Validate().ok());
}

TEST(ConfigTest, FormattedConfigParsesBackToItself) {
  const NodeConfig c = MustParse(R"(
node_id = "a.b-c_d"
cpu_capacity = 0.5
specializations = ["x"]
bootstrap = ["[::1]:7300"]
data_dir = "dir with \"quotes\" and \\ backslash"
[topology]
link_bandwidth_bytes_per_s = 1e12
)");
  const std::string text = FormatNodeConfig(c);
  const NodeConfig again = MustParse(text);
  EXPECT_EQ(FormatNodeConfig(again), text);
  EXPECT_EQ(again.data_dir, c.data_dir);
}

TEST(ConfigTest, SecretIsNeverPrinted) {
  const NodeConfig c = MustParse(R"(network_secret = "correct-horse-battery-staple")");
  const std::string text = FormatNodeConfig(c);
  EXPECT_EQ(text.find("correct-horse"), std::string::npos);
  EXPECT_NE(text.find("network_secret is set (28 characters"), std::string::npos);
}

TEST(ConfigTest, SyntaxErrorNamesLineAndColumn) {
  Result<NodeConfig> config =
      ParseNodeConfig("node_id = \"a\"\n\nmax_connections = = 3\n", "node.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ErrorCode::kParse);
  EXPECT_EQ(config.error().message.rfind("node.toml:3:", 0), 0u) << config.error().message;
  EXPECT_NE(config.error().message.find("syntax error"), std::string::npos);
  EXPECT_EQ(config.error().message.find('\n'), std::string::npos);
}

TEST(ConfigTest, WrongTypeNamesTheKeyAndBothTypes) {
  EXPECT_EQ(ErrorOf("cpu_capacity = \"lots\""),
            "node.toml:1:16: cpu_capacity: expected a number, got a string");
  EXPECT_EQ(ErrorOf("max_connections = 1.5"),
            "node.toml:1:19: max_connections: expected an integer, got a float");
  EXPECT_EQ(ErrorOf("specializations = \"a\""),
            "node.toml:1:19: specializations: expected an array of strings, got a string");
  EXPECT_EQ(ErrorOf("specializations = [\"a\", 3]"),
            "node.toml:1:25: specializations[1]: expected a string, got an integer");
  EXPECT_EQ(ErrorOf("location = \"us-east\""),
            "node.toml:1:12: location: expected a table, got a string");
  EXPECT_EQ(ErrorOf("[topology]\nheartbeat_ms = true"),
            "node.toml:2:16: topology.heartbeat_ms: expected an integer, got a boolean");
}

TEST(ConfigTest, OutOfRangeNamesTheBounds) {
  EXPECT_EQ(ErrorOf("max_connections = -3"),
            "node.toml:1:19: max_connections: must be between 1 and 100000, got -3");
  EXPECT_EQ(ErrorOf("cpu_capacity = -1.0"),
            "node.toml:1:16: cpu_capacity: must be between 0.0 and 1e+09, got -1.0");
  EXPECT_EQ(ErrorOf("memory_capacity = nan"),
            "node.toml:1:19: memory_capacity: must be between 0.0 and 1e+09, got nan");
  EXPECT_EQ(ErrorOf("[topology]\nwalk_length = 0"),
            "node.toml:2:15: topology.walk_length: must be between 1 and 64, got 0");
  EXPECT_EQ(ErrorOf("network_secret = \"short\""),
            "node.toml:1:18: network_secret: must be empty or 16 to 1024 characters, got 5");
  EXPECT_EQ(ErrorOf("node_id = \"has space\""),
            "node.toml:1:11: node_id: must contain only letters, digits, '_', '-' and '.', got "
            "'has space'");
  EXPECT_EQ(ErrorOf("interests = [\"a\", \"a\"]"), "node.toml:1:19: interests[1]: duplicate 'a'");
}

TEST(ConfigTest, BoundsThatInvolveTwoKeys) {
  EXPECT_EQ(ErrorOf("max_connections = 2\n[topology]\ntarget_degree = 3"),
            "node.toml:3:17: topology.target_degree: must be at most max_connections (2), got 3");
  EXPECT_EQ(ErrorOf("[topology]\nheartbeat_ms = 1000\nfailure_timeout_ms = 500"),
            "node.toml:3:22: topology.failure_timeout_ms: must be at least "
            "topology.heartbeat_ms (1000), got 500");
}

TEST(ConfigTest, UnknownKeysAreErrorsWithASuggestion) {
  EXPECT_EQ(ErrorOf("node_id = \"a\"\nmax_conections = 3"),
            "node.toml:2:1: unknown key 'max_conections' (did you mean 'max_connections'?)");
  EXPECT_EQ(ErrorOf("[topology]\nheartbeat = 3"),
            "node.toml:2:1: unknown key 'topology.heartbeat' (did you mean "
            "'topology.heartbeat_ms'?)");
  // A knob written in the wrong table points at the right one.
  EXPECT_EQ(ErrorOf("heartbeat_ms = 3"),
            "node.toml:1:1: unknown key 'heartbeat_ms' (did you mean 'topology.heartbeat_ms'?)");
  EXPECT_EQ(ErrorOf("[topolgy]\nwalk_length = 3"),
            "node.toml:1:2: unknown key 'topolgy' (did you mean 'topology'?)");
  EXPECT_EQ(ErrorOf("colour = \"blue\""), "node.toml:1:1: unknown key 'colour'");
}

TEST(ConfigTest, FirstProblemInFileOrderIsReported) {
  // Alphabetically "api" comes first; in the file the later line must not win.
  EXPECT_EQ(ErrorOf("max_connections = 0\napi = \"x\""),
            "node.toml:1:19: max_connections: must be between 1 and 100000, got 0");
}

TEST(ConfigTest, AddressesNeedHostAndPort) {
  EXPECT_EQ(ErrorOf("listen = \"abc\""), "node.toml:1:10: listen: expected host:port, got 'abc'");
  EXPECT_EQ(ErrorOf("listen = \"host:99999\""),
            "node.toml:1:10: listen: port must be between 0 and 65535, got 99999");
  EXPECT_EQ(ErrorOf("bootstrap = [\"a:1\", \"b:0\"]"),
            "node.toml:1:21: bootstrap[1]: port must be between 1 and 65535, got 0");
  EXPECT_EQ(ErrorOf("api = \"::1:80\""), "node.toml:1:7: api: expected host:port, got '::1:80'");
  EXPECT_EQ(ErrorOf("listen = 7300"),
            "node.toml:1:10: listen: expected a string (host:port), got an integer");

  Result<HostPort> v6 = ParseHostPort("[::1]:7300", false);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7300);
  EXPECT_FALSE(ParseHostPort(":7300", true).ok());
  EXPECT_FALSE(ParseHostPort("host:", true).ok());
  EXPECT_FALSE(ParseHostPort("host:+5", true).ok());
  EXPECT_FALSE(ParseHostPort("ho st:5", true).ok());
  EXPECT_FALSE(ParseHostPort("host:0", false).ok());
  EXPECT_TRUE(ParseHostPort("host:0", true).ok());
}

TEST(ConfigTest, LoadReportsUnreadableFiles) {
  Result<NodeConfig> missing = LoadNodeConfig("/nonexistent/dir/node.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message,
            "cannot read '/nonexistent/dir/node.toml': No such file or directory");

  const std::string path = ::testing::TempDir() + "config_test_node.toml";
  std::FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("node_id = \"from-file\"\nmax_connections = 0\n", file);
  std::fclose(file);
  Result<NodeConfig> loaded = LoadNodeConfig(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().message,
            path + ":2:19: max_connections: must be between 1 and 100000, got 0");
  std::remove(path.c_str());
}

TEST(ConfigTest, EditDistance) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("max_conections", "max_connections"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

}  // namespace
}  // namespace myco
