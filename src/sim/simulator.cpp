// The simulator's event loop and its model of connections (see simulator.hpp for the contract).
//
// Life of a connection: ApplyDial allocates it with both ends kPending and lists it at the
// dialer; kConnect (one RTT later) opens the dialer's end and queues kAccept at the same instant,
// which opens and lists the target's end. Close, LinkDown and Crash close single ends; the slot is
// freed (and its generation bumped, which turns every event still naming it stale) once both
// ends are closed. Between the two, the surviving end is half-open and swallows what it sends.
#include "sim/simulator.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include "core/topology/membership.hpp"
#include "myco/identity.hpp"

// The codec is written separately; until it exists, route_through_codec is refused at
// construction rather than silently ignored.
#if __has_include("wire/codec.hpp")
#include "wire/codec.hpp"
#define MYCO_SIM_HAS_CODEC 1
#else
#define MYCO_SIM_HAS_CODEC 0
#endif

namespace myco {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr std::string_view kAddressPrefix = "sim:";

uint64_t Word(const NodeId& id, size_t i) {
  uint64_t word;
  std::memcpy(&word, id.bytes.data() + i * sizeof word, sizeof word);
  return word;
}

// Inline word compares: NodeId's operator== goes through an out-of-line memcmp, which showed up
// in profiles of the Send path.
bool SameId(const NodeId& a, const NodeId& b) {
  return Word(a, 0) == Word(b, 0) && Word(a, 1) == Word(b, 1) && Word(a, 2) == Word(b, 2) &&
         Word(a, 3) == Word(b, 3);
}

// The key seed of node `index`: a function of (seed, index) alone, so a node keeps its identity
// across restarts and whatever else the run does.
std::array<uint8_t, 32> KeySeed(uint64_t seed, uint32_t index) {
  const uint64_t salt = Rng(seed ^ 0x6964656e74697479ULL).Next();  // "identity"
  Rng rng(salt + index);
  std::array<uint8_t, 32> key_seed;
  for (size_t i = 0; i < key_seed.size(); i += 8) {
    const uint64_t word = rng.Next();
    std::memcpy(key_seed.data() + i, &word, sizeof word);
  }
  return key_seed;
}

// Parses "sim:<index>" exactly as the simulator prints it (no sign, no leading zeros), so an
// accepted address names one node in one way.
std::optional<uint32_t> ParseAddress(std::string_view address) {
  if (!address.starts_with(kAddressPrefix)) return std::nullopt;
  const std::string_view digits = address.substr(kAddressPrefix.size());
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  uint32_t index = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return index;
}

#if MYCO_SIM_HAS_CODEC
// Replaces `message` by what the real codec makes of it, so the cores see exactly what the
// daemon's peers would. A failure to decode our own encoding is a codec bug, never input.
void RoundTripThroughCodec(Message& message) {
  const std::string bytes = EncodeMessage(message);
  Result<Message> decoded = DecodeMessage(bytes);
  if (!decoded.ok()) {
    std::fprintf(stderr, "simulator: codec cannot decode its own %s: %s\n", MessageName(message),
                 decoded.error().ToString().c_str());
    std::abort();
  }
  message = std::move(decoded).value();
}
#endif

}  // namespace

Simulator::Simulator(SimConfig config)
    : config_(std::move(config)),
      links_(config_),
      node_rng_(Rng(config_.seed).Fork()),
      link_rng_(Rng(config_.seed ^ 0x6c696e6bULL).Fork()) {  // "link"
  assert(config_.regions >= 1);
  assert(config_.nodes_max < kNoSlot);
  assert((!config_.route_through_codec || MYCO_SIM_HAS_CODEC) &&
         "route_through_codec needs src/wire/codec.hpp, which this build does not have");
  const Status crypto = InitCrypto();
  assert(crypto.ok());
  (void)crypto;
}

Simulator::~Simulator() = default;

uint32_t Simulator::AddNode(const std::string& name, TopologyConfig topology,
                            const std::vector<uint32_t>& bootstrap) {
  NodeSpec spec;
  spec.name = name;
  spec.options.topology = std::move(topology);
  return AddNode(std::move(spec), bootstrap);
}

uint32_t Simulator::AddNode(NodeSpec spec, const std::vector<uint32_t>& bootstrap) {
  assert(hot_.size() < config_.nodes_max);
  const auto index = static_cast<uint32_t>(hot_.size());
  const std::array<uint8_t, 32> key_seed = KeySeed(config_.seed, index);
  Result<Identity> identity = Identity::FromSeed(key_seed);
  assert(identity.ok());

  NodeInfo& info = spec.info;
  info.id = identity->id();
  info.name = spec.name;
  info.listen_addresses = {AddressOf(index)};
  const auto region = static_cast<uint32_t>(node_rng_.Uniform(config_.regions));
  info.location.region = "r" + std::to_string(region);
  // The cap the node advertises is the one its membership enforces.
  info.max_connections = spec.options.topology.max_connections;
  if (spec.options.verifier == nullptr) spec.options.verifier = &verifier_;

  const bool inserted = index_of_.emplace(info.id, index).second;
  assert(inserted && "two nodes derived the same key");
  (void)inserted;
  ids_.push_back(info.id);
  hot_.push_back(NodeHot{std::nullopt, {}, kNever, 0, region});
  cold_.push_back(
      NodeCold{std::move(spec), std::make_shared<const Identity>(std::move(identity).value())});
  StartCore(index, bootstrap);
  return index;
}

void Simulator::StartCore(uint32_t index, const std::vector<uint32_t>& bootstrap) {
  NodeHot& hot = hot_[index];
  assert(!hot.core && hot.conns.empty());
  const NodeCold& cold = cold_[index];
  hot.core.emplace(cold.identity, cold.spec.info, cold.spec.options, node_rng_.Fork());
  hot.wake_ns = kNever;
  // The first Tick lets the core arm its timers; the driver learns them from NextDeadline.
  Feed(index, Tick{});
  if (!bootstrap.empty()) {
    JoinCommand join;
    join.addresses.reserve(bootstrap.size());
    for (const uint32_t b : bootstrap) {
      assert(b < node_count());
      join.addresses.push_back(AddressOf(b));
    }
    Feed(index, Command{std::move(join)});
  }
}

Result<std::vector<PacketId>> Simulator::Publish(uint32_t index, PublishRequest request) {
  assert(index < node_count() && Alive(index));
  Result<std::vector<PacketId>> result = hot_[index].core->Publish(now_, std::move(request));
  ApplyEffects(index);
  ScheduleWake(index);
  return result;
}

Result<std::string> Simulator::ShareKnowledge(uint32_t index, const std::string& discovery_type,
                                              const std::string& knowledge_json,
                                              const std::vector<NodeId>& targets) {
  assert(index < node_count() && Alive(index));
  Result<std::string> result =
      hot_[index].core->ShareKnowledge(now_, discovery_type, knowledge_json, targets);
  ApplyEffects(index);
  ScheduleWake(index);
  return result;
}

void Simulator::SetAppEventHook(
    std::function<void(uint32_t node, TimePoint at, const AppEvent&)> hook) {
  app_hook_ = std::move(hook);
}

void Simulator::SetMessageHook(
    std::function<void(uint32_t from, uint32_t to, TimePoint at, const Message&, uint32_t bytes)>
        hook) {
  message_hook_ = std::move(hook);
}

const MemoPacketVerifier& Simulator::verifier() const { return verifier_; }

void Simulator::Crash(uint32_t index) {
  assert(index < node_count() && Alive(index));
  NodeHot& hot = hot_[index];
  hot.core.reset();
  ++hot.incarnation;  // its timers and dial results in the queue are now stale
  hot.wake_ns = kNever;
  const std::vector<ConnRef> conns = std::move(hot.conns);
  hot.conns.clear();
  for (const ConnRef& ref : conns) {
    Connection& conn = conns_[ref.conn];
    const int side = SideOf(conn, index);
    const int other = 1 - side;
    if (conn.side[other] == End::kPending) {
      // The far end never saw this connection (a dial still in flight): it never will.
      conn.side[other] = End::kClosed;
    } else if (conn.side[other] == End::kOpen && config_.crash_sends_reset) {
      SendLinkDown(ref.conn, side, DownReason::kReset);
    }
    CloseEnd(ref.conn, side);
  }
}

void Simulator::Restart(uint32_t index, const std::vector<uint32_t>& bootstrap) {
  assert(index < node_count() && !Alive(index));
  StartCore(index, bootstrap);
}

void Simulator::SetPartition(std::vector<uint32_t> group) { links_.SetPartition(std::move(group)); }

void Simulator::HealPartition() { links_.HealPartition(); }

void Simulator::RunUntil(TimePoint until) {
  if (until < now_) return;
  while (!queue_.empty() && queue_.top().time_ns <= until.ns) {
    if (counters_.events >= config_.events_max) {
      budget_exhausted_ = true;
      return;
    }
    const SimEvent event = queue_.Pop();
    assert(event.time_ns >= now_.ns && "an event was scheduled in the past");
    now_ = TimePoint{event.time_ns};
    ++counters_.events;
    Dispatch(event);
  }
  now_ = until;
}

void Simulator::Dispatch(const SimEvent& event) {
  assert(event.node < node_count());
  bool processed = false;
  switch (event.kind) {
    case kTick: processed = OnTick(event); break;
    case kMessage: processed = OnMessage(event); break;
    case kConnect: processed = OnConnect(event); break;
    case kAccept: processed = OnAccept(event); break;
    case kLinkDown: processed = OnLinkDown(event); break;
    case kDialFailed: processed = OnDialFailed(event); break;
    case kWritten: processed = OnWritten(event); break;
    default: assert(false && "unknown event kind");
  }
  if (!processed) {
    ++counters_.events_stale;
    return;
  }
  if (hook_) hook_(event.node);
}

// ---- inputs to the cores ----

void Simulator::Feed(uint32_t index, Input input) {
  assert(Alive(index));
  hot_[index].core->Handle(now_, std::move(input));
  ApplyEffects(index);
  ScheduleWake(index);
}

void Simulator::ApplyEffects(uint32_t index) {
  // Carrying out an effect never feeds a core (everything it causes is an event), so the vector
  // stays put while we walk it.
  std::vector<Effect>& effects = hot_[index].core->effects();
  for (Effect& effect : effects) {
    if (auto* send = std::get_if<Send>(&effect)) {
      ApplySend(index, *send);
    } else if (const auto* dial = std::get_if<Dial>(&effect)) {
      ApplyDial(index, *dial);
    } else if (const auto* close = std::get_if<Close>(&effect)) {
      ApplyClose(index, close->peer);
    } else if (app_hook_) {
      // Deliver: an application event, nothing for the network to do; scenarios record it.
      app_hook_(index, now_, std::get<Deliver>(effect).event);
    }
  }
  hot_[index].core->ClearEffects();
}

// One live timer per node: a kTick is pushed only when the core wants to wake earlier than the
// one already queued; later ones are filtered out on pop (lazy deletion), which is cheaper than
// removing them from the heap.
void Simulator::ScheduleWake(uint32_t index) {
  NodeHot& hot = hot_[index];
  const int64_t deadline = std::max(hot.core->NextDeadline().ns, now_.ns);
  if (deadline >= hot.wake_ns) return;
  hot.wake_ns = deadline;
  queue_.Push(deadline, kTick, index, 0, 0, hot.incarnation);
}

bool Simulator::OnTick(const SimEvent& event) {
  NodeHot& hot = hot_[event.node];
  if (!hot.core || event.aux != hot.incarnation || event.time_ns != hot.wake_ns) return false;
  hot.wake_ns = kNever;
  Feed(event.node, Tick{});
  // A core that still wants a tick now after a tick would spin the simulator forever.
  assert(hot_[event.node].core->NextDeadline() > now_ && "core asked to be woken again at once");
  return true;
}

bool Simulator::OnMessage(const SimEvent& event) {
  const uint32_t slot = event.payload;
  const uint32_t c = event.conn;
  const uint32_t to = event.node;
  if (conns_[c].generation != event.aux) {
    // Both ends closed while it was in flight.
    FreePacket(slot);
    ++(Alive(to) ? counters_.messages_dropped_closed : counters_.messages_dropped_dead);
    return false;
  }
  const Connection& conn = conns_[c];
  const int side = SideOf(conn, to);
  assert(conn.end[side] == to);
  if (conn.side[side] != End::kOpen) {
    // The receiver closed its end (or crashed) after this was sent: TCP would answer with RST.
    FreePacket(slot);
    ++(Alive(to) ? counters_.messages_dropped_closed : counters_.messages_dropped_dead);
    return false;
  }
  assert(Alive(to) && hot_[to].incarnation == conn.incarnation[side]);
  const Packet& packet = packets_[slot];
  if (message_hook_) message_hook_(conn.end[1 - side], to, now_, packet.message, packet.bytes);
  Received received{packet.from, std::move(packets_[slot].message), packet.bytes};
  FreePacket(slot);
  Feed(to, std::move(received));
  return true;
}

bool Simulator::OnConnect(const SimEvent& event) {
  const uint32_t c = event.conn;
  if (conns_[c].generation != event.aux) return false;  // the dialer crashed meanwhile
  const uint32_t a = conns_[c].end[0];
  const uint32_t b = conns_[c].end[1];
  assert(a == event.node && conns_[c].side[0] == End::kPending);
  assert(Alive(a) && hot_[a].incarnation == conns_[c].incarnation[0]);
  if (!Alive(b) || hot_[b].incarnation != conns_[c].incarnation[1] || !links_.Reachable(a, b)) {
    // The target went away (or behind a partition) during the handshake: the SYN goes
    // unanswered and the dial times out.
    const TimePoint timeout_at = std::max(now_, conns_[c].dialled_at + links_.connect_timeout());
    RemoveEntry(a, c);
    conns_[c].side[1] = End::kClosed;
    CloseEnd(c, 0);
    FailDial(a, AddressOf(b), "connect timeout", timeout_at);
    return true;
  }
  ReplaceStaleEnd(a, b);
  conns_[c].side[0] = End::kOpen;
  ++counters_.links_opened;
  // Queued before the dialer's LinkUp runs, so the target's LinkUp precedes anything the dialer
  // schedules for this same instant.
  queue_.Push(now_.ns, kAccept, b, 0, c, conns_[c].generation);
  Feed(a, LinkUp{ids_[b], AddressOf(b), /*outbound=*/true});
  return true;
}

bool Simulator::OnAccept(const SimEvent& event) {
  const uint32_t c = event.conn;
  if (conns_[c].generation != event.aux) return false;
  const uint32_t a = conns_[c].end[0];
  const uint32_t b = conns_[c].end[1];
  assert(b == event.node && conns_[c].side[1] == End::kPending);
  if (!Alive(b) || hot_[b].incarnation != conns_[c].incarnation[1]) {
    // Crashed in the same instant (from an event hook): the dialer's end is left half-open.
    CloseEnd(c, 1);
    return false;
  }
  ReplaceStaleEnd(b, a);
  conns_[c].side[1] = End::kOpen;
  hot_[b].conns.push_back(ConnRef{ids_[a], a, c});
  Feed(b, LinkUp{ids_[a], AddressOf(a), /*outbound=*/false});
  return true;
}

bool Simulator::OnLinkDown(const SimEvent& event) {
  const uint32_t c = event.conn;
  if (conns_[c].generation != event.aux) return false;
  const uint32_t index = event.node;
  const int side = SideOf(conns_[c], index);
  if (conns_[c].side[side] == End::kPending) {
    // The connection never came up at this end: nothing to tell it.
    CloseEnd(c, side);
    return false;
  }
  if (conns_[c].side[side] == End::kClosed) return false;  // it closed its end itself meanwhile
  const uint32_t peer = conns_[c].end[1 - side];
  const DownReason reason = conns_[c].down_reason[side];
  RemoveEntry(index, c);
  CloseEnd(c, side);
  const char* why = reason == DownReason::kReset ? "connection reset" : "closed by peer";
  Feed(index, LinkDown{ids_[peer], why});
  return true;
}

bool Simulator::OnWritten(const SimEvent& event) {
  const uint32_t c = event.conn;
  if (conns_[c].generation != event.aux) return false;
  const uint32_t index = event.node;
  const int side = SideOf(conns_[c], index);
  // A closed end has no queue left to reopen; the next connection counts from zero.
  if (conns_[c].side[side] != End::kOpen) return false;
  Feed(index, Written{ids_[conns_[c].end[1 - side]], event.payload});
  return true;
}

bool Simulator::OnDialFailed(const SimEvent& event) {
  const uint32_t slot = event.payload;
  DialFailed failed{std::move(dial_failures_[slot].address), dial_failures_[slot].why};
  dial_failures_[slot].address.clear();
  dial_failures_[slot].next_free = dial_failure_free_;
  dial_failure_free_ = slot;
  const uint32_t index = event.node;
  if (!Alive(index) || hot_[index].incarnation != event.aux) return false;
  Feed(index, std::move(failed));
  return true;
}

// ---- effects of the cores ----

void Simulator::ApplySend(uint32_t index, Send& send) {
  const int entry = FindOpenEntry(index, send.peer);
  if (entry < 0) {
    ++counters_.messages_dropped_no_link;
    return;
  }
  const ConnRef ref = hot_[index].conns[static_cast<size_t>(entry)];
  Connection& conn = conns_[ref.conn];
  const int dir = SideOf(conn, index);
#if MYCO_SIM_HAS_CODEC
  if (config_.route_through_codec) RoundTripThroughCodec(send.message);
#endif
  // The local end is open, so the bytes leave this host whatever becomes of them later:
  // serialisation is FIFO per direction, and a message waits for those before it.
  // (Cores set `bytes`; a Send made elsewhere may not have.)
  const uint32_t bytes = send.bytes != 0 ? send.bytes : EstimatedWireBytes(send.message);
  const int64_t start_ns = std::max(now_.ns, conn.busy_until_ns[dir]);
  conn.busy_until_ns[dir] = start_ns + links_.Serialisation(bytes).ns;
  const uint64_t written = ++conn.written[dir];
  if (send.report_written) {
    assert(written <= UINT32_MAX && "the event's payload carries the count");
    queue_.Push(conn.busy_until_ns[dir], kWritten, index, static_cast<uint32_t>(written), ref.conn,
                conn.generation);
  }
  if (!Live(conn)) {
    // Half-open: the far end closed or crashed and its FIN (if any) has not arrived yet.
    const bool far_alive =
        Alive(ref.peer) && hot_[ref.peer].incarnation == conn.incarnation[1 - dir];
    ++(far_alive ? counters_.messages_dropped_closed : counters_.messages_dropped_dead);
    return;
  }
  if (!links_.Reachable(index, ref.peer)) {
    ++counters_.messages_dropped_partition;
    return;
  }
  // TCP never delivers a message before those sent ahead of it, even if they were delayed by a
  // retransmission.
  const int64_t arrival_ns =
      std::max(conn.busy_until_ns[dir] + conn.latency.ns + links_.LossDelay(link_rng_).ns,
               conn.last_arrival_ns[dir]);
  conn.last_arrival_ns[dir] = arrival_ns;
  const uint32_t generation = conn.generation;
  const uint32_t packet = AllocPacket(std::move(send.message), ids_[index], bytes);
  queue_.Push(arrival_ns, kMessage, ref.peer, packet, ref.conn, generation);
  ++counters_.messages;
  counters_.message_bytes += bytes;
}

void Simulator::ApplyDial(uint32_t index, const Dial& dial) {
  ++counters_.dials;
  const std::optional<uint32_t> parsed = ParseAddress(dial.address);
  if (!parsed || *parsed >= node_count()) {
    FailDial(index, dial.address, "bad address", now_);
    return;
  }
  const uint32_t target = *parsed;
  if (target == index) {
    FailDial(index, dial.address, "dial to self", now_);
    return;
  }
  if (Linked(index, target)) {
    FailDial(index, dial.address, "already connected", now_);
    return;
  }
  if (!Alive(target) || !links_.Reachable(index, target)) {
    FailDial(index, dial.address, "connect timeout", now_ + links_.connect_timeout());
    return;
  }
  const Duration latency = links_.Latency(index, target, hot_[index].region == hot_[target].region);
  if (!dial.expected.IsZero() && dial.expected != ids_[target]) {
    // TLS shows the wrong key at the end of the handshake.
    FailDial(index, dial.address, "unexpected peer id", now_ + latency * 2);
    return;
  }
  const uint32_t c = AllocConnection();
  Connection& conn = conns_[c];
  conn.end[0] = index;
  conn.end[1] = target;
  conn.incarnation[0] = hot_[index].incarnation;
  conn.incarnation[1] = hot_[target].incarnation;
  conn.latency = latency;
  conn.dialled_at = now_;
  conn.side[0] = End::kPending;
  conn.side[1] = End::kPending;
  hot_[index].conns.push_back(ConnRef{ids_[target], target, c});
  queue_.Push(now_.ns + (latency * 2).ns, kConnect, index, 0, c, conn.generation);
}

void Simulator::ApplyClose(uint32_t index, const NodeId& peer) {
  const int entry = FindOpenEntry(index, peer);
  if (entry < 0) return;  // already gone, e.g. a LinkDown crossed the Close
  const uint32_t c = hot_[index].conns[static_cast<size_t>(entry)].conn;
  const int side = SideOf(conns_[c], index);
  RemoveEntry(index, c);
  if (conns_[c].side[1 - side] != End::kClosed) SendLinkDown(c, side, DownReason::kClosedByPeer);
  CloseEnd(c, side);
}

void Simulator::FailDial(uint32_t index, std::string address, const char* why, TimePoint at) {
  assert(at >= now_);
  ++counters_.dials_failed;
  uint32_t slot = dial_failure_free_;
  if (slot == kNoSlot) {
    slot = static_cast<uint32_t>(dial_failures_.size());
    dial_failures_.push_back(DialFailure{});
  } else {
    dial_failure_free_ = dial_failures_[slot].next_free;
  }
  dial_failures_[slot].address = std::move(address);
  dial_failures_[slot].why = why;
  dial_failures_[slot].next_free = kNoSlot;
  queue_.Push(at.ns, kDialFailed, index, slot, 0, hot_[index].incarnation);
}

// ---- connection bookkeeping ----

bool Simulator::Linked(uint32_t a, uint32_t b) const {
  // A dial in flight is listed at its dialer only, an established connection at both ends, so
  // both lists are searched.
  for (const ConnRef& ref : hot_[a].conns) {
    if (ref.peer == b && Live(conns_[ref.conn])) return true;
  }
  for (const ConnRef& ref : hot_[b].conns) {
    if (ref.peer == a && Live(conns_[ref.conn])) return true;
  }
  return false;
}

int Simulator::FindOpenEntry(uint32_t index, const NodeId& peer) const {
  const uint64_t key = Word(peer, 0);
  const std::vector<ConnRef>& list = hot_[index].conns;
  for (size_t i = 0; i < list.size(); ++i) {
    if (Word(list[i].peer_id, 0) != key || !SameId(list[i].peer_id, peer)) continue;
    const Connection& conn = conns_[list[i].conn];
    if (conn.side[SideOf(conn, index)] == End::kOpen) return static_cast<int>(i);
  }
  return -1;
}

void Simulator::RemoveEntry(uint32_t index, uint32_t conn) {
  std::vector<ConnRef>& list = hot_[index].conns;
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].conn == conn) {
      list[i] = list.back();
      list.pop_back();
      return;
    }
  }
  assert(false && "connection not listed at its end");
}

void Simulator::CloseEnd(uint32_t c, int side) {
  Connection& conn = conns_[c];
  conn.side[side] = End::kClosed;
  if (conn.side[1 - side] == End::kClosed) FreeConnection(c);
}

void Simulator::FreeConnection(uint32_t c) {
  Connection& conn = conns_[c];
  assert(conn.side[0] == End::kClosed && conn.side[1] == End::kClosed);
  ++conn.generation;
  conn.next_free = conn_free_;
  conn_free_ = c;
}

void Simulator::SendLinkDown(uint32_t c, int from_side, DownReason reason) {
  Connection& conn = conns_[c];
  const int to = 1 - from_side;
  assert(conn.side[to] != End::kClosed);
  if (!links_.Reachable(conn.end[0], conn.end[1])) return;  // the FIN is lost in the partition
  conn.down_reason[to] = reason;
  // The FIN follows everything already sent this way; equal times pop in push order.
  const int64_t at_ns = std::max(now_.ns + conn.latency.ns, conn.last_arrival_ns[from_side]);
  conn.last_arrival_ns[from_side] = at_ns;
  queue_.Push(at_ns, kLinkDown, conn.end[to], 0, c, conn.generation);
}

void Simulator::ReplaceStaleEnd(uint32_t index, uint32_t peer) {
  const int entry = FindOpenEntry(index, ids_[peer]);
  if (entry < 0) return;
  const uint32_t c = hot_[index].conns[static_cast<size_t>(entry)].conn;
  // A live one would have failed the new dial with "already connected".
  assert(!Live(conns_[c]));
  RemoveEntry(index, c);
  CloseEnd(c, SideOf(conns_[c], index));
  Feed(index, LinkDown{ids_[peer], "replaced by a new connection"});
}

uint32_t Simulator::AllocConnection() {
  uint32_t c = conn_free_;
  if (c == kNoSlot) {
    assert(conns_.size() < kNoSlot);
    c = static_cast<uint32_t>(conns_.size());
    conns_.push_back(Connection{});
  } else {
    conn_free_ = conns_[c].next_free;
  }
  Connection& conn = conns_[c];
  const uint32_t generation = conn.generation;
  conn = Connection{};
  conn.generation = generation;
  conn.next_free = kNoSlot;
  return c;
}

uint32_t Simulator::AllocPacket(Message&& message, const NodeId& from, uint32_t bytes) {
  uint32_t slot = packet_free_;
  if (slot == kNoSlot) {
    assert(packets_.size() < kNoSlot);
    slot = static_cast<uint32_t>(packets_.size());
    packets_.push_back(Packet{std::move(message), from, kNoSlot, bytes});
    return slot;
  }
  packet_free_ = packets_[slot].next_free;
  packets_[slot].message = std::move(message);
  packets_[slot].from = from;
  packets_[slot].next_free = kNoSlot;
  packets_[slot].bytes = bytes;
  return slot;
}

void Simulator::FreePacket(uint32_t slot) {
  // Dropped messages still own their buffers; a small alternative releases them now rather than
  // whenever the slot is reused.
  packets_[slot].message.emplace<Ping>();
  packets_[slot].next_free = packet_free_;
  packet_free_ = slot;
}

// ---- queries ----

bool Simulator::alive(uint32_t node) const {
  assert(node < node_count());
  return Alive(node);
}

const Node& Simulator::node(uint32_t index) const {
  assert(index < node_count() && Alive(index));
  return *hot_[index].core;
}

const std::string& Simulator::name(uint32_t index) const {
  assert(index < node_count());
  return cold_[index].spec.info.name;
}

std::vector<std::string> Simulator::names() const {
  std::vector<std::string> result;
  result.reserve(cold_.size());
  for (const NodeCold& cold : cold_) result.push_back(cold.spec.info.name);
  return result;
}

uint32_t Simulator::region(uint32_t index) const {
  assert(index < node_count());
  return hot_[index].region;
}

uint32_t Simulator::IndexOf(const NodeId& id) const {
  const auto it = index_of_.find(id);
  return it == index_of_.end() ? UINT32_MAX : it->second;
}

Graph Simulator::ActiveGraph() const {
  std::vector<Graph::Edge> edges;
  for (uint32_t i = 0; i < node_count(); ++i) {
    if (!Alive(i)) continue;
    for (const Link& link : hot_[i].core->membership().links()) {
      if (link.state != LinkState::kActive) continue;
      const uint32_t j = IndexOf(link.peer);
      // Each edge is looked at from its smaller end only.
      if (j == UINT32_MAX || j <= i || !Alive(j)) continue;
      const Link* back = hot_[j].core->membership().FindLink(ids_[i]);
      if (back != nullptr && back->state == LinkState::kActive) edges.emplace_back(i, j);
    }
  }
  return Graph::FromEdges(node_count(), std::move(edges));
}

void Simulator::LiveTopology(const Graph& all, Graph& graph,
                             std::vector<std::string>& names) const {
  std::vector<uint32_t> index(all.vertex_count(), UINT32_MAX);
  names.clear();
  for (uint32_t v = 0; v < all.vertex_count(); ++v) {
    if (!Alive(v)) continue;
    index[v] = static_cast<uint32_t>(names.size());
    names.push_back(name(v));
  }
  std::vector<Graph::Edge> edges;
  for (uint32_t v = 0; v < all.vertex_count(); ++v) {
    if (index[v] == UINT32_MAX) continue;
    for (const uint32_t u : all.neighbours(v)) {
      if (u > v && index[u] != UINT32_MAX) edges.emplace_back(index[v], index[u]);
    }
  }
  graph = Graph::FromEdges(static_cast<uint32_t>(names.size()), std::move(edges));
}

void Simulator::SetEventHook(std::function<void(uint32_t node)> hook) { hook_ = std::move(hook); }

std::string Simulator::CheckInvariants() const {
  std::vector<std::pair<uint64_t, uint32_t>> live_pairs;  // (pair key, connection)
  for (uint32_t i = 0; i < node_count(); ++i) {
    const std::string node = "node " + std::to_string(i) + ": ";
    const NodeHot& hot = hot_[i];
    if (!Alive(i)) {
      if (!hot.conns.empty()) return node + "crashed but still lists connections";
      continue;
    }
    if (hot.wake_ns > std::max(hot.core->NextDeadline().ns, now_.ns)) {
      return node + "timer later than the core's deadline";
    }
    std::vector<uint32_t> open_peers;
    for (const ConnRef& ref : hot.conns) {
      const Connection& conn = conns_[ref.conn];
      const int side = SideOf(conn, i);
      if (conn.end[side] != i || conn.end[1 - side] != ref.peer)
        return node + "entry names a foreign connection";
      if (!SameId(ref.peer_id, ids_[ref.peer])) return node + "entry has the wrong peer id";
      if (conn.side[side] == End::kClosed) return node + "lists a connection its end closed";
      if (conn.incarnation[side] != hot.incarnation)
        return node + "lists an old incarnation's connection";
      if (conn.side[side] == End::kOpen) open_peers.push_back(ref.peer);
      if (Live(conn)) {
        const uint64_t a = std::min(i, ref.peer);
        const uint64_t b = std::max(i, ref.peer);
        live_pairs.emplace_back((a << 32) | b, ref.conn);
      }
    }
    std::sort(open_peers.begin(), open_peers.end());
    if (std::adjacent_find(open_peers.begin(), open_peers.end()) != open_peers.end()) {
      return node + "two open connections to one peer";
    }
  }
  // An established connection is listed at both ends, so the same (pair, connection) may
  // appear twice; two different connections for one pair may not.
  std::sort(live_pairs.begin(), live_pairs.end());
  live_pairs.erase(std::unique(live_pairs.begin(), live_pairs.end()), live_pairs.end());
  for (size_t k = 1; k < live_pairs.size(); ++k) {
    if (live_pairs[k].first == live_pairs[k - 1].first) {
      return "two live connections between nodes " + std::to_string(live_pairs[k].first >> 32) +
             " and " + std::to_string(live_pairs[k].first & 0xffffffffULL);
    }
  }
  return "";
}

}  // namespace myco
