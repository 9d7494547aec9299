#include "diffss/runtime.h"

#include <opencv2/core/utility.hpp>

#include "diffss/version.h"

#include <opencv2/core/version.hpp>

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace diffss {

namespace detail {
std::string torchVersion();
bool cudaBuilt();
int cudaDeviceCount();
void setTorchThreads(int threads);
int torchThreads();
} // namespace detail

const char *toString(Device device)
{
    switch (device) {
    case Device::Auto: return "auto";
    case Device::Cpu: return "cpu";
    case Device::Cuda: return "cuda";
    }
    return "unknown";
}

std::optional<Device> parseDevice(std::string_view text)
{
    if (text == "auto") return Device::Auto;
    if (text == "cpu") return Device::Cpu;
    if (text == "cuda" || text == "gpu") return Device::Cuda;
    return std::nullopt;
}

Device resolveDevice(Device requested)
{
    const int gpus = detail::cudaDeviceCount();
    if (requested == Device::Auto)
        return gpus > 0 ? Device::Cuda : Device::Cpu;
    if (requested == Device::Cuda && gpus == 0) {
        if (!detail::cudaBuilt())
            throw std::runtime_error("CUDA was requested, but this build's LibTorch has no CUDA support "
                                     "(build against a CUDA LibTorch, see README: Using a GPU)");
        throw std::runtime_error("CUDA was requested, but LibTorch sees no GPU on this machine (check the driver)");
    }
    return requested;
}

int hardwareThreads() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

int setComputeThreads(int threads)
{
    const int count = threads > 0 ? std::min(threads, hardwareThreads()) : hardwareThreads();
    detail::setTorchThreads(count);
    cv::setNumThreads(count); // the built-in segmenter's OpenCV kernels
    return count;
}

int computeThreads() { return detail::torchThreads(); }

namespace {

// The BLAS a process really uses depends on Debian's alternatives; read it
// off the libraries mapped into this process.
std::string loadedBlas()
{
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        const auto slash = line.find('/');
        if (slash == std::string::npos)
            continue;
        const std::string path = line.substr(slash);
        const std::string name = path.substr(path.find_last_of('/') + 1);
        if (name.find("blas") != std::string::npos || name.find("mkl_core") != std::string::npos)
            return path;
    }
    return {};
}

} // namespace

RuntimeInfo runtimeInfo()
{
    RuntimeInfo info;
    info.version = DIFFSS_VERSION;
    info.buildType = DIFFSS_BUILD_TYPE;
    info.compiler = DIFFSS_COMPILER;
    info.torchVersion = detail::torchVersion();
    info.opencvVersion = CV_VERSION;
    info.blasLibrary = loadedBlas();
    info.hardwareThreads = hardwareThreads();
    info.computeThreads = computeThreads();
    info.cudaBuilt = detail::cudaBuilt();
    info.cudaDevices = detail::cudaDeviceCount();
    return info;
}

} // namespace diffss
