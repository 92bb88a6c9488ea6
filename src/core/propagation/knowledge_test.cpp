// Tests of the bounded knowledge store: duplicates, lookups, queries and eviction at the bound.
#include "core/propagation/knowledge.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace myco {
namespace {

Discovery Make(std::string id, std::string type, std::string data, int64_t created_at_ms = 0) {
  Discovery d;
  d.id = std::move(id);
  d.discovery_type = std::move(type);
  d.data_json = std::move(data);
  d.origin.bytes[0] = 7;
  d.created_at_ms = created_at_ms;
  return d;
}

std::vector<std::string> Ids(const std::vector<const Discovery*>& found) {
  std::vector<std::string> ids;
  for (const Discovery* d : found) ids.push_back(d->id);
  return ids;
}

using Strings = std::vector<std::string>;

TEST(KnowledgeBaseTest, AddsAndFinds) {
  KnowledgeBase kb(10);
  EXPECT_EQ(kb.size(), 0u);
  EXPECT_EQ(kb.Find("a"), nullptr);
  const Discovery a = Make("a", "optimization_insight", R"({"gain":0.3})", 1234);
  EXPECT_TRUE(kb.Add(a));
  EXPECT_EQ(kb.size(), 1u);
  const Discovery* found = kb.Find("a");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(*found, a);
  EXPECT_EQ(kb.Find("b"), nullptr);
}

TEST(KnowledgeBaseTest, IgnoresDuplicates) {
  KnowledgeBase kb(10);
  EXPECT_TRUE(kb.Add(Make("a", "t", "first")));
  EXPECT_FALSE(kb.Add(Make("a", "t", "second")));  // the first copy wins
  EXPECT_EQ(kb.size(), 1u);
  EXPECT_EQ(kb.Find("a")->data_json, "first");
  EXPECT_EQ(kb.evicted(), 0u);
}

TEST(KnowledgeBaseTest, EvictsTheOldestByInsertionAtTheBound) {
  KnowledgeBase kb(3);
  // created_at_ms runs backwards: eviction must follow insertion, not the origin's clock.
  EXPECT_TRUE(kb.Add(Make("a", "t", "", 30)));
  EXPECT_TRUE(kb.Add(Make("b", "t", "", 20)));
  EXPECT_TRUE(kb.Add(Make("c", "t", "", 10)));
  EXPECT_FALSE(kb.Add(Make("a", "t", "", 40)));  // a duplicate at the bound evicts nothing
  EXPECT_EQ(kb.evicted(), 0u);
  EXPECT_TRUE(kb.Add(Make("d", "t", "", 0)));
  EXPECT_EQ(kb.size(), 3u);
  EXPECT_EQ(kb.evicted(), 1u);
  EXPECT_EQ(kb.Find("a"), nullptr);
  EXPECT_NE(kb.Find("b"), nullptr);
  EXPECT_NE(kb.Find("d"), nullptr);
  EXPECT_TRUE(kb.Add(Make("e", "t", "")));
  EXPECT_EQ(kb.Find("b"), nullptr);
  EXPECT_EQ(kb.evicted(), 2u);
  EXPECT_EQ(Ids(kb.Query("", "", 10)), (Strings{"e", "d", "c"}));
  // An evicted id is forgotten, so it can be stored again (as the newest).
  EXPECT_TRUE(kb.Add(Make("a", "t", "again")));
  EXPECT_EQ(kb.Find("a")->data_json, "again");
  EXPECT_EQ(kb.Find("c"), nullptr);
}

TEST(KnowledgeBaseTest, ManyEvictionsKeepTheIndexSound) {
  KnowledgeBase kb(100);
  for (int i = 0; i < 10'000; ++i) {
    // Long ids, so they live outside std::string's inline buffer too.
    EXPECT_TRUE(kb.Add(Make("discovery-with-a-long-identifier-" + std::to_string(i), "t", "")));
  }
  EXPECT_EQ(kb.size(), 100u);
  EXPECT_EQ(kb.evicted(), 9'900u);
  EXPECT_EQ(kb.Find("discovery-with-a-long-identifier-9899"), nullptr);
  const Discovery* last = kb.Find("discovery-with-a-long-identifier-9999");
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->id, "discovery-with-a-long-identifier-9999");
  EXPECT_NE(kb.Find("discovery-with-a-long-identifier-9900"), nullptr);
}

class KnowledgeQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(kb_.Add(Make("1", "optimization_insight", R"({"topic":"Routing","gain":0.2})")));
    ASSERT_TRUE(kb_.Add(Make("2", "threat_pattern", R"({"signature":"port-scan"})")));
    ASSERT_TRUE(kb_.Add(Make("3", "optimization_insight", R"({"topic":"caching"})")));
    ASSERT_TRUE(kb_.Add(Make("4", "learned_pattern", R"({"note":"ROUTING tables shrink"})")));
  }
  KnowledgeBase kb_{16};
};

TEST_F(KnowledgeQueryTest, EverythingNewestFirst) {
  EXPECT_EQ(Ids(kb_.Query("", "", 10)), (Strings{"4", "3", "2", "1"}));
}

TEST_F(KnowledgeQueryTest, TypeIsAnExactMatch) {
  EXPECT_EQ(Ids(kb_.Query("optimization_insight", "", 10)), (Strings{"3", "1"}));
  EXPECT_TRUE(kb_.Query("optimization", "", 10).empty());
  EXPECT_TRUE(kb_.Query("OPTIMIZATION_INSIGHT", "", 10).empty());
}

TEST_F(KnowledgeQueryTest, TextIsACaseInsensitiveSubstringOfDataOrType) {
  EXPECT_EQ(Ids(kb_.Query("", "routing", 10)), (Strings{"4", "1"}));
  EXPECT_EQ(Ids(kb_.Query("", "PORT-SCAN", 10)), (Strings{"2"}));
  EXPECT_EQ(Ids(kb_.Query("", "Pattern", 10)), (Strings{"4", "2"}));  // found in the type
  EXPECT_TRUE(kb_.Query("", "nowhere", 10).empty());
}

TEST_F(KnowledgeQueryTest, TypeAndTextTogether) {
  EXPECT_EQ(Ids(kb_.Query("optimization_insight", "ROUTING", 10)), (Strings{"1"}));
  EXPECT_TRUE(kb_.Query("threat_pattern", "routing", 10).empty());
}

TEST_F(KnowledgeQueryTest, LimitKeepsTheNewest) {
  EXPECT_EQ(Ids(kb_.Query("", "", 2)), (Strings{"4", "3"}));
  EXPECT_EQ(Ids(kb_.Query("", "routing", 1)), (Strings{"4"}));
  EXPECT_TRUE(kb_.Query("", "", 0).empty());
}

TEST(KnowledgeBaseTest, MovePreservesTheIndex) {
  KnowledgeBase kb(4);
  ASSERT_TRUE(kb.Add(Make("a", "t", "x")));
  KnowledgeBase moved = std::move(kb);
  ASSERT_NE(moved.Find("a"), nullptr);
  EXPECT_EQ(moved.Find("a")->data_json, "x");
  EXPECT_FALSE(moved.Add(Make("a", "t", "y")));
}

}  // namespace
}  // namespace myco
