// The runtime functions the diffusion pipeline and its benchmark use, on
// LibTorch alone (the full core's runtime.cpp also drives OpenCV).
#include "diffss/runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <stdexcept>
#include <thread>

namespace diffss {

const char *toString(Device device) { return device == Device::Cuda ? "cuda" : device == Device::Cpu ? "cpu" : "auto"; }

std::optional<Device> parseDevice(std::string_view text)
{
    if (text == "auto") return Device::Auto;
    if (text == "cpu") return Device::Cpu;
    if (text == "cuda") return Device::Cuda;
    return std::nullopt;
}

Device resolveDevice(Device requested)
{
    const bool cuda = at::hasCUDA();
    if (requested == Device::Cuda && !cuda)
        throw std::runtime_error("CUDA was asked for, but this LibTorch sees no GPU");
    return requested == Device::Auto ? (cuda ? Device::Cuda : Device::Cpu) : requested;
}

int hardwareThreads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

int setComputeThreads(int threads)
{
    at::set_num_threads(threads > 0 ? threads : hardwareThreads());
    return at::get_num_threads();
}

int computeThreads() { return at::get_num_threads(); }

} // namespace diffss
