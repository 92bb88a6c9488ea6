// libFuzzer target: the byte stream a peer controls. The first input byte picks how the rest is
// cut into chunks (1..64 bytes), so frame boundaries land everywhere; every frame payload goes
// through DecodeMessage, and so does the whole rest as one raw envelope. Properties checked
// beyond "no crash, no sanitizer report": the decoder never buffers more than its bound, its
// error is sticky, and any message that decodes re-encodes to a fixed point of the codec.
//
// Build: cmake -DMYCO_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ (see CMakeLists.txt, .ci/run).
// Run:   build-fuzz/frame_fuzz fuzz/corpus/frame -max_total_time=60
// Seeds: fuzz/corpus/frame holds one frame of every message type (from codec_test's
// RealisticMessages, seed 20240611) behind a chunking byte, plus one stream of all of them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "wire/codec.hpp"
#include "wire/frame.hpp"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

void DecodeAndCheckFixedPoint(std::string_view bytes) {
  myco::Result<myco::Message> decoded = myco::DecodeMessage(bytes);
  if (!decoded.ok()) return;
  Check(myco::ValidateMessage(decoded.value()).ok());
  const std::string encoded = myco::EncodeMessage(decoded.value());
  myco::Result<myco::Message> again = myco::DecodeMessage(encoded);
  Check(again.ok());
  Check(myco::EncodeMessage(again.value()) == encoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 64;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  DecodeAndCheckFixedPoint(stream);

  // A small cap, so the "length over the cap" path is reachable with small inputs too.
  constexpr uint32_t kCap = 4096;
  myco::FrameDecoder decoder(kCap);
  size_t offset = 0;
  bool failed = false;
  int frames = 0;
  while (offset < stream.size()) {
    const std::string_view piece = stream.substr(offset, chunk);
    const size_t taken = decoder.Feed(piece);
    Check(taken <= piece.size());
    Check(decoder.buffered_bytes() <= kCap + myco::kFrameHeaderBytesMax);
    offset += taken;
    while (true) {
      myco::Result<std::optional<std::string>> next = decoder.Next();
      if (!next.ok()) {
        failed = true;
        break;
      }
      if (!next.value().has_value()) break;
      Check(next.value()->size() <= kCap);
      ++frames;
      DecodeAndCheckFixedPoint(*next.value());
    }
    if (failed) {
      // Sticky: a failed decoder takes everything and yields nothing but the error.
      Check(decoder.failed());
      Check(!decoder.Next().ok());
      break;
    }
    // Feed takes nothing only when the buffer is full of one incomplete frame, which the cap
    // rules out: a full buffer always holds a complete frame that Next() returned above.
    Check(taken > 0 || piece.empty());
  }
  (void)frames;
  return 0;
}
