#include "diffss/ui/job.h"

#include <QCoreApplication>
#include <QMetaObject>
#include <QThreadPool>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>

namespace diffss::ui {

// One start(): its cancel flag and its latest progress report, which waits
// in `pending` until the GUI thread has taken it.
struct Job::Run {
    std::atomic_bool cancel{false};
    std::mutex mutex;
    long long done = 0;
    long long total = 0;
    QString text;
    bool pending = false;
};

// Outlives the Job while its runs are on pool threads. `job` is cleared, under
// the mutex, by the Job's destructor: a pool thread posts to the Job only while
// holding the mutex, so it never posts to a destroyed one (and Qt drops the
// events posted to an object when it is deleted).
struct Job::Shared {
    std::mutex mutex;
    std::condition_variable idle;
    Job *job = nullptr;
    int active = 0;

    void post(std::function<void(Job *)> fn)
    {
        std::lock_guard lock(mutex);
        if (Job *target = job)
            QMetaObject::invokeMethod(target, [target, fn = std::move(fn)] { fn(target); }, Qt::QueuedConnection);
    }
};

Job::Job(QObject *parent, Mode mode) : QObject(parent), mode_(mode), shared_(std::make_shared<Shared>())
{
    shared_->job = this;
}

Job::~Job()
{
    if (current_)
        current_->cancel = true;
    std::unique_lock lock(shared_->mutex);
    shared_->job = nullptr;
    shared_->idle.wait(lock, [this] { return shared_->active == 0; });
}

bool Job::startErased(Erased work)
{
    if (running_) {
        if (mode_ == Mode::Exclusive)
            return false;
        current_->cancel = true;   // superseded: whatever it delivers later is dropped
    }
    auto run = std::make_shared<Run>();
    current_ = run;
    running_ = true;
    {
        std::lock_guard lock(shared_->mutex);
        ++shared_->active;
    }
    auto shared = shared_;
    QThreadPool::globalInstance()->start([run, shared, work = std::move(work)]() mutable {
        const diffss::JobControl control(
            [run] { return run->cancel.load(); },
            [run, shared](long long done, long long total, const std::string &text) {
                {
                    std::lock_guard lock(run->mutex);
                    run->done = done;
                    run->total = total;
                    run->text = QString::fromStdString(text);
                    if (run->pending)
                        return;
                    run->pending = true;
                }
                shared->post([run](Job *job) {
                    long long done = 0, total = 0;
                    QString text;
                    {
                        std::lock_guard lock(run->mutex);
                        done = run->done;
                        total = run->total;
                        text = run->text;
                        run->pending = false;
                    }
                    if (job->current_ == run && job->running_)
                        emit job->progress(done, total, text);
                });
            });
        // What the GUI thread does with this run's outcome.
        std::function<void(Job *)> outcome;
        try {
            control.throwIfCancelled();
            outcome = [result = work(control)](Job *) { result(); };
        } catch (const diffss::Cancelled &) {
            outcome = [](Job *job) { emit job->cancelled(); };
        } catch (const std::exception &error) {
            outcome = [message = QString::fromUtf8(error.what())](Job *job) { emit job->failed(message); };
        } catch (...) {
            outcome = [](Job *job) { emit job->failed(Job::tr("unknown error")); };
        }
        work = nullptr;   // free what the work captured before a waiting destructor returns
        shared->post([run, outcome = std::move(outcome)](Job *job) { job->deliver(run, [&] { outcome(job); }); });
        std::lock_guard lock(shared->mutex);
        --shared->active;
        shared->idle.notify_all();
    });
    return true;
}

void Job::deliver(const std::shared_ptr<Run> &run, const std::function<void()> &outcome)
{
    if (current_ != run || !running_)
        return;   // superseded by a later start()
    running_ = false;
    current_.reset();
    outcome();
    emit finished();
}

void Job::cancel()
{
    if (current_)
        current_->cancel = true;
}

void Job::abandon()
{
    if (current_)
        current_->cancel = true;
    current_.reset();
    running_ = false;
}

bool Job::finishNow(int ms)
{
    {
        std::unique_lock lock(shared_->mutex);
        const auto idle = [this] { return shared_->active == 0; };
        if (ms < 0)
            shared_->idle.wait(lock, idle);
        else if (!shared_->idle.wait_for(lock, std::chrono::milliseconds(ms), idle))
            return false;
    }
    QCoreApplication::sendPostedEvents(this, QEvent::MetaCall);
    return true;
}

void Job::wait()
{
    std::unique_lock lock(shared_->mutex);
    shared_->idle.wait(lock, [this] { return shared_->active == 0; });
}

} // namespace diffss::ui
