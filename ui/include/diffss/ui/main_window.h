#pragma once

#include "diffss/image.h"
#include "diffss/image_io.h"

#include <QMainWindow>

class QLabel;
class QSlider;

namespace diffss::ui {

class HistogramPlot;
class ImageView;

// The studio's window: the support image with its mask. Files load on a
// worker thread; errors are shown with the file and the problem.
class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(QWidget *parent = nullptr);

    // Loads an image (and its mask: `maskPath`, or a same-named .png beside
    // it). Returns at once; loaded() or loadFailed() follows.
    void openImage(const QString &path, const QString &maskPath = QString());
    void openMask(const QString &path);
    // Writes the demo data set into the user's data folder and opens its first image.
    void openDemo();

    const Image &image() const { return image_; }
    const Mask &mask() const { return mask_; }
    QString imagePath() const { return imagePath_; }

signals:
    void loaded();
    void loadFailed(const QString &message);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void createActions();
    void showError(const QString &message);
    void setMask(Mask mask);
    void updateStatus();
    QString chooseFile(const QString &title, const QString &filter);

    ImageView *view_;
    HistogramPlot *histogram_;
    QLabel *imageLabel_;
    QLabel *maskLabel_;
    QLabel *deviceLabel_;
    QSlider *opacity_;

    QString imagePath_;
    Image image_;
    ImageInfo info_;
    Mask mask_;
    QString maskPath_;
};

} // namespace diffss::ui
