#pragma once

// The one palette of the insight plots (prototype map, evaluation view,
// experiment panel), so that "real", "generated", "query" and "baseline"
// mean the same colour everywhere. Colour-blind safe (Okabe-Ito hues).
// Plain Qt: no QCustomPlot here, so any translation unit may include it.

#include <QColor>

namespace diffss::ui::plotstyle {

inline QColor real() { return QColor(0, 114, 178); }        // real supports: blue
inline QColor generated() { return QColor(230, 159, 0); }   // accepted generated variants: orange
inline QColor rejected() { return QColor(140, 140, 140); }  // rejected variants: grey
inline QColor query() { return QColor(0, 158, 115); }       // queries and their predictions: green
inline QColor baseline() { return QColor(60, 60, 60); }     // reference lines (X = 0 baseline, overall IoU): dark grey, dashed
inline QColor warning() { return QColor(213, 94, 0); }      // drifted variants, failed images: vermilion

// Sizes shared by the plots, in pixels.
inline constexpr double kMarkerSize = 9;
inline constexpr double kLineWidth = 2;
// What exportTo() renders each plot at (independent of the widget's size).
inline constexpr int kExportWidth = 640;
inline constexpr int kExportHeight = 440;

} // namespace diffss::ui::plotstyle
