// Shared by the router config parser and validate_router_config: the checks of a RouterConfig,
// with the source line of each field when the config came from a file. Private to cairn_ai.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "cairn/ai/router.h"

namespace cairn::ai::router_internal {

// Field path ("tiers[1].fallback[0]", "rules.prompt_size[0].tier") → 1-based source line.
using FieldLines = std::map<std::string, int, std::less<>>;

// Throws ConfigError for the first rule `config` breaks (see load_router_config). The line of
// a field is that of the longest known prefix of its path in `lines`.
void validate(const RouterConfig& config, std::string_view source, const FieldLines& lines);

// Fills defaults a loaded config derives: endpoint names ("<tier>-<n>", 1-based) and endpoint
// models (the tier's) left empty.
void normalise(RouterConfig& config);

}  // namespace cairn::ai::router_internal
