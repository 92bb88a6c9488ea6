#include "io/api/metrics.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <string_view>

#include "core/node.hpp"
#include "core/propagation/knowledge.hpp"
#include "core/propagation/link_queue.hpp"
#include "core/propagation/propagation.hpp"
#include "core/propagation/targeted.hpp"
#include "core/topology/membership.hpp"
#include "io/node_host.hpp"

namespace myco::api {

void LatencyHistogram::Observe(double seconds) {
  if (!std::isfinite(seconds)) return;
  if (seconds < 0) {
    ++clock_skewed_;
    seconds = 0;
  }
  size_t i = 0;
  while (i < kBoundsSeconds.size() && seconds > kBoundsSeconds[i]) ++i;
  ++buckets_[i];
  ++count_;
  sum_ += seconds;
}

uint64_t LatencyHistogram::CumulativeCount(size_t i) const {
  uint64_t total = 0;
  for (size_t b = 0; b <= i && b < buckets_.size(); ++b) total += buckets_[b];
  return total;
}

namespace {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void Header(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void Sample(std::string_view name, std::string_view labels, double value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    char text[64];
    if (std::isnan(value)) {
      std::snprintf(text, sizeof text, " NaN\n");
    } else if (std::isinf(value)) {
      std::snprintf(text, sizeof text, value > 0 ? " +Inf\n" : " -Inf\n");
    } else if (value == std::floor(value) && std::fabs(value) < 9e15) {
      std::snprintf(text, sizeof text, " %" PRId64 "\n", static_cast<int64_t>(value));
    } else {
      std::snprintf(text, sizeof text, " %.9g\n", value);
    }
    out_ += text;
  }
  void Counter(std::string_view name, std::string_view help, uint64_t value) {
    Header(name, "counter", help);
    Sample(name, "", static_cast<double>(value));
  }
  void Gauge(std::string_view name, std::string_view help, double value) {
    Header(name, "gauge", help);
    Sample(name, "", value);
  }

 private:
  std::string& out_;
};

}  // namespace

std::string RenderMetrics(const NodeHost& host, TimePoint started, const ApiCounters& api,
                          const LatencyHistogram& latency,
                          const std::function<void(std::string&)>& extra) {
  std::string out;
  out.reserve(16 * 1024);
  Writer w(out);
  const Node& node = host.node();
  const TimePoint now = host.Now();
  const Membership& membership = node.membership();
  const Propagation& propagation = node.propagation();
  const LinkQueues& queues = node.link_queues();

  // ---- topology ----
  w.Gauge("myco_peers", "Active connections (links in the active view).",
          static_cast<double>(membership.ActiveCount()));
  w.Gauge("myco_passive_peers", "Known peers not connected (the passive view).",
          static_cast<double>(membership.passive().size()));
  w.Gauge("myco_network_size_estimate", "Nodes this node believes the network has.",
          static_cast<double>(membership.SizeEstimate()));
  w.Gauge("myco_connection_health_avg", "Average health of the active links, in [0,1].",
          membership.AverageHealth());
  w.Gauge("myco_uptime_seconds", "Seconds since the node's API started.",
          (now - started).seconds());
  const Membership::Counters& mc = membership.counters();
  w.Counter("myco_topology_dials_total", "Dials started by the topology protocol.", mc.dials);
  w.Counter("myco_topology_dials_failed_total", "Dials that did not produce a link.",
            mc.dials_failed);
  w.Counter("myco_topology_links_failed_total", "Links closed by heartbeat timeout.",
            mc.links_failed);
  w.Counter("myco_topology_refused_full_total", "Neighbours refused because this node was full.",
            mc.refused_full);
  w.Counter("myco_topology_protocol_errors_total", "Topology protocol violations by peers.",
            mc.protocol_errors);
  w.Counter("myco_topology_walks_started_total", "Preferential-attachment walks started.",
            mc.walks_started);
  w.Counter("myco_topology_peers_learned_total", "Peer records that entered the passive view.",
            mc.peers_learned);

  // ---- host (the application's view) ----
  const HostCounters& hc = host.counters();
  w.Counter("myco_messages_published_total", "Packets this node originated.", hc.published);
  w.Counter("myco_messages_delivered_total", "Packets delivered to this node's application.",
            hc.delivered);
  w.Counter("myco_messages_acked_total", "Targeted packets acknowledged by their destination.",
            hc.acked);
  w.Counter("myco_messages_failed_total", "Targeted packets not acknowledged after every retry.",
            hc.delivery_failed);
  w.Counter("myco_discoveries_answered_total", "Resource discoveries answered.", hc.discoveries);
  w.Counter("myco_peer_up_total", "Neighbours that came up.", hc.peer_up);
  w.Counter("myco_peer_down_total", "Neighbours that went down.", hc.peer_down);
  w.Counter("myco_sends_total", "Messages handed to the transport.", hc.sends);
  w.Counter("myco_sends_no_driver_total", "Messages dropped because no transport was attached.",
            hc.sends_no_driver);
  w.Counter("myco_dials_total", "Dial effects carried out.", hc.dials);
  w.Counter("myco_closes_total", "Close effects carried out.", hc.closes);

  // ---- propagation ----
  const Propagation::Counters& pc = propagation.counters();
  w.Counter("myco_propagation_packets_received_total",
            "Payload-carrying messages received, duplicates included.", pc.packets_received);
  w.Counter("myco_propagation_duplicates_total", "Copies of packets already seen.", pc.duplicates);
  w.Counter("myco_propagation_not_interested_total",
            "Packets relayed but not delivered (selective propagation).", pc.not_interested);
  w.Counter("myco_propagation_forwarded_total", "Payload-carrying messages sent.", pc.forwarded);
  w.Counter("myco_propagation_ttl_expired_total", "Packets not forwarded because ttl reached 0.",
            pc.ttl_expired);
  w.Header("myco_propagation_dropped_total", "counter", "Received packets dropped, by reason.");
  w.Sample("myco_propagation_dropped_total", "reason=\"invalid_signature\"",
           static_cast<double>(pc.invalid_signature));
  w.Sample("myco_propagation_dropped_total", "reason=\"invalid_ttl\"",
           static_cast<double>(pc.invalid_ttl));
  w.Sample("myco_propagation_dropped_total", "reason=\"replayed\"",
           static_cast<double>(pc.replayed));
  w.Sample("myco_propagation_dropped_total", "reason=\"malformed\"",
           static_cast<double>(pc.malformed));
  const TargetedRouter::Counters& tc = propagation.targeted().counters();
  w.Counter("myco_targeted_retries_total", "Targeted re-sends after an overdue ack.", tc.retries);
  w.Counter("myco_targeted_alternative_path_acks_total",
            "Targeted packets acked after a re-send on another path.", tc.alternative_path_acks);
  w.Counter("myco_targeted_no_route_total", "Targeted sends refused: destination not reachable.",
            tc.no_route);
  w.Gauge("myco_targeted_pending", "Targeted packets awaiting an ack.",
          static_cast<double>(propagation.targeted().PendingCount()));
  const KnowledgeBase& kb = propagation.knowledge();
  w.Gauge("myco_knowledge_entries", "Discoveries in the knowledge base.",
          static_cast<double>(kb.size()));
  w.Counter("myco_knowledge_evicted_total", "Discoveries evicted at the knowledge base bound.",
            kb.evicted());

  // ---- link queues ----
  const LinkQueues::Counters& qc = queues.counters();
  w.Gauge("myco_link_queue_depth", "Messages waiting in the per-link priority queues.",
          static_cast<double>(queues.queued_total()));
  w.Counter("myco_link_queue_sent_direct_total", "Messages handed to the transport at once.",
            qc.sent_direct);
  w.Counter("myco_link_queue_queued_total", "Messages that had to wait for window room.",
            qc.queued);
  w.Header("myco_link_queue_dropped_total", "counter", "Queued messages dropped, by reason.");
  w.Sample("myco_link_queue_dropped_total", "reason=\"full\"",
           static_cast<double>(qc.dropped_full));
  w.Sample("myco_link_queue_dropped_total", "reason=\"link_down\"",
           static_cast<double>(qc.dropped_link_down));
  w.Header("myco_link_queue_dropped_full_by_class_total", "counter",
           "Messages dropped at the queue bound, by priority class (0..10, control).");
  for (size_t c = 0; c < LinkQueues::kClassCount; ++c) {
    const std::string label = c == LinkQueues::kControlClass
                                  ? "class=\"control\""
                                  : "class=\"" + std::to_string(c) + "\"";
    w.Sample("myco_link_queue_dropped_full_by_class_total", label,
             static_cast<double>(qc.dropped_by_class[c]));
  }

  // ---- delivery latency ----
  w.Header("myco_delivery_latency_seconds", "histogram",
           "Local delivery time minus the origin's created_at of delivered packets.");
  for (size_t i = 0; i < LatencyHistogram::kBoundsSeconds.size(); ++i) {
    char label[48];
    std::snprintf(label, sizeof label, "le=\"%g\"", LatencyHistogram::kBoundsSeconds[i]);
    w.Sample("myco_delivery_latency_seconds_bucket", label,
             static_cast<double>(latency.CumulativeCount(i)));
  }
  w.Sample("myco_delivery_latency_seconds_bucket", "le=\"+Inf\"",
           static_cast<double>(latency.count()));
  w.Sample("myco_delivery_latency_seconds_sum", "", latency.sum());
  w.Sample("myco_delivery_latency_seconds_count", "", static_cast<double>(latency.count()));
  w.Counter("myco_delivery_clock_skewed_total",
            "Deliveries whose origin timestamp lay in the future (counted as 0 s).",
            latency.clock_skewed());

  // ---- the API itself ----
  w.Counter("myco_api_requests_total", "HTTP requests handled.", api.requests);
  w.Counter("myco_api_responses_4xx_total", "Responses with a 4xx status.", api.responses_4xx);
  w.Counter("myco_api_responses_5xx_total", "Responses with a 5xx status.", api.responses_5xx);
  w.Counter("myco_api_unauthorized_total", "Mutations refused for a missing or wrong token.",
            api.unauthorized);
  w.Gauge("myco_api_connections", "Open HTTP connections.",
          static_cast<double>(api.connections_open));
  w.Counter("myco_api_connections_accepted_total", "HTTP connections accepted.",
            api.connections_accepted);
  w.Counter("myco_api_connections_rejected_total",
            "Connections refused with 503 above the connection bound.", api.connections_rejected);
  w.Gauge("myco_api_event_streams", "Open /v1/events streams.",
          static_cast<double>(api.event_streams_open));
  w.Counter("myco_api_events_sent_total", "Events written to /v1/events streams.", api.events_sent);
  w.Counter("myco_api_event_overflows_total",
            "Event-stream clients disconnected for falling too far behind.", api.event_overflows);

  if (extra) extra(out);
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

}  // namespace myco::api
