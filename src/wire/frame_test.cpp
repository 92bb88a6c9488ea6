// Framing: round trips through any chunking, the size cap, malformed lengths, sticky errors,
// bounded buffering, and a seeded random-input run.
#include "wire/frame.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "myco/rng.hpp"

namespace myco {
namespace {

uint64_t TestSeed() {
  const char* env = std::getenv("MYCO_WIRE_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 20240611;
}

std::string Bytes(std::initializer_list<uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::string RandomPayload(Rng& rng, size_t size) {
  std::string payload(size, '\0');
  for (auto& c : payload) c = static_cast<char>(rng.Uniform(256));
  return payload;
}

// Feeds `stream` in chunks of 1..chunk_bytes_max bytes and collects every payload. Asserts the
// decoder's progress guarantee: a Feed that takes nothing is always preceded by a Next that yields.
std::vector<std::string> DecodeAll(FrameDecoder& decoder, std::string_view stream, Rng& rng,
                                   size_t chunk_bytes_max) {
  std::vector<std::string> payloads;
  size_t offset = 0;
  while (offset < stream.size()) {
    const size_t chunk = std::min(stream.size() - offset, 1 + rng.Uniform(chunk_bytes_max));
    const size_t taken = decoder.Feed(stream.substr(offset, chunk));
    offset += taken;
    EXPECT_LE(decoder.buffered_bytes(), size_t{decoder.frame_bytes_max()} + kFrameHeaderBytesMax);
    bool yielded = false;
    while (true) {
      auto next = decoder.Next();
      EXPECT_TRUE(next.ok()) << next.error().ToString();
      if (!next.ok() || !next->has_value()) break;
      payloads.push_back(std::move(**next));
      yielded = true;
    }
    if (taken == 0 && !yielded) {
      ADD_FAILURE() << "no progress at offset " << offset;
      break;
    }
  }
  return payloads;
}

TEST(Frame, HeaderIsMinimalVarint) {
  std::string out;
  AppendFrame(out, std::string(127, 'x'));
  EXPECT_EQ(out.size(), 128u);
  EXPECT_EQ(static_cast<uint8_t>(out[0]), 127);

  out.clear();
  AppendFrame(out, std::string(300, 'x'));
  EXPECT_EQ(out.substr(0, 2), Bytes({0xac, 0x02}));
  EXPECT_EQ(out.size(), 302u);

  out.clear();
  AppendFrame(out, "");
  EXPECT_EQ(out, Bytes({0x00}));

  out.clear();
  AppendFrameHeader(out, 0xffffffffu);
  EXPECT_EQ(out, Bytes({0xff, 0xff, 0xff, 0xff, 0x0f}));
}

TEST(Frame, RoundTripThroughAnyChunking) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  Rng rng(seed);
  const std::vector<size_t> sizes = {0, 1, 127, 128, 129, 16383, 16384, 300000, 5, 0, 70000};
  std::vector<std::string> payloads;
  std::string stream;
  for (size_t size : sizes) {
    payloads.push_back(RandomPayload(rng, size));
    AppendFrame(stream, payloads.back());
  }
  for (size_t chunk_bytes_max : {size_t{1}, size_t{7}, size_t{4096}, stream.size()}) {
    SCOPED_TRACE("chunk_bytes_max=" + std::to_string(chunk_bytes_max));
    FrameDecoder decoder;
    EXPECT_EQ(DecodeAll(decoder, stream, rng, chunk_bytes_max), payloads);
    EXPECT_EQ(decoder.buffered_bytes(), 0u);
  }
}

TEST(Frame, TruncatedFrameWaitsForItsLastByte) {
  std::string stream;
  AppendFrame(stream, std::string(200, 'a'));  // 2-byte header
  FrameDecoder decoder;
  for (size_t i = 0; i + 1 < stream.size(); ++i) {
    ASSERT_EQ(decoder.Feed(stream.substr(i, 1)), 1u);
    auto next = decoder.Next();
    ASSERT_TRUE(next.ok());
    ASSERT_FALSE(next->has_value()) << "yielded early at byte " << i;
  }
  ASSERT_EQ(decoder.Feed(stream.substr(stream.size() - 1)), 1u);
  auto next = decoder.Next();
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ(**next, std::string(200, 'a'));
  auto after = decoder.Next();
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->has_value());
}

TEST(Frame, LengthAtTheCapIsAccepted) {
  FrameDecoder decoder(100);
  std::string stream;
  AppendFrame(stream, std::string(100, 'z'));
  ASSERT_EQ(decoder.Feed(stream), stream.size());
  auto next = decoder.Next();
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ((*next)->size(), 100u);
}

TEST(Frame, LengthOverTheCapIsTooLargeBeforeThePayloadArrives) {
  FrameDecoder decoder(100);
  ASSERT_EQ(decoder.Feed(Bytes({101})), 1u);
  auto next = decoder.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code, ErrorCode::kTooLarge);

  FrameDecoder default_cap;
  std::string header;
  AppendFrameHeader(header, kFrameBytesMax + 1);
  ASSERT_EQ(default_cap.Feed(header), header.size());
  auto big = default_cap.Next();
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::kTooLarge);
  EXPECT_NE(big.error().message.find("1048577"), std::string::npos) << big.error().message;
}

TEST(Frame, DefaultCapAcceptsOneMebibyte) {
  std::string stream;
  AppendFrame(stream, std::string(kFrameBytesMax, 'm'));
  FrameDecoder decoder;
  ASSERT_EQ(decoder.Feed(stream), stream.size());
  auto next = decoder.Next();
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ((*next)->size(), kFrameBytesMax);
}

TEST(Frame, MalformedLengthsAreParseErrors) {
  const std::vector<std::string> bad = {
      Bytes({0x80, 0x00}),                    // overlong zero
      Bytes({0x81, 0x80, 0x00}),              // overlong 1
      Bytes({0x80, 0x80, 0x80, 0x80, 0x80}),  // a sixth byte would follow
      Bytes({0xff, 0xff, 0xff, 0xff, 0x1f}),  // overflows 32 bits
      Bytes({0xff, 0xff, 0xff, 0xff, 0x7f}),
  };
  for (const auto& header : bad) {
    FrameDecoder decoder(UINT32_MAX);
    ASSERT_EQ(decoder.Feed(header), header.size());
    auto next = decoder.Next();
    ASSERT_FALSE(next.ok()) << "header of " << header.size() << " bytes";
    EXPECT_EQ(next.error().code, ErrorCode::kParse) << next.error().ToString();
  }
}

TEST(Frame, ErrorIsStickyAndDropsInput) {
  FrameDecoder decoder(10);
  std::string stream = Bytes({0x80, 0x00});
  AppendFrame(stream, "fine");
  ASSERT_EQ(decoder.Feed(stream), stream.size());
  ASSERT_FALSE(decoder.Next().ok());
  EXPECT_TRUE(decoder.failed());
  EXPECT_EQ(decoder.buffered_bytes(), 0u);

  std::string more;
  AppendFrame(more, "also fine");
  EXPECT_EQ(decoder.Feed(more), more.size());
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
  auto again = decoder.Next();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kParse);
}

TEST(Frame, NeverBuffersMoreThanCapPlusHeader) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  Rng rng(seed);
  constexpr uint32_t kCap = 100;
  std::vector<std::string> payloads;
  std::string stream;
  for (int i = 0; i < 500; ++i) {
    payloads.push_back(RandomPayload(rng, rng.Uniform(kCap + 1)));
    AppendFrame(stream, payloads.back());
  }
  FrameDecoder decoder(kCap);
  // A whole 25 KB stream offered at once: the decoder takes at most cap + 5 each time.
  EXPECT_EQ(DecodeAll(decoder, stream, rng, stream.size()), payloads);
  FrameDecoder fresh(kCap);
  EXPECT_EQ(fresh.Feed(stream), kCap + kFrameHeaderBytesMax);
}

TEST(Frame, RandomBytesNeverCrash) {
  const uint64_t seed = TestSeed();
  std::fprintf(stderr, "[ wire fuzz ] Frame.RandomBytesNeverCrash seed=%llu (MYCO_WIRE_SEED)\n",
               static_cast<unsigned long long>(seed));
  SCOPED_TRACE("seed=" + std::to_string(seed));
  Rng rng(seed);
  constexpr int kCases = 200000;
  int frames = 0;
  int errors = 0;
  std::string input;
  for (int i = 0; i < kCases; ++i) {
    // A small cap makes complete frames, partial frames and oversize lengths all common.
    FrameDecoder decoder(static_cast<uint32_t>(rng.Uniform(64)));
    input.resize(rng.Uniform(48));
    for (auto& c : input) {
      // Bias towards small bytes so that short valid lengths appear often.
      c = static_cast<char>(rng.Bernoulli(0.5) ? rng.Uniform(16) : rng.Uniform(256));
    }
    std::string_view rest = input;
    for (int round = 0; round < 64 && !rest.empty(); ++round) {
      rest.remove_prefix(decoder.Feed(rest.substr(0, 1 + rng.Uniform(rest.size()))));
      ASSERT_LE(decoder.buffered_bytes(), size_t{decoder.frame_bytes_max()} + 5) << "case " << i;
      while (true) {
        auto next = decoder.Next();
        if (!next.ok()) {
          ++errors;
          ASSERT_TRUE(next.error().code == ErrorCode::kParse ||
                      next.error().code == ErrorCode::kTooLarge)
              << "case " << i;
          break;
        }
        if (!next->has_value()) break;
        ASSERT_LE((*next)->size(), decoder.frame_bytes_max()) << "case " << i;
        ++frames;
      }
      if (decoder.failed()) break;
    }
  }
  // The generator is meant to reach both outcomes; if it stops doing so the test has gone blind.
  RecordProperty("frames", frames);
  RecordProperty("errors", errors);
  EXPECT_GT(frames, kCases / 10);
  EXPECT_GT(errors, kCases / 10);
}

}  // namespace
}  // namespace myco
