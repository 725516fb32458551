#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "twin/base/check.hpp"
#include "twin/base/text.hpp"
#include "twin/report/common.hpp"
#include "twin/report/maps.hpp"
#include "twin/report/svg.hpp"

namespace twin {

namespace {

using text::fixed;
using text::signed_fixed;
using text::xml;

// One variant's map: its links against the baseline's, and how they are drawn.
struct flow_map {
  const city& c;
  const scenario_result& r;
  const variant_result& v;
  svg::lon_lat_projection pr;
  double flow_max = 0;
  double delta_scale = 1;

  double delta_of(std::size_t l) const {
    const double base = l < r.baseline.links.size() ? r.baseline.links[l].flow_veh_h : 0;
    return v.result.links[l].flow_veh_h - base;
  }
  double stroke_width(double flow) const {
    return 1.0 + 7.0 * (flow_max > 0 ? flow / flow_max : 0);
  }
};

// Districts, faintly, behind the roads; their names at the mean of their links' midpoints.
void draw_districts(std::ostream& os, const flow_map& m) {
  const city& c = m.c;
  const auto to_page = [&](lon_lat p) { return m.pr(p); };
  for (const auto& d : c.districts)
    os << "<path fill=\"#f4f1ea\" fill-opacity=\"0.9\" stroke=\"#b9b2a3\" stroke-width=\"1\" "
          "fill-rule=\"evenodd\" d=\""
       << svg::outline(d, to_page) << "\"/>\n";
  for (const auto& d : c.districts) {
    const auto& ids = c.links_of(d.id);
    if (ids.empty()) continue;
    double x = 0, y = 0;
    for (auto l : ids) {
      const auto& k = c.links[l.value];
      x += (m.pr.x(c.nodes[k.from.value].position) + m.pr.x(c.nodes[k.to.value].position)) / 2;
      y += (m.pr.y(c.nodes[k.from.value].position) + m.pr.y(c.nodes[k.to.value].position)) / 2;
    }
    os << "<text x=\"" << fixed(x / ids.size(), 1) << "\" y=\"" << fixed(y / ids.size() - 14, 1)
       << "\" font-size=\"12\" font-style=\"italic\" fill=\"#7a7160\" stroke=\"#f4f1ea\" "
          "stroke-width=\"3\" paint-order=\"stroke\" text-anchor=\"middle\">"
       << xml(d.name) << "</text>\n";
  }
}

// Links, each direction offset to its right so that both of a two-way road show; the largest
// changes are drawn last, on top. A thin dark casing first keeps the unchanged (white) links
// visible.
void draw_links(std::ostream& os, const flow_map& m) {
  const auto& v = m.v;
  std::vector<std::size_t> order(v.result.links.size());
  for (std::size_t l = 0; l < order.size(); ++l) order[l] = l;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::abs(m.delta_of(a)) < std::abs(m.delta_of(b));
  });
  for (int pass = 0; pass < 2; ++pass) {
    for (auto l : order) {
      const auto& k = v.links[l];
      const auto& now = v.result.links[l];
      const auto a = m.c.nodes[k.from.value].position;
      const auto b = m.c.nodes[k.to.value].position;
      double x1 = m.pr.x(a), y1 = m.pr.y(a), x2 = m.pr.x(b), y2 = m.pr.y(b);
      const double len = std::hypot(x2 - x1, y2 - y1);
      const double w = now.closed ? 2.5 : m.stroke_width(now.flow_veh_h);
      if (len > 0) {
        const double off = w / 2 + 0.8;
        const double nx = -(y2 - y1) / len * off, ny = (x2 - x1) / len * off;
        x1 += nx, y1 += ny, x2 += nx, y2 += ny;
      }
      os << "<line x1=\"" << fixed(x1, 1) << "\" y1=\"" << fixed(y1, 1) << "\" x2=\""
         << fixed(x2, 1) << "\" y2=\"" << fixed(y2, 1) << "\" stroke-linecap=\"round\" ";
      const char* dashes = now.closed ? " stroke-dasharray=\"7 5\"" : "";
      if (pass == 0) {
        os << "stroke=\"#8c8c8c\" stroke-width=\"" << fixed(w + 1.2, 1) << "\"" << dashes << "/>\n";
        continue;
      }
      os << "stroke=\"" << svg::diverging(m.delta_of(l) / m.delta_scale) << "\" stroke-width=\""
         << fixed(w, 1) << "\"" << dashes << "><title>" << xml(k.key) << " " << xml(k.name) << ": "
         << fixed(now.flow_veh_h, 1) << " veh/h (" << signed_fixed(m.delta_of(l), 1) << ")"
         << (now.closed ? ", closed" : "") << "</title></line>\n";
    }
  }
}

// Legend: the colour scale, the widths, the closure style, and the city totals.
void draw_legend(std::ostream& os, const flow_map& m, double ly) {
  os << "<text x=\"20\" y=\"" << ly << "\" font-size=\"13\">Change in flow (veh/h)</text>\n";
  os << "<rect x=\"20\" y=\"" << ly + 8
     << "\" width=\"300\" height=\"14\" fill=\"url(#delta)\" "
        "stroke=\"#888\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    const double x = 20 + i * 75;
    const double value = -m.delta_scale + i * m.delta_scale / 2;
    os << "<line x1=\"" << x << "\" y1=\"" << ly + 22 << "\" x2=\"" << x << "\" y2=\"" << ly + 27
       << "\" stroke=\"#444\"/><text x=\"" << x << "\" y=\"" << ly + 40
       << "\" font-size=\"11\" text-anchor=\"middle\">" << signed_fixed(value, 0) << "</text>\n";
  }
  os << "<text x=\"370\" y=\"" << ly << "\" font-size=\"13\">Width: flow (veh/h)</text>\n";
  const double flow_step = svg::nice_ceiling(m.flow_max / 3);
  for (int i = 1; i <= 3; ++i) {
    const double f = flow_step * i;
    const double x = 370 + (i - 1) * 85;
    os << "<line x1=\"" << x << "\" y1=\"" << ly + 15 << "\" x2=\"" << x + 50 << "\" y2=\""
       << ly + 15 << "\" stroke=\"#6b6b6b\" stroke-width=\"" << fixed(m.stroke_width(f), 1)
       << "\"/><text x=\"" << x + 25 << "\" y=\"" << ly + 40
       << "\" font-size=\"11\" text-anchor=\"middle\">" << fixed(f, 0) << "</text>\n";
  }
  os << "<line x1=\"640\" y1=\"" << ly + 15 << "\" x2=\"690\" y2=\"" << ly + 15
     << "\" stroke=\"#6b6b6b\" stroke-width=\"2.5\" stroke-dasharray=\"7 5\"/><text x=\"700\" y=\""
     << ly + 19 << "\" font-size=\"12\">closed</text>\n";
  const auto& bt = m.r.baseline.city;
  const auto& vt = m.v.result.city;
  os << "<text x=\"20\" y=\"" << ly + 68 << "\" font-size=\"12\" fill=\"#333\">City: VKT "
     << fixed(bt.vkt, 0) << " &#8594; " << fixed(vt.vkt, 0) << " veh-km ("
     << percent(bt.vkt, vt.vkt) << "), VHT " << fixed(bt.vht, 0) << " &#8594; " << fixed(vt.vht, 0)
     << " veh-h (" << percent(bt.vht, vt.vht) << "), mean speed " << fixed(bt.mean_speed_kmh, 1)
     << " &#8594; " << fixed(vt.mean_speed_kmh, 1) << " km/h</text>\n";
  if (!m.v.result.disconnected.empty())
    os << "<text x=\"20\" y=\"" << ly + 86
       << "\" font-size=\"13\" font-weight=\"bold\" fill=\"#b2182b\">WARNING: "
       << xml(warning_text(m.v.result)) << "</text>\n";
}

}  // namespace

std::string variant_svg(const scenario& s, const scenario_result& r, std::size_t vi) {
  TWIN_CHECK_OP(vi, <, r.variants.size());
  const city& c = s.base;
  const auto& v = r.variants[vi];
  const double width = 1000, map_top = 70, map_height = 760, legend_height = 110;
  const double height = map_top + map_height + legend_height;

  // Frame the road network (the district polygons include open water).
  std::vector<lon_lat> positions;
  for (const auto& n : c.nodes) positions.push_back(n.position);
  flow_map m{c, r, v, svg::fit_lon_lat(positions, width, map_top, map_height)};
  double delta_max = 0;
  for (std::size_t l = 0; l < v.result.links.size(); ++l) {
    const double base = l < r.baseline.links.size() ? r.baseline.links[l].flow_veh_h : 0;
    m.flow_max = std::max({m.flow_max, v.result.links[l].flow_veh_h, base});
    delta_max = std::max(delta_max, std::abs(v.result.links[l].flow_veh_h - base));
  }
  m.delta_scale = svg::nice_ceiling(delta_max);

  std::ostringstream os;
  svg::open_document(os, width, height);
  os << "<defs><clipPath id=\"map\"><rect x=\"0\" y=\"" << map_top << "\" width=\"" << width
     << "\" height=\"" << map_height << "\"/></clipPath>\n"
     << "<linearGradient id=\"delta\" x1=\"0\" x2=\"1\" y1=\"0\" y2=\"0\">";
  for (int i = 0; i <= 10; ++i)
    os << "<stop offset=\"" << i * 10 << "%\" stop-color=\"" << svg::diverging(-1 + i * 0.2)
       << "\"/>";
  os << "</linearGradient></defs>\n";
  svg::page_background(os);
  os << "<rect x=\"0\" y=\"" << map_top << "\" width=\"" << width << "\" height=\"" << map_height
     << "\" fill=\"#eaf2f8\"/>\n";
  svg::titles(os, s.spec.title,
              svg::ellipsis(
                  c.name + ", variant " + v.name + (v.title != v.name ? ": " + v.title : ""), 120));
  os << "<g clip-path=\"url(#map)\">\n";
  draw_districts(os, m);
  draw_links(os, m);
  os << "</g>\n";
  draw_legend(os, m, map_top + map_height + 22);
  os << "</svg>\n";
  return os.str();
}

}  // namespace twin
