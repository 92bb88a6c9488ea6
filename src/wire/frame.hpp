// Framing of a byte stream into messages: each frame is a varint length (at most 5 bytes, minimal
// encoding) followed by that many payload bytes.
//
// Guarantees of FrameDecoder: it accepts a stream cut into arbitrary chunks; it never holds more
// than frame_bytes_max + 5 bytes; a length over the cap is rejected as soon as the length is read
// (before the payload arrives); after its first error it stays failed, because a stream that lost
// its frame boundaries cannot be resynchronised and the connection must be closed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "myco/result.hpp"

namespace myco {

// 1 MiB: far above the largest message the codec's limits allow (about 300 KiB), far below what
// would let one peer make a node allocate much memory.
inline constexpr uint32_t kFrameBytesMax = 1 << 20;
// A 32-bit length takes at most 5 varint bytes.
inline constexpr size_t kFrameHeaderBytesMax = 5;

// Appends the frame of `payload` to `out`. REQUIRES: payload.size() <= UINT32_MAX.
void AppendFrame(std::string& out, std::string_view payload);

// Appends only the length prefix, for writers that serialize the payload in place after it.
void AppendFrameHeader(std::string& out, uint32_t payload_bytes);

// Splits a byte stream into frame payloads.
// REQUIRES: external synchronization (one decoder per connection).
class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t frame_bytes_max = kFrameBytesMax);

  // Takes as many leading bytes of `bytes` as fit in the buffer bound and returns how many it
  // took. Call Next() until it yields nothing, then feed the rest: that always makes progress,
  // since a full buffer holds at least one complete frame. After an error, drops all input.
  [[nodiscard]] size_t Feed(std::span<const uint8_t> bytes);
  [[nodiscard]] size_t Feed(std::string_view bytes);

  // The next complete payload, std::nullopt when more bytes are needed, or the (sticky) error:
  // kParse for a malformed length varint, kTooLarge for a length over frame_bytes_max.
  Result<std::optional<std::string>> Next();

  size_t buffered_bytes() const { return buffer_.size() - read_offset_; }
  bool failed() const { return error_.has_value(); }
  uint32_t frame_bytes_max() const { return frame_bytes_max_; }

 private:
  Error Fail(ErrorCode code, std::string message);

  uint32_t frame_bytes_max_;
  std::string buffer_;  // bytes [read_offset_, size) are not yet consumed
  size_t read_offset_ = 0;
  std::optional<Error> error_;
};

}  // namespace myco
