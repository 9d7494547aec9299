#pragma once
// The sampling arithmetic the pipeline runs, as functions of tensors, so that
// tests drive exactly the production code (against the reference sampler in
// tests/parity). Private to diffss_core.

#include "sd/sd_nets.h"

#include <ATen/ATen.h>

#include <functional>
#include <vector>

namespace diffss::sd {

// Classifier-free guidance with the control in both passes: ControlNet and
// UNet run once on the batch [x, x] with context [unconditional, prompt] and
// hint [map, map]; returns u + guidance * (c - u) in fp32. `type` is the
// compute type of the networks.
at::Tensor guidedNoise(const UNet &unet, const ControlNet &control, const at::Tensor &x, double t, const at::Tensor &context,
                       const at::Tensor &hint, double guidance, double controlStrength, at::ScalarType type);

// One DDIM step from x at alphā `alpha` to alphā `alphaPrev` given the
// predicted noise: x0 = (x - sqrt(1-a) eps) / sqrt(a), sigma = eta
// sqrt((1-a')/(1-a)) sqrt(1 - a/a'), x' = sqrt(a') x0 + sqrt(1-a'-sigma^2) eps
// + sigma z. `noise` is called for z only when sigma > 0.
at::Tensor ddimStep(const at::Tensor &x, const at::Tensor &eps, double alpha, double alphaPrev, double eta,
                    const std::function<at::Tensor()> &noise);

// DDIM over the descending timesteps ts[first..] starting from x;
// predict(x, t) gives the (guided) noise; stepDone(k, x) after the k-th
// step with the latent it made.
at::Tensor ddimSample(at::Tensor x, const std::vector<int> &ts, std::size_t first, double eta,
                      const std::function<at::Tensor(const at::Tensor &, double)> &predict,
                      const std::function<at::Tensor()> &noise,
                      const std::function<void(int, const at::Tensor &)> &stepDone = {});

} // namespace diffss::sd
