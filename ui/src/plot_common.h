#pragma once

// Helpers shared by the insight plots (private to diffss_ui): a plot set up
// in the common style, the legend placed under the axes, a title row, and
// export of one or more plots side by side as PNG or PDF.

#include <QString>

#include <vector>

class QCustomPlot;
class QCPTextElement;
class QWidget;

namespace diffss::ui {

QCustomPlot *makeInsightPlot(QWidget *parent, const QString &xLabel, const QString &yLabel);

// Moves the legend out of the axis rect into a row below it, items side by
// side, so that it never hides data.
void placeLegendBelow(QCustomPlot *plot);

// Adds a title row above the axis rect; returns the text element.
QCPTextElement *addTitle(QCustomPlot *plot, const QString &text);

// A number written just above the point (x, y) of the plot's axes, on a
// white ground so that lines behind it do not cross it out.
void addValueLabel(QCustomPlot *plot, double x, double y, const QString &text);

// Renders the plots side by side, each at plotstyle::kExportWidth x
// kExportHeight: a PDF (vector) when `path` ends in .pdf, else a raster image
// in the format of its extension. Returns false when the file could not be
// written. The plots are replotted afterwards at their on-screen size.
bool exportPlots(const QString &path, const std::vector<QCustomPlot *> &plots);

} // namespace diffss::ui
