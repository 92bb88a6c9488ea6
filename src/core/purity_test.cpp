// Keeps src/core sans-IO: no sockets, threads, clocks or global randomness. The simulator's
// promise (same seed, same result, bit for bit) and the daemon/simulator split both rest on it,
// and a scan is cheaper than catching it in review.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace myco {
namespace {

namespace fs = std::filesystem;

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Returns `text` with comments blanked out and, if `blank_strings`, the contents of string and
// character literals too. Newlines are kept so line numbers still match. A comment explaining
// why the core avoids steady_clock must not trip the scan.
std::string CodeOnly(const std::string& text, bool blank_strings) {
  std::string out = text;
  const size_t n = text.size();
  auto blank = [&](size_t from, size_t to) {
    for (size_t k = from; k < std::min(to, n); ++k) {
      if (out[k] != '\n') out[k] = ' ';
    }
  };
  size_t i = 0;
  while (i < n) {
    const char c = text[i];
    const char next = i + 1 < n ? text[i + 1] : '\0';
    const char prev = i > 0 ? text[i - 1] : '\0';
    if (c == '/' && next == '/') {
      const size_t end = std::min(text.find('\n', i), n);
      blank(i, end);
      i = end;
    } else if (c == '/' && next == '*') {
      const size_t close = text.find("*/", i + 2);
      const size_t end = close == std::string::npos ? n : close + 2;
      blank(i, end);
      i = end;
    } else if (c == 'R' && next == '"' &&
               (!IsWordChar(prev) || prev == '8' || prev == 'u' || prev == 'U' || prev == 'L')) {
      const size_t open = text.find('(', i + 2);
      if (open == std::string::npos) break;
      const std::string close = ")" + text.substr(i + 2, open - i - 2) + "\"";
      const size_t found = text.find(close, open);
      const size_t end = found == std::string::npos ? n : found + close.size();
      if (blank_strings) blank(open + 1, end - close.size());
      i = end;
    } else if (c == '"' || (c == '\'' && !IsWordChar(prev))) {  // x'y is a digit separator
      size_t k = i + 1;
      while (k < n && text[k] != c && text[k] != '\n') k += text[k] == '\\' ? 2 : 1;
      if (blank_strings) blank(i + 1, k);
      i = k + 1;
    } else {
      ++i;
    }
  }
  return out;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

const char* ForbiddenInclude(const std::string& path) {
  if (path.starts_with("boost/asio") || path.starts_with("asio/") || path == "asio.hpp") {
    return "asio: sockets and timers belong in src/io";
  }
  if (path == "thread") return "<thread>: the core is single-threaded; drivers own threads";
  if (path == "random") {
    return "<random>: use myco::Rng (std distributions differ between libraries)";
  }
  return nullptr;
}

// The path of an `#include <path>` or `#include "path"` line, or "" for any other line.
std::string IncludedPath(const std::string& line) {
  size_t i = line.find_first_not_of(" \t");
  if (i == std::string::npos || line[i] != '#') return "";
  i = line.find_first_not_of(" \t", i + 1);
  if (i == std::string::npos || line.compare(i, 7, "include") != 0) return "";
  i = line.find_first_not_of(" \t", i + 7);
  if (i == std::string::npos || (line[i] != '<' && line[i] != '"')) return "";
  const size_t end = line.find(line[i] == '<' ? '>' : '"', i + 1);
  return end == std::string::npos ? "" : line.substr(i + 1, end - i - 1);
}

// Why the identifier at [begin, end) of `line` is forbidden in the core, or nullptr.
const char* ForbiddenUse(const std::string& line, size_t begin, size_t end) {
  const std::string word = line.substr(begin, end - begin);
  size_t before = begin;
  while (before > 0 && (line[before - 1] == ' ' || line[before - 1] == '\t')) --before;
  const bool is_member = before > 0 && (line[before - 1] == '.' || line[before - 1] == '>');
  const bool is_std = begin >= 5 && line.compare(begin - 5, 5, "std::") == 0;
  const size_t after = line.find_first_not_of(" \t", end);
  const bool is_call = after != std::string::npos && line[after] == '(';

  static const std::vector<std::string> kClocks = {
      "system_clock", "steady_clock", "high_resolution_clock", "utc_clock",   "tai_clock",
      "gps_clock",    "file_clock",   "clock_gettime",         "gettimeofday"};
  if (std::find(kClocks.begin(), kClocks.end(), word) != kClocks.end()) {
    return "a clock: time is passed in as `now`";
  }
  if (word == "time" && is_call && !is_member) {
    const size_t close = line.find(')', after);
    std::string arg = line.substr(after + 1, close == std::string::npos ? 0 : close - after - 1);
    arg.erase(std::remove(arg.begin(), arg.end(), ' '), arg.end());
    if (arg == "nullptr" || arg == "NULL" || arg == "0") {
      return "a clock: time is passed in as `now`";
    }
  }
  if (word == "random_device") return "std::random_device: use a seeded myco::Rng";
  if ((word == "rand" || word == "srand") && is_call && !is_member) {
    return "rand()/srand(): use a seeded myco::Rng";
  }
  if (is_std && (word == "thread" || word == "jthread" || word == "this_thread")) {
    return "a thread: the core is single-threaded; drivers own threads";
  }
  return nullptr;
}

// One "name:line: why: code" entry per forbidden construct in `text`.
std::vector<std::string> Violations(const std::string& name, const std::string& text) {
  const std::vector<std::string> with_strings = Lines(CodeOnly(text, false));
  const std::vector<std::string> code = Lines(CodeOnly(text, true));
  std::vector<std::string> found;
  auto report = [&](size_t i, const char* why) {
    found.push_back(name + ":" + std::to_string(i + 1) + ": " + why + ": " + with_strings[i]);
  };
  for (size_t i = 0; i < code.size(); ++i) {
    if (const char* why = ForbiddenInclude(IncludedPath(with_strings[i]))) report(i, why);
    const std::string& line = code[i];
    for (size_t begin = 0; begin < line.size();) {
      if (!IsWordChar(line[begin])) {
        ++begin;
        continue;
      }
      size_t end = begin;
      while (end < line.size() && IsWordChar(line[end])) ++end;
      const bool is_number = line[begin] >= '0' && line[begin] <= '9';
      if (!is_number) {
        if (const char* why = ForbiddenUse(line, begin, end)) report(i, why);
      }
      begin = end;
    }
  }
  return found;
}

fs::path SourceDir() {
#ifdef MYCO_SOURCE_DIR
  return {MYCO_SOURCE_DIR};
#else
  // Until the build defines MYCO_SOURCE_DIR: CMake compiles by absolute path, so __FILE__ is
  // <source>/src/core/purity_test.cpp.
  return fs::path(__FILE__).parent_path().parent_path().parent_path();
#endif
}

// Sources, not their tests: a test may well mention what it forbids.
bool IsScanned(const fs::path& path) {
  static const std::vector<std::string> kExtensions = {".hpp", ".cpp", ".h",   ".cc",
                                                       ".hh",  ".ipp", ".inl", ".cxx"};
  if (path.filename().string().ends_with("_test.cpp")) return false;
  const std::string extension = path.extension().string();
  return std::find(kExtensions.begin(), kExtensions.end(), extension) != kExtensions.end();
}

TEST(CorePurityTest, CoreHasNoIoThreadsClocksOrGlobalRandomness) {
  const fs::path core = SourceDir() / "src" / "core";
  ASSERT_TRUE(fs::is_directory(core)) << core << " is not a directory";

  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(core)) {
    if (entry.is_regular_file() && IsScanned(entry.path())) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  // A wrong path must not pass silently by scanning nothing.
  ASSERT_FALSE(files.empty()) << "no sources found under " << core;

  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    ASSERT_TRUE(in) << "cannot read " << file;
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string name = fs::relative(file, SourceDir()).string();
    for (const std::string& violation : Violations(name, text)) ADD_FAILURE() << violation;
  }
}

TEST(CorePurityTest, FlagsEachForbiddenConstruct) {
  const std::vector<std::string> bad = {
      "#include <boost/asio.hpp>",
      "#include <boost/asio/ip/tcp.hpp>",
      "#include \"asio.hpp\"",
      "#  include <asio/steady_timer.hpp>",
      "#include <thread>",
      "#include <random>",
      "std::this_thread::sleep_for(d);",
      "auto t = std::chrono::steady_clock::now();",
      "using Clock = std::chrono::system_clock;",
      "auto t = std::chrono::high_resolution_clock::now();",
      "const auto seed = std::time(nullptr);",
      "clock_gettime(CLOCK_MONOTONIC, &ts);",
      "std::random_device device;",
      "int x = rand() % 6;",
      "int x = std::rand();",
      "srand(42);",
      "int x = 1'000'000 + rand();",
  };
  for (const std::string& line : bad) {
    EXPECT_EQ(Violations("x.cpp", line).size(), 1u) << line;
  }
  const std::vector<std::string> found = Violations("a/b.cpp", "int a;\n\nint b = rand();\n");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].rfind("a/b.cpp:3: ", 0), 0u) << found[0];
}

TEST(CorePurityTest, IgnoresCommentsStringsAndLookalikes) {
  const std::vector<std::string> good = {
      "// The core never calls rand() or reads steady_clock.",
      "/* std::random_device\n   #include <thread> */ int x;",
      "const char* kWhy = \"no std::random_device here\";",
      "const char* kRaw = R\"(steady_clock // rand())\";",
      "int y = rng.rand() + rng->srand(1);",
      "int z = operand(3) + brand(4) + Grand(5);",
      "#include <chrono>",
      "#include \"core/random_walk.hpp\"",
      "#include \"myco/time.hpp\"",
      "TimePoint time() const;",
      "auto url = \"http://x\"; int w = 1;",
      "char q = '\"'; int v = 2;",
  };
  for (const std::string& line : good) {
    EXPECT_TRUE(Violations("x.cpp", line).empty()) << line;
  }
}

}  // namespace
}  // namespace myco
