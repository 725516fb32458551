#include "actors/environment.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <cstdint>
#include <vector>

#include "twin/base/check.hpp"

namespace actors {

namespace {

using namespace twin::env;

using cells_atom = caf::atom_constant<caf::atom("gridcells")>;
using cells_done_atom = caf::atom_constant<caf::atom("griddone")>;

// Works on the cells of one part (a district, or the cells in none); answers the sender.
using grid_worker = caf::typed_actor<caf::reacts_to<cells_atom, std::uint32_t>>;

// What every worker reads (the sources and the grid, broadcast by reference: the caller blocks
// until the last worker answered) and where each writes its own cells.
struct grid_job {
  const weather* w = nullptr;
  const dispersion_options* options = nullptr;
  std::span<const point_emitter> points;
  std::span<const line_emitter> lines;
  const receptor_grid* grid = nullptr;
  std::array<std::span<double>, pollutant_count> out;
  std::vector<std::vector<std::uint32_t>> cells_of_part;
};

void compute_part(const grid_job& job, std::uint32_t part) {
  const auto& cells = job.cells_of_part[part];
  if (cells.empty()) return;
  std::vector<xy> receptors;
  receptors.reserve(cells.size());
  for (auto i : cells) receptors.push_back(job.grid->cells[i].centre);
  // Start from the cells' current values, so that each sum is the one disperse() would make on
  // the whole grid.
  std::array<std::vector<double>, pollutant_count> local;
  std::array<std::span<double>, pollutant_count> local_out{};
  for (std::size_t p = 0; p < pollutant_count; ++p) {
    if (job.out[p].empty()) continue;
    local[p].reserve(cells.size());
    for (auto i : cells) local[p].push_back(job.out[p][i]);
    local_out[p] = local[p];
  }
  disperse(*job.w, *job.options, job.points, job.lines, receptors, local_out);
  for (std::size_t p = 0; p < pollutant_count; ++p) {
    if (job.out[p].empty()) continue;
    for (std::size_t k = 0; k < cells.size(); ++k) job.out[p][cells[k]] = local[p][k];
  }
}

grid_worker::behavior_type worker_behavior(grid_worker::pointer self, const grid_job* job,
                                           std::uint32_t part) {
  return {
      [self, job, part](cells_atom, std::uint32_t p) {
        TWIN_CHECK_OP(p, ==, part);
        compute_part(*job, p);
        caf::anon_send(caf::actor_cast<caf::actor>(self->current_sender()), cells_done_atom::value,
                       p);
      },
  };
}

}  // namespace

void compute_on_actors(caf::actor_system& sys, const weather& w, const dispersion_options& options,
                       std::span<const point_emitter> points, std::span<const line_emitter> lines,
                       const receptor_grid& grid,
                       std::array<std::span<double>, pollutant_count> out) {
  for (const auto& o : out)
    if (!o.empty()) TWIN_CHECK_OP(o.size(), ==, grid.size());
  grid_job job{&w, &options, points, lines, &grid, out, grid.cells_of_district};
  // The cells in no district (the sea) make one more part.
  std::vector<std::uint32_t> sea;
  for (std::uint32_t i = 0; i < grid.size(); ++i)
    if (!grid.cells[i].district) sea.push_back(i);
  job.cells_of_part.push_back(std::move(sea));
  const auto parts = static_cast<std::uint32_t>(job.cells_of_part.size());

  std::vector<grid_worker> workers;
  workers.reserve(parts);
  for (std::uint32_t p = 0; p < parts; ++p) workers.push_back(sys.spawn(worker_behavior, &job, p));
  {
    caf::scoped_actor self{sys};
    for (std::uint32_t p = 0; p < parts; ++p) self->send(workers[p], cells_atom::value, p);
    std::vector<bool> done(parts, false);
    for (std::uint32_t answered = 0; answered < parts; ++answered)
      self->receive([&done](cells_done_atom, std::uint32_t p) {
        TWIN_CHECK(!done[p]);
        done[p] = true;
      });
    for (const auto& worker : workers) self->send_exit(worker, caf::exit_reason::user_shutdown);
  }
}

twin::env::grid_function actor_grid(caf::actor_system& sys) {
  return [&sys](const weather& w, const dispersion_options& o,
                std::span<const point_emitter> points, std::span<const line_emitter> lines,
                const receptor_grid& grid, std::array<std::span<double>, pollutant_count> out) {
    compute_on_actors(sys, w, o, points, lines, grid, out);
  };
}

}  // namespace actors
