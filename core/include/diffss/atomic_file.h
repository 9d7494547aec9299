#pragma once

#include <cstddef>
#include <string>

namespace diffss {

// The temporary file is `.<file name>.XXXXXX` beside the target, or
// `.diffss-tmp.XXXXXX` when that would pass the 255-byte name limit.
inline constexpr const char *kShortTemporaryName = "diffss-tmp";

// Writes the bytes to a temporary file in the target's folder, flushes it to
// disk, then renames it over the target. Readers see either the old file or
// the complete new one, never a half-written file; on failure the target is
// untouched and the temporary file removed. Throws IoError (WriteFailed)
// naming the path and the system's reason (e.g. "No space left on device").
void writeFileAtomically(const std::string &path, const void *data, std::size_t size);

} // namespace diffss
