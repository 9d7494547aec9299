// Seconds per guided sampling step (ControlNet + UNet, conditional and
// unconditional pass in one batch) and per VAE decode, for the full SD 1.5 +
// ControlNet configuration with random weights, against the floor set by
// this machine's large-matrix-product speed. On the CPU the matrix-product
// rate is measured again between steps (outside the timed steps), and each
// step's ratio uses the mean of the rates just before and just after it, so
// that the ratio holds on a machine shared with other work.
//   bench_diffusion [--size 512] [--steps 2] [--runs 2] [--threads N] [--merges FILE] [--device cpu|cuda] [--half]
//                   [--profile TRACE.json] [--attention] [--linear]
// --attention times only the CPU attention of the UNet's 64 x 64 level
// (batch 2 x 8 heads, 4096 tokens, 40 channels per head) against the
// matrix-product rate measured beside it. --linear times the transformer
// blocks' linear-layer shapes through at::linear (the BLAS library) and as a
// 1 x 1 oneDNN convolution over a channels-last view (what sd::Linear uses
// from sd::kConvolutionRows rows on).
// --profile records the first run under LibTorch's profiler and writes its
// events as a Chrome trace (summarise with tests/benchmarks/profile_summary.py).
// The merges file defaults to ../shared/data/clip; any CLIP merges file works
// (the weights are random, the text does not matter).

#include "diffss/diffusion.h"
#include "diffss/runtime.h"
#include "activation_cache.h"
#include "sd/sd_layers.h"

#include <ATen/ATen.h>
#if __has_include(<torch/csrc/autograd/profiler_legacy.h>)
#include <torch/csrc/autograd/profiler_legacy.h>
#define DIFFSS_HAVE_RECORD_PROFILE 1
#endif

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// CPU seconds of the whole process (all threads): on a machine shared with
// other work a time slice lost to another process counts in wall time, not here.
double cpuSeconds()
{
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Of which in the kernel (page faults of fresh allocations, mostly).
double systemSeconds()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_stime.tv_usec);
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// fp32 GFLOP/s of a 2048 x 2048 matrix product (median of `repeats`); if
// cpuRate is given, also the GFLOP per CPU-second over those repeats.
double matmulGflops(int repeats = 7, double *cpuRate = nullptr)
{
    const std::int64_t n = 2048;
    const auto a = at::randn({n, n}), b = at::randn({n, n});
    at::mm(a, b);   // warm-up
    std::vector<double> rates;
    const double cpu0 = cpuSeconds();
    for (int i = 0; i < repeats; ++i) {
        const auto t0 = Clock::now();
        at::mm(a, b);
        rates.push_back(2.0 * n * n * n / seconds(t0, Clock::now()) / 1e9);
    }
    if (cpuRate)
        *cpuRate = repeats * 2.0 * n * n * n / (cpuSeconds() - cpu0) / 1e9;
    return median(rates);
}

// GFLOP/s of the 64 x 64 self-attention (median of `repeats`).
int benchAttention(int repeats)
{
    const diffss::ActivationCache reuse;   // as in the pipeline: no fresh pages for the output
    const auto q = at::randn({2, 4096, 320}), k = at::randn({2, 4096, 320}), v = at::randn({2, 4096, 320});
    const double flop = 2.0 * 2 * 2 * 8 * 4096.0 * 4096.0 * 40;   // two products per (batch, head)
    diffss::sd::attention(q, k, v, 8);   // warm-up
    std::vector<double> rates, ratios;
    for (int i = 0; i < repeats; ++i) {
        const double before = matmulGflops(3);
        const auto t0 = Clock::now();
        diffss::sd::attention(q, k, v, 8);
        rates.push_back(flop / seconds(t0, Clock::now()) / 1e9);
        ratios.push_back((before + matmulGflops(3)) / 2 / rates.back());
    }
    std::printf("attention 2 x 8 heads, 4096 x 4096 tokens, 40 channels: median %.0f GFLOP/s (%.0f-%.0f), matrix product %.2fx as fast\n",
                median(rates), *std::min_element(rates.begin(), rates.end()), *std::max_element(rates.begin(), rates.end()),
                median(ratios));
    return 0;
}

// GFLOP/s of each transformer linear shape, two ways, against the matrix product.
int benchLinear(int repeats)
{
    const diffss::ActivationCache reuse;
    struct Shape {
        std::int64_t rows, in, out;
    };
    auto time = [&](const std::function<void()> &f) {
        f();
        std::vector<double> t;
        for (int i = 0; i < repeats; ++i) {
            const auto t0 = Clock::now();
            f();
            t.push_back(seconds(t0, Clock::now()));
        }
        return median(t);
    };
    std::printf("matrix product (2048^2): %.0f GFLOP/s\n", matmulGflops());
    for (const Shape s : {Shape{8192, 320, 320}, Shape{8192, 320, 2560}, Shape{8192, 1280, 320}, Shape{8192, 320, 960},
                          Shape{2048, 640, 640}, Shape{2048, 640, 5120}, Shape{2048, 2560, 640}, Shape{512, 1280, 1280},
                          Shape{512, 1280, 10240}, Shape{512, 5120, 1280}}) {
        const auto x = at::randn({2, s.rows / 2, s.in}), w = at::randn({s.out, s.in}), b = at::randn({s.out});
        const double flop = 2.0 * s.rows * s.in * s.out;
        const double blas = time([&] { at::linear(x, w, b); });
        const double conv = time([&] {
            const auto cl = x.reshape({1, s.rows, 1, s.in}).permute({0, 3, 1, 2});
            at::conv2d(cl, w.view({s.out, s.in, 1, 1}), b).permute({0, 2, 3, 1}).reshape({2, s.rows / 2, s.out});
        });
        std::printf("  %5lld x %4lld -> %5lld: at::linear %4.0f GFLOP/s, 1x1 convolution %4.0f GFLOP/s\n", (long long)s.rows,
                    (long long)s.in, (long long)s.out, flop / blas / 1e9, flop / conv / 1e9);
    }
    std::printf("matrix product (2048^2): %.0f GFLOP/s\n", matmulGflops());
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    int size = 512, steps = 2, runs = 2, threads = 0;
    bool half = false, attentionOnly = false, linearOnly = false;
    std::string device = "cpu", profile;
    std::string merges = (fs::path(DIFFSS_SOURCE_DIR).parent_path() / "shared/data/clip/bpe_simple_vocab_16e6.txt.gz").string();
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : "";
        if (arg == "--size") size = std::atoi(value), ++i;
        else if (arg == "--steps") steps = std::atoi(value), ++i;
        else if (arg == "--runs") runs = std::max(1, std::atoi(value)), ++i;
        else if (arg == "--threads") threads = std::atoi(value), ++i;
        else if (arg == "--merges") merges = value, ++i;
        else if (arg == "--device") device = value, ++i;
        else if (arg == "--half") half = true;
        else if (arg == "--profile") profile = value, ++i;
        else if (arg == "--attention") attentionOnly = true;
        else if (arg == "--linear") linearOnly = true;
    }
    diffss::setComputeThreads(threads);
    std::printf("threads %d, size %dx%d, DDIM steps %d, runs %d, device %s%s\n", diffss::computeThreads(), size, size, steps, runs,
                device.c_str(), half ? " fp16" : "");
    if (attentionOnly)
        return benchAttention(std::max(runs, 5));
    if (linearOnly)
        return benchLinear(std::max(runs, 5));
    const double gflops = matmulGflops();
    std::printf("matrix product (2048^2 fp32): %.1f GFLOP/s\n", gflops);

    diffss::DiffusionOptions options;
    options.device = *diffss::parseDevice(device);
    options.half = half;
    const auto t0 = Clock::now();
    const auto pipeline = diffss::DiffusionPipeline::random(diffss::DiffusionConfig::sd15(), 1, merges, options);
    std::printf("random full-size weights: %.1f s (%s)\n", seconds(t0, Clock::now()), pipeline->deviceName().c_str());

    diffss::Image control(size, size, 3, 120);
    for (int y = size / 4; y < 3 * size / 4; ++y)
        for (int x = size / 4; x < 3 * size / 4; ++x)
            control.row(y)[3 * x] = 200;
    diffss::DiffusionParams p;
    p.prompt = "a real shot photo of cat, best quality, extremely detailed";
    p.negativePrompt = diffss::recipeNegativePrompt();
    p.steps = steps;

    // The floor: the FLOPs at the speed of a large matrix product.
    constexpr double stepFlop = 2.17e12, decodeFlop = 2.5e12;
    const bool cpu = device == "cpu";
    std::vector<double> stepSeconds, stepRatios, stepCpuRatios, textSeconds, decodeSeconds, decodeRatios, totalSeconds, rates;
    for (int r = 0; r < runs; ++r) {
        p.seed = static_cast<std::uint64_t>(r);
        std::vector<Clock::time_point> marks, resumes;
        std::vector<double> runRates, cpuRates, cpuMarks, cpuResumes, sysMarks, sysResumes;
#ifdef DIFFSS_HAVE_RECORD_PROFILE
        std::unique_ptr<torch::autograd::profiler::RecordProfile> recording;
        if (r == 0 && !profile.empty())
            recording = std::make_unique<torch::autograd::profiler::RecordProfile>(profile);
#else
        std::unique_ptr<int> recording;
        if (r == 0 && !profile.empty())
            std::fprintf(stderr, "--profile: this LibTorch has no legacy profiler; no trace written\n");
#endif
        const auto start = Clock::now();
        pipeline->generate(control, p, diffss::JobControl({}, [&](long long, long long, const std::string &) {
                               marks.push_back(Clock::now());
                               cpuMarks.push_back(cpuSeconds());
                               sysMarks.push_back(systemSeconds());
                               if (cpu)
                                   runRates.push_back(matmulGflops(3, &cpuRates.emplace_back()));
                               cpuResumes.push_back(cpuSeconds());
                               sysResumes.push_back(systemSeconds());
                               resumes.push_back(Clock::now());
                           }));
        const auto end = Clock::now();
        recording.reset();   // writes the trace
        if (cpu)
            runRates.push_back(matmulGflops(3, &cpuRates.emplace_back()));
        textSeconds.push_back(seconds(start, marks.front()));
        for (std::size_t i = 1; i < marks.size(); ++i) {
            stepSeconds.push_back(seconds(resumes[i - 1], marks[i]));
            std::printf("  run %d step %zu: %.2f s", r + 1, i, stepSeconds.back());
            if (cpu) {
                const double rate = (runRates[i - 1] + runRates[i]) / 2;
                stepRatios.push_back(stepSeconds.back() / (stepFlop / (rate * 1e9)));
                // The same in CPU time: the step's CPU-seconds against the
                // CPU-seconds the matrix product needs for the floor's FLOPs.
                const double cpuRate = (cpuRates[i - 1] + cpuRates[i]) / 2;
                stepCpuRatios.push_back((cpuMarks[i] - cpuResumes[i - 1]) / (stepFlop / (cpuRate * 1e9)));
                std::printf(", matrix product %.0f GFLOP/s, ratio to floor %.2f (CPU time: %.2f, of which %.1f s in the kernel)", rate,
                            stepRatios.back(), stepCpuRatios.back(), sysMarks[i] - sysResumes[i - 1]);
            }
            std::printf("\n");
        }
        decodeSeconds.push_back(seconds(resumes.back(), end));
        if (cpu) {
            const double rate = (runRates[runRates.size() - 2] + runRates.back()) / 2;
            decodeRatios.push_back(decodeSeconds.back() / (decodeFlop / (rate * 1e9)));
            rates.insert(rates.end(), runRates.begin(), runRates.end());
        }
        totalSeconds.push_back(seconds(start, end));
        std::printf("  run %d: text %.2f s, VAE decode %.2f s, total %.2f s (timing includes the matrix-product checks)\n", r + 1,
                    textSeconds.back(), decodeSeconds.back(), totalSeconds.back());
    }
    const double step = median(stepSeconds), decode = median(decodeSeconds);
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("guided step (ControlNet + UNet, 2 passes): median %.1f ms over %zu steps (%.2f it/s)\n", 1000 * step,
                stepSeconds.size(), 1 / step);
    std::printf("VAE decode %dx%d: median %.1f ms\n", size, size, 1000 * decode);
    if (cpu) {
        const double rate = median(rates);
        std::printf("matrix product during the run: median %.0f GFLOP/s (%.0f-%.0f)\n", rate, *std::min_element(rates.begin(), rates.end()),
                    *std::max_element(rates.begin(), rates.end()));
        std::printf("floor: step %.2f s (2.17 TFLOP), median ratio %.2f (CPU time: %.2f); decode %.2f s (2.5 TFLOP), median ratio %.2f\n",
                    stepFlop / (rate * 1e9), median(stepRatios), median(stepCpuRatios), decodeFlop / (rate * 1e9), median(decodeRatios));
    }
    std::printf("text encoder (2 prompts): median %.1f ms; whole generation median %.2f s; peak resident %.2f GB\n",
                1000 * median(textSeconds), median(totalSeconds), usage.ru_maxrss / 1048576.0);
    return 0;
}
