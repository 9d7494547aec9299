#pragma once

// Run-length encoding of masks as the COCO data set format defines it.
//
// A mask of height h and width w is read in column-major order (down the
// first column, then the second, ...). The runs alternate background,
// foreground, background, ..., starting with background (a mask whose first
// pixel is foreground starts with a run of length 0). The counts add up to
// h * w.
//
// The compressed form is a printable string. Each count is replaced, from the
// fourth count on, by its difference from the count two places before it;
// then every value is written as groups of 5 bits, least significant first,
// each group as the character 48 + group, with 32 added while more groups
// follow. The last group's bit 4 carries the sign (the value is read back
// with that bit extended). A value takes as many groups as needed for the
// remaining bits to be all zeros (bit 4 clear) or all ones (bit 4 set).

#include "diffss/image.h"

#include <cstdint>
#include <string>
#include <vector>

namespace diffss {

// The counts of `mask` as defined above.
std::vector<std::uint32_t> rleCounts(const Mask &mask);

// The counts of every component of a label image at once: `labels` is a
// width x height row-major array of 0 (background) and 1..components; entry
// k - 1 of the result holds the counts of the pixels labelled k.
std::vector<std::vector<std::uint32_t>> rleCountsPerLabel(const std::int32_t *labels, int width, int height, int components);

// The compressed string of a count list.
std::string rleCompress(const std::vector<std::uint32_t> &counts);

// The inverse of rleCompress. Throws std::invalid_argument on a character
// outside the alphabet, a value that is negative or overflows, or a string
// that ends inside a value.
std::vector<std::uint32_t> rleDecompress(const std::string &text);

// The mask of width x height the counts describe. Throws std::invalid_argument
// when the counts do not add up to width * height.
Mask rleDecode(const std::vector<std::uint32_t> &counts, int width, int height);

} // namespace diffss
