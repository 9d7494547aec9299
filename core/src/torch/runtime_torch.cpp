#include "diffss/runtime.h"
#include "activation_cache.h"

#include <torch/cuda.h>
#include <torch/version.h>

#include <ATen/Context.h>
#include <ATen/Parallel.h>

namespace diffss::detail {

// The torch side of runtime.cpp, kept here so only this file pays for torch headers.
std::string torchVersion() { return TORCH_VERSION; }

// True when the CUDA part of LibTorch is loaded (the official CUDA builds),
// whether or not a GPU is present.
bool cudaBuilt() { return at::hasCUDA(); }

int cudaDeviceCount() { return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0; }

void setTorchThreads(int threads)
{
    ActivationCache::install();   // before any network runs (see activation_cache.h)
    at::set_num_threads(threads);
}

int torchThreads() { return at::get_num_threads(); }

} // namespace diffss::detail
