#include "metrics/graph_export.hpp"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <string_view>
#include <system_error>
#include <utility>

namespace myco {

namespace {

// Output is staged in a buffer of this size: large writes without holding a whole 10 MB file.
constexpr size_t kWriteBufferBytes = 1 << 16;

std::string ErrnoText(int error_number) { return std::generic_category().message(error_number); }

// Writes `path + ".tmp"` through a bounded buffer and renames it over `path` on Commit(), so a
// reader never sees a half-written graph. A write error is sticky and reported by Commit().
// Not copyable: it owns an open FILE.
class StagedFile {
 public:
  explicit StagedFile(std::string path) : path_(std::move(path)), temp_path_(path_ + ".tmp") {}
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  ~StagedFile() {
    if (file_ != nullptr) std::fclose(file_);
    if (opened_ && !committed_) std::remove(temp_path_.c_str());
  }

  Status Open() {
    file_ = std::fopen(temp_path_.c_str(), "wb");
    if (file_ == nullptr) return Fail("cannot open " + temp_path_ + " for writing", errno);
    opened_ = true;
    buffer_.reserve(kWriteBufferBytes);
    return Status::Ok();
  }

  void Append(std::string_view text) {
    if (buffer_.size() + text.size() > kWriteBufferBytes) Drain();
    buffer_.append(text);
  }

  Status Commit() {
    assert(opened_ && !committed_);
    Drain();
    if (!error_.ok()) return error_;
    if (std::fflush(file_) != 0) return Fail("cannot flush", errno);
    const int close_result = std::fclose(file_);
    file_ = nullptr;
    if (close_result != 0) return Fail("cannot close", errno);
    if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
      return Fail("cannot rename " + temp_path_ + " to it", errno);
    }
    committed_ = true;
    return Status::Ok();
  }

 private:
  void Drain() {
    if (buffer_.empty() || !error_.ok()) {
      buffer_.clear();
      return;
    }
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      error_ = Fail("write failed", errno);
    }
    buffer_.clear();
  }

  Status Fail(const std::string& what, int error_number) const {
    return MakeError(ErrorCode::kUnavailable,
                     "writing graph to " + path_ + ": " + what + ": " + ErrnoText(error_number));
  }

  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
  Status error_;
  bool opened_ = false;
  bool committed_ = false;
};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// XML 1.0 allows no control character but tab, newline and carriage return, escaped or not.
bool IsXmlForbidden(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 && c != '\t' && c != '\n' && c != '\r';
}

// Checks what both formats need (non-empty, unique names) plus the format's own character rule.
template <typename Forbidden>
Status ValidateNames(const std::vector<std::string>& names, const std::string& path,
                     const char* rule, Forbidden forbidden) {
  const auto fail = [&](size_t v, const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "writing graph to " + path + ": vertex " + std::to_string(v) + " " + why);
  };
  for (size_t v = 0; v < names.size(); ++v) {
    if (names[v].empty()) return fail(v, "has an empty name");
    if (std::any_of(names[v].begin(), names[v].end(), forbidden)) return fail(v, rule);
  }
  std::vector<std::string_view> sorted(names.begin(), names.end());
  std::sort(sorted.begin(), sorted.end());
  const auto duplicate = std::adjacent_find(sorted.begin(), sorted.end());
  if (duplicate != sorted.end()) {
    const auto v =
        static_cast<size_t>(std::find(names.begin(), names.end(), *duplicate) - names.begin());
    return fail(v, "shares its name \"" + std::string(*duplicate) + "\" with another vertex");
  }
  return Status::Ok();
}

// Escapes for an attribute value; tab, newline and carriage return become character references
// because a parser would otherwise normalise them to spaces.
void AppendXmlEscaped(std::string_view text, std::string& out) {
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\t': out += "&#9;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default: out += c;
    }
  }
}

Status WriteEdgeListUnchecked(const Graph& g, const std::vector<std::string>& names,
                              const std::string& path) {
  assert(names.size() == g.vertex_count());
  if (Status s = ValidateNames(names, path, "has whitespace in its name", IsSpace); !s.ok()) {
    return s;
  }
  StagedFile file(path);
  if (Status s = file.Open(); !s.ok()) return s;
  std::string line;
  for (uint32_t u = 0; u < g.vertex_count(); ++u) {
    for (const uint32_t v : g.neighbours(u)) {
      if (v < u) continue;  // Each edge once, from its smaller end.
      line.assign(names[u]).append(" ").append(names[v]).append("\n");
      file.Append(line);
    }
  }
  return file.Commit();
}

Status WriteGraphMLUnchecked(const Graph& g, const std::vector<std::string>& names,
                             const std::string& path) {
  assert(names.size() == g.vertex_count());
  if (Status s = ValidateNames(names, path, "has a character XML forbids", IsXmlForbidden);
      !s.ok()) {
    return s;
  }
  // Escape once up front: each name is written once per node and once per incident edge.
  std::vector<std::string> ids(names.size());
  for (size_t v = 0; v < names.size(); ++v) AppendXmlEscaped(names[v], ids[v]);

  StagedFile file(path);
  if (Status s = file.Open(); !s.ok()) return s;
  file.Append(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns "
      "http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n"
      "  <key id=\"d0\" for=\"node\" attr.name=\"degree\" attr.type=\"int\"/>\n"
      "  <graph id=\"G\" edgedefault=\"undirected\">\n");
  std::string line;
  for (uint32_t v = 0; v < g.vertex_count(); ++v) {
    line.assign("    <node id=\"").append(ids[v]).append("\"><data key=\"d0\">");
    line.append(std::to_string(g.degree(v))).append("</data></node>\n");
    file.Append(line);
  }
  for (uint32_t u = 0; u < g.vertex_count(); ++u) {
    for (const uint32_t v : g.neighbours(u)) {
      if (v < u) continue;
      line.assign("    <edge source=\"").append(ids[u]).append("\" target=\"");
      line.append(ids[v]).append("\"/>\n");
      file.Append(line);
    }
  }
  file.Append("  </graph>\n</graphml>\n");
  return file.Commit();
}

// The writers only throw std::bad_alloc (strings, name index); it becomes a Status here so that
// nothing crosses the module boundary.
template <typename Write>
Status Guarded(const std::string& path, Write write) {
  try {
    return write();
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal, "writing graph to " + path + ": " + e.what());
  }
}

}  // namespace

Status WriteEdgeList(const Graph& g, const std::vector<std::string>& names,
                     const std::string& path) {
  return Guarded(path, [&] { return WriteEdgeListUnchecked(g, names, path); });
}

Status WriteGraphML(const Graph& g, const std::vector<std::string>& names,
                    const std::string& path) {
  return Guarded(path, [&] { return WriteGraphMLUnchecked(g, names, path); });
}

Status WriteGraph(const Graph& g, const std::vector<std::string>& names, const std::string& path) {
  if (path.ends_with(".graphml")) return WriteGraphML(g, names, path);
  return WriteEdgeList(g, names, path);
}

}  // namespace myco
