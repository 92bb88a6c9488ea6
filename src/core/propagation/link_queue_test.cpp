// Exact tests of the per-link window and priority queues, plus a seeded comparison against a
// plain reference model (a sorted list) that checks every release and drop.
#include "core/propagation/link_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "myco/rng.hpp"

namespace myco {
namespace {

constexpr size_t kControl = LinkQueues::kControlClass;

NodeId Peer(uint8_t n) {
  NodeId id;
  id.bytes[0] = n;
  id.bytes[31] = n;
  return id;
}

// Messages are Pings whose seq names them, so a test can read the release order off `out`.
Send Msg(const NodeId& peer, uint64_t seq, double priority) {
  return Send{peer, Ping{seq}, priority};
}

std::vector<uint64_t> Seqs(const std::vector<Effect>& out) {
  std::vector<uint64_t> seqs;
  for (const Effect& effect : out) {
    const Send& send = std::get<Send>(effect);
    seqs.push_back(std::get<Ping>(send.message).seq);
  }
  return seqs;
}

std::vector<bool> Flags(const std::vector<Effect>& out) {
  std::vector<bool> flags;
  for (const Effect& effect : out) flags.push_back(std::get<Send>(effect).report_written);
  return flags;
}

using Seq = std::vector<uint64_t>;

TEST(LinkQueuesTest, PriorityClasses) {
  EXPECT_EQ(LinkQueues::PriorityClass(0.0), 0u);
  EXPECT_EQ(LinkQueues::PriorityClass(0.04), 0u);
  EXPECT_EQ(LinkQueues::PriorityClass(0.1), 1u);
  EXPECT_EQ(LinkQueues::PriorityClass(0.5), 5u);
  EXPECT_EQ(LinkQueues::PriorityClass(0.96), 10u);
  EXPECT_EQ(LinkQueues::PriorityClass(1.0), 10u);
  EXPECT_EQ(LinkQueues::PriorityClass(kControlPriority), kControl);
  // Out-of-range packet priorities are clamped: they may come from remote packets, and a packet
  // must never rank as control.
  EXPECT_EQ(LinkQueues::PriorityClass(1.5), 10u);
  EXPECT_EQ(LinkQueues::PriorityClass(-1.0), 0u);
  EXPECT_EQ(LinkQueues::PriorityClass(std::numeric_limits<double>::quiet_NaN()), 0u);
}

TEST(LinkQueuesTest, SendsDirectlyUnderTheWindow) {
  LinkQueues queues(/*queue_messages_max=*/8, /*window_messages=*/4);
  const NodeId a = Peer(1);
  std::vector<Effect> out;
  for (uint64_t seq = 0; seq < 3; ++seq) queues.Enqueue(Msg(a, seq, 0.5), out);
  EXPECT_EQ(Seqs(out), (Seq{0, 1, 2}));
  EXPECT_EQ(std::get<Send>(out[0]).peer, a);
  EXPECT_EQ(queues.queued(a), 0u);
  EXPECT_EQ(queues.in_flight(a), 3u);
  EXPECT_EQ(queues.counters().sent_direct, 3u);
  EXPECT_EQ(queues.counters().queued, 0u);
}

TEST(LinkQueuesTest, QueuesOverTheWindow) {
  LinkQueues queues(8, 2);
  const NodeId a = Peer(1);
  std::vector<Effect> out;
  for (uint64_t seq = 0; seq < 5; ++seq) queues.Enqueue(Msg(a, seq, 0.5), out);
  EXPECT_EQ(Seqs(out), (Seq{0, 1}));
  EXPECT_EQ(queues.queued(a), 3u);
  EXPECT_EQ(queues.queued_total(), 3u);
  EXPECT_EQ(queues.in_flight(a), 2u);
  EXPECT_EQ(queues.counters().sent_direct, 2u);
  EXPECT_EQ(queues.counters().queued, 3u);
}

TEST(LinkQueuesTest, PeersHaveIndependentWindows) {
  LinkQueues queues(8, 1);
  const NodeId a = Peer(1);
  const NodeId b = Peer(2);
  std::vector<Effect> out;
  queues.Enqueue(Msg(a, 0, 0.5), out);
  queues.Enqueue(Msg(a, 1, 0.5), out);
  queues.Enqueue(Msg(b, 2, 0.5), out);
  EXPECT_EQ(Seqs(out), (Seq{0, 2}));
  EXPECT_EQ(queues.queued(a), 1u);
  EXPECT_EQ(queues.queued(b), 0u);
  EXPECT_EQ(queues.links(), 2u);
  out.clear();
  queues.OnWritten(b, 1, out);  // b's report frees nothing of a's
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(queues.queued(a), 1u);
}

TEST(LinkQueuesTest, ReleasesByPriorityThenFifo) {
  LinkQueues queues(8, 1);
  const NodeId a = Peer(1);
  std::vector<Effect> out;
  queues.Enqueue(Msg(a, 0, 0.5), out);  // fills the window
  queues.Enqueue(Msg(a, 1, 0.1), out);
  queues.Enqueue(Msg(a, 2, 0.5), out);
  queues.Enqueue(Msg(a, 3, 0.1), out);
  queues.Enqueue(Msg(a, 4, 0.5), out);
  queues.Enqueue(Msg(a, 5, kControlPriority), out);
  EXPECT_EQ(Seqs(out), (Seq{0}));
  out.clear();
  for (uint64_t total = 1; total <= 5; ++total) queues.OnWritten(a, total, out);
  EXPECT_EQ(Seqs(out), (Seq{5, 2, 4, 1, 3}));
  EXPECT_EQ(queues.queued(a), 0u);
  EXPECT_EQ(queues.counters().released, 5u);
}

TEST(LinkQueuesTest, CriticalPacketOvertakesBulk) {
  LinkQueues queues(64, 2);
  const NodeId a = Peer(1);
  std::vector<Effect> out;
  for (uint64_t seq = 0; seq < 10; ++seq) queues.Enqueue(Msg(a, seq, 0.1), out);
  queues.Enqueue(Msg(a, 99, 1.0), out);
  EXPECT_EQ(Seqs(out), (Seq{0, 1}));
  out.clear();
  queues.OnWritten(a, 1, out);
  EXPECT_EQ(Seqs(out), (Seq{99}));
  out.clear();
  queues.OnWritten(a, 2, out);
  EXPECT_EQ(Seqs(out), (Seq{2}));
}

TEST(LinkQueuesTest, DropsTheNewestOfTheLowestClassAtTheBound) {
  LinkQueues queues(3, 1);
  const NodeId a = Peer(1);
  std::vector<Effect> out;
  queues.Enqueue(Msg(a, 0, 0.5), out);  // in flight
  queues.Enqueue(Msg(a, 1, 0.5), out);
  queues.Enqueue(Msg(a, 2, 0.1), out);
  queues.Enqueue(Msg(a, 3, 0.1), out);
  ASSERT_EQ(queues.queued(a), 3u);
  queues.Enqueue(Msg(a, 4, 0.9), out);  // evicts 3: lowest class, newest there
  EXPECT_EQ(queues.queued(a), 3u);
  EXPECT_EQ(queues.counters().dropped_full, 1u);
  EXPECT_EQ(queues.counters().dropped_by_class[1], 1u);
  out.clear();
  queues.FlushAndForget(a, out);
  EXPECT_EQ(Seqs(out), (Seq{4, 1, 2}));
}

TEST(LinkQueuesTest, DropsTheIncomingMessageWhenItIsTheLowest) {
  LinkQueues queues(2, 1);
  const NodeId a = Peer(1);
  std::vector<Effect> out;
  queues.Enqueue(Msg(a, 0, 0.5), out);
  queues.Enqueue(Msg(a, 1, 0.5), out);
  queues.Enqueue(Msg(a, 2, 0.5), out);
  queues.Enqueue(Msg(a, 3, 0.2), out);  // below everything queued
  queues.Enqueue(Msg(a, 4, 0.5), out);  // equal: it is the newest among equals
  EXPECT_EQ(queues.queued(a), 2u);
  EXPECT_EQ(queues.counters().dropped_full, 2u);
  EXPECT_EQ(queues.counters().dropped_by_class[2], 1u);
  EXPECT_EQ(queues.counters().dropped_by_class[5], 1u);
  out.clear();
  queues.FlushAndForget(a, out);
  EXPECT_EQ(Seqs(out), (Seq{1, 2}));
}

TEST(LinkQueuesTest, ControlIsNeverDroppedBeforePackets) {
  LinkQueues queues(3, 1);
  const NodeId a = Peer(1);
  std::vector<Effect> out;
  queues.Enqueue(Msg(a, 0, 1.0), out);
  queues.Enqueue(Msg(a, 1, kControlPriority), out);
  queues.Enqueue(Msg(a, 2, 1.0), out);
  queues.Enqueue(Msg(a, 3, kControlPriority), out);
  queues.Enqueue(Msg(a, 4, kControlPriority), out);  // evicts the critical packet 2
  EXPECT_EQ(queues.counters().dropped_by_class[10], 1u);
  queues.Enqueue(Msg(a, 5, 1.0), out);  // a packet never displaces control: dropped itself
  EXPECT_EQ(queues.counters().dropped_by_class[10], 2u);
  EXPECT_EQ(queues.counters().dropped_by_class[kControl], 0u);
  // Only when nothing but control waits does control go, and then the newest (the incoming).
  queues.Enqueue(Msg(a, 6, kControlPriority), out);
  EXPECT_EQ(queues.counters().dropped_by_class[kControl], 1u);
  EXPECT_EQ(queues.counters().dropped_full, 3u);
  out.clear();
  queues.FlushAndForget(a, out);
  EXPECT_EQ(Seqs(out), (Seq{1, 3, 4}));
}

TEST(LinkQueuesTest, FlushAndForgetReleasesEverythingControlFirst) {
  LinkQueues queues(64, 2);
  const NodeId a = Peer(1);
  std::vector<Effect> out;
  for (uint64_t seq = 0; seq < 6; ++seq) queues.Enqueue(Msg(a, seq, 0.3), out);
  Send goodbye{a, Disconnect{DisconnectReason::kShutdown, "bye", {}}, kControlPriority};
  queues.Enqueue(std::move(goodbye), out);
  EXPECT_EQ(queues.queued(a), 5u);
  out.clear();
  queues.FlushAndForget(a, out);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_TRUE(std::holds_alternative<Disconnect>(std::get<Send>(out[0]).message));
  for (size_t i = 1; i < out.size(); ++i) {
    EXPECT_EQ(std::get<Ping>(std::get<Send>(out[i]).message).seq, i + 1);
  }
  EXPECT_EQ(queues.queued(a), 0u);
  EXPECT_EQ(queues.queued_total(), 0u);
  EXPECT_EQ(queues.links(), 0u);
  EXPECT_EQ(queues.counters().released, 5u);
  EXPECT_EQ(queues.counters().dropped_link_down, 0u);
  // Forgotten: a late report changes nothing, and a new link starts with an empty window.
  out.clear();
  queues.OnWritten(a, 2, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(queues.links(), 0u);
}

TEST(LinkQueuesTest, ForgetDropsAndResets) {
  LinkQueues queues(64, 2);
  const NodeId a = Peer(1);
  std::vector<Effect> out;
  for (uint64_t seq = 0; seq < 5; ++seq) queues.Enqueue(Msg(a, seq, 0.5), out);
  queues.OnWritten(a, 1, out);  // releases 2; 3 and 4 still wait
  EXPECT_EQ(Seqs(out), (Seq{0, 1, 2}));
  queues.Forget(a);
  EXPECT_EQ(queues.counters().dropped_link_down, 2u);
  EXPECT_EQ(queues.queued(a), 0u);
  EXPECT_EQ(queues.queued_total(), 0u);
  EXPECT_EQ(queues.in_flight(a), 0u);
  // The new connection counts its writes from 0 again.
  out.clear();
  queues.Enqueue(Msg(a, 10, 0.5), out);
  queues.Enqueue(Msg(a, 11, 0.5), out);
  queues.Enqueue(Msg(a, 12, 0.5), out);
  EXPECT_EQ(Seqs(out), (Seq{10, 11}));
  out.clear();
  queues.OnWritten(a, 1, out);
  EXPECT_EQ(Seqs(out), (Seq{12}));
  EXPECT_EQ(queues.in_flight(a), 2u);
}

TEST(LinkQueuesTest, AsksForReportsAtHalfAndFullWindow) {
  LinkQueues queues(64, 4);
  const NodeId a = Peer(1);
  std::vector<Effect> out;
  for (uint64_t seq = 0; seq < 6; ++seq) queues.Enqueue(Msg(a, seq, 0.5), out);
  EXPECT_EQ(Flags(out), (std::vector<bool>{false, true, false, true}));
  out.clear();
  // Two written: in flight drops to 2 and climbs back to 3 (no report) and 4 (full: report).
  queues.OnWritten(a, 2, out);
  EXPECT_EQ(Seqs(out), (Seq{4, 5}));
  EXPECT_EQ(Flags(out), (std::vector<bool>{false, true}));
  out.clear();
  // Everything written: in flight 0, then 1, then 2 (half: report).
  queues.OnWritten(a, 6, out);
  queues.Enqueue(Msg(a, 6, 0.5), out);
  queues.Enqueue(Msg(a, 7, 0.5), out);
  EXPECT_EQ(Flags(out), (std::vector<bool>{false, true}));
}

TEST(LinkQueuesTest, ReportFlagsOnOddAndUnitWindows) {
  {
    LinkQueues queues(64, 5);  // half of 5 rounds down to 2
    std::vector<Effect> out;
    for (uint64_t seq = 0; seq < 5; ++seq) queues.Enqueue(Msg(Peer(1), seq, 0.5), out);
    EXPECT_EQ(Flags(out), (std::vector<bool>{false, true, false, false, true}));
  }
  {
    LinkQueues queues(64, 1);  // every message fills the window
    std::vector<Effect> out;
    queues.Enqueue(Msg(Peer(1), 0, 0.5), out);
    queues.Enqueue(Msg(Peer(1), 1, 0.5), out);
    queues.OnWritten(Peer(1), 1, out);
    EXPECT_EQ(Flags(out), (std::vector<bool>{true, true}));
  }
  {
    LinkQueues queues(64, 4);  // a protocol's own request for a report is kept
    std::vector<Effect> out;
    Send send = Msg(Peer(1), 0, 0.5);
    send.report_written = true;
    queues.Enqueue(std::move(send), out);
    EXPECT_EQ(Flags(out), (std::vector<bool>{true}));
  }
}

TEST(LinkQueuesTest, CoalescedReportReleasesSeveral) {
  LinkQueues queues(64, 4);
  const NodeId a = Peer(1);
  std::vector<Effect> out;
  for (uint64_t seq = 0; seq < 10; ++seq) queues.Enqueue(Msg(a, seq, 0.5), out);
  out.clear();
  queues.OnWritten(a, 3, out);
  EXPECT_EQ(Seqs(out), (Seq{4, 5, 6}));
  out.clear();
  queues.OnWritten(a, 3, out);  // a repeated report carries no news
  queues.OnWritten(a, 2, out);  // nor does an older one
  EXPECT_TRUE(out.empty());
  queues.OnWritten(a, 7, out);
  EXPECT_EQ(Seqs(out), (Seq{7, 8, 9}));
  EXPECT_EQ(queues.in_flight(a), 3u);
  EXPECT_EQ(queues.queued_total(), 0u);
}

TEST(LinkQueuesTest, ReportBeyondWhatWasHandedIsClamped) {
  LinkQueues queues(64, 2);
  const NodeId a = Peer(1);
  std::vector<Effect> out;
  for (uint64_t seq = 0; seq < 5; ++seq) queues.Enqueue(Msg(a, seq, 0.5), out);
  out.clear();
  // Only 2 were handed over: a report of 50 (a late one from an older connection) frees 2.
  queues.OnWritten(a, 50, out);
  EXPECT_EQ(Seqs(out), (Seq{2, 3}));
  EXPECT_EQ(queues.in_flight(a), 2u);
  EXPECT_EQ(queues.queued(a), 1u);
}

TEST(LinkQueuesTest, UnknownPeersAreIgnored) {
  LinkQueues queues(4, 2);
  std::vector<Effect> out;
  queues.OnWritten(Peer(7), 3, out);
  queues.FlushAndForget(Peer(7), out);
  queues.Forget(Peer(7));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(queues.links(), 0u);
  EXPECT_EQ(queues.queued(Peer(7)), 0u);
}

// A reference model: the waiting list kept sorted by (class descending, arrival ascending), a
// window counter and a written counter. Random enqueues, reports, flushes and forgets on three
// peers must produce exactly the model's releases and drops.
struct ModelLink {
  struct Waiting {
    size_t cls;
    uint64_t seq;
  };
  std::vector<Waiting> waiting;  // sorted: release from the front, drop from the back
  uint64_t handed = 0;
  uint64_t written = 0;
};

void ModelInsert(ModelLink& link, size_t cls, uint64_t seq) {
  auto pos = std::find_if(link.waiting.begin(), link.waiting.end(),
                          [&](const ModelLink::Waiting& w) { return w.cls < cls; });
  link.waiting.insert(pos, {cls, seq});
}

TEST(LinkQueuesTest, MatchesReferenceModel) {
  constexpr uint32_t kQueueMax = 6;
  constexpr uint32_t kWindow = 3;
  constexpr uint64_t kSteps = 20'000;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    Rng rng(seed);
    LinkQueues queues(kQueueMax, kWindow);
    ModelLink model[3];
    uint64_t next_seq = 0;
    uint64_t dropped_model = 0;
    for (uint64_t step = 0; step < kSteps; ++step) {
      const size_t p = rng.Uniform(3);
      const NodeId peer = Peer(static_cast<uint8_t>(p + 1));
      ModelLink& link = model[p];
      std::vector<Effect> out;
      Seq expected;
      const uint64_t action = rng.Uniform(100);
      if (action < 70) {
        const double priority =
            rng.Bernoulli(0.1) ? kControlPriority : static_cast<double>(rng.Uniform(11)) / 10;
        const size_t cls = LinkQueues::PriorityClass(priority);
        const uint64_t seq = next_seq++;
        queues.Enqueue(Msg(peer, seq, priority), out);
        if (link.handed - link.written < kWindow) {
          ++link.handed;
          expected.push_back(seq);
        } else if (link.waiting.size() < kQueueMax) {
          ModelInsert(link, cls, seq);
        } else if (cls <= link.waiting.back().cls) {
          ++dropped_model;
        } else {
          link.waiting.pop_back();
          ++dropped_model;
          ModelInsert(link, cls, seq);
        }
      } else if (action < 94) {
        const uint64_t total = link.written + rng.Uniform(link.handed - link.written + 1);
        queues.OnWritten(peer, total, out);
        link.written = total;
        while (!link.waiting.empty() && link.handed - link.written < kWindow) {
          expected.push_back(link.waiting.front().seq);
          link.waiting.erase(link.waiting.begin());
          ++link.handed;
        }
      } else if (action < 97) {
        queues.FlushAndForget(peer, out);
        for (const auto& w : link.waiting) expected.push_back(w.seq);
        link = ModelLink{};
      } else {
        queues.Forget(peer);
        link = ModelLink{};
      }
      ASSERT_EQ(Seqs(out), expected) << "step " << step;
      ASSERT_EQ(queues.queued(peer), link.waiting.size()) << "step " << step;
      ASSERT_EQ(queues.in_flight(peer), link.handed - link.written) << "step " << step;
    }
    // The mix must reach the interesting paths, or the comparison proves little.
    EXPECT_GT(dropped_model, 0u);
    EXPECT_GT(queues.counters().released, 0u);
    EXPECT_GT(queues.counters().dropped_link_down, 0u);
    EXPECT_EQ(queues.counters().dropped_full, dropped_model);
    const LinkQueues::Counters& c = queues.counters();
    EXPECT_EQ(c.queued, c.released + c.dropped_full + c.dropped_link_down + queues.queued_total());
    uint64_t by_class = 0;
    for (uint64_t n : c.dropped_by_class) by_class += n;
    EXPECT_EQ(by_class, c.dropped_full);
  }
}

}  // namespace
}  // namespace myco
