#include "twin/report/svg.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ostream>

#include "twin/base/text.hpp"

namespace twin::svg {

namespace {

struct rgb {
  double r, g, b;
};

std::string hex(rgb c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", static_cast<int>(std::lround(c.r)),
                static_cast<int>(std::lround(c.g)), static_cast<int>(std::lround(c.b)));
  return buf;
}

rgb mix(rgb a, rgb b, double t) {
  return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

}  // namespace

double nice_ceiling(double v, double tolerance) {
  if (!(v > 0)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0})
    if (m * p >= v * (1 - tolerance)) return m * p;
  return 10 * p;
}

std::string diverging(double t) {
  t = std::clamp(std::isfinite(t) ? t : 0.0, -1.0, 1.0);
  const rgb blue{33, 102, 172}, white{247, 247, 247}, red{178, 24, 43};
  return hex(mix(white, t < 0 ? blue : red, std::abs(t)));
}

std::string sequential(double t) {
  static constexpr std::array<rgb, 9> stops{{{255, 255, 204},
                                             {255, 237, 160},
                                             {254, 217, 118},
                                             {254, 178, 76},
                                             {253, 141, 60},
                                             {252, 78, 42},
                                             {227, 26, 28},
                                             {189, 0, 38},
                                             {128, 0, 38}}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * (stops.size() - 1);
  const auto i = std::min(static_cast<std::size_t>(t), stops.size() - 2);
  return hex(mix(stops[i], stops[i + 1], t - static_cast<double>(i)));
}

std::string ellipsis(const std::string& text, std::size_t size_max) {
  if (text.size() <= size_max) return text;
  const std::size_t keep = size_max > 3 ? size_max - 3 : 0;
  std::size_t count = 0, i = 0;
  for (; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && count++ == keep) break;
  return text.substr(0, i) + "...";
}

lon_lat_projection fit_lon_lat(std::span<const lon_lat> points, double width, double map_top,
                               double map_height) {
  double lon_min = 180, lon_max = -180, lat_min = 90, lat_max = -90;
  for (const auto& p : points) {
    lon_min = std::min(lon_min, p.lon);
    lon_max = std::max(lon_max, p.lon);
    lat_min = std::min(lat_min, p.lat);
    lat_max = std::max(lat_max, p.lat);
  }
  if (points.empty()) lon_min = lon_max = lat_min = lat_max = 0;
  const double pad_lon = std::max(0.08 * (lon_max - lon_min), 0.002);
  const double pad_lat = std::max(0.08 * (lat_max - lat_min), 0.002);
  lon_min -= pad_lon, lon_max += pad_lon, lat_min -= pad_lat, lat_max += pad_lat;
  lon_lat_projection pr;
  pr.cos_lat = std::cos((lat_min + lat_max) / 2 * M_PI / 180);
  pr.scale =
      std::min((width - 40) / ((lon_max - lon_min) * pr.cos_lat), map_height / (lat_max - lat_min));
  pr.lon0 = lon_min;
  pr.lat1 = lat_max;
  pr.x0 = (width - (lon_max - lon_min) * pr.cos_lat * pr.scale) / 2;
  pr.y0 = map_top;
  return pr;
}

plane_projection fit_plane(double west, double south, double extent_x, double extent_y,
                           double width, double map_top, double map_height_max) {
  plane_projection pr;
  pr.px = std::min((width - 40) / extent_x, map_height_max / extent_y);
  pr.map_top = map_top;
  pr.map_height = extent_y * pr.px;
  pr.x0 = (width - extent_x * pr.px) / 2;
  pr.west = west;
  pr.south = south;
  return pr;
}

void open_document(std::ostream& os, double width, double height) {
  using text::fixed;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << fixed(width, 0) << "\" height=\""
     << fixed(height, 0) << "\" viewBox=\"0 0 " << fixed(width, 0) << ' ' << fixed(height, 0)
     << "\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n";
}

void page_background(std::ostream& os) {
  os << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
}

void titles(std::ostream& os, const std::string& title, const std::string& subtitle) {
  os << "<text x=\"20\" y=\"32\" font-size=\"22\" font-weight=\"bold\">" << text::xml(title)
     << "</text>\n";
  os << "<text x=\"20\" y=\"56\" font-size=\"14\" fill=\"#444\">" << text::xml(subtitle)
     << "</text>\n";
}

std::string outline(const district& d, const std::function<point(lon_lat)>& to_page) {
  std::string out;
  for (const auto& poly : d.area)
    for (const auto& ring : poly.rings) {
      for (std::size_t i = 0; i < ring.size(); ++i) {
        const point q = to_page(ring[i]);
        out += (i == 0 ? 'M' : 'L');
        out += text::fixed(q.x, 1) + ' ' + text::fixed(q.y, 1);
      }
      out += 'Z';
    }
  return out;
}

}  // namespace twin::svg
