// Decode and mask-load throughput. Runs on ../shared/data/dev-fss when it is
// there, else on the built-in demo data written to a temporary folder.
//   bench_io [--data DIR] [--repeat N]
// Prints per-file medians and totals; figures go to docs/BENCHMARKS.md.
// The baseline column is OpenCV's bare cv::imdecode of the same bytes already
// in memory: the ratio is what our file reading, header checks, orientation
// and RGB conversion cost on top.

#include "diffss/demo_data.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"
#include "diffss/runtime.h"

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

template<typename F>
double medianMs(int repeat, F &&f)
{
    std::vector<double> ms;
    for (int i = 0; i < repeat; ++i) {
        const auto t0 = Clock::now();
        f();
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

} // namespace

int main(int argc, char **argv)
{
    std::string data = fs::path(DIFFSS_SOURCE_DIR).parent_path() / "shared/data/dev-fss";
    int repeat = 7;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--data")) data = argv[i + 1];
        else if (!std::strcmp(argv[i], "--repeat")) repeat = std::max(1, std::atoi(argv[i + 1]));
    }
    fs::path tmp;
    if (!fs::is_directory(data)) {
        tmp = fs::temp_directory_path() / "diffss-bench-io";
        diffss::writeDemoDataset(tmp.string(), 4, 1, 1024, 768);
        data = tmp.string();
    }

    std::vector<fs::path> images;
    for (const auto &entry : fs::recursive_directory_iterator(data))
        if (entry.path().extension() == ".jpg" && fs::exists(fs::path(entry.path()).replace_extension(".png")))
            images.push_back(entry.path());
    std::sort(images.begin(), images.end());

    std::printf("data: %s, %zu image/mask pairs, median of %d runs\n", data.c_str(), images.size(), repeat);
    std::printf("%-28s %11s %9s %9s %9s %8s\n", "file", "size", "load ms", "cv ms", "mask ms", "MP/s");
    double totalDecode = 0, totalBaseline = 0, totalMask = 0, totalMp = 0;
    for (const auto &image : images) {
        const fs::path mask = fs::path(image).replace_extension(".png");
        diffss::LoadedImage loaded;
        const double decode = medianMs(repeat, [&] { loaded = diffss::loadImage(image.string()); });
        std::ifstream in(image, std::ios::binary);
        const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), {});
        const double baseline = medianMs(repeat, [&] { cv::imdecode(bytes, cv::IMREAD_COLOR); });
        const double maskMs = medianMs(repeat, [&] {
            diffss::loadMaskFor(mask.string(), loaded.image.width(), loaded.image.height());
        });
        const double mp = loaded.image.width() * double(loaded.image.height()) / 1e6;
        totalDecode += decode;
        totalBaseline += baseline;
        totalMask += maskMs;
        totalMp += mp;
        const std::string name = image.parent_path().filename().string() + "/" + image.filename().string();
        std::printf("%-28s %5dx%-5d %9.2f %9.2f %9.2f %8.1f\n", name.c_str(), loaded.image.width(), loaded.image.height(), decode,
                    baseline, maskMs, mp / (decode / 1000.0));
    }
    std::printf("total: %.1f megapixels; load %.1f ms (%.1f MP/s), %.2f x bare cv::imdecode; masks %.1f ms (%.1f MP/s); "
                "image+mask pairs %.1f per second\n",
                totalMp, totalDecode, totalMp / (totalDecode / 1000.0), totalDecode / totalBaseline, totalMask,
                totalMp / (totalMask / 1000.0), images.size() / ((totalDecode + totalMask) / 1000.0));
    if (!tmp.empty())
        fs::remove_all(tmp);
    return 0;
}
