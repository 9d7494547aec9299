#pragma once

// The studio window opened on an image, for the GUI tests.

#include "diffss/ui/main_window.h"

#include <QSignalSpy>

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
