// `myco simulate grow`: the network-growth scenario (src/sim/grow.hpp) with a table, JSON lines
// or CSV for its rows, and optional plot and topology export. docs/SIMULATION.md explains the
// columns.
//
// Output contract: with --json, stdout is a pure function of the flags (byte-identical across
// runs with the same seed); anything that depends on the machine (wall time, events per second,
// memory) goes to stderr. The table view mixes both, for humans.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "metrics/graph_export.hpp"
#include "sim/grow.hpp"

namespace myco::cli {
namespace {

using WallClock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

// Flag values as typed: numbers are parsed by us, strictly, so every bad value gets the same
// one-line message shape (CLI11's own conversions are laxer and word their errors differently).
struct GrowFlags {
  std::string initial = "10";
  std::string steps = "50";
  std::string seed = "1";
  std::string m = "3";
  std::string max_connections = "100";
  std::string join_rate = "5000";
  std::string every;         // empty: about 100 rows
  std::string path_sources;  // empty: exact up to 2000 nodes, else 32 sampled (256 final)
  std::string map_radius = "0";
  bool json = false;
  std::string csv_path;
  std::string plot_path;
  std::string export_path;
  bool quiet = false;
};

// ---- flags to options ----

Result<GrowOptions> ToOptions(const GrowFlags& flags) {
  GrowOptions o;
  struct IntFlag {
    const char* name;
    const std::string* text;
    int64_t min;
    int64_t max;
    int64_t* out;
  };
  int64_t initial = 0, steps = 0, seed = 0, m = 0, max_connections = 0, every = 0, path_sources = 0,
          map_radius = 0;
  const std::vector<IntFlag> ints = {
      {"--initial", &flags.initial, 1, GrowOptions::kInitialNodesMax, &initial},
      {"--steps", &flags.steps, 0, GrowOptions::kStepsMax, &steps},
      {"--seed", &flags.seed, 0, INT64_MAX, &seed},
      {"--max-connections", &flags.max_connections, 1, GrowOptions::kMaxConnectionsMax,
       &max_connections},
      // --m's bound depends on --max-connections: checked below, once both are known.
      {"--m", &flags.m, INT64_MIN, INT64_MAX, &m},
      {"--every", &flags.every, 1, GrowOptions::kStepsMax, &every},
      {"--path-sources", &flags.path_sources, 1, 10'000'000, &path_sources},
      {"--map-radius", &flags.map_radius, 0, 64, &map_radius},
  };
  for (const IntFlag& flag : ints) {
    if (flag.text->empty() && (flag.out == &every || flag.out == &path_sources)) continue;
    Result<int64_t> value = ParseIntegerFlag(flag.name, *flag.text, flag.min, flag.max);
    if (!value.ok()) return value.error();
    *flag.out = *value;
  }
  if (m < 1 || m > max_connections) {
    return MakeError(ErrorCode::kInvalidArgument, "--m must be between 1 and --max-connections (" +
                                                      std::to_string(max_connections) + "), got " +
                                                      std::to_string(m));
  }
  Result<double> join_rate = ParseNumberFlag("--join-rate", flags.join_rate);
  if (!join_rate.ok()) return join_rate.error();
  o.initial_nodes = static_cast<uint32_t>(initial);
  o.steps = static_cast<uint64_t>(steps);
  o.seed = static_cast<uint64_t>(seed);
  o.m = static_cast<uint32_t>(m);
  o.max_connections = static_cast<uint32_t>(max_connections);
  o.join_rate_per_s = *join_rate;
  o.every_steps = static_cast<uint64_t>(every);
  o.path_sources_max = static_cast<uint32_t>(path_sources);
  o.map_flood_radius = static_cast<uint32_t>(map_radius);
  if (Status s = o.Validate(); !s.ok()) return s.error();
  return o;
}

// ---- formatting ----

// Six decimals: enough for every metric here, and short, stable JSON numbers.
double Round6(double v) { return std::round(v * 1e6) / 1e6; }

Json RowJson(const GrowRow& r) {
  Json j;
  j["type"] = "row";
  j["step"] = r.step;
  j["node_count"] = r.node_count;
  j["edge_count"] = r.edge_count;
  j["average_degree"] = Round6(r.average_degree);
  j["max_degree"] = r.max_degree;
  j["clustering_coefficient"] = Round6(r.clustering_coefficient);
  j["average_path_length"] = Round6(r.average_path_length);
  j["path_exact"] = r.path_exact;
  j["path_sources"] = r.path_sources;
  j["global_efficiency"] = Round6(r.global_efficiency);
  j["resource_flow_efficiency"] = Round6(r.global_efficiency);
  j["components"] = r.components;
  j["joining_nodes"] = r.joining_nodes;
  j["virtual_time_s"] = Round6(r.virtual_time_s);
  j["events"] = r.events;
  j["degree_distribution"] = r.degree_distribution;
  return j;
}

Json SummaryJson(const GrowReport& report) {
  const GrowOptions& o = report.options;
  Json j;
  j["type"] = "summary";
  j["seed"] = o.seed;
  j["initial"] = o.initial_nodes;
  j["steps"] = o.steps;
  j["m"] = o.m;
  j["max_connections"] = o.max_connections;
  j["join_rate_per_s"] = o.join_rate_per_s;
  j["every"] = o.every_steps;
  j["map_radius"] = o.map_flood_radius;
  j["node_count"] = report.graph.vertex_count();
  j["edge_count"] = report.graph.edge_count();
  if (report.power_law.has_value()) {
    const PowerLawFit& fit = *report.power_law;
    j["power_law"] = Json{{"alpha", Round6(fit.alpha)}, {"alpha_stderr", Round6(fit.alpha_stderr)},
                          {"xmin", fit.xmin},           {"ks_distance", Round6(fit.ks_distance)},
                          {"n_tail", fit.n_tail},       {"x_max_exclusive", o.max_connections}};
  } else {
    j["power_law"] = nullptr;
    j["power_law_error"] = report.power_law_error;
  }
  const GrowTotals& t = report.totals;
  j["events"] = t.events;
  j["messages"] = t.messages;
  j["message_bytes"] = t.message_bytes;
  j["dials"] = t.dials;
  j["dials_failed"] = t.dials_failed;
  j["virtual_time_s"] = Round6(t.virtual_time_s);
  return j;
}

void PrintTableHeader(const GrowOptions& o) {
  std::printf(
      "simulate grow: seed %llu, %u seed nodes + %llu steps, m %u, max_connections %u, "
      "%g joins/s, a row every %llu steps\n",
      static_cast<unsigned long long>(o.seed), o.initial_nodes,
      static_cast<unsigned long long>(o.steps), o.m, o.max_connections, o.join_rate_per_s,
      static_cast<unsigned long long>(o.EffectiveEvery()));
  std::printf("%9s %9s %10s %8s %8s %10s %9s %10s %10s %9s\n", "step", "nodes", "edges", "avg_deg",
              "max_deg", "clustering", "path_len", "efficiency", "components", "joining");
  std::fflush(stdout);
}

void PrintTableRow(const GrowRow& r) {
  char path[32];
  std::snprintf(path, sizeof path, "%s%.3f", r.path_exact ? "" : "~", r.average_path_length);
  std::printf("%9llu %9u %10llu %8.3f %8u %10.4f %9s %10.4f %10u %9u\n",
              static_cast<unsigned long long>(r.step), r.node_count,
              static_cast<unsigned long long>(r.edge_count), r.average_degree, r.max_degree,
              r.clustering_coefficient, path, r.global_efficiency, r.components, r.joining_nodes);
  std::fflush(stdout);
}

std::string Megabytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

// "122752 events in 0.64 s wall: 0.10 s simulating (1227520 events/s), 0.54 s measuring rows"
std::string TimingLine(uint64_t events, double wall_s, double measure_wall_s) {
  const double simulate_s = std::max(0.0, wall_s - measure_wall_s);
  const double rate = simulate_s > 0 ? static_cast<double>(events) / simulate_s : 0.0;
  char line[200];
  std::snprintf(line, sizeof line,
                "%llu events in %.2f s wall: %.2f s simulating (%.0f events/s), %.2f s measuring "
                "rows",
                static_cast<unsigned long long>(events), wall_s, simulate_s, rate, measure_wall_s);
  return line;
}

void PrintTableSummary(const GrowReport& report, double wall_s, double measure_wall_s) {
  uint32_t sampled_min = UINT32_MAX;
  uint32_t sampled_max = 0;
  for (const GrowRow& r : report.rows) {
    if (r.path_exact) continue;
    sampled_min = std::min(sampled_min, r.path_sources);
    sampled_max = std::max(sampled_max, r.path_sources);
  }
  if (sampled_max > 0 && sampled_min == sampled_max) {
    std::printf(
        "~ path_len and efficiency estimated from %u sampled BFS sources (exact up to %u "
        "nodes by default; see --path-sources)\n",
        sampled_max, GrowOptions::kExactPathNodesMax);
  } else if (sampled_max > 0) {
    std::printf(
        "~ path_len and efficiency estimated from sampled BFS sources: %u per row during growth, "
        "%u for the final row (exact up to %u nodes by default; see --path-sources)\n",
        sampled_min, sampled_max, GrowOptions::kExactPathNodesMax);
  }
  if (report.power_law.has_value()) {
    const PowerLawFit& fit = *report.power_law;
    std::printf(
        "power law (degrees < %u): alpha = %.3f ± %.3f, xmin = %llu, KS = %.4f, "
        "tail = %llu nodes\n",
        report.options.max_connections, fit.alpha, fit.alpha_stderr,
        static_cast<unsigned long long>(fit.xmin), fit.ks_distance,
        static_cast<unsigned long long>(fit.n_tail));
  } else {
    std::printf("power law (degrees < %u): no fit (%s)\n", report.options.max_connections,
                report.power_law_error.c_str());
  }
  const GrowTotals& t = report.totals;
  std::printf("%s\n", TimingLine(t.events, wall_s, measure_wall_s).c_str());
  std::printf("messages: %llu (%s), dials: %llu (%llu failed), virtual time: %.3f s\n",
              static_cast<unsigned long long>(t.messages), Megabytes(t.message_bytes).c_str(),
              static_cast<unsigned long long>(t.dials),
              static_cast<unsigned long long>(t.dials_failed), t.virtual_time_s);
  std::printf("peak RSS: %s\n", Megabytes(PeakRssBytes()).c_str());
  std::fflush(stdout);
}

// ---- files ----

std::string DegreeField(const std::vector<uint64_t>& histogram) {
  // "k:count" pairs for non-zero counts, space-separated: compact, and no CSV quoting needed.
  std::string field;
  for (size_t k = 0; k < histogram.size(); ++k) {
    if (histogram[k] == 0) continue;
    if (!field.empty()) field += ' ';
    field += std::to_string(k) + ":" + std::to_string(histogram[k]);
  }
  return field;
}

Status WriteCsv(std::FILE* file, const std::string& path, const std::vector<GrowRow>& rows) {
  std::fputs(
      "step,node_count,edge_count,average_degree,max_degree,clustering_coefficient,"
      "average_path_length,path_exact,path_sources,global_efficiency,"
      "resource_flow_efficiency,components,joining_nodes,virtual_time_s,events,"
      "degree_distribution\n",
      file);
  for (const GrowRow& r : rows) {
    std::fprintf(file, "%llu,%u,%llu,%.6f,%u,%.6f,%.6f,%d,%u,%.6f,%.6f,%u,%u,%.6f,%llu,%s\n",
                 static_cast<unsigned long long>(r.step), r.node_count,
                 static_cast<unsigned long long>(r.edge_count), r.average_degree, r.max_degree,
                 r.clustering_coefficient, r.average_path_length, r.path_exact ? 1 : 0,
                 r.path_sources, r.global_efficiency, r.global_efficiency, r.components,
                 r.joining_nodes, r.virtual_time_s, static_cast<unsigned long long>(r.events),
                 DegreeField(r.degree_distribution).c_str());
  }
  if (std::fflush(file) != 0 || std::ferror(file) != 0) {
    return MakeError(ErrorCode::kUnavailable, "cannot write --csv file '" + path + "'");
  }
  return Status::Ok();
}

// A gnuplot string literal: single quotes, where '' stands for one quote.
std::string GnuplotString(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::string GnuplotScript(const std::string& dir, const std::string& out_path, bool svg) {
  std::ostringstream s;
  if (svg) {
    s << "set terminal svg size 1500,450 dynamic\n";
  } else {
    // pngcairo draws antialiased lines; plain png (libgd) is the fallback some builds have.
    s << "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) { set terminal pngcairo size 1500,450 } "
         "else { set terminal png size 1500,450 }\n";
  }
  s << "set output " << GnuplotString(out_path) << "\n"
    << "set datafile separator ' '\n"
    << "set multiplot layout 1,3\n"
    << "set grid\nunset key\n"
    << "set title 'Degree distribution (final)'\nset logscale xy\n"
    << "set xlabel 'degree k'\nset ylabel 'nodes with degree k'\n"
    << "plot " << GnuplotString(dir + "/degrees.dat") << " using 1:2 with points pt 7 ps 0.6\n"
    << "unset logscale\n"
    << "set title 'Clustering coefficient'\nset xlabel 'step'\nset ylabel 'clustering'\n"
    << "plot " << GnuplotString(dir + "/rows.dat") << " using 1:2 with linespoints pt 7 ps 0.4\n"
    << "set title 'Average path length'\nset xlabel 'step'\nset ylabel 'hops'\n"
    << "plot " << GnuplotString(dir + "/rows.dat") << " using 1:3 with linespoints pt 7 ps 0.4\n"
    << "unset multiplot\nset output\n";
  return s.str();
}

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

Status WritePlot(const GrowReport& report, const std::string& out_path) {
  const std::string ext = std::filesystem::path(out_path).extension().string();
  if (ext != ".png" && ext != ".svg") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--plot file must end in .png or .svg, got '" + out_path + "'");
  }
  const char* tmp_root = std::getenv("TMPDIR");
  std::string dir_template =
      std::string(tmp_root != nullptr ? tmp_root : "/tmp") + "/myco-plot-XXXXXX";
  if (::mkdtemp(dir_template.data()) == nullptr) {
    return MakeError(ErrorCode::kUnavailable, "--plot: cannot create a temporary directory");
  }
  const std::string dir = dir_template;
  {
    std::ofstream degrees(dir + "/degrees.dat");
    const std::vector<uint64_t> histogram = DegreeHistogram(report.graph);
    // Log axes: degree 0 and empty bins have no place on them.
    for (size_t k = 1; k < histogram.size(); ++k) {
      if (histogram[k] > 0) degrees << k << ' ' << histogram[k] << '\n';
    }
    std::ofstream rows(dir + "/rows.dat");
    for (const GrowRow& r : report.rows) {
      rows << r.step << ' ' << r.clustering_coefficient << ' ' << r.average_path_length << '\n';
    }
    std::ofstream script(dir + "/plot.gp");
    script << GnuplotScript(dir, out_path, ext == ".svg");
  }
  const std::string command = "gnuplot " + dir + "/plot.gp > " + dir + "/gnuplot.log 2>&1";
  const int status = std::system(command.c_str());
  const std::string log_line = FirstLine(dir + "/gnuplot.log");
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  if (status == -1 || !WIFEXITED(status)) {
    return MakeError(ErrorCode::kUnavailable, "--plot: could not run gnuplot");
  }
  if (WEXITSTATUS(status) == 127) {
    return MakeError(ErrorCode::kUnavailable,
                     "--plot needs gnuplot, which is not installed (e.g. apt install gnuplot-nox)");
  }
  if (WEXITSTATUS(status) != 0) {
    return MakeError(ErrorCode::kUnavailable,
                     "--plot: gnuplot failed: " + (log_line.empty() ? "no message" : log_line));
  }
  return Status::Ok();
}

// ---- the command ----

class ProgressPrinter {
 public:
  ProgressPrinter(bool quiet, bool table) : quiet_(quiet), table_(table) {}

  void operator()(const GrowProgress& p) {
    if (p.measuring) measure_start_ = WallClock::now();
    if (p.row != nullptr) measure_total_ += WallClock::now() - measure_start_;
    if (table_ && p.row != nullptr) PrintTableRow(*p.row);
    if (quiet_ || !throttle_.Due(p.row != nullptr || p.measuring)) return;
    const double wall_s = throttle_.elapsed_s();
    const double rate = throttle_.slice_s();
    const double events_per_s = rate > 0 ? static_cast<double>(p.events - last_events_) / rate : 0;
    std::fprintf(stderr,
                 "myco: grow: %s, step %llu/%llu, %u nodes, virtual %.1f s, wall %.0f s, "
                 "%.0f events/s\n",
                 GrowPhaseName(p.phase), static_cast<unsigned long long>(p.step),
                 static_cast<unsigned long long>(p.steps), p.node_count, p.virtual_time_s, wall_s,
                 events_per_s);
    last_events_ = p.events;
  }

  // Wall time spent measuring rows (graph snapshots, clustering, BFS), not simulating.
  double measure_wall_s() const { return std::chrono::duration<double>(measure_total_).count(); }

 private:
  const bool quiet_;
  const bool table_;
  ProgressThrottle throttle_;
  uint64_t last_events_ = 0;
  WallClock::time_point measure_start_ = WallClock::now();
  WallClock::duration measure_total_{};
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

int RunSimulateGrow(const GrowFlags& flags) {
  Result<GrowOptions> options = ToOptions(flags);
  if (!options.ok()) return PrintError(kExitUsage, options.error().message);
  if (!flags.plot_path.empty()) {
    const std::string ext = std::filesystem::path(flags.plot_path).extension().string();
    if (ext != ".png" && ext != ".svg") {
      return PrintError(kExitUsage,
                        "--plot file must end in .png or .svg, got '" + flags.plot_path + "'");
    }
  }
  // Output paths are checked before the run: a typo should not cost a long simulation.
  std::unique_ptr<std::FILE, FileCloser> csv;
  if (!flags.csv_path.empty()) {
    csv.reset(std::fopen(flags.csv_path.c_str(), "w"));
    if (csv == nullptr) {
      return PrintError(kExitRuntime, "cannot write --csv file '" + flags.csv_path +
                                          "': " + std::strerror(errno));
    }
  }
  for (const auto& [flag, path] :
       {std::pair{"--plot", &flags.plot_path}, std::pair{"--export", &flags.export_path}}) {
    if (path->empty()) continue;
    if (Status s = CheckWritablePath(flag, *path); !s.ok()) {
      return PrintError(kExitRuntime, s.error().message);
    }
  }

  const bool table = !flags.json;
  if (table) PrintTableHeader(*options);
  ProgressPrinter printer(flags.quiet, table);
  const auto start = WallClock::now();
  Result<GrowReport> report = RunGrow(*options, [&printer](const GrowProgress& p) { printer(p); });
  const double wall_s = std::chrono::duration<double>(WallClock::now() - start).count();
  if (!report.ok()) return PrintError(kExitRuntime, report.error().message);

  if (flags.json) {
    for (const GrowRow& row : report->rows) std::cout << RowJson(row).dump() << '\n';
    std::cout << SummaryJson(*report).dump() << '\n' << std::flush;
    if (!flags.quiet) {
      std::fprintf(stderr, "myco: grow: %s; peak RSS %s\n",
                   TimingLine(report->totals.events, wall_s, printer.measure_wall_s()).c_str(),
                   Megabytes(PeakRssBytes()).c_str());
    }
  } else {
    PrintTableSummary(*report, wall_s, printer.measure_wall_s());
  }

  int exit_code = kExitOk;
  if (csv != nullptr) {
    Status written = WriteCsv(csv.get(), flags.csv_path, report->rows);
    if (std::fclose(csv.release()) != 0 && written.ok()) {
      written =
          MakeError(ErrorCode::kUnavailable, "cannot write --csv file '" + flags.csv_path + "'");
    }
    if (!written.ok()) exit_code = PrintError(kExitRuntime, written.error().message);
  }
  if (!flags.export_path.empty()) {
    if (Status s = WriteGraph(report->graph, report->names, flags.export_path); !s.ok()) {
      exit_code = PrintError(kExitRuntime, "--export: " + s.error().message);
    }
  }
  if (!flags.plot_path.empty()) {
    if (Status s = WritePlot(*report, flags.plot_path); !s.ok()) {
      exit_code = PrintError(kExitRuntime, s.error().message);
    }
  }
  return exit_code;
}

}  // namespace

void AddSimulateGrowCommand(CLI::App& simulate, CommandAction& action) {
  CLI::App* grow = simulate.add_subcommand(
      "grow",
      "Grow a network through the real join protocol and measure it as it grows "
      "(docs/SIMULATION.md)");
  auto flags = std::make_shared<GrowFlags>();
  grow->add_option("--initial", flags->initial, "Seed nodes, 1..1000000")
      ->type_name("N")
      ->capture_default_str();
  grow->add_option("--steps", flags->steps, "Nodes added after the seeds, 0..10000000")
      ->type_name("N")
      ->capture_default_str();
  grow->add_option("--seed", flags->seed, "Seed of every random draw (same seed, same output)")
      ->type_name("N")
      ->capture_default_str();
  grow->add_option("--m", flags->m, "Links each newcomer opens (target degree), 1..max")
      ->type_name("N")
      ->capture_default_str();
  grow->add_option("--max-connections", flags->max_connections, "Per-node link cap, 1..100000")
      ->type_name("N")
      ->capture_default_str();
  grow->add_option("--join-rate", flags->join_rate, "Arrivals per virtual second")
      ->type_name("R")
      ->capture_default_str();
  grow->add_option("--every", flags->every, "Record a row every K steps [default: steps/100]")
      ->type_name("K");
  grow->add_option("--path-sources", flags->path_sources,
                   "BFS sources for path length [default: exact up to 2000 nodes, else 32 per row "
                   "and 256 for "
                   "the final row]")
      ->type_name("S");
  grow->add_option("--map-radius", flags->map_radius,
                   "Topology-map flood radius in hops, 0..64 (0: no maps; O(N^2) memory if large)")
      ->type_name("H")
      ->capture_default_str();
  grow->add_flag("--json", flags->json,
                 "JSON lines on stdout: one per row, then a summary (deterministic)");
  grow->add_option("--csv", flags->csv_path, "Also write the rows as CSV to FILE")
      ->type_name("FILE");
  grow->add_option("--plot", flags->plot_path,
                   "Plot degree distribution, clustering and path length (.png or .svg; gnuplot)")
      ->type_name("FILE");
  grow->add_option("--export", flags->export_path,
                   "Write the final topology: GraphML if FILE ends in .graphml, else an edge list")
      ->type_name("FILE");
  grow->add_flag("-q,--quiet", flags->quiet, "No progress or timing lines on stderr");
  grow->callback([flags, &action] { action = [flags] { return RunSimulateGrow(*flags); }; });
}

}  // namespace myco::cli
