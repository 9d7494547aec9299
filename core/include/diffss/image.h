#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace diffss {

// An 8-bit image with interleaved channels: 1 (gray) or 3 (RGB, in that
// order). Rows are contiguous, stride == width * channels. A plain value type:
// copies are deep, moves are cheap. Not synchronised; share it between threads
// only as const.
class Image {
public:
    Image() = default;
    Image(int width, int height, int channels, std::uint8_t fill = 0);

    int width() const { return width_; }
    int height() const { return height_; }
    int channels() const { return channels_; }
    bool isNull() const { return pixels_.empty(); }
    std::size_t stride() const { return static_cast<std::size_t>(width_) * channels_; }
    std::size_t byteCount() const { return pixels_.size(); }

    std::uint8_t *data() { return pixels_.data(); }
    const std::uint8_t *data() const { return pixels_.data(); }
    std::uint8_t *row(int y) { return pixels_.data() + y * stride(); }
    const std::uint8_t *row(int y) const { return pixels_.data() + y * stride(); }

    bool operator==(const Image &other) const
    {
        return width_ == other.width_ && height_ == other.height_ && channels_ == other.channels_
            && pixels_ == other.pixels_;
    }
    bool operator!=(const Image &other) const { return !(*this == other); }

private:
    int width_ = 0;
    int height_ = 0;
    int channels_ = 0;
    std::vector<std::uint8_t> pixels_;
};

// A binary mask: one byte per pixel, each byte 0 (background) or 255
// (foreground). Every function that hands out a Mask keeps that invariant;
// code that writes through data() must keep it too.
class Mask {
public:
    static constexpr std::uint8_t kOn = 255;

    Mask() = default;
    Mask(int width, int height, bool value = false);

    int width() const { return width_; }
    int height() const { return height_; }
    bool isNull() const { return pixels_.empty(); }
    std::size_t pixelCount() const { return pixels_.size(); }

    bool at(int x, int y) const { return pixels_[index(x, y)] != 0; }
    void set(int x, int y, bool on) { pixels_[index(x, y)] = on ? kOn : 0; }

    std::uint8_t *data() { return pixels_.data(); }
    const std::uint8_t *data() const { return pixels_.data(); }
    std::uint8_t *row(int y) { return pixels_.data() + index(0, y); }
    const std::uint8_t *row(int y) const { return pixels_.data() + index(0, y); }

    // Number of foreground pixels.
    std::size_t count() const;
    double foregroundFraction() const;

    bool operator==(const Mask &other) const
    {
        return width_ == other.width_ && height_ == other.height_ && pixels_ == other.pixels_;
    }
    bool operator!=(const Mask &other) const { return !(*this == other); }

private:
    std::size_t index(int x, int y) const
    {
        return static_cast<std::size_t>(y) * static_cast<std::size_t>(width_) + static_cast<std::size_t>(x);
    }

    int width_ = 0;
    int height_ = 0;
    std::vector<std::uint8_t> pixels_;
};

// Per-channel histograms of an image: one array of 256 counts per channel.
std::vector<std::array<std::uint32_t, 256>> channelHistograms(const Image &image);

} // namespace diffss
