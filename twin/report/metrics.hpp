#pragma once

// scenario.prom: the results as metrics labelled `scenario` and `variant` ("baseline" for the
// baseline), city-wide and per `district` (and `pollutant` for the environment), in the Prometheus
// text exposition format, for the textfile collector of a node exporter, so that Grafana can chart
// scenarios beside the live city.

#include <string>

#include "twin/scenario/scenario.hpp"

namespace twin {

// Every gauge of the run, the environmental ones included.
std::string metrics_text(const scenario& s, const scenario_result& r);

}  // namespace twin

namespace twin::env {

// The environmental gauges, labelled scenario / variant / district / pollutant; empty without an
// environment.
std::string environment_metrics(const scenario& s, const scenario_result& r);

}  // namespace twin::env
