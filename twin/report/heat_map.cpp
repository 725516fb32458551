#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "twin/base/check.hpp"
#include "twin/base/text.hpp"
#include "twin/report/common.hpp"
#include "twin/report/maps.hpp"
#include "twin/report/svg.hpp"

namespace twin::env {

namespace {

using text::fixed;
using text::signed_fixed;
using text::xml;

// The scale's end: the 99th percentile of every run's cells for concentrations (one scale per
// scenario), of the run's |delta| for deltas; the few cells beside a busy road or under a plume
// above it take the darkest colour, so that they do not wash out the rest of the map.
double scale_end(const scenario_result& r, std::size_t run, pollutant p, bool delta) {
  std::vector<double> seen;
  if (delta) {
    const auto& values = values_of(run_environment(r, run), p);
    const auto& base = values_of(run_environment(r, 0), p);
    for (std::size_t i = 0; i < values.size(); ++i) seen.push_back(std::abs(values[i] - base[i]));
  } else {
    for (std::size_t k = 0; k < run_count(r); ++k)
      for (double v : values_of(run_environment(r, k), p)) seen.push_back(v);
  }
  double top = 0;
  if (!seen.empty()) {
    const auto at = seen.begin() + static_cast<std::ptrdiff_t>(0.99 * (seen.size() - 1));
    std::nth_element(seen.begin(), at, seen.end());
    top = *at;
  }
  return svg::nice_ceiling(top, 1e-12);
}

// Legend: the scale in 10 steps; for concentrations, the guideline marked.
void draw_legend(std::ostream& os, const scenario& s, const receptor_grid& g, pollutant p,
                 bool delta, double scale, double ly) {
  os << "<text x=\"20\" y=\"" << fixed(ly, 0) << "\" font-size=\"13\">"
     << (delta ? "Change in " : "") << title_of(p) << " (ug/m3)"
     << (delta ? ": blue cleaner, red dirtier" : "") << "</text>\n";
  for (int i = 0; i < 10; ++i) {
    const double t = delta ? -1 + (i + 0.5) / 5 : (i + 0.5) / 10;
    os << "<rect x=\"" << 40 + i * 30 << "\" y=\"" << fixed(ly + 8, 0)
       << "\" width=\"30\" height=\"14\" fill=\""
       << (delta ? svg::diverging(t) : svg::sequential(t)) << "\"/>\n";
  }
  for (int i = 0; i <= 2; ++i) {
    const double v = delta ? -scale + i * scale : i * scale / 2;
    // The ends are open: the cells beyond the scale take its end colours.
    const char* open_end = i == 2 ? "&#8805; " : (delta && i == 0 ? "&#8804; " : "");
    os << "<text x=\"" << 40 + i * 150 << "\" y=\"" << fixed(ly + 38, 0)
       << "\" font-size=\"11\" text-anchor=\"middle\">" << open_end
       << (delta ? signed_fixed(v, 2) : fixed(v, 1)) << "</text>\n";
  }
  if (!delta) {
    const auto& settings = s.spec.environment;
    const double guide =
        p == pollutant::pm25 ? settings.short_term.pm25_ug_m3 : settings.short_term.no2_ug_m3;
    if (guide <= scale) {
      const double x = 40 + 300 * guide / scale;
      os << "<line x1=\"" << fixed(x, 1) << "\" y1=\"" << fixed(ly + 4, 0) << "\" x2=\""
         << fixed(x, 1) << "\" y2=\"" << fixed(ly + 26, 0)
         << "\" stroke=\"#000\" stroke-width=\"2\"/>\n";
    }
    os << "<text x=\"360\" y=\"" << fixed(ly + 20, 0) << "\" font-size=\"12\">black mark: "
       << "24-hour guideline " << fixed(guide, 0) << " ug/m3 (WHO 2021 by default)</text>\n";
  }
  os << "<text x=\"20\" y=\"" << fixed(ly + 60, 0) << "\" font-size=\"11\" fill=\"#555\">Cells of "
     << fixed(g.resolution_m, 0)
     << " m; faded cells lie in no district (sea). Lines: district boundaries.</text>\n";
}

}  // namespace

std::string heat_map_svg(const scenario& s, const scenario_result& r, std::size_t run, pollutant p,
                         bool delta) {
  TWIN_CHECK(r.grid != nullptr);
  TWIN_CHECK(!delta || run > 0);
  const auto& g = *r.grid;
  const city& c = s.base;
  const auto& values = values_of(run_environment(r, run), p);
  const std::vector<double>* base = delta ? &values_of(run_environment(r, 0), p) : nullptr;
  auto value = [&](std::size_t i) { return base ? values[i] - (*base)[i] : values[i]; };
  const double scale = scale_end(r, run, p, delta);
  auto colour = [&](double v) {
    return delta ? svg::diverging(v / scale) : svg::sequential(v / scale);
  };

  const double width = 1000, map_top = 70, legend_height = 90;
  const auto pr = svg::fit_plane(g.south_west.x, g.south_west.y, g.columns * g.resolution_m,
                                 g.rows * g.resolution_m, width, map_top, 760);
  const double height = map_top + pr.map_height + legend_height;

  std::ostringstream os;
  svg::open_document(os, width, height);
  svg::page_background(os);
  svg::titles(os, s.spec.title,
              c.name + ", " + run_name(r, run) + ": " + (delta ? "change in " : "") +
                  std::string(title_of(p)) + " at ground level (ug/m3)" +
                  (delta ? " against the baseline" : ""));
  const double cell_px = g.resolution_m * pr.px;
  os << "<g shape-rendering=\"crispEdges\">\n";
  for (std::size_t i = 0; i < g.size(); ++i) {
    const auto& cell = g.cells[i];
    os << "<rect x=\"" << fixed(pr.x(cell.centre.x - g.resolution_m / 2), 2) << "\" y=\""
       << fixed(pr.y(cell.centre.y + g.resolution_m / 2), 2) << "\" width=\"" << fixed(cell_px, 2)
       << "\" height=\"" << fixed(cell_px, 2) << "\" fill=\"" << colour(value(i)) << "\""
       << (cell.district ? "" : " fill-opacity=\"0.45\"") << "/>\n";
  }
  os << "</g>\n<g fill=\"none\" stroke=\"#333333\" stroke-width=\"1.2\">\n";
  const auto to_page = [&](lon_lat q) {
    const xy m = g.frame.to_xy(q);
    return svg::point{pr.x(m.x), pr.y(m.y)};
  };
  for (const auto& d : c.districts)
    os << "<path fill-rule=\"evenodd\" d=\"" << svg::outline(d, to_page) << "\"><title>"
       << xml(d.name) << "</title></path>\n";
  os << "</g>\n";
  draw_legend(os, s, g, p, delta, scale, map_top + pr.map_height + 20);
  os << "</svg>\n";
  return os.str();
}

}  // namespace twin::env
