#include "core/propagation/knowledge.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

namespace myco {
namespace {

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// `needle_lower` must already be lower case; lowering only one side per comparison halves the
// work of a scan over every stored entry.
bool ContainsIgnoringCase(std::string_view haystack, std::string_view needle_lower) {
  if (needle_lower.size() > haystack.size()) return false;
  const auto it =
      std::search(haystack.begin(), haystack.end(), needle_lower.begin(), needle_lower.end(),
                  [](char h, char n) { return AsciiLower(h) == n; });
  return it != haystack.end() || needle_lower.empty();
}

}  // namespace

KnowledgeBase::KnowledgeBase(uint32_t entries_max) : entries_max_(entries_max) {
  assert(entries_max_ >= 1);
}

bool KnowledgeBase::Add(Discovery discovery) {
  if (by_id_.contains(discovery.id)) return false;
  assert(entries_.size() <= entries_max_);
  if (entries_.size() == entries_max_) {
    // Unindex before the entry (and the id its key views) is destroyed.
    const size_t erased = by_id_.erase(entries_.front().id);
    assert(erased == 1);
    (void)erased;
    entries_.pop_front();
    ++evicted_;
  }
  entries_.push_back(std::move(discovery));
  const Discovery& stored = entries_.back();
  const bool inserted = by_id_.emplace(stored.id, &stored).second;
  assert(inserted);
  (void)inserted;
  assert(by_id_.size() == entries_.size());
  assert(entries_.size() <= entries_max_);
  return true;
}

const Discovery* KnowledgeBase::Find(std::string_view id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

std::vector<const Discovery*> KnowledgeBase::Query(std::string_view type, std::string_view text,
                                                   size_t limit) const {
  std::string text_lower(text);
  std::transform(text_lower.begin(), text_lower.end(), text_lower.begin(), AsciiLower);
  std::vector<const Discovery*> found;
  found.reserve(std::min(limit, entries_.size()));
  for (auto it = entries_.rbegin(); it != entries_.rend() && found.size() < limit; ++it) {
    if (!type.empty() && it->discovery_type != type) continue;
    if (!text_lower.empty() && !ContainsIgnoringCase(it->data_json, text_lower) &&
        !ContainsIgnoringCase(it->discovery_type, text_lower)) {
      continue;
    }
    found.push_back(&*it);
  }
  assert(found.size() <= limit);
  return found;
}

}  // namespace myco
