#pragma once
// Shared by the generators.

#include "diffss/generator.h"

namespace diffss::detail {

// Throws std::invalid_argument for an empty support, a mask of another size,
// an empty mask or a count outside 1..64.
void validateRequest(const GenerationRequest &request);

// A parameter value for Variant::parameters: `precision` significant digits.
std::string formatNumber(double value, int precision);

} // namespace diffss::detail
