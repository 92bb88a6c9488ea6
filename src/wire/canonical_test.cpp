// Canonical bytes: the exact layout, determinism, and that neither field boundaries nor domains
// can be shifted to make two different contents collide.
#include "wire/canonical.hpp"

#include <gtest/gtest.h>

#include <string>

namespace myco {
namespace {

std::string Bytes(std::initializer_list<uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

TEST(Canonical, LayoutIsBigEndianAndLengthPrefixed) {
  CanonicalWriter writer("d");
  writer.AddU32(1, 0x01020304);
  writer.AddBytes(2, std::string_view("hi"));
  writer.AddU8(3, 0xfe);
  writer.AddBool(4, true);
  EXPECT_EQ(writer.bytes(), Bytes({0, 0,    0,    1,    'd',             // domain
                                   1, 0x01, 0x02, 0x03, 0x04,            // u32
                                   2, 0,    0,    0,    2,    'h', 'i',  // bytes
                                   3, 0xfe,                              // u8
                                   4, 1}));                              // bool

  CanonicalWriter numbers("n");
  numbers.AddU64(1, 0x0102030405060708ULL);
  numbers.AddI64(2, -1);
  numbers.AddDouble(3, 1.0);
  EXPECT_EQ(numbers.bytes().substr(5), Bytes({1, 1,    2,    3,    4,    5,    6,    7,    8,     //
                                              2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  //
                                              3, 0x3f, 0xf0, 0,    0,    0,    0,    0,    0}));
  EXPECT_EQ(numbers.span().size(), numbers.bytes().size());
}

TEST(Canonical, EqualInputsGiveEqualBytes) {
  auto write = [] {
    NodeId id;
    for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(i * 7);
    CanonicalWriter writer("myco/test/v1");
    writer.AddNodeId(1, id);
    writer.AddU64(2, 99);
    writer.AddDouble(3, 0.1);
    writer.AddBytes(4, std::string_view("payload"));
    return std::move(writer).Take();
  };
  const std::string first = write();
  EXPECT_EQ(first, write());
  EXPECT_EQ(first.size(), 4 + 12 + (1 + 4 + 32) + 9 + 9 + (1 + 4 + 7));
}

TEST(Canonical, FieldBoundariesCannotShift) {
  CanonicalWriter ab_c("t");
  ab_c.AddBytes(1, std::string_view("ab"));
  ab_c.AddBytes(1, std::string_view("c"));
  CanonicalWriter a_bc("t");
  a_bc.AddBytes(1, std::string_view("a"));
  a_bc.AddBytes(1, std::string_view("bc"));
  EXPECT_NE(ab_c.bytes(), a_bc.bytes());

  // Empty fields still count: ("", "x") differs from ("x", "").
  CanonicalWriter empty_first("t");
  empty_first.AddBytes(1, std::string_view(""));
  empty_first.AddBytes(1, std::string_view("x"));
  CanonicalWriter empty_last("t");
  empty_last.AddBytes(1, std::string_view("x"));
  empty_last.AddBytes(1, std::string_view(""));
  EXPECT_NE(empty_first.bytes(), empty_last.bytes());

  // The same value under another tag is another field.
  CanonicalWriter tag1("t");
  tag1.AddU32(1, 5);
  CanonicalWriter tag2("t");
  tag2.AddU32(2, 5);
  EXPECT_NE(tag1.bytes(), tag2.bytes());
}

TEST(Canonical, DomainsSeparate) {
  // A domain cannot absorb the start of the fields: "ab" + field differs from "a" + "b"-ish field.
  CanonicalWriter long_domain("ab");
  long_domain.AddU8(1, 0);
  CanonicalWriter short_domain("a");
  short_domain.AddBytes('b', std::string_view(""));
  EXPECT_NE(long_domain.bytes(), short_domain.bytes());

  CanonicalWriter broadcast("myco/broadcast/v1");
  CanonicalWriter offer("myco/offer/v1");
  EXPECT_NE(broadcast.bytes(), offer.bytes());
}

TEST(Canonical, DoublesKeepTheirBits) {
  CanonicalWriter zero("t");
  zero.AddDouble(1, 0.0);
  CanonicalWriter negative_zero("t");
  negative_zero.AddDouble(1, -0.0);
  EXPECT_NE(zero.bytes(), negative_zero.bytes());
}

}  // namespace
}  // namespace myco
