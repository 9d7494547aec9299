#include "diffss/ui/export_dialog.h"

#include "diffss/ui/settings.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QToolButton>
#include <QVBoxLayout>

namespace diffss::ui {

namespace {

const Setting<QString> lastFormat{QStringLiteral("export/format"), QStringLiteral("coco")};
const Setting<bool> lastPolygons{QStringLiteral("export/cocoPolygons"), false};

constexpr ExportFormat kFormats[] = {ExportFormat::Coco, ExportFormat::Labelme, ExportFormat::Yolo, ExportFormat::Voc, ExportFormat::Masks};

QString formatTitle(ExportFormat f)
{
    switch (f) {
    case ExportFormat::Coco: return QObject::tr("COCO instance segmentation (annotations.json)");
    case ExportFormat::Labelme: return QObject::tr("labelme (one .json per image)");
    case ExportFormat::Yolo: return QObject::tr("YOLO segmentation (labels/*.txt, data.yaml)");
    case ExportFormat::Voc: return QObject::tr("Pascal VOC palette PNGs");
    case ExportFormat::Masks: return QObject::tr("Masks (0/255 PNGs)");
    }
    return {};
}

// A line edit with a button that picks a folder.
QWidget *folderField(QLineEdit *edit, QWidget *parent, const QString &title)
{
    auto *row = new QWidget(parent);
    auto *layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *browse = new QToolButton(row);
    browse->setText(QStringLiteral("..."));
    layout->addWidget(edit);
    layout->addWidget(browse);
    QObject::connect(browse, &QToolButton::clicked, edit, [edit, parent, title] {
        const QString start = edit->text().isEmpty() ? settings::lastFolder.get() : edit->text();
        const QString dir = QFileDialog::getExistingDirectory(parent, title, start);
        if (!dir.isEmpty())
            edit->setText(QDir::toNativeSeparators(dir));
    });
    return row;
}

} // namespace

ExportDialog::ExportDialog(QWidget *parent)
    : QDialog(parent), results_(new QLineEdit(this)), format_(new QComboBox(this)), className_(new QLineEdit(this)),
      polygons_(new QCheckBox(tr("Polygons instead of RLE"), this)), output_(new QLineEdit(this)), progress_(new QProgressBar(this)),
      status_(new QLabel(this)), problems_(new QPlainTextEdit(this)), buttons_(new QDialogButtonBox(QDialogButtonBox::Close, this))
{
    setWindowTitle(tr("Export Results"));
    for (ExportFormat f : kFormats)
        format_->addItem(formatTitle(f), QString::fromLatin1(toString(f)));
    format_->setCurrentIndex(std::max(0, format_->findData(lastFormat.get())));
    className_->setText(QStringLiteral("object"));
    className_->setToolTip(tr("The COCO category, labelme label and YOLO class name"));
    polygons_->setChecked(lastPolygons.get());
    polygons_->setToolTip(tr("COCO: each instance as a polygon (holes joined by a cut) rather than compressed RLE"));
    results_->setPlaceholderText(tr("a folder with results.json"));
    output_->setPlaceholderText(tr("the folder to write"));
    status_->setWordWrap(true);
    problems_->setReadOnly(true);
    problems_->setVisible(false);
    progress_->setVisible(false);

    auto *form = new QFormLayout;
    form->addRow(tr("Results:"), folderField(results_, this, tr("Results Folder")));
    form->addRow(tr("Format:"), format_);
    form->addRow(QString(), polygons_);
    form->addRow(tr("Class name:"), className_);
    form->addRow(tr("Write to:"), folderField(output_, this, tr("Export To")));
    exportButton_ = buttons_->addButton(tr("Export"), QDialogButtonBox::AcceptRole);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(new QLabel(tr("One instance per connected component; holes are kept. Images without a result are left out "
                                    "and listed."), this));
    layout->addWidget(progress_);
    layout->addWidget(status_);
    layout->addWidget(problems_);
    layout->addWidget(buttons_);

    connect(exportButton_, &QPushButton::clicked, this, [this] {
        if (isRunning())
            cancel();
        else
            start();
    });
    connect(buttons_, &QDialogButtonBox::rejected, this, &ExportDialog::reject);
    connect(format_, &QComboBox::currentIndexChanged, this, &ExportDialog::updateFields);
    connect(&job_, &Job::progress, progress_, [this](long long done, long long total) {
        progress_->setRange(0, static_cast<int>(total));
        progress_->setValue(static_cast<int>(done));
    });
    connect(&job_, &Job::failed, this, [this](const QString &error) { finish({}, error); });
    connect(&job_, &Job::cancelled, this, [this] {
        progress_->setVisible(false);
        updateFields();
        status_->setText(tr("Cancelled. The files already written are complete; %1 was not written.")
                             .arg(options().format == ExportFormat::Coco ? QStringLiteral("annotations.json")
                                  : options().format == ExportFormat::Yolo ? QStringLiteral("data.yaml")
                                                                           : tr("nothing else")));
        emit finished(ExportReport{}, QStringLiteral("cancelled"));
    });
    updateFields();
}

ExportDialog::~ExportDialog() = default;

void ExportDialog::setResultsFolder(const QString &folder) { results_->setText(QDir::toNativeSeparators(folder)); }
void ExportDialog::setClassName(const QString &name) { className_->setText(name); }
void ExportDialog::setFormat(ExportFormat format) { format_->setCurrentIndex(format_->findData(QString::fromLatin1(toString(format)))); }
void ExportDialog::setOutputFolder(const QString &folder) { output_->setText(QDir::toNativeSeparators(folder)); }
QString ExportDialog::resultsFolder() const { return QDir::fromNativeSeparators(results_->text().trimmed()); }
QString ExportDialog::outputFolder() const { return QDir::fromNativeSeparators(output_->text().trimmed()); }
bool ExportDialog::isRunning() const { return job_.isRunning(); }
QString ExportDialog::summary() const { return status_->text(); }

ExportOptions ExportDialog::options() const
{
    ExportOptions o;
    o.format = parseExportFormat(format_->currentData().toString().toStdString()).value_or(ExportFormat::Coco);
    o.outDir = outputFolder().toStdString();
    o.className = className_->text().trimmed().toStdString();
    o.cocoPolygons = o.format == ExportFormat::Coco && polygons_->isChecked();
    return o;
}

void ExportDialog::updateFields()
{
    const bool idle = !isRunning();
    polygons_->setEnabled(idle && format_->currentData().toString() == QLatin1String("coco"));
    for (QWidget *w : {static_cast<QWidget *>(results_), static_cast<QWidget *>(format_), static_cast<QWidget *>(className_),
                       static_cast<QWidget *>(output_)})
        w->setEnabled(idle);
    exportButton_->setText(idle ? tr("Export") : tr("Cancel"));
}

bool ExportDialog::start()
{
    if (isRunning())
        return false;
    const ExportOptions o = options();
    QString why;
    if (resultsFolder().isEmpty())
        why = tr("Choose the results folder (the batch's output folder).");
    else if (o.outDir.empty())
        why = tr("Choose the folder to write to.");
    else if (o.className.empty())
        why = tr("Give the class a name.");
    else if (QDir(resultsFolder()).absolutePath() == QDir(outputFolder()).absolutePath() &&
             (o.format == ExportFormat::Masks || o.format == ExportFormat::Voc))
        why = tr("Write to another folder: these PNGs would replace the results' masks.");
    if (!why.isEmpty()) {
        status_->setText(why);
        return false;
    }
    lastFormat.set(QString::fromLatin1(toString(o.format)));
    lastPolygons.set(polygons_->isChecked());
    problems_->clear();
    problems_->setVisible(false);
    progress_->setValue(0);
    progress_->setVisible(true);
    status_->setText(tr("Exporting..."));
    const QString results = resultsFolder();
    job_.start(
        [results, o](const JobControl &control) {
            const std::vector<ExportItem> items = readResultsFolder(results.toStdString());
            control.report(0, static_cast<long long>(items.size()));
            // A cancel stops before the next item and throws Cancelled (no shared files written).
            return exportMasks(items, o, control);
        },
        [this](ExportReport report) { finish(report, {}); });
    updateFields();
    return true;
}

void ExportDialog::cancel()
{
    if (!isRunning())
        return;
    status_->setText(tr("Cancelling after the image being written..."));
    job_.cancel();
}

void ExportDialog::finish(const ExportReport &r, const QString &error)
{
    progress_->setVisible(false);
    updateFields();
    if (!error.isEmpty())
        status_->setText(tr("The export failed: %1").arg(error));
    else
        status_->setText(tr("Exported %1 of %2 images (%3 instances, %4 with an empty mask) to %5.")
                             .arg(r.exported)
                             .arg(r.total)
                             .arg(r.instances)
                             .arg(r.empty)
                             .arg(QDir::toNativeSeparators(outputFolder())) +
                         (r.problems.empty() ? QString() : tr(" %n left out:", nullptr, static_cast<int>(r.problems.size()))));
    for (const std::string &p : r.problems)
        problems_->appendPlainText(QString::fromStdString(p));
    problems_->setVisible(!r.problems.empty());
    emit finished(r, error);
}

void ExportDialog::reject()
{
    if (isRunning()) {
        cancel();
        job_.wait();
    }
    QDialog::reject();
}

ExportDialog *showExportDialog(QWidget *parent, const QString &resultsFolder, const QString &className)
{
    auto *dialog = new ExportDialog(parent);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    if (!resultsFolder.isEmpty()) {
        const QString results = QDir::cleanPath(QDir(resultsFolder).absolutePath());
        dialog->setResultsFolder(results);
        dialog->setOutputFolder(results + QStringLiteral("-export"));
    }
    if (!className.trimmed().isEmpty())
        dialog->setClassName(className.trimmed());
    dialog->show();
    return dialog;
}

} // namespace diffss::ui
