#pragma once
// Precompiled for every torch translation unit of diffss_core. Keep it to
// what most of them need: ATen and the TorchScript loader.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/script.h>
