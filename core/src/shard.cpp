// A task's share of a query folder, and its index from a scheduler's
// environment (see shard.h).

#include "diffss/shard.h"

#include "diffss/dataset.h"

#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>

namespace fs = std::filesystem;

namespace diffss {

namespace {

// A whole number of at most 9 digits, no sign, no spaces; nullopt otherwise.
std::optional<long long> wholeNumber(const std::string &text)
{
    if (text.empty() || text.size() > 9)
        return std::nullopt;
    long long v = 0;
    for (const char c : text) {
        if (c < '0' || c > '9')
            return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

// The variable as a whole number; throws naming it when it is not one.
std::optional<long long> variable(const Environment &env, const char *name)
{
    const char *value = env(name);
    if (!value)
        return std::nullopt;
    const auto v = wholeNumber(value);
    if (!v)
        throw std::invalid_argument(std::string(name) + "='" + value + "' is not a whole number");
    return v;
}

Shard checked(long long index, long long count, const std::string &from)
{
    if (count < 1 || count > kMaxShards)
        throw std::invalid_argument(from + ": the task count " + std::to_string(count) + " is not between 1 and " +
                                    std::to_string(kMaxShards));
    if (index < 0 || index >= count)
        throw std::invalid_argument(from + ": the task index " + std::to_string(index) + " is not below the count " +
                                    std::to_string(count) + " (indexes count from 0)");
    return Shard{static_cast<int>(index), static_cast<int>(count)};
}

Shard fromSlurm(const Environment &env)
{
    const long long id = *variable(env, "SLURM_ARRAY_TASK_ID");
    const auto min = variable(env, "SLURM_ARRAY_TASK_MIN");
    const auto max = variable(env, "SLURM_ARRAY_TASK_MAX");
    const auto taskCount = variable(env, "SLURM_ARRAY_TASK_COUNT");
    const long long step = variable(env, "SLURM_ARRAY_TASK_STEP").value_or(1);
    const std::string from = "Slurm array task " + std::to_string(id);
    if (!min || (!max && !taskCount))
        throw std::invalid_argument(from + ": SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_MIN with SLURM_ARRAY_TASK_MAX or "
                                           "SLURM_ARRAY_TASK_COUNT; give the share with --shard I/N instead");
    if (step < 1)
        throw std::invalid_argument(from + ": SLURM_ARRAY_TASK_STEP is 0");
    if (id < *min || (id - *min) % step != 0)
        throw std::invalid_argument(from + ": the id is not MIN + k * STEP (MIN " + std::to_string(*min) + ", STEP " +
                                    std::to_string(step) + ")");
    const long long index = (id - *min) / step;
    long long count = 0;
    if (max) {
        count = (*max - *min) / step + 1;
        if (taskCount && *taskCount != count)
            // --array=1,5,9 style: ids with gaps that no step describes.
            throw std::invalid_argument(from + ": the array has " + std::to_string(*taskCount) + " tasks but its ids run from " +
                                        std::to_string(*min) + " to " + std::to_string(*max) +
                                        " in steps of " + std::to_string(step) + "; use a contiguous range (--array=0-" +
                                        std::to_string(*taskCount - 1) + ") or give --shard I/N");
    } else {
        count = *taskCount;
    }
    return checked(index, count, from);
}

} // namespace

Shard parseShard(const std::string &text)
{
    const std::size_t slash = text.find('/');
    const auto index = slash == std::string::npos ? std::nullopt : wholeNumber(text.substr(0, slash));
    const auto count = slash == std::string::npos ? std::nullopt : wholeNumber(text.substr(slash + 1));
    if (!index || !count)
        throw std::invalid_argument("'" + text + "' is not I/N (task I of N, counting from 0: 0/4, 1/4, 2/4, 3/4) or auto");
    return checked(*index, *count, "'" + text + "'");
}

Environment processEnvironment()
{
    return [](const char *name) { return static_cast<const char *>(std::getenv(name)); };
}

Shard shardFromEnvironment(const Environment &env)
{
    if (env("SLURM_ARRAY_TASK_ID"))
        return fromSlurm(env);
    if (env("JOB_COMPLETION_INDEX")) {
        const auto count = variable(env, "DIFFSS_SHARD_COUNT");
        if (!count)
            throw std::invalid_argument("Kubernetes indexed job: JOB_COMPLETION_INDEX is set but DIFFSS_SHARD_COUNT is not; set it "
                                        "in the job's environment to the job's completions");
        return checked(*variable(env, "JOB_COMPLETION_INDEX"), *count, "Kubernetes indexed job");
    }
    if (env("DIFFSS_SHARD_INDEX") || env("DIFFSS_SHARD_COUNT")) {
        const auto index = variable(env, "DIFFSS_SHARD_INDEX");
        const auto count = variable(env, "DIFFSS_SHARD_COUNT");
        if (!index || !count)
            throw std::invalid_argument("DIFFSS_SHARD_INDEX and DIFFSS_SHARD_COUNT must be set together");
        return checked(*index, *count, "DIFFSS_SHARD_INDEX/DIFFSS_SHARD_COUNT");
    }
    throw std::invalid_argument("no scheduler task index in the environment (SLURM_ARRAY_TASK_ID of a Slurm job array, "
                                "JOB_COMPLETION_INDEX of a Kubernetes indexed job, or DIFFSS_SHARD_INDEX with "
                                "DIFFSS_SHARD_COUNT); give the share with --shard I/N instead");
}

ShardRange shardRange(std::size_t total, const Shard &shard)
{
    // total * (index + 1) fits in 64 bits for any folder (count <= kMaxShards).
    const auto at = [&](long long i) {
        return static_cast<std::size_t>(static_cast<unsigned long long>(total) * static_cast<unsigned long long>(i) /
                                        static_cast<unsigned long long>(shard.count));
    };
    return ShardRange{at(shard.index), at(shard.index + 1)};
}

bool queryOrderLess(const std::string &a, const std::string &b)
{
    const std::string na = fs::path(a).filename().string(), nb = fs::path(b).filename().string();
    if (naturalLess(na, nb))
        return true;
    if (naturalLess(nb, na))
        return false;
    return na < nb;
}

} // namespace diffss
