#include "twin/assign/assignment.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "twin/base/check.hpp"

namespace twin::assign {

double beckmann_objective(const network& net, std::span<const double> link_flow) {
  double sum = 0;
  for (link_index l = 0; l < net.link_count(); ++l) sum += net.cost_integral(l, link_flow[l]);
  return sum;
}

gap_measure measure_gap(const network& net, const demand& trips, const link_state& links,
                        bush_workspace& ws) {
  gap_measure g;
  for (link_index l = 0; l < net.link_count(); ++l) g.tstt += links.flow[l] * links.cost[l];
  for (std::uint32_t o = 0; o < trips.origin_count(); ++o)
    g.sptt += shortest_path_cost(net, trips.origin(o), trips.destinations(o), links.cost, ws,
                                 &g.unreachable_flow);
  g.relative_gap = g.tstt > 0 ? (g.tstt - g.sptt) / g.tstt : 0.0;
  return g;
}

namespace {

// Rounds of per-block line searches when combining the blocks' moves.
constexpr std::uint32_t step_cycles_max = 8;
// Iterations at most between exact gap measurements while the prediction says the target is
// still far.
constexpr std::uint32_t measure_interval_max = 4;

bool warm_start_fits(const network& net, const demand& trips, const solution* warm) {
  if (warm == nullptr || warm->demand_fingerprint != trips.fingerprint()) return false;
  if (warm->bushes.size() != trips.origin_count()) return false;
  for (std::uint32_t o = 0; o < trips.origin_count(); ++o) {
    if (warm->bushes[o].origin() != trips.origin(o) ||
        warm->bushes[o].link_flows().size() != net.link_count())
      return false;
  }
  return true;
}

double total_travel_time(const network& net, const link_state& links) {
  double tstt = 0;
  for (link_index l = 0; l < net.link_count(); ++l) tstt += links.flow[l] * links.cost[l];
  return tstt;
}

// The step t in [0, 1] that minimizes the Beckmann objective along x + t d. Its derivative in t,
// sum of d * c(x + t d), grows with t: safeguarded Newton inside a shrinking bracket.
double line_search(const network& net, std::span<const double> x, std::span<const double> d,
                   std::span<const link_index> moved) {
  constexpr std::uint32_t steps_max = 60;
  const auto slope = [&](double t, double& curvature) {
    double g = 0;
    curvature = 0;
    for (const link_index l : moved) {
      double c, dc;
      net.cost_and_derivative(l, x[l] + t * d[l], c, dc);
      g += d[l] * c;
      curvature += d[l] * d[l] * dc;
    }
    return g;
  };
  double curvature = 0;
  if (slope(1.0, curvature) <= 0) return 1.0;
  const double g0 = slope(0.0, curvature);
  if (g0 >= 0) return 0.0;  // not a descent direction: nothing to gain
  double low = 0, high = 1, t = 0, g = g0;
  for (std::uint32_t k = 0; k < steps_max && high - low > 1e-12; ++k) {
    double next = curvature > 0 ? t - g / curvature : 0.5 * (low + high);
    if (!(next > low && next < high)) next = 0.5 * (low + high);
    t = next;
    g = slope(t, curvature);
    if (g == 0) return t;
    (g < 0 ? low : high) = t;
  }
  return 0.5 * (low + high);
}

}  // namespace

block_solver::block_solver(const network& net, const demand& trips, const solver_options& options,
                           const solution* warm_start)
    : net_(net), trips_(trips), options_(options) {
  const std::uint32_t origins = trips.origin_count();
  links_.reset(net);
  std::vector<std::uint32_t> to_build;
  if (warm_start_fits(net, trips, warm_start)) {
    warm_started_ = true;
    bushes_ = warm_start->bushes;
    const auto add_totals = [&] {
      std::fill(links_.flow.begin(), links_.flow.end(), 0.0);
      for (const origin_bush& b : bushes_) {
        if (b.link_flows().empty()) continue;
        for (link_index l = 0; l < net.link_count(); ++l) links_.flow[l] += b.link_flows()[l];
      }
      links_.refresh_costs(net);
    };
    // Bushes that use a closed link are repaired one after the other, each at the costs the
    // previous repairs left (the order never depends on the worker count); only those that
    // cannot be are built anew.
    add_totals();
    bush_workspace repair_ws;
    std::vector<std::uint32_t> to_repair;
    for (std::uint32_t o = 0; o < origins; ++o)
      if (bushes_[o].uses_closed_link(net)) to_repair.push_back(o);
    for (const std::uint32_t o : to_repair) {
      if (!bushes_[o].repair(net, trips.destinations(o), links_, repair_ws)) {
        bushes_[o] = origin_bush{};
        to_build.push_back(o);
      }
    }
    origins_rebuilt_ = static_cast<std::uint32_t>(to_build.size());
    origins_repaired_ = static_cast<std::uint32_t>(to_repair.size()) - origins_rebuilt_;
    if (!to_repair.empty()) add_totals();
  } else {
    bushes_.resize(origins);
    for (std::uint32_t o = 0; o < origins; ++o) to_build.push_back(o);
  }

  const std::uint32_t count = std::clamp(options.workers, 1u, std::max(origins, 1u));
  blocks_.resize(count);
  for (std::uint32_t w = 0; w < count; ++w) {
    blocks_[w].first = static_cast<std::uint32_t>(std::uint64_t{origins} * w / count);
    blocks_[w].end = static_cast<std::uint32_t>(std::uint64_t{origins} * (w + 1) / count);
    blocks_[w].ws.prepare(net);
    blocks_[w].active.assign(blocks_[w].end - blocks_[w].first, 1);
  }
  // Each new bush loads its origin at the costs left by the ones before it.
  for (const std::uint32_t o : to_build)
    bushes_[o].initialize(net, trips.origin(o), trips.destinations(o), links_, blocks_[0].ws);
  for (const origin_bush& b : bushes_) unassigned_flow_ += b.unassigned_flow();
  // The bushes' own gap at the loaded costs (labels only, no search): the first round's hint
  // when the exact gap of the loading is not measured (round_driver).
  excess_.assign(origins, 0.0);
  equilibrate_options labels_only;
  labels_only.passes_max = 0;
  for (const std::uint32_t o : to_build)
    excess_[o] = bushes_[o].equilibrate(net, links_, blocks_[0].ws, labels_only).excess_cost;
  if (count > 1) previous_.resize(origins);
  const std::uint32_t threads = options.threads == 0 ? count : options.threads;
  const std::uint32_t parts = std::clamp(threads, count, std::max(origins, count));
  part_ws_.resize(parts);
  part_origins_.resize(parts);
  for (std::uint32_t p = 0; p < parts; ++p) {
    const auto first = static_cast<std::uint32_t>(std::uint64_t{origins} * p / parts);
    const auto end = static_cast<std::uint32_t>(std::uint64_t{origins} * (p + 1) / parts);
    for (std::uint32_t o = first; o < end; ++o) part_origins_[p].push_back(o);
  }
  updated_.assign(origins, 0);
  sp_cost_.assign(origins, 0.0);
  unreachable_.assign(origins, 0.0);
  inner_.passes_max = options.inner_passes_max;
  rebuild_totals();
}

// Total link flows as the sum of every bush's flows, in origin order: the incremental updates
// made while shifting drift by rounding, this does not.
void block_solver::rebuild_totals() {
  std::fill(links_.flow.begin(), links_.flow.end(), 0.0);
  const std::uint32_t m = net_.link_count();
  for (const origin_bush& b : bushes_) {
    const auto f = b.link_flows();
    for (link_index l = 0; l < m; ++l) links_.flow[l] += f[l];
  }
  links_.refresh_costs(net_);
}

void block_solver::begin_round(double gap_hint) {
  ++round_;
  const double assigned = trips_.total_flow() - unassigned_flow_;
  const double mean_cost = assigned > 0 ? total_travel_time(net_, links_) / assigned : 0.0;
  inner_.cost_difference_min =
      options_.inner_gap_fraction * std::max(gap_hint, options_.relative_gap_target) * mean_cost;
  if (blocks_.size() == 1) return;
  for (block& b : blocks_) b.links = links_;
  for (std::uint32_t o = 0; o < bushes_.size(); ++o) {
    const auto f = bushes_[o].link_flows();
    previous_[o].assign(f.begin(), f.end());
  }
}

void block_solver::propose(std::uint32_t worker) {
  TWIN_REQUIRE_OP(worker, <, blocks_.size());
  block& blk = blocks_[worker];
  link_state& links = blocks_.size() == 1 ? links_ : blk.links;
  for (std::uint32_t o = blk.first; o < blk.end; ++o) {
    origin_bush& b = bushes_[o];
    // Equilibrating a bush can open shortcuts that were not shortcuts before it: look again.
    for (std::uint32_t round = 0; round < options_.bush_rounds_max; ++round) {
      if (round == 0 && updated_[o] == round_) {
        excess_[o] = b.equilibrate(net_, links, blk.ws, inner_).excess_cost;
        continue;
      }
      const auto changed = b.update(net_, links, blk.ws);
      if (round > 0 && changed.links_added == 0) break;
      excess_[o] = b.equilibrate(net_, links, blk.ws, inner_).excess_cost;
    }
  }
  std::fill(blk.active.begin(), blk.active.end(), std::uint8_t{1});
  equilibrate_options sweep = inner_;
  sweep.passes_max = 1;
  for (std::uint32_t s = 0; s < options_.inner_sweeps_max; ++s) {
    std::uint32_t shifts = 0;
    for (std::uint32_t o = blk.first; o < blk.end; ++o) {
      std::uint8_t& active = blk.active[o - blk.first];
      if (!active) continue;
      const equilibrate_result r = bushes_[o].equilibrate(net_, links, blk.ws, sweep);
      excess_[o] = r.excess_cost;
      shifts += r.shifts;
      active = r.shifts > 0 ? 1 : 0;
    }
    if (shifts == 0) break;
  }
}

double block_solver::combine() {
  if (blocks_.size() == 1) return 1.0;
  const std::uint32_t m = net_.link_count();
  const std::uint32_t count = workers();
  // Each block's move gets its own step: blocks whose moves agree are cut back together, a block
  // that moves alone keeps its full step. The steps minimize the Beckmann objective over
  // [0, 1]^workers by exact line searches along one block at a time, in block order.
  std::vector<std::vector<double>> direction(count);
  std::vector<std::vector<link_index>> moved(count);
  for (std::uint32_t w = 0; w < count; ++w) {
    direction[w].resize(m);
    for (link_index l = 0; l < m; ++l) {
      direction[w][l] = blocks_[w].links.flow[l] - links_.flow[l];
      if (direction[w][l] != 0) moved[w].push_back(l);
    }
  }
  std::vector<double> step(count, 0.0);
  std::vector<double> base = links_.flow;  // x + sum of step * direction, without block w
  for (std::uint32_t cycle = 0; cycle < step_cycles_max; ++cycle) {
    double change = 0;
    for (std::uint32_t w = 0; w < count; ++w) {
      for (const link_index l : moved[w]) base[l] -= step[w] * direction[w][l];
      const double t = line_search(net_, base, direction[w], moved[w]);
      change = std::max(change, std::abs(t - step[w]));
      step[w] = t;
      for (const link_index l : moved[w]) base[l] += step[w] * direction[w][l];
    }
    if (change < 1e-6) break;
  }
  double step_min = 1;
  for (std::uint32_t w = 0; w < count; ++w) {
    step_min = std::min(step_min, step[w]);
    for (std::uint32_t o = blocks_[w].first; o < blocks_[w].end; ++o)
      bushes_[o].blend(previous_[o], step[w]);
  }
  rebuild_totals();
  return step_min;
}

void block_solver::set_part_of_origin(std::span<const std::uint32_t> part_of_origin) {
  TWIN_REQUIRE_OP(part_of_origin.size(), ==, trips_.origin_count());
  TWIN_REQUIRE_OP(round_, ==, 0u);
  std::uint32_t parts = 1;
  for (const std::uint32_t p : part_of_origin) parts = std::max(parts, p + 1);
  part_ws_.clear();
  part_ws_.resize(parts);
  part_origins_.assign(parts, {});
  for (std::uint32_t o = 0; o < part_of_origin.size(); ++o)
    part_origins_[part_of_origin[o]].push_back(o);
}

void block_solver::update_part(std::uint32_t part) {
  TWIN_REQUIRE_OP(part, <, parts());
  for (const std::uint32_t o : part_origins_[part]) {
    bushes_[o].update(net_, links_, part_ws_[part]);
    updated_[o] = round_;
  }
}

void block_solver::measure_slice(std::uint32_t part) {
  TWIN_REQUIRE_OP(part, <, parts());
  for (const std::uint32_t o : part_origins_[part]) {
    unreachable_[o] = 0;
    sp_cost_[o] = shortest_path_cost(net_, trips_.origin(o), trips_.destinations(o), links_.cost,
                                     part_ws_[part], &unreachable_[o]);
  }
}

void block_solver::measure_part(std::uint32_t worker) {
  TWIN_REQUIRE_OP(worker, <, blocks_.size());
  block& blk = blocks_[worker];
  for (std::uint32_t o = blk.first; o < blk.end; ++o) {
    unreachable_[o] = 0;
    sp_cost_[o] = shortest_path_cost(net_, trips_.origin(o), trips_.destinations(o), links_.cost,
                                     blk.ws, &unreachable_[o]);
  }
}

gap_measure block_solver::finish_measure() {
  gap_measure g;
  g.tstt = total_travel_time(net_, links_);
  for (std::uint32_t o = 0; o < bushes_.size(); ++o) {
    g.sptt += sp_cost_[o];
    g.unreachable_flow += unreachable_[o];
  }
  g.relative_gap = g.tstt > 0 ? (g.tstt - g.sptt) / g.tstt : 0.0;
  return g;
}

double block_solver::tstt() const {
  return total_travel_time(net_, links_);
}

double block_solver::bush_gap() const {
  const double tstt = total_travel_time(net_, links_);
  double excess = 0;
  for (const double e : excess_) excess += e;
  return tstt > 0 ? std::max(excess, 0.0) / tstt : 0.0;
}

double block_solver::objective() const {
  return beckmann_objective(net_, links_.flow);
}

void block_solver::finish(solution& out) {
  out.link_flow = links_.flow;
  out.link_cost = links_.cost;
  out.bushes = std::move(bushes_);
  out.warm_started = warm_started_;
  out.origins_rebuilt = origins_rebuilt_;
  out.origins_repaired = origins_repaired_;
  out.unassigned_flow = unassigned_flow_;
  out.assigned_flow = trips_.total_flow() - unassigned_flow_;
}

namespace {

// Runs phase(w) for every worker on `threads` threads, worker w on thread w % threads.
template <typename Phase>
void run_phase(std::uint32_t workers, std::uint32_t threads, const Phase& phase) {
  if (threads <= 1) {
    for (std::uint32_t w = 0; w < workers; ++w) phase(w);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (std::uint32_t t = 1; t < threads; ++t)
    pool.emplace_back([&phase, t, threads, workers] {
      for (std::uint32_t w = t; w < workers; w += threads) phase(w);
    });
  for (std::uint32_t w = 0; w < workers; w += threads) phase(w);
  for (std::thread& th : pool) th.join();
}

}  // namespace

round_driver::round_driver(const network& net, const demand& trips, const solver_options& options,
                           const solution* warm_start)
    : start_(std::chrono::steady_clock::now()),
      options_(options),
      solver_(net, trips, options, warm_start) {
  out_.demand_fingerprint = trips.fingerprint();
  out_.intrazonal_flow = trips.intrazonal_flow();
}

double round_driver::elapsed_ms() const {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
      .count();
}

bool round_driver::measure_due() {
  out_of_time_ =
      options_.time_limit_ms > 0 && elapsed_ms() >= static_cast<double>(options_.time_limit_ms);
  // A warm start may need no iteration at all: its gap is measured first. A cold one is never
  // done after the all-or-nothing loading, and nothing but the trace and the first round's
  // threshold needs the loading's gap: the bushes' own gap stands in for it, saving a search per
  // origin.
  const bool cold_start = iteration_ == 0 && !solver_.warm_started();
  bound_ = iteration_ == 0 && !cold_start ? 1.0 : solver_.bush_gap();
  estimate_ = bound_ * bound_ratio_;
  // A failing measurement costs a shortest-path search per origin: measure when the prediction
  // says the target may be reached, or now and then so that the prediction stays current.
  exact_ = (iteration_ == 0 && !cold_start) ||
           (iteration_ > 0 && estimate_ <= options_.relative_gap_target) ||
           iteration_ - measured_at_ >= measure_interval_max ||
           iteration_ >= options_.iterations_max || out_of_time_;
  return exact_;
}

bool round_driver::record() {
  // Between measurements the gap only falls: the latest exact one caps the prediction.
  double reported = measured_ ? std::min(estimate_, gap_.relative_gap) : estimate_;
  if (!measured_) gap_.tstt = solver_.tstt();
  if (exact_) {
    measured_ = true;
    gap_ = solver_.finish_measure();
    reported = gap_.relative_gap;
    measured_at_ = iteration_;
    if (iteration_ > 0 && bound_ > 0) bound_ratio_ = std::max(1.0, gap_.relative_gap / bound_);
  }
  out_.trace.push_back(
      {iteration_, reported, solver_.objective(), gap_.tstt, elapsed_ms(), exact_, step_});
  if (exact_ && gap_.relative_gap <= options_.relative_gap_target) {
    out_.stop = stop_reason::gap_reached;
    return false;
  }
  if (exact_ && iteration_ >= options_.iterations_max) {
    out_.stop = stop_reason::iterations_max;
    return false;
  }
  if (exact_ && out_of_time_) {
    out_.stop = stop_reason::time_limit;
    return false;
  }
  ++iteration_;
  solver_.begin_round(reported);
  return true;
}

solution round_driver::finish() {
  solver_.finish(out_);
  out_.iterations = iteration_;
  out_.tstt = gap_.tstt;
  out_.sptt = gap_.sptt;
  out_.relative_gap = gap_.relative_gap;
  out_.objective = out_.trace.back().objective;
  return std::move(out_);
}

solution solve(const network& net, const demand& trips, const solver_options& options,
               const solution* warm_start) {
  round_driver driver(net, trips, options, warm_start);
  block_solver& solver = driver.solver();
  const std::uint32_t workers = solver.workers();
  const std::uint32_t parts = solver.parts();
  const std::uint32_t threads = std::min(options.threads == 0 ? workers : options.threads, parts);
  for (;;) {
    if (driver.measure_due())
      run_phase(parts, threads, [&solver](std::uint32_t p) { solver.measure_slice(p); });
    if (!driver.record()) break;
    run_phase(parts, threads, [&solver](std::uint32_t p) { solver.update_part(p); });
    run_phase(workers, threads, [&solver](std::uint32_t w) { solver.propose(w); });
    driver.combined(solver.combine());
  }
  return driver.finish();
}

}  // namespace twin::assign
