#pragma once

// The studio window opened on an image, for the GUI tests.

#include "diffss/ui/main_window.h"

#include <QAbstractButton>
#include <QApplication>
#include <QFileDialog>
#include <QMessageBox>
#include <QSignalSpy>
#include <QTimer>

#include <memory>

// Shows a window of `size`, opens `image` and waits for it; null if it did not load.
inline std::unique_ptr<diffss::ui::MainWindow> openStudio(const QString &image, QSize size = QSize(1200, 800))
{
    auto window = std::make_unique<diffss::ui::MainWindow>();
    window->resize(size);
    window->show();
    QSignalSpy loaded(window.get(), &diffss::ui::MainWindow::loaded);
    window->openImage(image);
    if (!loaded.wait(10000))
        return nullptr;
    return window;
}

// Answers the next modal dialogs: message boxes with `button` (recording
// their text), file dialogs by recording the file they offer and accepting it.
class Answerer : public QObject {
public:
    explicit Answerer(QMessageBox::StandardButton button) : button_(button)
    {
        connect(&timer_, &QTimer::timeout, this, [this] {
            for (QWidget *w : QApplication::topLevelWidgets()) {
                if (!w->isVisible())
                    continue;
                if (auto *box = qobject_cast<QMessageBox *>(w)) {
                    messages << box->text();
                    if (QAbstractButton *b = box->button(button_) ? box->button(button_) : box->button(QMessageBox::Ok))
                        b->click();
                    return;
                }
                if (auto *dialog = qobject_cast<QFileDialog *>(w)) {
                    offered << dialog->selectedFiles().value(0);
                    QMetaObject::invokeMethod(dialog, "accept", Qt::QueuedConnection);
                    return;
                }
            }
        });
        timer_.start(20);
    }
    QStringList messages;
    QStringList offered;

private:
    QMessageBox::StandardButton button_;
    QTimer timer_;
};
