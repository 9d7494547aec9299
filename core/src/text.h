#pragma once

// Private: small text helpers shared by core's sources.

#include <cctype>
#include <string>

namespace diffss::detail {

// `s` in lower case (ASCII letters only): names compared without regard to
// case, as case-insensitive disks compare them.
inline std::string lowered(std::string s)
{
    for (char &c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

} // namespace diffss::detail
