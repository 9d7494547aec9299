// The job helper every long job of the studio runs on: where results, errors
// and cancels arrive, what "latest wins" drops, and what happens when the
// owner goes away first. No sleeps: a test waits for the pool threads with
// Job::wait() and then delivers the posted events itself.

#include "diffss/ui/job.h"

#include <QCoreApplication>
#include <QSemaphore>
#include <QSignalSpy>
#include <QTest>
#include <QThread>
#include <QThreadPool>

#include <algorithm>
#include <stdexcept>
#include <vector>

using diffss::JobControl;
using diffss::ui::Job;

namespace {

// Every run of the job has returned and what it posted has been delivered.
void settle(Job &job)
{
    job.wait();
    QCoreApplication::sendPostedEvents(&job);
}

} // namespace

class TestJob : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        // Two runs block at once in the latest-wins tests.
        QThreadPool::globalInstance()->setMaxThreadCount(std::max(4, QThreadPool::globalInstance()->maxThreadCount()));
    }

    void resultArrivesOnTheGuiThread()
    {
        Job job;
        QSignalSpy finished(&job, &Job::finished);
        QThread *workThread = nullptr;
        QThread *doneThread = nullptr;
        int result = 0;
        QVERIFY(job.start(
            [&workThread](const JobControl &) {
                workThread = QThread::currentThread();
                return 42;
            },
            [&](int value) {
                doneThread = QThread::currentThread();
                result = value;
            }));
        QVERIFY(job.isRunning());
        settle(job);
        QCOMPARE(result, 42);
        QVERIFY(workThread != nullptr);
        QVERIFY(workThread != QCoreApplication::instance()->thread());
        QCOMPARE(doneThread, QCoreApplication::instance()->thread());
        QCOMPARE(finished.count(), 1);
        QVERIFY(!job.isRunning());
    }

    void errorIsDeliveredAsItsMessage()
    {
        Job job;
        QSignalSpy failed(&job, &Job::failed);
        QSignalSpy cancelled(&job, &Job::cancelled);
        QSignalSpy finished(&job, &Job::finished);
        bool done = false;
        job.start([](const JobControl &) -> int { throw std::runtime_error("disk full"); }, [&done](int) { done = true; });
        settle(job);
        QVERIFY(!done);
        QCOMPARE(failed.count(), 1);
        QCOMPARE(failed.at(0).at(0).toString(), QStringLiteral("disk full"));
        QCOMPARE(cancelled.count(), 0);
        QCOMPARE(finished.count(), 1);
        QVERIFY(!job.isRunning());
    }

    void cancelStopsTheWork()
    {
        Job job;
        QSignalSpy failed(&job, &Job::failed);
        QSignalSpy cancelled(&job, &Job::cancelled);
        QSignalSpy finished(&job, &Job::finished);
        QSemaphore started;
        bool done = false;
        job.start(
            [&started](const JobControl &control) {
                started.release();
                for (;;) {
                    control.throwIfCancelled();
                    QThread::yieldCurrentThread();
                }
            },
            [&done] { done = true; });
        started.acquire();
        job.cancel();
        settle(job);
        QVERIFY(!done);
        QCOMPARE(cancelled.count(), 1);
        QCOMPARE(failed.count(), 0);
        QCOMPARE(finished.count(), 1);
        QVERIFY(!job.isRunning());
    }

    void exclusiveRefusesASecondStart()
    {
        Job job;
        QSemaphore started;
        std::vector<int> results;
        QVERIFY(job.start(
            [&started](const JobControl &control) {
                started.release();
                while (!control.cancelled())
                    QThread::yieldCurrentThread();
                return 1;   // a partial result after a cancel is still a result
            },
            [&results](int value) { results.push_back(value); }));
        started.acquire();
        QVERIFY(!job.start([](const JobControl &) { return 2; }, [&results](int value) { results.push_back(value); }));
        job.cancel();
        settle(job);
        QCOMPARE(results, std::vector<int>{1});
    }

    void latestWinsDropsTheStaleResult()
    {
        Job job(nullptr, Job::Mode::LatestWins);
        QSignalSpy cancelled(&job, &Job::cancelled);
        QSignalSpy finished(&job, &Job::finished);
        QSemaphore started;
        QSemaphore gate;
        std::vector<int> results;
        job.start(
            [&](const JobControl &) {
                started.release();
                gate.acquire();   // ignores the cancel and returns late
                return 1;
            },
            [&results](int value) { results.push_back(value); });
        started.acquire();
        QVERIFY(job.start([](const JobControl &) { return 2; }, [&results](int value) { results.push_back(value); }));
        gate.release();
        settle(job);
        QCOMPARE(results, std::vector<int>{2});
        QCOMPARE(cancelled.count(), 0);
        QCOMPARE(finished.count(), 1);
    }

    void latestWinsDropsTheStaleCancel()
    {
        Job job(nullptr, Job::Mode::LatestWins);
        QSignalSpy cancelled(&job, &Job::cancelled);
        QSemaphore started;
        std::vector<int> results;
        job.start(
            [&started](const JobControl &control) {
                started.release();
                for (;;)
                    control.throwIfCancelled();
                return 1;
            },
            [&results](int value) { results.push_back(value); });
        started.acquire();
        job.start([](const JobControl &) { return 2; }, [&results](int value) { results.push_back(value); });
        settle(job);
        QCOMPARE(results, std::vector<int>{2});
        QCOMPARE(cancelled.count(), 0);
    }

    void progressKeepsTheNewestReportAndPrecedesTheResult()
    {
        Job job;
        std::vector<QString> events;
        connect(&job, &Job::progress, &job, [&events](long long done, long long total, const QString &text) {
            events.push_back(QStringLiteral("%1/%2 %3").arg(done).arg(total).arg(text));
        });
        job.start(
            [](const JobControl &control) {
                control.report(1, 3, "one");
                control.report(2, 3, "two");
                control.report(3, 3, "three");
                return 0;
            },
            [&events](int) { events.push_back(QStringLiteral("result")); });
        settle(job);
        QVERIFY(events.size() >= 2);
        QCOMPARE(events.back(), QStringLiteral("result"));
        QCOMPARE(events[events.size() - 2], QStringLiteral("3/3 three"));
    }

    void abandonForgetsTheRun()
    {
        Job job;
        QSignalSpy cancelled(&job, &Job::cancelled);
        QSignalSpy finished(&job, &Job::finished);
        QSemaphore started;
        QSemaphore gate;
        bool done = false;
        job.start(
            [&](const JobControl &) {
                started.release();
                gate.acquire();
                return 1;
            },
            [&done](int) { done = true; });
        started.acquire();
        job.abandon();
        QVERIFY(!job.isRunning());
        gate.release();
        settle(job);
        QVERIFY(!done);
        QCOMPARE(cancelled.count(), 0);
        QCOMPARE(finished.count(), 0);
    }

    void finishNowDeliversBeforeReturning()
    {
        Job job;
        QSemaphore started;
        QSemaphore gate;
        int result = 0;
        job.start(
            [&](const JobControl &) {
                started.release();
                gate.acquire();
                return 5;
            },
            [&result](int value) { result = value; });
        started.acquire();
        QVERIFY(!job.finishNow(0));   // blocked on the gate: nothing to deliver yet
        QCOMPARE(result, 0);
        gate.release();
        QVERIFY(job.finishNow());
        QCOMPARE(result, 5);
        QVERIFY(!job.isRunning());
    }

    void ownerDestroyedWhileRunning()
    {
        auto *owner = new QObject;
        auto *job = new Job(owner);
        QSemaphore started;
        bool done = false;
        job->start(
            [&started](const JobControl &control) {
                started.release();
                while (!control.cancelled())
                    QThread::yieldCurrentThread();
                return 7;
            },
            [&done](int) { done = true; });
        started.acquire();
        delete owner;   // cancels the run and waits for it
        QCoreApplication::sendPostedEvents();
        QVERIFY(!done);
    }

    void ownerDestroyedWithTheResultPosted()
    {
        auto *owner = new QObject;
        auto *job = new Job(owner);
        bool done = false;
        job->start([](const JobControl &) { return 7; }, [&done](int) { done = true; });
        job->wait();   // the result is posted, not delivered
        delete owner;
        QCoreApplication::sendPostedEvents();
        QVERIFY(!done);
    }

    void queueHandsOverEveryValue()
    {
        Job job;
        auto queue = std::make_shared<diffss::ui::JobQueue<int>>();
        std::vector<int> taken;
        connect(&job, &Job::progress, &job, [&] {
            for (int v : queue->take())
                taken.push_back(v);
        });
        job.start(
            [queue](const JobControl &control) {
                for (int i = 1; i <= 100; ++i) {
                    queue->put(i);
                    control.report(i, 100);
                }
            },
            [&] {
                for (int v : queue->take())
                    taken.push_back(v);
            });
        settle(job);
        std::vector<int> expected(100);
        for (int i = 0; i < 100; ++i)
            expected[static_cast<std::size_t>(i)] = i + 1;
        QCOMPARE(taken, expected);
    }

    void controlReportsAndCancels()
    {
        QVERIFY(!JobControl().cancelled());
        JobControl().throwIfCancelled();
        JobControl().report(1, 2);   // reports nowhere
        bool stop = false;
        std::vector<long long> reported;
        const JobControl control([&stop] { return stop; },
                                 [&reported](long long done, long long, const std::string &) { reported.push_back(done); });
        control.report(1, 2, "steps");
        control.throwIfCancelled();
        QVERIFY(!control.flag()());
        stop = true;
        control.report(2, 2, "steps");
        QVERIFY(control.flag()());
        QCOMPARE(reported, (std::vector<long long>{1, 2}));
        QVERIFY_THROWS_EXCEPTION(diffss::Cancelled, control.throwIfCancelled());
    }
};

QTEST_GUILESS_MAIN(TestJob)
#include "test_job.moc"
