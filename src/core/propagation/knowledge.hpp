// KnowledgeBase: the node's bounded store of knowledge discoveries (share_knowledge_discovery).
//
// What it guarantees
// - At most `entries_max` discoveries. At the bound the oldest by insertion is evicted and
//   counted; insertion order (not the origin's created_at_ms) decides, so a remote clock cannot
//   keep an entry alive or push others out.
// - One entry per id: a discovery whose id is already stored is ignored (the first copy wins), so
//   copies arriving over several links store once. An evicted id is forgotten and may be stored
//   again; replay protection is the propagation engine's seen-cache, not this store.
// - Find by id in O(1); Query scans newest first (by insertion) and stops at `limit`.
//
// REQUIRES: external synchronization. Not copyable (the index points into the entries).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "myco/types.hpp"

namespace myco {

struct Discovery {
  std::string id;
  std::string discovery_type;  // e.g. "optimization_insight"
  std::string data_json;       // a JSON object, as bytes
  NodeId origin;
  int64_t created_at_ms = 0;  // the origin's clock

  bool operator==(const Discovery&) const = default;
};

class KnowledgeBase {
 public:
  // REQUIRES: entries_max >= 1.
  explicit KnowledgeBase(uint32_t entries_max);
  KnowledgeBase(const KnowledgeBase&) = delete;
  KnowledgeBase& operator=(const KnowledgeBase&) = delete;
  // Moving keeps every element in place (std::deque and std::unordered_map move their storage),
  // so the index stays valid.
  KnowledgeBase(KnowledgeBase&&) noexcept = default;
  KnowledgeBase& operator=(KnowledgeBase&&) noexcept = default;

  // Stores `discovery`, evicting the oldest at the bound. Returns false (and changes nothing) if
  // its id is already stored.
  bool Add(Discovery discovery);
  // The stored discovery with this id, or null. Valid until the next Add.
  const Discovery* Find(std::string_view id) const;
  // Up to `limit` discoveries, newest first, whose discovery_type equals `type` (any type when
  // empty) and whose data_json or discovery_type contains `text`, ASCII case-insensitively (any
  // when empty). Pointers are valid until the next Add.
  std::vector<const Discovery*> Query(std::string_view type, std::string_view text,
                                      size_t limit) const;

  size_t size() const { return entries_.size(); }
  uint32_t entries_max() const { return entries_max_; }
  uint64_t evicted() const { return evicted_; }

 private:
  uint32_t entries_max_;
  // Insertion order, oldest first. A deque never moves its elements on push_back/pop_front,
  // which is what lets the index below point into them.
  std::deque<Discovery> entries_;
  // id -> entry; the key views the entry's own id. Hashed and never iterated.
  std::unordered_map<std::string_view, const Discovery*> by_id_;
  uint64_t evicted_ = 0;
};

}  // namespace myco
