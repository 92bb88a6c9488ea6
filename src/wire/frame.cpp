// Varint-length-prefixed framing; see frame.hpp for the guarantees.
#include "wire/frame.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace myco {

namespace {

// An idle connection should not keep the memory of the largest frame it ever received.
constexpr size_t kIdleBufferBytesMax = 64 * 1024;

}  // namespace

void AppendFrame(std::string& out, std::string_view payload) {
  assert(payload.size() <= std::numeric_limits<uint32_t>::max());
  AppendFrameHeader(out, static_cast<uint32_t>(payload.size()));
  out.append(payload);
}

void AppendFrameHeader(std::string& out, uint32_t payload_bytes) {
  uint32_t length = payload_bytes;
  char header[kFrameHeaderBytesMax];
  size_t header_bytes = 0;
  while (length >= 0x80) {
    header[header_bytes++] = static_cast<char>((length & 0x7f) | 0x80);
    length >>= 7;
  }
  header[header_bytes++] = static_cast<char>(length);
  assert(header_bytes <= kFrameHeaderBytesMax);
  out.append(header, header_bytes);
}

FrameDecoder::FrameDecoder(uint32_t frame_bytes_max) : frame_bytes_max_(frame_bytes_max) {}

size_t FrameDecoder::Feed(std::string_view bytes) {
  return Feed(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

size_t FrameDecoder::Feed(std::span<const uint8_t> bytes) {
  // A failed stream is going to be closed; swallowing its input keeps callers' loops finite.
  if (error_) return bytes.size();
  if (read_offset_ > 0) {
    buffer_.erase(0, read_offset_);
    read_offset_ = 0;
  }
  const size_t bound = size_t{frame_bytes_max_} + kFrameHeaderBytesMax;
  assert(buffer_.size() <= bound);
  const size_t taken = std::min(bytes.size(), bound - buffer_.size());
  buffer_.append(reinterpret_cast<const char*>(bytes.data()), taken);
  return taken;
}

Result<std::optional<std::string>> FrameDecoder::Next() {
  if (error_) return *error_;
  const auto* data = reinterpret_cast<const uint8_t*>(buffer_.data()) + read_offset_;
  const size_t available = buffered_bytes();

  uint32_t length = 0;
  size_t header_bytes = 0;
  for (size_t i = 0; i < available && i < kFrameHeaderBytesMax; ++i) {
    const uint8_t byte = data[i];
    // The fifth byte holds the top 4 bits of a uint32 and must end the varint.
    if (i == kFrameHeaderBytesMax - 1 && byte > 0x0f) {
      return Fail(ErrorCode::kParse, (byte & 0x80) != 0 ? "frame length varint longer than 5 bytes"
                                                        : "frame length varint overflows 32 bits");
    }
    length |= static_cast<uint32_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      // A trailing zero group means a shorter encoding existed: one length, one encoding.
      if (i > 0 && byte == 0) return Fail(ErrorCode::kParse, "overlong frame length varint");
      header_bytes = i + 1;
      break;
    }
  }
  if (header_bytes == 0) return std::optional<std::string>();  // the length is still arriving
  if (length > frame_bytes_max_) {
    return Fail(ErrorCode::kTooLarge, "frame of " + std::to_string(length) + " bytes, max " +
                                          std::to_string(frame_bytes_max_));
  }
  if (available - header_bytes < length) return std::optional<std::string>();

  std::optional<std::string> payload(std::in_place,
                                     reinterpret_cast<const char*>(data) + header_bytes, length);
  read_offset_ += header_bytes + length;
  assert(read_offset_ <= buffer_.size());
  if (read_offset_ == buffer_.size()) {
    read_offset_ = 0;
    buffer_.clear();
    if (buffer_.capacity() > kIdleBufferBytesMax) std::string().swap(buffer_);
  }
  return payload;
}

Error FrameDecoder::Fail(ErrorCode code, std::string message) {
  error_ = MakeError(code, std::move(message));
  std::string().swap(buffer_);
  read_offset_ = 0;
  return *error_;
}

}  // namespace myco
