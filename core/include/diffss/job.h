#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <utility>

namespace diffss {

// The one cancellation convention of core. A long function learns that it
// should stop by asking (a CancelFlag, or a JobControl that holds one) and
// stops by throwing Cancelled; it never signals a cancel through its return
// value (no nullopt, no empty result, no "complete = false", no progress
// callback that returns false). Long functions take a `const JobControl &`
// (progress through report(), throwIfCancelled() between steps); what must
// stay on disk when one is cancelled is said where it is declared.

// Returns true when the work should stop.
using CancelFlag = std::function<bool()>;

// Thrown by work that stopped early because it was asked to.
class Cancelled : public std::runtime_error {
public:
    Cancelled() : std::runtime_error("cancelled") {}
};

// What a long job is handed: where to report progress and whether to stop.
//
// Thread contract: a job calls report() and cancelled() from its own thread;
// the functions given to the constructor must be safe to call from there
// (the ui's job helper passes ones that are). A default-constructed control
// never cancels and reports nowhere.
class JobControl {
public:
    // (done, total, text); total 0 means "unknown".
    using Report = std::function<void(long long done, long long total, const std::string &text)>;

    JobControl() = default;
    explicit JobControl(CancelFlag cancelled, Report report = {})
        : cancelled_(std::move(cancelled)), report_(std::move(report)) {}

    bool cancelled() const { return cancelled_ && cancelled_(); }

    void report(long long done, long long total, const std::string &text = {}) const
    {
        if (report_)
            report_(done, total, text);
    }

    // Throws Cancelled when the job should stop: call it between steps.
    void throwIfCancelled() const
    {
        if (cancelled())
            throw Cancelled();
    }

    // The cancel test alone, for functions that take a CancelFlag.
    CancelFlag flag() const
    {
        return [cancelled = cancelled_] { return cancelled && cancelled(); };
    }

private:
    CancelFlag cancelled_;
    Report report_;
};

} // namespace diffss
