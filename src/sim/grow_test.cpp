#include "sim/grow.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace myco {
namespace {

GrowOptions SmallRun(uint64_t seed, uint64_t every) {
  GrowOptions options;
  options.initial_nodes = 10;
  options.steps = 200;
  options.seed = seed;
  options.every_steps = every;
  return options;
}

GrowReport MustGrow(const GrowOptions& options) {
  Result<GrowReport> report = RunGrow(options);
  EXPECT_TRUE(report.ok()) << report.error().message;
  return std::move(report).value();
}

TEST(GrowTest, RecordsRowsAtStepZeroEveryKStepsAndTheFinalStep) {
  const GrowReport report = MustGrow(SmallRun(1, 30));
  std::vector<uint64_t> steps;
  for (const GrowRow& row : report.rows) steps.push_back(row.step);
  EXPECT_EQ(steps, (std::vector<uint64_t>{0, 30, 60, 90, 120, 150, 180, 200}));
  EXPECT_EQ(report.options.every_steps, 30u);
}

TEST(GrowTest, DefaultEveryGivesAboutOneHundredRows) {
  GrowOptions options = SmallRun(1, 0);
  EXPECT_EQ(options.EffectiveEvery(), 2u);
  options.steps = 50;
  EXPECT_EQ(options.EffectiveEvery(), 1u);
  options.steps = 1'000'000;
  EXPECT_EQ(options.EffectiveEvery(), 10'000u);
}

TEST(GrowTest, CountsAreSaneAndTheSettledNetworkIsConnected) {
  const GrowOptions options = SmallRun(3, 20);
  const GrowReport report = MustGrow(options);
  ASSERT_FALSE(report.rows.empty());
  for (const GrowRow& row : report.rows) {
    SCOPED_TRACE("step " + std::to_string(row.step));
    EXPECT_EQ(row.node_count, options.initial_nodes + row.step);
    // Simple graph with a degree cap: at most n * cap / 2 edges, and never more than a clique.
    EXPECT_LE(row.edge_count, uint64_t{row.node_count} * options.max_connections / 2);
    EXPECT_LE(row.max_degree, options.max_connections);
    uint64_t histogram_nodes = 0;
    for (const uint64_t count : row.degree_distribution) histogram_nodes += count;
    EXPECT_EQ(histogram_nodes, row.node_count);
    EXPECT_EQ(row.joining_nodes, row.degree_distribution.empty() ? 0 : row.degree_distribution[0]);
    EXPECT_GE(row.clustering_coefficient, 0.0);
    EXPECT_LE(row.clustering_coefficient, 1.0);
    EXPECT_GE(row.global_efficiency, 0.0);
    EXPECT_LE(row.global_efficiency, 1.0);
    EXPECT_TRUE(row.path_exact);  // 210 nodes is below the sampling threshold
  }
  const GrowRow& last = report.rows.back();
  EXPECT_EQ(last.step, options.steps);
  EXPECT_EQ(last.components, 1u);
  EXPECT_EQ(last.joining_nodes, 0u);
  // Every newcomer opens m links, so the settled graph has about m edges per node.
  EXPECT_GE(last.average_degree, 1.5 * options.m);
  EXPECT_LE(last.average_degree, 3.0 * options.m);
  EXPECT_GT(last.average_path_length, 1.0);

  ASSERT_EQ(report.graph.vertex_count(), options.initial_nodes + options.steps);
  ASSERT_EQ(report.names.size(), report.graph.vertex_count());
  EXPECT_EQ(report.names.front(), "seed-0");
  EXPECT_EQ(report.names.back(), "node-209");
  for (uint32_t v = 0; v < report.graph.vertex_count(); ++v) {
    EXPECT_GE(report.graph.degree(v), 1u) << report.names[v];
  }
  EXPECT_EQ(report.graph.edge_count(), last.edge_count);
  EXPECT_GT(report.totals.events, 0u);
  EXPECT_GT(report.totals.messages, 0u);
  EXPECT_EQ(report.totals.virtual_time_s, last.virtual_time_s);
}

TEST(GrowTest, SameSeedSameRowsOtherSeedOtherRows) {
  const GrowReport a = MustGrow(SmallRun(42, 25));
  const GrowReport b = MustGrow(SmallRun(42, 25));
  const GrowReport c = MustGrow(SmallRun(43, 25));
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.totals.events, b.totals.events);
  EXPECT_EQ(a.names, b.names);
  EXPECT_NE(a.rows, c.rows);
}

TEST(GrowTest, ARowDoesNotDependOnHowOftenRowsAreRecorded) {
  const GrowReport coarse = MustGrow(SmallRun(5, 100));
  const GrowReport fine = MustGrow(SmallRun(5, 50));
  ASSERT_EQ(coarse.rows.size(), 3u);  // 0, 100, 200
  ASSERT_EQ(fine.rows.size(), 5u);    // 0, 50, 100, 150, 200
  EXPECT_EQ(coarse.rows[1], fine.rows[2]);
  EXPECT_EQ(coarse.rows[2], fine.rows[4]);
}

TEST(GrowTest, SampledPathStatisticsUseTheRequestedSources) {
  GrowOptions options = SmallRun(1, 100);
  options.path_sources_max = 16;
  const GrowReport report = MustGrow(options);
  const GrowRow& last = report.rows.back();
  EXPECT_FALSE(last.path_exact);
  EXPECT_EQ(last.path_sources, 16u);
  EXPECT_TRUE(report.rows.front().path_exact);  // 10 seeds <= 16 sources: exact
}

TEST(GrowTest, ZeroStepsMeasuresTheSettledSeeds) {
  GrowOptions options = SmallRun(1, 0);
  options.steps = 0;
  const GrowReport report = MustGrow(options);
  ASSERT_EQ(report.rows.size(), 1u);
  EXPECT_EQ(report.rows[0].node_count, 10u);
  EXPECT_EQ(report.rows[0].components, 1u);
}

TEST(GrowTest, SingleSeedGrows) {
  GrowOptions options = SmallRun(1, 10);
  options.initial_nodes = 1;
  options.steps = 30;
  const GrowReport report = MustGrow(options);
  EXPECT_EQ(report.graph.vertex_count(), 31u);
  EXPECT_EQ(report.rows.back().components, 1u);
}

TEST(GrowTest, InvalidOptionsAreRefusedWithTheFlagName) {
  auto message = [](GrowOptions options) {
    Result<GrowReport> report = RunGrow(options);
    EXPECT_FALSE(report.ok());
    return report.ok() ? std::string() : report.error().message;
  };
  GrowOptions o;
  o.m = 0;
  EXPECT_EQ(message(o), "--m must be between 1 and --max-connections (100), got 0");
  o = {};
  o.m = 101;
  EXPECT_EQ(message(o), "--m must be between 1 and --max-connections (100), got 101");
  o = {};
  o.initial_nodes = 0;
  EXPECT_EQ(message(o), "--initial must be between 1 and 1000000, got 0");
  o = {};
  o.steps = GrowOptions::kStepsMax + 1;
  EXPECT_EQ(message(o), "--steps must be between 0 and 10000000, got 10000001");
  o = {};
  o.max_connections = 0;
  EXPECT_EQ(message(o), "--max-connections must be between 1 and 100000, got 0");
  o = {};
  o.join_rate_per_s = 0;
  EXPECT_NE(message(o).find("--join-rate must be"), std::string::npos);
  o.join_rate_per_s = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(message(o).find("--join-rate must be"), std::string::npos);
  o.join_rate_per_s = 1e-9;
  EXPECT_NE(message(o).find("is too low"), std::string::npos);
}

TEST(GrowTest, ProgressSeesEveryRowAndEndsAtTheLastStep) {
  std::vector<uint64_t> row_steps;
  uint64_t last_step = 0;
  uint64_t calls = 0;
  Result<GrowReport> report = RunGrow(SmallRun(1, 50), [&](const GrowProgress& p) {
    ++calls;
    last_step = p.step;
    EXPECT_EQ(p.steps, 200u);
    if (p.row != nullptr) row_steps.push_back(p.row->step);
  });
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(row_steps, (std::vector<uint64_t>{0, 50, 100, 150, 200}));
  EXPECT_EQ(last_step, 200u);
  EXPECT_GT(calls, 200u);
}

}  // namespace
}  // namespace myco
