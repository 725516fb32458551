#include "actors/alerting_service.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <map>
#include <ostream>
#include <string>
#include <utility>

#include "observability/probes.hpp"

namespace actors {

namespace {

struct alerting_state {
  static inline const char* name = "alerting_service";
  node_context_ptr ctx;
  // Keyed by district and rule: a rule fires at most once per district at a time.
  std::map<std::pair<std::uint32_t, std::string>, twin::alert> active;
};

void log_line(const node_context& ctx, const char* what, const twin::alert& a) {
  auto* out = ctx.options.alert_log;
  if (out == nullptr) return;
  const auto& districts = ctx.city->districts;
  std::string district =
      a.district.value < districts.size() ? districts[a.district.value].key : "?";
  *out << "alert " << what << ": district=" << district << " rule=" << a.rule
       << " severity=" << twin::to_string(a.level) << " kind=" << twin::to_string(a.kind)
       << " value=" << a.value << " threshold=" << a.threshold << " since_ms=" << a.since;
  if (!a.message.empty()) *out << " message=\"" << a.message << '"';
  *out << '\n';
  out->flush();
}

alerting_actor::behavior_type alerting_service(
    alerting_actor::stateful_pointer<alerting_state> self, node_context_ptr ctx) {
  self->state.ctx = std::move(ctx);
  return {
      [self](raised_atom, twin::alert& a) {
        auto& st = self->state;
        log_line(*st.ctx, "raised", a);
        // After the log line: whoever sees the count can read the line.
        if (st.ctx->probes != nullptr) st.ctx->probes->node.alert_raised(a.level);
        auto key = std::make_pair(a.district.value, a.rule);
        st.active.insert_or_assign(std::move(key), std::move(a));
      },
      [self](cleared_atom, twin::alert& a) {
        auto& st = self->state;
        log_line(*st.ctx, "cleared", a);
        st.active.erase(std::make_pair(a.district.value, a.rule));
      },
      [self](alerts_atom) {
        alert_list out;
        out.reserve(self->state.active.size());
        for (const auto& [key, a] : self->state.active) out.push_back(a);
        return out;
      },
  };
}

}  // namespace

alerting_actor spawn_alerting_service(caf::actor_system& sys, node_context_ptr ctx) {
  return sys.spawn(alerting_service, std::move(ctx));
}

}  // namespace actors
