#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace diffss {

// Where tensors run. Auto picks CUDA when LibTorch sees a GPU, else the CPU.
enum class Device { Auto, Cpu, Cuda };

const char *toString(Device device);
std::optional<Device> parseDevice(std::string_view text);   // "auto", "cpu", "cuda"

// Auto -> Cpu or Cuda. Throws std::runtime_error when CUDA is asked for and
// this build or machine has none, saying which.
Device resolveDevice(Device requested);

// LibTorch's intra-op threads (Debian's build starts with one) and OpenCV's
// worker threads. 0 = one per core. Call from the main thread before starting work; returns the count set.
int setComputeThreads(int threads);
int computeThreads();
int hardwareThreads();

struct RuntimeInfo {
    std::string version;          // this program
    std::string buildType;
    std::string compiler;
    std::string torchVersion;
    std::string opencvVersion;
    std::string blasLibrary;      // the BLAS library loaded in this process, if any
    int hardwareThreads = 0;
    int computeThreads = 0;
    bool cudaBuilt = false;       // LibTorch was built with CUDA
    int cudaDevices = 0;          // GPUs it can use now
};

RuntimeInfo runtimeInfo();

} // namespace diffss
