#include "activation_cache.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

#include <sys/mman.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

namespace diffss {

namespace {

constexpr std::size_t kHeader = 64;                      // holds the block's size; keeps LibTorch's 64-byte alignment
constexpr std::size_t kSmallest = 64 << 10;              // smaller blocks are never kept
constexpr std::size_t kHugePage = 2 << 20;
constexpr std::size_t kMaxKept = std::size_t(6) << 30;   // never keep more than this for reuse

// Blocks that may be kept are rounded up so that tensors of nearly the same
// size share them: to 64 KB below 2 MB, to whole huge pages from there.
std::size_t blockSize(std::size_t bytes)
{
    const std::size_t total = bytes + kHeader;
    const std::size_t unit = total >= kHugePage ? kHugePage : total >= kSmallest ? kSmallest : kHeader;
    return (total + unit - 1) / unit * unit;
}

struct Pool {
    std::mutex mutex;
    int users = 0;
    std::map<std::size_t, std::vector<void *>> kept;   // by block size
    std::size_t keptBytes = 0;
    std::int64_t reused = 0, fresh = 0;

    // Never destroyed: tensors freed during the program's exit still find it.
    static Pool &instance()
    {
        static Pool *const pool = new Pool;
        return *pool;
    }

    // Frees every kept block (outside the lock).
    void releaseKept(std::unique_lock<std::mutex> &lock)
    {
        auto blocks = std::move(kept);
        kept.clear();
        keptBytes = 0;
        lock.unlock();
        for (auto &[size, list] : blocks)
            for (void *b : list)
                std::free(b);
        lock.lock();
    }
};

void *systemBlock(std::size_t size)
{
    const bool huge = size >= kHugePage;
    void *b = std::aligned_alloc(huge ? kHugePage : kHeader, size);
    if (b && huge)
        (void)madvise(b, size, MADV_HUGEPAGE);   // a hint: refused where huge pages are off
    if (b)
        *static_cast<std::size_t *>(b) = size;   // the header: a reused block keeps its own size
    return b;
}

void giveBack(void *data)
{
    if (!data)
        return;
    void *block = static_cast<char *>(data) - kHeader;
    const std::size_t size = *static_cast<std::size_t *>(block);
    Pool &pool = Pool::instance();
    if (size >= kSmallest) {
        std::lock_guard lock(pool.mutex);
        if (pool.users > 0 && pool.keptBytes + size <= kMaxKept) {
            pool.kept[size].push_back(block);
            pool.keptBytes += size;
            return;
        }
    }
    std::free(block);
}

// Every block carries its size in a header in front of the data (a kept
// block may serve a tensor up to half its size), and the
// data pointer is the context (oneDNN allocates through raw_allocate, which
// needs that); small blocks are never kept.
class CachingCpuAllocator final : public c10::Allocator {
public:
    c10::DataPtr allocate(std::size_t bytes) const override
    {
        const std::size_t size = blockSize(bytes);
        Pool &pool = Pool::instance();
        void *block = nullptr;
        if (size >= kSmallest) {
            std::unique_lock lock(pool.mutex);
            // The smallest kept block that holds it, if it is at most twice its size.
            auto it = pool.kept.lower_bound(size);
            if (it != pool.kept.end() && it->first <= 2 * size) {
                block = it->second.back();
                it->second.pop_back();
                pool.keptBytes -= it->first;
                if (it->second.empty())
                    pool.kept.erase(it);
                ++pool.reused;
            } else {
                ++pool.fresh;
                if (!(block = systemBlock(size))) {
                    pool.releaseKept(lock);   // memory is short: give back what is kept and try once more
                    block = systemBlock(size);
                }
            }
        } else {
            block = systemBlock(size);
        }
        TORCH_CHECK(block, "not enough memory: tried to allocate ", bytes, " bytes");
        void *data = static_cast<char *>(block) + kHeader;
        return {data, data, &giveBack, c10::Device(c10::DeviceType::CPU)};
    }
    c10::DeleterFnPtr raw_deleter() const override { return &giveBack; }
};

CachingCpuAllocator &allocatorInstance()
{
    static CachingCpuAllocator *const allocator = new CachingCpuAllocator;   // installed for the whole process, like Pool
    return *allocator;
}

} // namespace

void ActivationCache::install()
{
    // Installed once for the process; outside an ActivationCache it behaves
    // like LibTorch's own (a block freed with no cache alive goes back at once).
    static std::once_flag installed;
    std::call_once(installed, [] { c10::SetCPUAllocator(&allocatorInstance()); });
}

ActivationCache::ActivationCache()
{
    install();
    Pool &pool = Pool::instance();
    std::lock_guard lock(pool.mutex);
    ++pool.users;
}

ActivationCache::~ActivationCache()
{
    Pool &pool = Pool::instance();
    std::unique_lock lock(pool.mutex);
    if (--pool.users == 0)
        pool.releaseKept(lock);
}

ActivationCache::Stats ActivationCache::stats()
{
    Pool &pool = Pool::instance();
    std::lock_guard lock(pool.mutex);
    return {pool.reused, pool.fresh, pool.keptBytes};
}

} // namespace diffss
