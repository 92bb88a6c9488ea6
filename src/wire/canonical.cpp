// The canonical encoder for signatures; see canonical.hpp for the layout and guarantees.
#include "wire/canonical.hpp"

#include <cassert>
#include <cstring>
#include <limits>

namespace myco {

CanonicalWriter::CanonicalWriter(std::string_view domain) {
  assert(!domain.empty() && domain.size() <= std::numeric_limits<uint32_t>::max());
  // Length-prefixed, so no domain is a prefix of another domain plus fields.
  AppendBigEndian(domain.size(), 4);
  out_.append(domain);
}

void CanonicalWriter::AddBytes(uint8_t tag, std::string_view bytes) {
  assert(bytes.size() <= std::numeric_limits<uint32_t>::max());
  out_.push_back(static_cast<char>(tag));
  AppendBigEndian(bytes.size(), 4);
  out_.append(bytes);
}

void CanonicalWriter::AddBytes(uint8_t tag, std::span<const uint8_t> bytes) {
  AddBytes(tag, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void CanonicalWriter::AddNodeId(uint8_t tag, const NodeId& id) { AddBytes(tag, id.bytes); }

void CanonicalWriter::AddBool(uint8_t tag, bool value) { AddU8(tag, value ? 1 : 0); }

void CanonicalWriter::AddU8(uint8_t tag, uint8_t value) {
  out_.push_back(static_cast<char>(tag));
  AppendBigEndian(value, 1);
}

void CanonicalWriter::AddU32(uint8_t tag, uint32_t value) {
  out_.push_back(static_cast<char>(tag));
  AppendBigEndian(value, 4);
}

void CanonicalWriter::AddU64(uint8_t tag, uint64_t value) {
  out_.push_back(static_cast<char>(tag));
  AppendBigEndian(value, 8);
}

void CanonicalWriter::AddI64(uint8_t tag, int64_t value) {
  AddU64(tag, static_cast<uint64_t>(value));
}

void CanonicalWriter::AddDouble(uint8_t tag, double value) {
  static_assert(sizeof(double) == sizeof(uint64_t));
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  AddU64(tag, bits);
}

void CanonicalWriter::AppendBigEndian(uint64_t value, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) {
    out_.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

}  // namespace myco
