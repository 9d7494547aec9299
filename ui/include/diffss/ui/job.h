#pragma once

#include "diffss/job.h"

#include <QObject>
#include <QString>

#include <functional>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

namespace diffss::ui {

// Runs one long piece of work at a time on the global thread pool and
// delivers what it produces on the GUI thread: progress, then exactly one of
// the result, an error message or "cancelled".
//
// The work is a callable taking a `const diffss::JobControl &`: it reports
// progress through it, asks it whether to stop, and stops by throwing
// diffss::Cancelled (the core convention). Returning normally is a result,
// even after cancel() was asked for: the work decides what a partial result
// is. Any other exception becomes failed(what()).
//
// Modes:
//  - Exclusive: start() is refused while a run is active.
//  - LatestWins: start() cancels the active run and drops everything it
//    delivers later (no progress, result, error or cancelled from it), for
//    previews that restart whenever their input changes.
//
// Thread contract: create, start, cancel and destroy a Job on the GUI thread;
// every signal and result callback runs there, in the Job's context, so
// nothing reaches a Job (or an owner it dies with) that has been destroyed.
// The work runs on a pool thread and must not touch widgets; give it copies.
// The destructor cancels the active run and waits for every run still on a
// pool thread, so declare a Job member after the data its work reads.
class Job : public QObject {
    Q_OBJECT

public:
    enum class Mode { Exclusive, LatestWins };

    explicit Job(QObject *parent = nullptr, Mode mode = Mode::Exclusive);
    ~Job() override;

    // Starts work(control) -> T on a pool thread; done(T) (or done() for
    // void) runs on the GUI thread with the result. Returns false, starting
    // nothing, when the mode is Exclusive and a run is active.
    template <typename Work, typename Done>
    bool start(Work work, Done done)
    {
        using Result = std::invoke_result_t<Work &, const diffss::JobControl &>;
        return startErased([work = std::move(work), done = std::move(done)](
                               const diffss::JobControl &control) mutable -> std::function<void()> {
            if constexpr (std::is_void_v<Result>) {
                work(control);
                return [done]() mutable { done(); };
            } else {
                auto result = std::make_shared<Result>(work(control));
                return [done, result]() mutable { done(std::move(*result)); };
            }
        });
    }

    // Asks the active run to stop; its cancelled() (or result, if it returns
    // normally anyway) still follows. Nothing happens when none is active.
    void cancel();

    // Cancels the active run and forgets it at once: nothing it delivers
    // later arrives, and isRunning() is false. For a caller that stops
    // waiting (a load the user abandons) while the work cannot stop early.
    void abandon();

    // True from start() until the active run's outcome has been delivered.
    bool isRunning() const { return running_; }

    // Blocks until no run of this Job is on a pool thread. Their outcomes are
    // then posted to the GUI thread but not yet delivered.
    void wait();

    // Waits up to `ms` milliseconds (without limit when negative) for the
    // runs on pool threads, then delivers, here and now, what they posted.
    // True when no run was left on a pool thread. For callers that must see
    // an outcome before going on (one autosave write at a time).
    bool finishNow(int ms = -1);

signals:
    // The latest (done, total, text) the work reported; reports that arrive
    // faster than the GUI thread takes them are merged into the newest.
    void progress(long long done, long long total, const QString &text);
    void failed(const QString &message);
    void cancelled();
    // After the result callback, failed() or cancelled() of a run that was
    // not superseded.
    void finished();

private:
    struct Run;
    struct Shared;
    // Work that returns the GUI-thread delivery of its result.
    using Erased = std::function<std::function<void()>(const diffss::JobControl &)>;

    bool startErased(Erased work);
    void deliver(const std::shared_ptr<Run> &run, const std::function<void()> &outcome);

    Mode mode_;
    bool running_ = false;
    std::shared_ptr<Run> current_;
    std::shared_ptr<Shared> shared_;
};

// Values a running job hands to the GUI thread one by one, none merged away
// (a batch's results, an experiment's rows), where progress keeps only the
// newest report. The work put()s a value and then reports progress; the GUI
// thread take()s on each progress signal and once more when the run ends.
// Give each run its own queue (a shared_ptr captured by the work), so that a
// superseded run cannot add to the next one's.
template <typename T>
class JobQueue {
public:
    void put(T value)
    {
        std::lock_guard lock(mutex_);
        values_.push_back(std::move(value));
    }

    std::vector<T> take()
    {
        std::lock_guard lock(mutex_);
        return std::exchange(values_, {});
    }

private:
    std::mutex mutex_;
    std::vector<T> values_;
};

} // namespace diffss::ui
