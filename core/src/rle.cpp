// COCO run-length encoding (see rle.h for the definition).

#include "diffss/rle.h"

#include <stdexcept>

namespace diffss {

std::vector<std::uint32_t> rleCounts(const Mask &mask)
{
    std::vector<std::uint32_t> counts;
    const int w = mask.width(), h = mask.height();
    bool current = false; // runs start with background
    std::uint32_t run = 0;
    for (int x = 0; x < w; ++x)
        for (int y = 0; y < h; ++y) {
            const bool on = mask.at(x, y);
            if (on != current) {
                counts.push_back(run);
                run = 0;
                current = on;
            }
            ++run;
        }
    counts.push_back(run);
    return counts;
}

std::vector<std::vector<std::uint32_t>> rleCountsPerLabel(const std::int32_t *labels, int width, int height, int components)
{
    // One column-major pass: each label remembers where its last run ended.
    std::vector<std::vector<std::uint32_t>> counts(static_cast<std::size_t>(components));
    std::vector<std::uint64_t> end(static_cast<std::size_t>(components), 0);
    std::int32_t current = 0;
    std::uint64_t start = 0, index = 0;
    auto close = [&](std::int32_t label, std::uint64_t stop) {
        if (label <= 0)
            return;
        const std::size_t k = static_cast<std::size_t>(label - 1);
        counts[k].push_back(static_cast<std::uint32_t>(start - end[k]));
        counts[k].push_back(static_cast<std::uint32_t>(stop - start));
        end[k] = stop;
    };
    for (int x = 0; x < width; ++x)
        for (int y = 0; y < height; ++y, ++index) {
            const std::int32_t label = labels[static_cast<std::size_t>(y) * width + x];
            if (label != current) {
                close(current, index);
                current = label;
                start = index;
            }
        }
    close(current, index);
    const std::uint64_t total = static_cast<std::uint64_t>(width) * height;
    for (std::size_t k = 0; k < counts.size(); ++k)
        counts[k].push_back(static_cast<std::uint32_t>(total - end[k]));
    return counts;
}

std::string rleCompress(const std::vector<std::uint32_t> &counts)
{
    std::string text;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        std::int64_t value = counts[i];
        if (i > 2)
            value -= counts[i - 2];
        for (bool more = true; more;) {
            int group = static_cast<int>(value & 0x1f);
            value >>= 5; // arithmetic: a negative value keeps its sign bits
            more = (group & 0x10) ? value != -1 : value != 0;
            if (more)
                group |= 0x20;
            text.push_back(static_cast<char>(48 + group));
        }
    }
    return text;
}

std::vector<std::uint32_t> rleDecompress(const std::string &text)
{
    std::vector<std::uint32_t> counts;
    std::size_t p = 0;
    while (p < text.size()) {
        std::int64_t value = 0;
        int shift = 0;
        for (bool more = true; more; ++p, shift += 5) {
            if (p >= text.size())
                throw std::invalid_argument("the RLE string ends inside a value");
            const int c = static_cast<unsigned char>(text[p]) - 48;
            if (c < 0 || c > 63)
                throw std::invalid_argument("the RLE string holds a character outside its alphabet ('" + std::string(1, text[p]) + "')");
            if (shift > 40)
                throw std::invalid_argument("an RLE value is too large");
            value |= static_cast<std::int64_t>(c & 0x1f) << shift;
            more = (c & 0x20) != 0;
            if (!more && (c & 0x10))
                value |= -(static_cast<std::int64_t>(1) << (shift + 5)); // sign extension
        }
        if (counts.size() > 2)
            value += counts[counts.size() - 2];
        if (value < 0 || value > 0xffffffffLL)
            throw std::invalid_argument("an RLE count is out of range (" + std::to_string(value) + ")");
        counts.push_back(static_cast<std::uint32_t>(value));
    }
    return counts;
}

Mask rleDecode(const std::vector<std::uint32_t> &counts, int width, int height)
{
    const std::uint64_t total = static_cast<std::uint64_t>(width) * height;
    std::uint64_t sum = 0;
    for (std::uint32_t c : counts)
        sum += c;
    if (sum != total)
        throw std::invalid_argument("the RLE counts cover " + std::to_string(sum) + " pixels, the size " + std::to_string(width) + " x " +
                                    std::to_string(height) + " has " + std::to_string(total));
    Mask mask(width, height);
    std::uint64_t index = 0;
    bool on = false;
    for (std::uint32_t c : counts) {
        if (on)
            for (std::uint64_t i = index; i < index + c; ++i)
                mask.set(static_cast<int>(i / height), static_cast<int>(i % height), true);
        index += c;
        on = !on;
    }
    return mask;
}

} // namespace diffss
