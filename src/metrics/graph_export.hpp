// Writes a Graph to disk for outside tools (NetworkX, Gephi, igraph), vertices named by
// `names[v]`.
//
// Guarantees:
//  - Output is deterministic: vertices in id order, each edge once as (smaller id, larger id).
//  - The file appears complete or not at all: it is written beside `path` under a temporary name
//    and renamed over `path` only after every byte was written and flushed.
//  - Failures (bad names, cannot open, short write, rename) come back as a Status whose message
//    names the path; no exception escapes.
#pragma once

#include <string>
#include <vector>

#include "metrics/graph.hpp"
#include "myco/result.hpp"

namespace myco {

// One "a b\n" line per edge. Names must be non-empty, unique and free of whitespace, or the
// file could not be read back; otherwise kInvalidArgument.
// REQUIRES: names.size() == g.vertex_count().
Status WriteEdgeList(const Graph& g, const std::vector<std::string>& names,
                     const std::string& path);

// GraphML 1.0, undirected, node ids = names (XML-escaped), and an int node attribute "degree".
// Names must be non-empty, unique and hold no character XML 1.0 forbids (controls other than
// tab, newline, carriage return); otherwise kInvalidArgument.
// REQUIRES: names.size() == g.vertex_count().
Status WriteGraphML(const Graph& g, const std::vector<std::string>& names, const std::string& path);

// GraphML when `path` ends with ".graphml", else an edge list.
Status WriteGraph(const Graph& g, const std::vector<std::string>& names, const std::string& path);

}  // namespace myco
