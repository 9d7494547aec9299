#pragma once

// Private: reading a JSON file with every problem named, for the readers of
// core's own files (results folders, support-set files).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace diffss::detail {

// Parses the file at `path`. Throws IoError naming it: Unreadable when it is
// missing, not a regular file or cannot be opened or read; TooLarge when it
// holds more than `maxBytes`; Corrupt when it is not valid JSON (with the
// parser's message).
nlohmann::json readJsonFile(const std::string &path, std::uintmax_t maxBytes);

} // namespace diffss::detail
