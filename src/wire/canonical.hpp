// Canonical bytes for signatures. Protobuf serialization is not canonical (field order, unknown
// fields and varint forms may differ between implementations), so what a node signs is built with
// this tiny deterministic encoder instead, from the typed message.
//
// Layout: u32 length + domain, then each field as a u8 tag followed by either a fixed-width
// big-endian integer, the IEEE-754 bits of a double (big-endian), or a u32 big-endian length and
// the bytes. Guarantees: the output is a pure function of the calls made (identical on every
// platform); the domain comes first, so a signature made for one purpose never verifies for
// another; and as long as each tag of a domain always carries the same type, two different
// sequences of fields never give the same bytes (lengths stop ("ab","c") from equalling
// ("a","bc")). Lists are written as a count (AddU32) followed by their elements.
// REQUIRES: external synchronization.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "myco/types.hpp"

namespace myco {

class CanonicalWriter {
 public:
  // `domain` names what is being signed and its version, e.g. "myco/broadcast/v1".
  explicit CanonicalWriter(std::string_view domain);

  // REQUIRES: bytes.size() <= UINT32_MAX.
  void AddBytes(uint8_t tag, std::string_view bytes);
  void AddBytes(uint8_t tag, std::span<const uint8_t> bytes);
  void AddNodeId(uint8_t tag, const NodeId& id);
  void AddBool(uint8_t tag, bool value);
  void AddU8(uint8_t tag, uint8_t value);
  void AddU32(uint8_t tag, uint32_t value);
  void AddU64(uint8_t tag, uint64_t value);
  void AddI64(uint8_t tag, int64_t value);  // two's complement
  // The exact bit pattern: -0.0 and 0.0 differ, as do NaNs with different payloads.
  void AddDouble(uint8_t tag, double value);

  const std::string& bytes() const { return out_; }
  std::span<const uint8_t> span() const {
    return {reinterpret_cast<const uint8_t*>(out_.data()), out_.size()};
  }
  std::string Take() && { return std::move(out_); }

 private:
  void AppendBigEndian(uint64_t value, int bytes);

  std::string out_;
};

}  // namespace myco
