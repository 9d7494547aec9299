#include "plot_common.h"

#include "diffss/ui/plot_style.h"

#include <qcustomplot.h>

#include <QPdfWriter>

namespace diffss::ui {

QCustomPlot *makeInsightPlot(QWidget *parent, const QString &xLabel, const QString &yLabel)
{
    auto *plot = new QCustomPlot(parent);
    plot->xAxis->setLabel(xLabel);
    plot->yAxis->setLabel(yLabel);
    plot->setMinimumSize(220, 180);
    plot->setAntialiasedElements(QCP::aeAll);
    plot->setNoAntialiasingOnDrag(true);
    // Axes on all four sides read better as a frame; the top and right ones carry no labels.
    plot->xAxis2->setVisible(true);
    plot->yAxis2->setVisible(true);
    plot->xAxis2->setTicks(false);
    plot->yAxis2->setTicks(false);
    plot->xAxis2->setTickLabels(false);
    plot->yAxis2->setTickLabels(false);
    return plot;
}

void placeLegendBelow(QCustomPlot *plot)
{
    // Centred between two stretching spacers: the legend keeps its natural width.
    auto *row = new QCPLayoutGrid;
    plot->plotLayout()->addElement(plot->plotLayout()->rowCount(), 0, row);
    row->setMargins(QMargins(6, 0, 6, 6));
    row->addElement(0, 0, new QCPLayoutElement(plot));
    row->addElement(0, 1, plot->legend);   // takes it out of the axis rect's inset layout
    row->addElement(0, 2, new QCPLayoutElement(plot));
    row->setColumnStretchFactors({1, 0.001, 1});
    row->setColumnSpacing(0);
    plot->legend->setFillOrder(QCPLegend::foColumnsFirst);
    plot->legend->setIconSize(QSize(30, 22));
    plot->legend->setColumnSpacing(16);
    plot->legend->setBorderPen(Qt::NoPen);
    plot->legend->setBrush(Qt::NoBrush);
    plot->legend->setVisible(true);
    plot->plotLayout()->setRowStretchFactor(plot->plotLayout()->rowCount() - 1, 0.001);
}

QCPTextElement *addTitle(QCustomPlot *plot, const QString &text)
{
    plot->plotLayout()->insertRow(0);
    QFont font = plot->font();
    font.setBold(true);
    auto *title = new QCPTextElement(plot, text, font);
    plot->plotLayout()->addElement(0, 0, title);
    return title;
}

void addValueLabel(QCustomPlot *plot, double x, double y, const QString &text)
{
    // An invisible anchor at the point; the label sits a few pixels above it at any plot size.
    auto *anchor = new QCPItemTracer(plot);
    anchor->setStyle(QCPItemTracer::tsNone);
    anchor->position->setCoords(x, y);
    auto *label = new QCPItemText(plot);
    label->position->setParentAnchor(anchor->position);
    label->position->setCoords(0, -7);
    label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
    label->setPadding(QMargins(2, 0, 2, 0));
    label->setBrush(QColor(255, 255, 255, 210));
    label->setText(text);
    label->setClipToAxisRect(false);
}

bool exportPlots(const QString &path, const std::vector<QCustomPlot *> &plots)
{
    using plotstyle::kExportHeight;
    using plotstyle::kExportWidth;
    const int width = kExportWidth * static_cast<int>(plots.size()), height = kExportHeight;
    bool ok = false;
    if (path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive)) {
        QPdfWriter pdf(path);
        pdf.setResolution(72);   // one device pixel per point: the plots' pixel sizes become points
        pdf.setPageSize(QPageSize(QSizeF(width, height), QPageSize::Point));
        pdf.setPageMargins(QMarginsF());
        pdf.setCreator(QStringLiteral("DifFSS Studio"));
        QCPPainter painter;
        if (painter.begin(&pdf)) {
            painter.setMode(QCPPainter::pmVectorized);
            painter.setMode(QCPPainter::pmNoCaching);
            int x = 0;
            for (QCustomPlot *p : plots) {
                painter.save();
                painter.translate(x, 0);
                p->toPainter(&painter, kExportWidth, kExportHeight);
                painter.restore();
                x += kExportWidth;
            }
            ok = painter.end();
        }
    } else {
        QPixmap picture(width, height);
        picture.fill(Qt::white);
        {
            QPainter painter(&picture);
            int x = 0;
            for (QCustomPlot *p : plots) {
                painter.drawPixmap(x, 0, p->toPixmap(kExportWidth, kExportHeight));
                x += kExportWidth;
            }
        }
        ok = picture.save(path);
    }
    // Rendering at the export size laid the plots out for it: lay them out for the screen again.
    for (QCustomPlot *p : plots)
        p->replot();
    return ok;
}

} // namespace diffss::ui
