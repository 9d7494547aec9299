#pragma once
// Shared by the generators.

#include "diffss/generator.h"

namespace diffss::detail {

// Throws std::invalid_argument for an empty support, a mask of another size,
// an empty mask or a count outside 1..64.
void validateRequest(const GenerationRequest &request);

} // namespace diffss::detail
