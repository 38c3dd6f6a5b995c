#include "examples/common/heatmap.hpp"

#include <algorithm>

#include "examples/common/drawing.hpp"

namespace examples {

namespace {

constexpr double kCell = 22, kTitle = 24, kGap = 30, kCharWidth = 6.8, kBarWidth = 12;

// Where one map goes: its labels' room on the left and on top, sized to the longest label.
struct Layout {
  double label_width, label_height, width, height;
};

double text_width(const std::string& text) {
  return kCharWidth * double(text.size());
}

Layout layout(const Heatmap& map) {
  double longest_row = 0, longest_col = 0;
  for (const auto& label : map.row_labels) longest_row = std::max(longest_row, text_width(label));
  for (const auto& label : map.col_labels) longest_col = std::max(longest_col, text_width(label));
  Layout l{std::max(30.0, longest_row + 10), std::max(20.0, longest_col + 10), 0, 0};
  l.width = std::max(l.label_width + double(map.weights.size(1)) * kCell, text_width(map.title));
  l.height = kTitle + l.label_height + double(map.weights.size(0)) * kCell;
  return l;
}

// White for weight 0 to deep blue for weight 1.
void set_colour(cairo_t* cr, double v) {
  v = std::clamp(v, 0.0, 1.0);
  cairo_set_source_rgb(cr, 1 - 0.9 * v, 1 - 0.6 * v, 1 - 0.2 * v);
}

void draw(cairo_t* cr, const Heatmap& map, const Layout& l, double left, double top_of_cells) {
  const int64_t rows = map.weights.size(0), cols = map.weights.size(1);
  const std::vector<double> w = map.weights.to(heed::kFloat64).contiguous().to_vector<double>();
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_move_to(cr, left, kTitle - 8);
  cairo_show_text(cr, map.title.c_str());
  const double x0 = left + l.label_width;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      set_colour(cr, w[static_cast<size_t>(r * cols + c)]);
      cairo_rectangle(cr, x0 + double(c) * kCell, top_of_cells + double(r) * kCell, kCell, kCell);
      cairo_fill(cr);
    }
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  for (int64_t r = 0; r < rows; ++r) {  // queries down the left
    cairo_move_to(cr, left + 4, top_of_cells + (double(r) + 0.7) * kCell);
    cairo_show_text(cr, map.row_labels[static_cast<size_t>(r)].c_str());
  }
  for (int64_t c = 0; c < cols; ++c) {  // keys along the top, written upwards
    cairo_save(cr);
    cairo_move_to(cr, x0 + (double(c) + 0.7) * kCell, top_of_cells - 4);
    cairo_rotate(cr, -1.5708);
    cairo_show_text(cr, map.col_labels[static_cast<size_t>(c)].c_str());
    cairo_restore(cr);
  }
}

// The colour scale: weight 1 at the top, 0 at the bottom, with ticks at 0, 0.5 and 1.
void draw_colour_bar(cairo_t* cr, double left, double top, double height) {
  const int steps = 64;
  for (int i = 0; i < steps; ++i) {
    set_colour(cr, 1.0 - (double(i) + 0.5) / steps);
    cairo_rectangle(cr, left, top + height * i / steps, kBarWidth, height / steps + 0.5);
    cairo_fill(cr);
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_line_width(cr, 0.8);
  cairo_rectangle(cr, left, top, kBarWidth, height);
  cairo_stroke(cr);
  for (double v : {0.0, 0.5, 1.0}) {
    const double y = top + height * (1.0 - v);
    cairo_move_to(cr, left + kBarWidth, y);
    cairo_line_to(cr, left + kBarWidth + 4, y);
    cairo_stroke(cr);
    cairo_move_to(cr, left + kBarWidth + 6, y + 4);
    cairo_show_text(cr, v == 0.5 ? "0.5" : v == 0 ? "0" : "1");
  }
}

}  // namespace

void write_heatmaps(const std::string& path, const std::vector<Heatmap>& maps) {
  if (maps.empty()) heed::fail("write_heatmaps: nothing to draw");
  std::vector<Layout> layouts;
  double width = 0, label_height = 0, cells_height = 0;
  for (const Heatmap& map : maps) {
    if (map.weights.dim() != 2 || map.weights.size(0) != int64_t(map.row_labels.size()) ||
        map.weights.size(1) != int64_t(map.col_labels.size())) {
      heed::fail(
          "write_heatmaps: weights of shape {} need {} row and {} column labels, got {} "
          "and {}",
          heed::shape_str(map.weights.shape()), map.weights.size(0),
          map.weights.dim() == 2 ? map.weights.size(1) : 0, map.row_labels.size(),
          map.col_labels.size());
    }
    layouts.push_back(layout(map));
    width += layouts.back().width + kGap;
    label_height = std::max(label_height, layouts.back().label_height);
    cells_height = std::max(cells_height, double(map.weights.size(0)) * kCell);
  }
  const double top_of_cells = kTitle + label_height;
  const double bar_height = std::max(cells_height, 60.0);
  // The colour bar sits just right of the last map's cells (its title may reach further, above).
  const Layout& last = layouts.back();
  const double bar_left = 10 + width - kGap - last.width + last.label_width +
                          double(maps.back().weights.size(1)) * kCell + 16;
  const double page_width = std::max(10 + width, bar_left + kBarWidth + 30);
  Drawing drawing(path, page_width, top_of_cells + bar_height + 12);
  cairo_t* cr = drawing.context();
  cairo_set_font_size(cr, 11);
  double left = 10;
  for (size_t i = 0; i < maps.size(); ++i) {
    draw(cr, maps[i], layouts[i], left, top_of_cells);
    left += layouts[i].width + kGap;
  }
  draw_colour_bar(cr, bar_left, top_of_cells, bar_height);
  drawing.save();
}

}  // namespace examples
