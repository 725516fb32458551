#include "twin/report/outputs.hpp"

#include <fstream>
#include <system_error>

#include "twin/report/common.hpp"
#include "twin/report/csv.hpp"
#include "twin/report/geojson.hpp"
#include "twin/report/maps.hpp"
#include "twin/report/metrics.hpp"
#include "twin/report/summary.hpp"

namespace twin::env {

std::vector<std::pair<std::string, std::string>> environment_files(const scenario& s,
                                                                   const scenario_result& r) {
  std::vector<std::pair<std::string, std::string>> files;
  if (!r.grid) return files;
  for (std::size_t run = 0; run < run_count(r); ++run) {
    const auto name = run_name(r, run);
    files.emplace_back("grid_" + name + ".csv", grid_csv(s, r, run));
    files.emplace_back("grid_" + name + ".geojson", grid_geojson(s, r, run));
    for (auto p : {pollutant::pm25, pollutant::nox}) {
      files.emplace_back("heatmap_" + name + "_" + std::string(name_of(p)) + ".svg",
                         heat_map_svg(s, r, run, p, false));
      if (run > 0)
        files.emplace_back("heatmap_" + name + "_" + std::string(name_of(p)) + "_delta.svg",
                           heat_map_svg(s, r, run, p, true));
    }
  }
  return files;
}

}  // namespace twin::env

namespace twin {

namespace fs = std::filesystem;

expected<std::vector<fs::path>, std::string> write_outputs(const fs::path& dir, const scenario& s,
                                                           const scenario_result& r) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return unexpected{"cannot create " + dir.string() + ": " + ec.message()};
  std::vector<std::pair<fs::path, std::string>> files;
  files.emplace_back(dir / "summary.json", summary_json(s, r));
  files.emplace_back(dir / "links.csv", links_csv(s, r));
  files.emplace_back(dir / "districts.csv", districts_csv(s, r));
  files.emplace_back(dir / "links.geojson", links_geojson(s, r));
  files.emplace_back(dir / "scenario.prom", metrics_text(s, r));
  for (std::size_t v = 0; v < r.variants.size(); ++v)
    files.emplace_back(dir / (r.variants[v].name + ".svg"), variant_svg(s, r, v));
  for (auto& [name, text] : env::environment_files(s, r))
    files.emplace_back(dir / name, std::move(text));
  std::vector<fs::path> written;
  for (const auto& [path, text] : files) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    out.close();
    if (!out) return unexpected{"cannot write " + path.string()};
    written.push_back(path);
  }
  return written;
}

}  // namespace twin
