#include "examples/common/line_plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "engine/error.hpp"
#include "examples/common/drawing.hpp"

namespace examples {

namespace {

constexpr double kWidth = 720, kHeight = 420, kLeft = 85, kRight = 20, kTop = 40, kBottom = 50;
constexpr double kColors[][3] = {{0.12, 0.47, 0.71}, {0.85, 0.37, 0.01}, {0.17, 0.63, 0.17}};

}  // namespace

void write_line_plot(const std::string& path, const std::string& title, const std::string& x_label,
                     const std::string& y_label, const std::vector<Series>& series) {
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min;
  double y_min = x_min, y_max = -x_min;
  for (const Series& s : series) {
    if (s.x.size() != s.y.size())
      heed::fail("write_line_plot: series '{}' has {} x and {} y values", s.name, s.x.size(),
                 s.y.size());
    for (size_t i = 0; i < s.x.size(); ++i) {
      x_min = std::min(x_min, s.x[i]), x_max = std::max(x_max, s.x[i]);
      y_min = std::min(y_min, s.y[i]), y_max = std::max(y_max, s.y[i]);
    }
  }
  if (!(x_max >= x_min)) heed::fail("write_line_plot: nothing to draw in {}", path);
  if (x_max == x_min) x_max = x_min + 1;
  if (y_max == y_min) y_max = y_min + 1;
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + (x - x_min) / (x_max - x_min) * plot_w; };
  auto py = [&](double y) { return kTop + (1 - (y - y_min) / (y_max - y_min)) * plot_h; };

  Drawing drawing(path, kWidth, kHeight);
  cairo_t* cr = drawing.context();
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_font_size(cr, 13);
  cairo_move_to(cr, kLeft, kTop - 15);
  cairo_show_text(cr, title.c_str());
  // Axes with five ticks each.
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, kLeft, kTop, plot_w, plot_h);
  cairo_stroke(cr);
  cairo_set_font_size(cr, 10);
  for (int i = 0; i <= 4; ++i) {
    const double x = x_min + (x_max - x_min) * i / 4, y = y_min + (y_max - y_min) * i / 4;
    cairo_move_to(cr, px(x) - 10, kTop + plot_h + 15);
    cairo_show_text(cr, fmt::format("{:.0f}", x).c_str());
    cairo_move_to(cr, 34, py(y) + 3);
    cairo_show_text(cr, fmt::format("{:.3f}", y).c_str());
  }
  cairo_move_to(cr, kLeft + plot_w / 2 - 20, kHeight - 12);
  cairo_show_text(cr, x_label.c_str());
  cairo_save(cr);
  cairo_move_to(cr, 18, kTop + plot_h / 2 + 30);
  cairo_rotate(cr, -1.5708);
  cairo_show_text(cr, y_label.c_str());
  cairo_restore(cr);
  // The series, and a legend in the top right corner.
  cairo_set_line_width(cr, 1.8);
  for (size_t k = 0; k < series.size(); ++k) {
    const double* color = kColors[k % 3];
    cairo_set_source_rgb(cr, color[0], color[1], color[2]);
    const Series& s = series[k];
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (i == 0)
        cairo_move_to(cr, px(s.x[i]), py(s.y[i]));
      else
        cairo_line_to(cr, px(s.x[i]), py(s.y[i]));
    }
    cairo_stroke(cr);
    cairo_move_to(cr, kWidth - kRight - 150, kTop + 20 + 16 * double(k));
    cairo_show_text(cr, s.name.c_str());
  }
  drawing.save();
}

}  // namespace examples
