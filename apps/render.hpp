#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "twin/live/services.hpp"
#include "twin/live/views.hpp"

namespace apps {

// JSON for scripts: stable keys, numbers in the units their names say, null where no data.
nlohmann::json to_json(const twin::city_view& v);
nlohmann::json to_json(const twin::district_view& v);
nlohmann::json to_json(const twin::sensor_view& v);
nlohmann::json to_json(const twin::cluster_status_view& v);
nlohmann::json to_json(const twin::query_reply& r);

// Human-readable text for the terminal.
std::string render_text(const twin::city_view& v);
std::string render_text(const twin::district_view& v);
std::string render_text(const twin::sensor_view& v);
std::string render_text(const twin::cluster_status_view& v);
std::string render_text(const twin::query_reply& r);

}  // namespace apps
