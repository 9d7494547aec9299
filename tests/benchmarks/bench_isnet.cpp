// ISNet forward on the published weights: the native LibTorch network
// against OpenCV DNN on the fp32 copy of the same ONNX file, same input,
// same thread count, alternating runs; medians and their ratio. At 1024 x
// 1024 OpenCV runs the published graph; at other sizes (the published graph
// fixes its resize sizes for 1024) the graph the project writes for that size.
//   bench_isnet [--model FILE] [--sizes 512,1024] [--runs 5] [--threads 2] [--native-only]
// The model defaults to the models folder (diffss models fetch isnet).

#include "diffss/diffusion.h"
#include "diffss/isnet.h"
#include "diffss/models.h"
#include "diffss/onnx.h"
#include "diffss/runtime.h"

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double peakMiB()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024.0;
}

std::string cpuName()
{
    FILE *f = std::fopen("/proc/cpuinfo", "r");
    if (!f)
        return "unknown CPU";
    char line[512];
    std::string name = "unknown CPU";
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, "model name", 10) == 0) {
            const char *colon = std::strchr(line, ':');
            name = colon ? colon + 2 : line;
            while (!name.empty() && (name.back() == '\n' || name.back() == ' '))
                name.pop_back();
            break;
        }
    std::fclose(f);
    return name;
}

} // namespace

int main(int argc, char **argv)
{
    std::string model = (std::filesystem::path(diffss::defaultModelsFolder()) / diffss::modelInfo("isnet").file).string();
    std::vector<int> sizes{512, 1024};
    int runs = 5, threads = 2;
    bool nativeOnly = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "bench_isnet: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--model")
            model = value();
        else if (a == "--runs")
            runs = std::stoi(value());
        else if (a == "--threads")
            threads = std::stoi(value());
        else if (a == "--native-only")
            nativeOnly = true;
        else if (a == "--sizes") {
            sizes.clear();
            std::stringstream list(value());
            for (std::string s; std::getline(list, s, ',');)
                sizes.push_back(std::stoi(s));
        } else {
            std::fprintf(stderr, "usage: bench_isnet [--model FILE] [--sizes 512,1024] [--runs 5] [--threads 2] [--native-only]\n");
            return 2;
        }
    }
    if (!std::filesystem::exists(model)) {
        std::fprintf(stderr, "bench_isnet: %s not found (diffss models fetch isnet)\n", model.c_str());
        return 1;
    }
    diffss::setComputeThreads(threads);
    cv::setNumThreads(threads);
    const auto info = diffss::runtimeInfo();
    const std::time_t now = std::time(nullptr);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
    std::printf("ISNet forward, %s, %d threads (%d cores), LibTorch %s, OpenCV %s, BLAS %s, %s\n", cpuName().c_str(), threads,
                info.hardwareThreads, info.torchVersion.c_str(), info.opencvVersion.c_str(),
                info.blasLibrary.empty() ? "?" : info.blasLibrary.c_str(), date);

    const auto net = diffss::IsNet::load(model);
    if (nativeOnly) {
        for (int size : sizes) {
            const std::vector<float> input(static_cast<std::size_t>(3) * size * size, 0.1f);
            std::vector<double> native;
            for (int r = -1; r < runs; ++r) {
                const auto t0 = Clock::now();
                net->forward(input, size, size);
                if (r >= 0)
                    native.push_back(seconds(t0, Clock::now()));
            }
            std::printf("native %d x %d: %.2f s (median of %d)\n", size, size, median(native), runs);
        }
        std::printf("peak resident memory of the process (native network only): %.0f MiB\n", peakMiB());
        return 0;
    }
    const diffss::OnnxModel fp32 = diffss::withFloat32Weights(diffss::readOnnx(model));
    std::printf("| size | native (s) | OpenCV DNN (s) | OpenCV / native | max abs diff | OpenCV graph |\n|---|---|---|---|---|---|\n");
    for (int size : sizes) {
        // The published graph has its resize sizes fixed for 1024 x 1024; at
        // other sizes OpenCV runs the same weights in the graph the project
        // writes for that size (IsNet::saveOnnx).
        std::vector<std::uint8_t> bytes;
        if (size == 1024) {
            bytes = diffss::serializeOnnx(fp32);
        } else {
            const auto path = std::filesystem::temp_directory_path() / ("bench_isnet_" + std::to_string(size) + ".onnx");
            net->saveOnnx(path.string(), size, false);
            bytes = diffss::serializeOnnx(diffss::readOnnx(path.string()));
            std::filesystem::remove(path);
        }
        cv::dnn::Net reference = cv::dnn::readNetFromONNX(reinterpret_cast<const char *>(bytes.data()), bytes.size());
        std::mt19937 rng(size);
        std::uniform_real_distribution<float> u(-0.5f, 0.5f);
        std::vector<float> input(static_cast<std::size_t>(3) * size * size);
        for (auto &x : input)
            x = u(rng);
        const int dims[4] = {1, 3, size, size};
        const cv::Mat blob(4, dims, CV_32F, input.data());
        std::vector<double> native, opencv;
        double diff = 0;
        for (int r = -1; r < runs; ++r) {   // r = -1: warm-up
            auto t0 = Clock::now();
            const auto out = net->forward(input, size, size);
            const double n = seconds(t0, Clock::now());
            reference.setInput(blob, "input");
            t0 = Clock::now();
            const cv::Mat theirs = reference.forward("output");
            const double c = seconds(t0, Clock::now());
            if (r < 0) {
                for (std::size_t i = 0; i < out.sides[0].values.size(); ++i)
                    diff = std::max(diff, double(std::abs(out.sides[0].values[i] - theirs.ptr<float>()[i])));
                continue;
            }
            native.push_back(n);
            opencv.push_back(c);
        }
        std::printf("| %d | %.2f | %.2f | %.2f | %.1e | %s |\n", size, median(native), median(opencv), median(opencv) / median(native), diff,
                    size == 1024 ? "published (fp32 copy)" : "written for this size");
        std::fflush(stdout);
    }
    std::printf("peak resident memory of the process (both runtimes loaded): %.0f MiB\n", peakMiB());
    return 0;
}
