// The event stream of GET /v1/events (server-sent events): what each event looks like, and the
// bounded per-client buffer that decides when a slow client is cut off.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "core/node.hpp"
#include "myco/time.hpp"

namespace myco::api {

// Unsent events one client may have waiting. A client further behind is disconnected after a
// final "overflow" event: a stream that silently skipped events would be worse than none.
inline constexpr size_t kEventBufferMax = 1024;

// One event as a single line of JSON, with "kind" (delivery, peer_up, peer_down, acked, failed,
// discovery_answered) and "at_ns" (the local time NodeHost reported it). Never throws: strings
// from remote nodes that are not valid UTF-8 are repaired with U+FFFD, and a payload that is not
// a JSON object of bounded depth is passed as the string "payload_raw".
std::string EventJson(TimePoint at, const AppEvent& event);
// {"kind":"overflow","at_ns":..,"dropped":N,"buffer_max":..}
std::string OverflowEventJson(TimePoint at, uint64_t dropped);
// The SSE framing of one JSON event: "data: <json>\n\n".
std::string SseFrame(const std::string& json);

// The frames waiting for one client. Push returns false when the buffer is full: the caller then
// replaces everything waiting by the overflow event (Overflow) and closes after writing it.
class EventBuffer {
 public:
  explicit EventBuffer(size_t max = kEventBufferMax) : max_(max) {}
  bool Push(std::string frame);
  // Drops every waiting frame (counted in dropped()) and queues `final_frame` as the last one.
  void Overflow(std::string final_frame);
  bool empty() const { return frames_.empty(); }
  size_t size() const { return frames_.size(); }
  std::string& front() { return frames_.front(); }
  void pop() { frames_.pop_front(); }
  bool overflowed() const { return overflowed_; }
  uint64_t dropped() const { return dropped_; }

 private:
  size_t max_;
  std::deque<std::string> frames_;
  bool overflowed_ = false;
  uint64_t dropped_ = 0;
};

}  // namespace myco::api
