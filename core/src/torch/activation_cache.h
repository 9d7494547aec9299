#pragma once
// Reuse of LibTorch's CPU memory while a network runs. Private to diffss_core.
//
// A diffusion step allocates and frees the same few hundred activation
// tensors (megabytes to hundreds of megabytes each) every time. Through the
// system allocator each of them is fresh memory: mapped, faulted in page by
// page and zeroed by the kernel, then returned. On the 2-core development VM
// that cost 7-10 CPU-seconds of kernel time per guided step. While an
// ActivationCache lives, CPU tensors of at least 64 KB that LibTorch frees are
// kept, by size, for the next allocation of that size; blocks of 2 MB and
// more are also backed by transparent huge pages where the system allows it
// (one fault per 2 MB instead of 512). When the last ActivationCache ends the
// kept blocks are returned to the system.

#include <cstddef>
#include <cstdint>

namespace diffss {

class ActivationCache {
public:
    ActivationCache();
    ~ActivationCache();
    ActivationCache(const ActivationCache &) = delete;
    ActivationCache &operator=(const ActivationCache &) = delete;

    // Makes LibTorch's CPU tensors go through the caching allocator from
    // now on (without an ActivationCache alive it keeps nothing). Called at
    // start-up (setComputeThreads) so that oneDNN, which frees buffers
    // through whichever allocator is installed at that moment, never sees
    // the allocator change under a running operation; the first
    // ActivationCache calls it too. Idempotent.
    static void install();

    struct Stats {
        std::int64_t reused = 0;      // allocations served from kept blocks
        std::int64_t fresh = 0;       // allocations of at least 64 KB from the system
        std::size_t keptBytes = 0;    // bytes kept now
    };
    static Stats stats();
};

} // namespace diffss
