// Runs the built `myco` binary (MYCO_BINARY, set by CMakeLists.txt) as a user would and checks
// what the user sees: stdout, the single stderr line of a failure, and the exit code.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#ifndef MYCO_BINARY
#error "MYCO_BINARY must name the myco executable (see CMakeLists.txt)"
#endif

namespace myco {
namespace {

struct MycoRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Scratch(const std::string& name) {
  return ::testing::TempDir() + "myco_cli_test_" + std::to_string(::getpid()) + "_" + name;
}

// `args` goes through /bin/sh: the tests quote what needs quoting.
MycoRun Myco(const std::string& args) {
  static int calls = 0;
  const std::string out = Scratch("out" + std::to_string(calls));
  const std::string err = Scratch("err" + std::to_string(calls));
  ++calls;
  const std::string command =
      std::string("'") + MYCO_BINARY + "' " + args + " > '" + out + "' 2> '" + err + "'";
  const int status = std::system(command.c_str());
  MycoRun run;
  run.exit_code = (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  run.out = ReadFile(out);
  run.err = ReadFile(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  return run;
}

size_t LineCount(const std::string& text) {
  size_t lines = 0;
  for (const char c : text) lines += c == '\n';
  return lines;
}

// The failure contract of every command: a non-zero exit and exactly one "myco: error:" line.
void ExpectOneLineError(const std::string& args, int exit_code) {
  SCOPED_TRACE("myco " + args);
  const MycoRun run = Myco(args);
  EXPECT_EQ(run.exit_code, exit_code);
  EXPECT_EQ(LineCount(run.err), 1u) << run.err;
  EXPECT_EQ(run.err.rfind("myco: error: ", 0), 0u) << run.err;
  EXPECT_EQ(run.err.find("terminate called"), std::string::npos);
  EXPECT_EQ(run.err.find("Sanitizer"), std::string::npos);
}

TEST(CliTest, Version) {
  const MycoRun run = Myco("--version");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out.rfind("myco ", 0), 0u) << run.out;
}

TEST(CliTest, GrowJsonIsByteIdenticalForTheSameSeed) {
  const std::string args = "simulate grow --initial 10 --steps 1000 --seed 7 --json --quiet";
  const MycoRun a = Myco(args);
  const MycoRun b = Myco(args);
  const MycoRun other = Myco("simulate grow --initial 10 --steps 1000 --seed 8 --json --quiet");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, other.out);
  EXPECT_EQ(a.err, "");
  // About 100 rows (every 10 steps, plus step 0), then one summary line.
  EXPECT_EQ(LineCount(a.out), 102u);
  EXPECT_EQ(a.out.rfind("{\"type\":\"row\",\"step\":0,", 0), 0u) << a.out.substr(0, 200);
  const size_t last_line = a.out.rfind('\n', a.out.size() - 2) + 1;
  EXPECT_EQ(a.out.compare(last_line, 20, "{\"type\":\"summary\",\"s"), 0)
      << a.out.substr(last_line);
}

TEST(CliTest, GrowJsonPutsTimingOnStderrOnly) {
  const MycoRun run = Myco("simulate grow --steps 20 --json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.find("wall"), std::string::npos);
  EXPECT_NE(run.err.find("wall"), std::string::npos);
}

TEST(CliTest, GrowTableHasHeaderRowsAndSummary) {
  const MycoRun run = Myco("simulate grow --initial 10 --steps 50 --seed 1");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("step     nodes"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("clustering"), std::string::npos);
  EXPECT_NE(run.out.find("power law"), std::string::npos);
  EXPECT_NE(run.out.find("events/s"), std::string::npos);
  EXPECT_NE(run.out.find("measuring rows"), std::string::npos);
  EXPECT_NE(run.out.find("peak RSS"), std::string::npos);
}

TEST(CliTest, GrowSampledPathLengthIsMarked) {
  const MycoRun run = Myco("simulate grow --steps 40 --every 40 --path-sources 8 --quiet");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find(" ~"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("estimated from 8 sampled BFS sources"), std::string::npos) << run.out;
}

TEST(CliTest, GrowWritesCsvAndExports) {
  const std::string csv = Scratch("rows.csv");
  const std::string edges = Scratch("edges.txt");
  const std::string graphml = Scratch("graph.graphml");
  const MycoRun run = Myco("simulate grow --steps 30 --every 10 --quiet --csv '" + csv +
                           "' --export '" + edges + "'");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string rows = ReadFile(csv);
  EXPECT_EQ(rows.rfind("step,node_count,edge_count,", 0), 0u) << rows;
  EXPECT_EQ(LineCount(rows), 5u);  // header + steps 0, 10, 20, 30
  const std::string edge_list = ReadFile(edges);
  EXPECT_NE(edge_list.find("seed-0 "), std::string::npos) << edge_list.substr(0, 200);

  const MycoRun ml = Myco("simulate grow --steps 30 --quiet --json --export '" + graphml + "'");
  ASSERT_EQ(ml.exit_code, 0) << ml.err;
  EXPECT_NE(ReadFile(graphml).find("<graphml"), std::string::npos);
  std::remove(csv.c_str());
  std::remove(edges.c_str());
  std::remove(graphml.c_str());
}

TEST(CliTest, GrowPlotsSvg) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) GTEST_SKIP() << "no gnuplot";
  const std::string svg = Scratch("plot.svg");
  const MycoRun run = Myco("simulate grow --steps 30 --quiet --plot '" + svg + "'");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(ReadFile(svg).find("<svg"), std::string::npos);
  std::remove(svg.c_str());
}

// ---- --export and --csv of the other simulate commands ----

// A topology as written by --export: node names and undirected edges (smaller name first).
struct Topology {
  std::set<std::string> nodes;
  std::set<std::pair<std::string, std::string>> edges;
  size_t edge_lines = 0;  // edges as listed, duplicates included
};

std::pair<std::string, std::string> Ordered(std::string a, std::string b) {
  if (b < a) std::swap(a, b);
  return {a, b};
}

// An edge list: one "a b" line per edge. Names only appear through their edges.
Topology ReadEdgeList(const std::string& path) {
  Topology t;
  std::istringstream in(ReadFile(path));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string a, b, extra;
    EXPECT_TRUE(fields >> a >> b) << line;
    EXPECT_FALSE(fields >> extra) << line;
    EXPECT_NE(a, b) << line;
    t.nodes.insert(a);
    t.nodes.insert(b);
    t.edges.insert(Ordered(a, b));
    ++t.edge_lines;
  }
  return t;
}

// The value of attribute `name` in the XML `line`, or "" without it.
std::string XmlAttribute(const std::string& line, const std::string& name) {
  const std::string key = name + "=\"";
  const size_t start = line.find(key);
  if (start == std::string::npos) return "";
  const size_t end = line.find('"', start + key.size());
  return end == std::string::npos ? "" : line.substr(start + key.size(), end - start - key.size());
}

// GraphML as WriteGraphML writes it: one <node> or <edge> element per line.
Topology ReadGraphMl(const std::string& path) {
  Topology t;
  const std::string text = ReadFile(path);
  EXPECT_NE(text.find("<graphml"), std::string::npos) << text.substr(0, 200);
  EXPECT_NE(text.find("</graphml>"), std::string::npos);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("<node ") != std::string::npos) {
      const std::string id = XmlAttribute(line, "id");
      EXPECT_FALSE(id.empty()) << line;
      EXPECT_TRUE(t.nodes.insert(id).second) << "node listed twice: " << line;
    } else if (line.find("<edge ") != std::string::npos) {
      const std::string a = XmlAttribute(line, "source");
      const std::string b = XmlAttribute(line, "target");
      EXPECT_TRUE(t.nodes.count(a) == 1 && t.nodes.count(b) == 1) << "unknown end: " << line;
      t.edges.insert(Ordered(a, b));
      ++t.edge_lines;
    }
  }
  return t;
}

nlohmann::json ParseJsonLine(const std::string& line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << line;
  return j;
}

std::vector<nlohmann::json> JsonLines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(ParseJsonLine(line));
  return lines;
}

// Runs `args` twice, with --export to an edge list and to GraphML, checks that the two files
// hold the same simple graph and that exporting leaves stdout as it is without --export, and
// returns the GraphML one (the only one that lists isolated nodes) with the JSON output.
std::pair<Topology, std::string> ExportBoth(const std::string& args) {
  SCOPED_TRACE("myco " + args);
  const std::string edges_path = Scratch("topology.txt");
  const std::string graphml_path = Scratch("topology.graphml");
  const MycoRun plain = Myco(args);
  const MycoRun edges = Myco(args + " --export '" + edges_path + "'");
  const MycoRun graphml = Myco(args + " --export '" + graphml_path + "'");
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(edges.exit_code, 0) << edges.err;
  EXPECT_EQ(graphml.exit_code, 0) << graphml.err;
  EXPECT_EQ(edges.out, plain.out);
  EXPECT_EQ(graphml.out, plain.out);
  const Topology from_edges = ReadEdgeList(edges_path);
  const Topology from_graphml = ReadGraphMl(graphml_path);
  EXPECT_GT(from_graphml.edges.size(), 0u);
  EXPECT_EQ(from_edges.edge_lines, from_edges.edges.size()) << "an edge listed twice";
  EXPECT_EQ(from_graphml.edge_lines, from_graphml.edges.size()) << "an edge listed twice";
  EXPECT_EQ(from_edges.edges, from_graphml.edges);
  for (const std::string& name : from_edges.nodes) EXPECT_EQ(from_graphml.nodes.count(name), 1u);
  std::remove(edges_path.c_str());
  std::remove(graphml_path.c_str());
  return {from_graphml, plain.out};
}

TEST(CliTest, BroadcastExportsTheFinalTopologyOfTheLiveNodes) {
  // 20% of 30 nodes crash: the export holds the 24 live ones only.
  const auto [topology, out] = ExportBoth(
      "simulate broadcast --nodes 30 --messages 5 --mode plumtree --failure-rate 0.2 --seed 1 "
      "--json --quiet");
  const std::vector<nlohmann::json> lines = JsonLines(out);
  ASSERT_EQ(lines.size(), 1u) << out;
  EXPECT_EQ(lines[0]["crashed"], 6);
  EXPECT_EQ(topology.nodes.size(), lines[0]["live_nodes"].get<size_t>());
  EXPECT_EQ(topology.nodes.size(), 24u);
}

TEST(CliTest, BroadcastTakesTheNumberOfTrees) {
  ExpectOneLineError("simulate broadcast --nodes 10 --trees 0", 2);
  ExpectOneLineError("simulate broadcast --nodes 10 --trees 17", 2);
  for (const int trees : {1, 16}) {
    const MycoRun run = Myco("simulate broadcast --nodes 30 --messages 5 --mode plumtree --trees " +
                             std::to_string(trees) + " --seed 1 --json --quiet");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const std::vector<nlohmann::json> lines = JsonLines(run.out);
    ASSERT_EQ(lines.size(), 1u) << run.out;
    EXPECT_EQ(lines[0]["trees"], trees);
    EXPECT_EQ(lines[0]["delivery_ratio_min"], 1.0);
  }
}

TEST(CliTest, BroadcastExportsOneTopologyPerMode) {
  const std::string path = Scratch("modes.graphml");
  const MycoRun run = Myco(
      "simulate broadcast --nodes 20 --messages 3 --failure-rate 0.1 --seed 2 --json --quiet "
      "--export '" +
      path + "'");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<nlohmann::json> lines = JsonLines(run.out);
  ASSERT_EQ(lines.size(), 3u) << run.out;
  // Each mode ran on its own network and wrote it beside FILE, its name before the extension.
  EXPECT_FALSE(std::ifstream(path).good()) << path;
  for (const nlohmann::json& line : lines) {
    const std::string mode = line["mode"].get<std::string>();
    const std::string mode_path = Scratch("modes." + mode + ".graphml");
    const Topology topology = ReadGraphMl(mode_path);
    EXPECT_EQ(topology.nodes.size(), line["live_nodes"].get<size_t>()) << mode;
    EXPECT_EQ(topology.nodes.size(), 18u) << mode;
    EXPECT_GT(topology.edges.size(), 0u) << mode;
    std::remove(mode_path.c_str());
  }
  // Without an extension the mode's name is appended; anything but .graphml is an edge list.
  const std::string bare = Scratch("modes_edges");
  ASSERT_EQ(
      Myco("simulate broadcast --nodes 20 --messages 3 --seed 2 --quiet --export '" + bare + "'")
          .exit_code,
      0);
  for (const char* mode : {"plumtree", "flood", "gossip"}) {
    const std::string mode_path = bare + "." + mode;
    EXPECT_GT(ReadEdgeList(mode_path).edges.size(), 0u) << mode_path;
    std::remove(mode_path.c_str());
  }
}

TEST(CliTest, BroadcastCsvHasOneLinePerBroadcastAndMode) {
  const std::string csv = Scratch("broadcasts.csv");
  const MycoRun all =
      Myco("simulate broadcast --nodes 20 --messages 4 --seed 3 --quiet --csv '" + csv + "'");
  ASSERT_EQ(all.exit_code, 0) << all.err;
  std::string rows = ReadFile(csv);
  EXPECT_EQ(rows.rfind("mode,broadcast,source,sent_at_s,priority,live_nodes,reached,", 0), 0u)
      << rows;
  EXPECT_EQ(LineCount(rows), 1u + 3u * 4u) << rows;  // header + 4 broadcasts × 3 modes
  EXPECT_NE(rows.find("\nplumtree,3,"), std::string::npos) << rows;
  EXPECT_NE(rows.find("\nflood,0,"), std::string::npos) << rows;
  EXPECT_NE(rows.find("\ngossip,3,"), std::string::npos) << rows;

  const MycoRun one = Myco(
      "simulate broadcast --nodes 20 --messages 4 --mode flood --seed 3 "
      "--quiet --json --csv '" +
      csv + "'");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  rows = ReadFile(csv);
  EXPECT_EQ(LineCount(rows), 1u + 4u) << rows;
  EXPECT_EQ(rows.find("plumtree"), std::string::npos) << rows;
  std::remove(csv.c_str());
}

TEST(CliTest, StressExportsTheFinalTopologyOfTheLiveNodes) {
  const auto [topology, out] = ExportBoth(
      "simulate stress --nodes 20 --messages 20 --failure-rate 0.2 --seed 1 --json --quiet");
  const std::vector<nlohmann::json> lines = JsonLines(out);
  ASSERT_EQ(lines.size(), 1u) << out;
  EXPECT_EQ(lines[0]["crashed"], 4);
  EXPECT_EQ(topology.nodes.size(), lines[0]["live"].get<size_t>());
  EXPECT_EQ(topology.nodes.size(), 16u);
}

TEST(CliTest, DiscoveryExportsTheFinalTopology) {
  const auto [topology, out] =
      ExportBoth("simulate discovery --nodes 30 --queries 10 --seed 1 --json --quiet");
  const std::vector<nlohmann::json> lines = JsonLines(out);
  ASSERT_EQ(lines.size(), 1u) << out;
  EXPECT_EQ(topology.nodes.size(), lines[0]["nodes"].get<size_t>());
  EXPECT_EQ(topology.nodes.size(), 30u);
}

TEST(CliTest, SimulateOutputPathsAreCheckedBeforeTheRun) {
  // In table mode these print their table after the run (broadcast its header before it), so
  // an empty stdout shows the path was refused before anything ran.
  const std::vector<std::string> args = {
      "simulate broadcast --export /nonexistent/dir/x.txt",
      "simulate broadcast --mode flood --export /nonexistent/dir/x.graphml",
      "simulate broadcast --csv /nonexistent/dir/x.csv",
      // With several modes FILE itself must not be a directory either.
      "simulate broadcast --export '" + ::testing::TempDir() + "'",
      "simulate stress --export /nonexistent/dir/x.txt",
      "simulate discovery --export /nonexistent/dir/x.graphml",
  };
  for (const std::string& a : args) {
    ExpectOneLineError(a, 1);
    const MycoRun run = Myco(a);
    EXPECT_EQ(run.out, "") << a;
    EXPECT_NE(run.err.find("cannot write --"), std::string::npos) << run.err;
  }
}

TEST(CliTest, BadInputIsOneLineAndNonZero) {
  ExpectOneLineError("simulate grow --steps 5 --bogus", 2);
  ExpectOneLineError("simulate grow --steps -5", 2);
  ExpectOneLineError("simulate grow --steps=-5", 2);
  ExpectOneLineError("simulate grow --m 0", 2);
  ExpectOneLineError("simulate grow --m 101", 2);
  ExpectOneLineError("simulate grow --steps abc", 2);
  ExpectOneLineError("simulate grow --steps 1e3", 2);
  ExpectOneLineError("simulate grow --steps 99999999999999999999999", 2);
  ExpectOneLineError("simulate grow --steps 10000001", 2);
  ExpectOneLineError("simulate grow --initial 0", 2);
  ExpectOneLineError("simulate grow --initial 1000001", 2);
  ExpectOneLineError("simulate grow --max-connections 0", 2);
  ExpectOneLineError("simulate grow --max-connections 100001", 2);
  ExpectOneLineError("simulate grow --join-rate 0", 2);
  ExpectOneLineError("simulate grow --join-rate nan", 2);
  ExpectOneLineError("simulate grow --join-rate -1", 2);
  ExpectOneLineError("simulate grow --every 0", 2);
  ExpectOneLineError("simulate grow --steps", 2);
  ExpectOneLineError("simulate grow --plot x.pdf", 2);
  ExpectOneLineError("simulate", 2);
  ExpectOneLineError("", 2);
  ExpectOneLineError("frobnicate", 2);
  ExpectOneLineError("simulate grow --csv /nonexistent/dir/x.csv", 1);
  ExpectOneLineError("simulate grow --export /nonexistent/dir/x.txt", 1);
  ExpectOneLineError("simulate grow --plot /nonexistent/dir/x.png", 1);
}

TEST(CliTest, BadInputMessagesNameTheFlag) {
  EXPECT_EQ(Myco("simulate grow --m 0").err,
            "myco: error: --m must be between 1 and --max-connections (100), got 0\n");
  EXPECT_EQ(Myco("simulate grow --steps -5").err,
            "myco: error: --steps must be between 0 and 10000000, got -5\n");
  EXPECT_EQ(Myco("simulate grow --steps abc").err,
            "myco: error: --steps must be an integer, got 'abc'\n");
  EXPECT_EQ(Myco("simulate grow --steps 99999999999999999999").err,
            "myco: error: --steps must be between 0 and 10000000, got 99999999999999999999\n");
  EXPECT_EQ(Myco("simulate grow --initial 0").err,
            "myco: error: --initial must be between 1 and 1000000, got 0\n");
}

TEST(CliTest, ConfigCheck) {
  const std::string good = Scratch("good.toml");
  const std::string bad = Scratch("bad.toml");
  std::ofstream(good) << "node_id = \"lab-1\"\nmax_connections = 20\n";
  std::ofstream(bad) << "node_id = \"lab-1\"\nmax_connections = = 20\n";
  const MycoRun ok = Myco("config check '" + good + "'");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("node_id = \"lab-1\""), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("max_connections = 20"), std::string::npos);
  EXPECT_NE(ok.out.find("[topology]"), std::string::npos);

  ExpectOneLineError("config check '" + bad + "'", 1);
  EXPECT_NE(Myco("config check '" + bad + "'").err.find(bad + ":2:"), std::string::npos);
  ExpectOneLineError("config check /nonexistent/node.toml", 1);
  ExpectOneLineError("config check", 2);
  std::remove(good.c_str());
  std::remove(bad.c_str());
}

TEST(CliTest, NodeSecretFileErrorsNameTheFlag) {
  const std::string loose = Scratch("loose.secret");
  const std::string short_secret = Scratch("short.secret");
  std::ofstream(loose) << "a-long-enough-network-secret\n";
  std::ofstream(short_secret) << "short\n";
  ::chmod(loose.c_str(), 0644);
  ::chmod(short_secret.c_str(), 0600);

  ExpectOneLineError("node --secret-file /nonexistent/secret", 2);
  EXPECT_NE(Myco("node --secret-file /nonexistent/secret").err.find("--secret-file: "),
            std::string::npos);
  ExpectOneLineError("node --secret-file '" + loose + "'", 2);
  EXPECT_NE(Myco("node --secret-file '" + loose + "'").err.find("chmod 600"), std::string::npos);
  // The trailing newline is not part of the secret: "short" is 5 characters, too few.
  const MycoRun too_short = Myco("node --secret-file '" + short_secret + "'");
  EXPECT_EQ(too_short.exit_code, 2);
  EXPECT_NE(too_short.err.find("--secret-file: must be empty or 16"), std::string::npos)
      << too_short.err;
  ExpectOneLineError("node --secret xxxxxxxxxxxxxxxxxxxx --secret-file '" + short_secret + "'", 2);
  std::remove(loose.c_str());
  std::remove(short_secret.c_str());
}

}  // namespace
}  // namespace myco
