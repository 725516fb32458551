#pragma once

// Formatting shared by the human-readable outputs (tables, CSV, SVG). JSON keeps full precision
// and does not go through these.

#include <cstddef>
#include <string>
#include <string_view>

namespace twin::text {

// Fixed decimals; a value that rounds to zero prints without its sign (no "-0.00").
std::string fixed(double v, int decimals);

// fixed() with a leading '+' on values that do not round to zero.
std::string signed_fixed(double v, int decimals);

// Text in single quotes, as error messages name a value: quoted("pm3") is "'pm3'".
std::string quoted(std::string_view s);

// A double-quoted YAML scalar, which can hold any text (quotes, backslashes and control
// characters escaped).
std::string yaml_quoted(std::string_view s);

// A CSV field, quoted only when it holds a comma, a quote or a newline.
std::string csv_field(std::string_view s);

// Text escaped for XML/SVG content and attribute values.
std::string xml(std::string_view s);

// Padded to w columns (right-aligned unless right is false). Counts UTF-8 code points, not
// bytes, so that accented names line up.
std::string pad(std::string s, std::size_t w, bool right = true);

// The first w code points of s.
std::string clip(std::string_view s, std::size_t w);

// A label value in the Prometheus exposition format: backslash, double quote and line feed escaped.
std::string label_value(std::string_view v);

// A sample value in the exposition format: full precision, NaN and +Inf/-Inf spelled its way.
std::string metric_number(double v);

}  // namespace twin::text
