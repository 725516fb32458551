#include "actors/query_service.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <charconv>
#include <chrono>
#include <string>

#include "observability/probes.hpp"

namespace actors {

namespace {

struct query_state {
  static inline const char* name = "query_service";
  node_context_ptr ctx;
  std::vector<district_actor> districts;  // by district id
};

using query_pointer = query_actor::stateful_pointer<query_state>;

// Views of every district, collected for one city query.
struct city_progress {
  reply_completion_ptr done;
  std::vector<twin::district_view> views;
  std::size_t left = 0;
  std::string error;
};

std::chrono::milliseconds timeout_of(query_pointer self) {
  return std::chrono::milliseconds(self->state.ctx->options.request_timeout_ms);
}

std::string not_answering(query_pointer self, twin::district_id d, const caf::error& e) {
  return "district '" + self->state.ctx->city->districts[d.value].key +
         "' did not answer: " + self->system().render(e);
}

void finish_city(query_pointer self, city_progress& p) {
  if (!p.error.empty()) {
    p.done->complete(twin::query_error{std::move(p.error)});
    return;
  }
  twin::city_view out;
  out.name = self->state.ctx->city->name;
  out.as_of = self->state.ctx->clock->now_ms();
  for (const auto& v : p.views) {
    out.readings_applied += v.readings_applied;
    out.rejected += v.rejected;
  }
  out.rejected[twin::reject_reason::unknown_sensor] +=
      (self->state.ctx->unknown_sensor_readings.load(std::memory_order_relaxed));
  out.districts = std::move(p.views);
  p.done->complete(std::move(out));
}

void query_city(query_pointer self, reply_completion_ptr done) {
  auto& st = self->state;
  auto p = std::make_shared<city_progress>();
  p->done = std::move(done);
  p->views.resize(st.districts.size());
  p->left = st.districts.size();
  if (p->left == 0) {
    finish_city(self, *p);
    return;
  }
  for (std::uint32_t i = 0; i < st.districts.size(); ++i) {
    self->request(st.districts[i], timeout_of(self), view_atom::value, false)
        .then(
            [self, p, i](twin::district_view& v) {
              p->views[i] = std::move(v);
              if (--p->left == 0) finish_city(self, *p);
            },
            [self, p, i](caf::error& e) {
              if (p->error.empty()) p->error = not_answering(self, twin::district_id{i}, e);
              if (--p->left == 0) finish_city(self, *p);
            });
  }
}

void query_district(query_pointer self, const std::string& key, reply_completion_ptr done) {
  auto d = self->state.ctx->city->find_district(key);
  if (!d) {
    done->complete(twin::query_error{"unknown district '" + key + "'"});
    return;
  }
  self->request(self->state.districts[d->value], timeout_of(self), view_atom::value, true)
      .then([done](twin::district_view& v) { done->complete(std::move(v)); },
            [self, done, d](caf::error& e) {
              done->complete(twin::query_error{not_answering(self, *d, e)});
            });
}

// A sensor is named by its key or by its wire id written as a number.
const twin::sensor* find_sensor(const twin::city& city, const std::string& key) {
  if (const auto* s = city.find_sensor(key)) return s;
  std::uint32_t id = 0;
  auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
  if (ec != std::errc{} || end != key.data() + key.size()) return nullptr;
  return city.find_sensor(twin::sensor_id{id});
}

void query_sensor(query_pointer self, const std::string& key, reply_completion_ptr done) {
  const auto* s = find_sensor(*self->state.ctx->city, key);
  if (s == nullptr) {
    done->complete(twin::query_error{"unknown sensor '" + key + "'"});
    return;
  }
  auto d = s->district;
  self->request(self->state.districts[d.value], timeout_of(self), sensor_atom::value, s->id)
      .then(
          [done, key](optional_sensor_view& v) {
            if (v)
              done->complete(std::move(*v));
            else
              done->complete(twin::query_error{"sensor '" + key + "' is not in its district"});
          },
          [self, done, d](caf::error& e) {
            done->complete(twin::query_error{not_answering(self, d, e)});
          });
}

// Ticks every district once; `done` runs when all have.
void refresh(query_pointer self, done_completion_ptr done) {
  auto& st = self->state;
  struct progress {
    done_completion_ptr done;
    std::size_t left = 0;
    bool all = true;
  };
  auto p = std::make_shared<progress>(progress{std::move(done), st.districts.size(), true});
  if (p->left == 0) {
    p->done->complete(true);
    return;
  }
  for (auto& d : st.districts) {
    self->request(d, timeout_of(self), refresh_atom::value)
        .then(
            [p](bool) {
              if (--p->left == 0) p->done->complete(p->all);
            },
            [p](caf::error&) {
              p->all = false;
              if (--p->left == 0) p->done->complete(p->all);
            });
  }
}

query_actor::behavior_type query_behavior(query_pointer self, node_context_ptr ctx,
                                          std::vector<district_actor> districts) {
  self->state.ctx = std::move(ctx);
  TWIN_CHECK_OP(districts.size(), ==, self->state.ctx->city->districts.size());
  self->state.districts = std::move(districts);
  return {
      [self](query_atom, const twin::query_request& request, reply_completion_ptr& done) {
        if (auto* probes = self->state.ctx->probes)
          probes->node.observe_mailbox(observability::actor_type::query, self->mailbox().size());
        if (std::holds_alternative<twin::query_city>(request))
          query_city(self, std::move(done));
        else if (const auto* q = std::get_if<twin::query_district>(&request))
          query_district(self, q->key, std::move(done));
        else if (const auto* q = std::get_if<twin::query_sensor>(&request))
          query_sensor(self, q->key, std::move(done));
        else
          // The cluster is the node's, not the twin's: node_host answers it before the actors.
          done->complete(twin::query_error{"this runtime answers no cluster status"});
      },
      [self](refresh_atom, done_completion_ptr& done) { refresh(self, std::move(done)); },
  };
}

}  // namespace

query_actor spawn_query_service(caf::actor_system& sys, node_context_ptr ctx,
                                std::vector<district_actor> districts) {
  return sys.spawn(query_behavior, std::move(ctx), std::move(districts));
}

}  // namespace actors
