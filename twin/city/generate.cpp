#include "twin/city/generate.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <utility>

#include "twin/base/check.hpp"
#include "twin/city/geo.hpp"

namespace twin {

namespace {

// A fictional city needs coordinates somewhere; near the Pearl River estuary is as good as any.
constexpr lon_lat origin{113.5, 22.1};
constexpr double cell_deg = 0.01;  // about 1 km
// Demand only between zones at most this many grid cells apart keeps it O(districts).
constexpr std::int64_t demand_reach_cells = 2;
// Scales the gravity model so that two districts of 100k people 1 km apart exchange ~100 veh/h.
constexpr double gravity_scale = 4e-8;
constexpr double lane_capacity_veh_h = 1800;

// Our own distributions: the standard ones produce different numbers on different libraries.
class random_source {
 public:
  explicit random_source(std::uint64_t seed) : engine_(seed) {}
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double between(double lo, double hi) { return lo + (hi - lo) * unit(); }
  // Uniform in [0, n); n > 0.
  std::uint64_t below(std::uint64_t n) {
    TWIN_REQUIRE_OP(n, >, 0u);
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(engine_()) * n) >> 64);
  }

 private:
  std::mt19937_64 engine_;
};

struct district_grid {
  std::uint32_t count = 0;
  std::uint32_t cols = 0;
  std::uint32_t rows = 0;

  // The district owning a point given in cell units from the origin. The last district of a
  // partial last row stretches to the end of that row, so every point of the extent has one.
  std::uint32_t at(double x, double y) const {
    auto c = std::min<std::uint32_t>(static_cast<std::uint32_t>(std::max(0.0, x)), cols - 1);
    auto r = std::min<std::uint32_t>(static_cast<std::uint32_t>(std::max(0.0, y)), rows - 1);
    return std::min(r * cols + c, count - 1);
  }
};

lon_lat to_lon_lat(double x, double y) {
  return {origin.lon + x * cell_deg, origin.lat + y * cell_deg};
}

// Nodes sit row by row on a lattice `width` wide; the last row may be partial.
struct node_lattice {
  std::uint32_t count = 0;
  std::uint32_t width = 1;

  std::uint32_t rows() const { return (count + width - 1) / width; }
  std::uint64_t edges() const {
    std::uint64_t full = count / width;
    std::uint64_t rem = count % width;
    std::uint64_t horizontal = full * (width - 1) + (rem > 0 ? rem - 1 : 0);
    std::uint64_t vertical = full > 0 ? (full - 1) * width + rem : 0;
    return horizontal + vertical;
  }
};

node_lattice lattice_for(std::uint32_t nodes, const district_grid& g) {
  double aspect = static_cast<double>(g.cols) / g.rows;
  auto width = static_cast<std::uint32_t>(std::lround(std::sqrt(nodes * aspect)));
  return {nodes, std::clamp<std::uint32_t>(width, 1, std::max(1u, nodes))};
}

// Both directions of a spanning tree make the network strongly connected; the other lattice edges
// add both directions while the count allows, and an odd count ends with one one-way street.
bool fits(const node_lattice& l, std::uint64_t links) {
  std::uint64_t tree = 2ull * (l.count - 1);
  std::uint64_t most = 2 * l.edges();
  if (links % 2 == 0) return tree <= links && links <= most;
  return tree + 1 <= links && links + 1 <= most;
}

node_lattice choose_lattice(std::uint32_t links, const district_grid& g) {
  // About three links per node gives a grid with a few missing streets, like a real one.
  std::int64_t target = links / 3 + 1;
  std::int64_t largest = links / 2 + 1;
  for (std::int64_t step = 0; step <= largest; ++step)
    for (std::int64_t n : {target - step, target + step})
      if (n >= 1 && n <= largest) {
        auto l = lattice_for(static_cast<std::uint32_t>(n), g);
        if (fits(l, links)) return l;
      }
  // Too few links for a strongly connected grid: a chain, its last street one-way when odd.
  return lattice_for(links / 2 + links % 2 + 1, g);
}

// Keys are built by appending: GCC 12 warns (-Wrestrict, a false positive) on "d" + to_string(n)
// in optimized builds.
std::string prefixed_number(char prefix, std::size_t n) {
  std::string key(1, prefix);
  key += std::to_string(n);
  return key;
}

std::string district_key(std::uint32_t d) {
  return prefixed_number('d', std::size_t{d} + 1);
}

void make_districts(const district_grid& g, random_source& rng, city& c) {
  for (std::uint32_t d = 0; d < g.count; ++d) {
    double x0 = d % g.cols;
    double y0 = d / g.cols;
    double x1 = d + 1 == g.count ? g.cols : x0 + 1;
    double y1 = y0 + 1;
    district out;
    out.id = district_id{d};
    out.key = district_key(d);
    out.name = "District " + std::to_string(d + 1);
    out.area.push_back(polygon{{ring{to_lon_lat(x0, y0), to_lon_lat(x1, y0), to_lon_lat(x1, y1),
                                     to_lon_lat(x0, y1), to_lon_lat(x0, y0)}}});
    out.population = static_cast<double>(5'000 + rng.below(195'001));
    out.area_km2 = std::round(area_km2(out.area) * 1000) / 1000;
    c.districts.push_back(std::move(out));
  }
}

struct lattice_edge {
  std::uint32_t a;
  std::uint32_t b;
};

void make_network(const node_lattice& l, const district_grid& g, std::uint32_t links_wanted,
                  random_source& rng, city& c) {
  const std::uint32_t rows = l.rows();
  auto position = [&](std::uint32_t i) {
    double x = (i % l.width + 0.5) / l.width * g.cols;
    double y = (i / l.width + 0.5) / rows * g.rows;
    return std::pair{x, y};
  };
  for (std::uint32_t i = 0; i < l.count; ++i) {
    auto [x, y] = position(i);
    c.nodes.push_back({node_id{i}, i + 1, to_lon_lat(x, y)});
  }

  std::vector<lattice_edge> tree;
  std::vector<lattice_edge> others;
  for (std::uint32_t i = 1; i < l.count; ++i) {
    bool row_start = i % l.width == 0;
    tree.push_back({row_start ? i - l.width : i - 1, i});
    if (!row_start && i >= l.width) others.push_back({i - l.width, i});
  }
  for (std::size_t i = others.size(); i > 1; --i) std::swap(others[i - 1], others[rng.below(i)]);

  auto add = [&](std::uint32_t from, std::uint32_t to) {
    const auto& a = c.nodes[from].position;
    const auto& b = c.nodes[to].position;
    link k;
    k.id = link_id{static_cast<std::uint32_t>(c.links.size())};
    k.key = prefixed_number('l', c.links.size() + 1);
    k.from = node_id{from};
    k.to = node_id{to};
    k.length_m = std::round(haversine_m(a, b) * 10) / 10;
    k.lanes = 1 + static_cast<std::uint32_t>(rng.below(3));
    k.capacity_veh_h = lane_capacity_veh_h * k.lanes;
    k.free_speed_kmh = 40 + 10 * static_cast<double>(rng.below(4));
    auto [xa, ya] = position(from);
    auto [xb, yb] = position(to);
    k.district = district_id{g.at((xa + xb) / 2, (ya + yb) / 2)};
    bool horizontal = from / l.width == to / l.width;
    k.name = horizontal ? "Avenida " + std::to_string(from / l.width + 1)
                        : "Rua " + std::to_string(from % l.width + 1);
    c.links.push_back(std::move(k));
  };

  std::uint64_t left = links_wanted;
  for (const auto* edges : {&tree, &others})
    for (const auto& e : *edges) {
      if (left >= 2) {
        add(e.a, e.b);
        add(e.b, e.a);
        left -= 2;
      } else if (left == 1) {
        add(e.a, e.b);
        left = 0;
      }
    }
  TWIN_CHECK_OP(c.links.size(), ==, links_wanted);
}

void make_zones_and_demand(const node_lattice& l, const district_grid& g, city& c) {
  const std::uint32_t rows = l.rows();
  for (std::uint32_t d = 0; d < g.count; ++d) {
    double x = d % g.cols + 0.5;
    double y = d / g.cols + 0.5;
    auto col =
        std::min<std::uint32_t>(static_cast<std::uint32_t>(x / g.cols * l.width), l.width - 1);
    auto row = std::min<std::uint32_t>(static_cast<std::uint32_t>(y / g.rows * rows), rows - 1);
    std::uint32_t node = row * l.width + col;
    if (node >= l.count) node -= l.width;  // the partial last row has no node there
    c.zones.push_back({zone_id{d}, d + 1, district_id{d}, node_id{node}});
  }
  for (std::uint32_t o = 0; o < g.count; ++o)
    for (std::uint32_t t = 0; t < g.count; ++t) {
      std::int64_t dx = std::int64_t(o % g.cols) - std::int64_t(t % g.cols);
      std::int64_t dy = std::int64_t(o / g.cols) - std::int64_t(t / g.cols);
      if (o == t || std::max(std::abs(dx), std::abs(dy)) > demand_reach_cells) continue;
      double km = haversine_m(c.nodes[c.zones[o].centroid.value].position,
                              c.nodes[c.zones[t].centroid.value].position) /
                  1000;
      double trips = gravity_scale * c.districts[o].population * c.districts[t].population /
                     ((km + 1) * (km + 1));
      c.demand.push_back({zone_id{o}, zone_id{t}, std::round(trips * 10) / 10});
    }
}

bool is_traffic(sensor_kind k) {
  return k == sensor_kind::traffic_speed || k == sensor_kind::traffic_flow ||
         k == sensor_kind::traffic_occupancy;
}

void make_sensors(std::uint32_t count, const district_grid& g, random_source& rng, city& c) {
  constexpr std::uint32_t first_non_traffic = static_cast<std::uint32_t>(sensor_kind::pm25);
  for (std::uint32_t i = 0; i < count; ++i) {
    auto kind = static_cast<sensor_kind>(i % sensor_kind_count);
    if (is_traffic(kind) && c.links.empty())
      kind =
          static_cast<sensor_kind>(first_non_traffic + i % (sensor_kind_count - first_non_traffic));
    sensor s;
    s.id = sensor_id{i + 1};
    s.kind = kind;
    if (is_traffic(kind)) {
      const link& l = c.links[rng.below(c.links.size())];
      s.link = l.id;
      s.district = l.district;
      s.position = midpoint(c.nodes[l.from.value].position, c.nodes[l.to.value].position);
    } else {
      auto d = static_cast<std::uint32_t>(rng.below(g.count));
      s.district = district_id{d};
      double x0 = d % g.cols;
      double x1 = d + 1 == g.count ? g.cols : x0 + 1;
      // Keep clear of the edges so that rounding never puts a sensor in a neighbour.
      double x = x0 + (x1 - x0) * rng.between(0.05, 0.95);
      double y = d / g.cols + rng.between(0.05, 0.95);
      s.position = to_lon_lat(x, y);
    }
    if (kind == sensor_kind::visitors) {
      s.site = "Site " + std::to_string(i + 1);
      s.capacity = static_cast<double>(200 + rng.below(20'000));
    } else if (kind == sensor_kind::waste_fill) {
      s.site = "Bin " + std::to_string(i + 1);
    }
    s.key = district_key(s.district.value) + "-" + std::string(to_string(kind)) + "-" +
            std::to_string(i + 1);
    c.sensors.push_back(std::move(s));
  }
}

void make_rules(city& c) {
  auto rule = [&](std::string key, sensor_kind kind, rule_window window, bool above,
                  double threshold, severity level, std::string message) {
    threshold_rule r;
    r.key = std::move(key);
    r.kind = kind;
    r.window = window;
    r.above = above;
    r.threshold = threshold;
    r.level = level;
    r.message = std::move(message);
    c.rules.push_back(std::move(r));
  };
  rule("pm25-high", sensor_kind::pm25, rule_window::one_hour, true, 37.5, severity::warning,
       "PM2.5 1-hour mean above 37.5 ug/m3");
  rule("no2-high", sensor_kind::no2, rule_window::one_hour, true, 200, severity::critical,
       "NO2 1-hour mean above 200 ug/m3");
  rule("congestion", sensor_kind::traffic_speed, rule_window::fifteen_minutes, false, 15,
       severity::warning, "mean speed below 15 km/h for 15 minutes");
  rule("bins-full", sensor_kind::waste_fill, rule_window::latest, true, 90, severity::info,
       "a bin is more than 90% full");
  rule("crowding-d1", sensor_kind::visitors, rule_window::latest, true, 5000, severity::warning,
       "more than 5000 visitors at a site");
  c.rules.back().aggregate = rule_aggregate::max;
  c.rules.back().district = district_id{0};
}

}  // namespace

std::optional<std::string> check_options(const generate_options& o) {
  if (o.districts < 1 || o.districts > generate_districts_max)
    return "districts must be between 1 and " + std::to_string(generate_districts_max);
  if (o.links > generate_links_max)
    return "links must be at most " + std::to_string(generate_links_max);
  if (o.sensors > generate_sensors_max)
    return "sensors must be at most " + std::to_string(generate_sensors_max);
  return std::nullopt;
}

city generate_city(const generate_options& options) {
  auto problem = check_options(options);
  TWIN_CHECK_OP(problem.value_or(""), ==, std::string());

  random_source rng(options.seed);
  district_grid g;
  g.count = options.districts;
  g.cols = static_cast<std::uint32_t>(std::ceil(std::sqrt(static_cast<double>(g.count))));
  g.rows = (g.count + g.cols - 1) / g.cols;

  city c;
  c.name = "Synthetic " + std::to_string(options.seed);
  make_districts(g, rng, c);
  auto lattice = choose_lattice(options.links, g);
  make_network(lattice, g, options.links, rng, c);
  make_zones_and_demand(lattice, g, c);
  make_sensors(options.sensors, g, rng, c);
  make_rules(c);
  c.index();
  return c;
}

}  // namespace twin
