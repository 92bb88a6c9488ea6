#include "metrics/graph_export.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace myco {
namespace {

// Per-process names: other checkouts may run this suite in the same temp dir at the same time.
std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "myco_graph_export_" + std::to_string(::getpid()) + "_" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Exists(const std::string& path) { return std::ifstream(path).good(); }

constexpr char kGraphMLHeader[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" "
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
    "xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns "
    "http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n"
    "  <key id=\"d0\" for=\"node\" attr.name=\"degree\" attr.type=\"int\"/>\n"
    "  <graph id=\"G\" edgedefault=\"undirected\">\n";

// Triangle a-b-c with a pendant d on c.
Graph Kite() { return Graph::FromEdges(4, {{1, 0}, {1, 2}, {0, 2}, {3, 2}, {2, 3}}); }

TEST(GraphExportTest, EdgeListHasOneLinePerEdgeWithNames) {
  const std::string path = TempPath("kite.txt");
  const Status s = WriteEdgeList(Kite(), {"a", "b", "c", "d"}, path);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(ReadFile(path), "a b\na c\nb c\nc d\n");
  EXPECT_FALSE(Exists(path + ".tmp"));
  std::remove(path.c_str());
}

TEST(GraphExportTest, GraphMLEscapesNamesAndCarriesDegree) {
  const std::string path = TempPath("escape.graphml");
  const Graph g = Graph::FromEdges(3, {{0, 1}, {1, 2}});
  const Status s = WriteGraphML(g, {"<a&b>", "it's \"q\"", "tab\there"}, path);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  const std::string expected = std::string(kGraphMLHeader) +
                               "    <node id=\"&lt;a&amp;b&gt;\"><data key=\"d0\">1</data></node>\n"
                               "    <node id=\"it&apos;s &quot;q&quot;\"><data key=\"d0\">2</data>"
                               "</node>\n"
                               "    <node id=\"tab&#9;here\"><data key=\"d0\">1</data></node>\n"
                               "    <edge source=\"&lt;a&amp;b&gt;\" target=\"it&apos;s "
                               "&quot;q&quot;\"/>\n"
                               "    <edge source=\"it&apos;s &quot;q&quot;\" "
                               "target=\"tab&#9;here\"/>\n"
                               "  </graph>\n</graphml>\n";
  EXPECT_EQ(ReadFile(path), expected);
  std::remove(path.c_str());
}

TEST(GraphExportTest, WriteGraphPicksFormatBySuffix) {
  const std::string graphml = TempPath("kite.graphml");
  const std::string edges = TempPath("kite.edges");
  const std::vector<std::string> names = {"n0", "n1", "n2", "n3"};
  ASSERT_TRUE(WriteGraph(Kite(), names, graphml).ok());
  ASSERT_TRUE(WriteGraph(Kite(), names, edges).ok());
  const std::string xml = ReadFile(graphml);
  EXPECT_EQ(xml.rfind(kGraphMLHeader, 0), 0u);
  EXPECT_NE(xml.find("<node id=\"n2\"><data key=\"d0\">3</data></node>"), std::string::npos);
  EXPECT_NE(xml.find("<edge source=\"n2\" target=\"n3\"/>"), std::string::npos);
  EXPECT_EQ(ReadFile(edges), "n0 n1\nn0 n2\nn1 n2\nn2 n3\n");
  std::remove(graphml.c_str());
  std::remove(edges.c_str());
}

TEST(GraphExportTest, EmptyGraphWritesValidEmptyFiles) {
  const std::string graphml = TempPath("empty.graphml");
  const std::string edges = TempPath("empty.txt");
  ASSERT_TRUE(WriteGraph(Graph(), {}, graphml).ok());
  ASSERT_TRUE(WriteGraph(Graph(), {}, edges).ok());
  EXPECT_EQ(ReadFile(graphml), std::string(kGraphMLHeader) + "  </graph>\n</graphml>\n");
  EXPECT_EQ(ReadFile(edges), "");
  std::remove(graphml.c_str());
  std::remove(edges.c_str());
}

TEST(GraphExportTest, OverwritesAnExistingFile) {
  const std::string path = TempPath("overwrite.txt");
  std::ofstream(path) << "old contents that are longer than the new ones\n";
  ASSERT_TRUE(WriteEdgeList(Graph::FromEdges(2, {{0, 1}}), {"x", "y"}, path).ok());
  EXPECT_EQ(ReadFile(path), "x y\n");
  std::remove(path.c_str());
}

TEST(GraphExportTest, UnwritablePathIsAnErrorNamingThePath) {
  const std::string path = "/nonexistent-myco-dir/sub/graph.graphml";
  for (const Status& s : {WriteGraph(Kite(), {"a", "b", "c", "d"}, path),
                          WriteEdgeList(Kite(), {"a", "b", "c", "d"}, path)}) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(s.error().message.find(path), std::string::npos) << s.error().message;
  }
  // A directory cannot be replaced by a file: the rename fails and the staging file goes away.
  const std::string dir = TempPath("a_directory");
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  const Status s = WriteEdgeList(Kite(), {"a", "b", "c", "d"}, dir);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(dir), std::string::npos) << s.error().message;
  EXPECT_FALSE(Exists(dir + ".tmp"));
  ::rmdir(dir.c_str());
}

TEST(GraphExportTest, BadNamesAreRejectedBeforeAnythingIsWritten) {
  const std::string path = TempPath("bad.txt");
  const std::vector<std::vector<std::string>> bad_edge_list_names = {
      {"a", "b c", "d", "e"}, {"a", "", "c", "d"}, {"a", "b", "a", "d"}};
  for (const auto& names : bad_edge_list_names) {
    const Status s = WriteEdgeList(Kite(), names, path);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message.find(path), std::string::npos);
  }
  const Status control = WriteGraphML(Kite(), {"a", "b\x01", "c", "d"}, path + ".graphml");
  ASSERT_FALSE(control.ok());
  EXPECT_EQ(control.error().code, ErrorCode::kInvalidArgument);
  // Spaces are fine in GraphML ids.
  ASSERT_TRUE(WriteGraphML(Kite(), {"a", "b c", "d", "e"}, path + ".graphml").ok());
  EXPECT_FALSE(Exists(path));
  std::remove((path + ".graphml").c_str());
}

}  // namespace
}  // namespace myco
