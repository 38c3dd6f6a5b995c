#include "examples/common/heatmap.hpp"

#include <algorithm>

#include "examples/common/drawing.hpp"

namespace examples {

namespace {

constexpr double kCell = 22, kMargin = 70, kTitle = 24, kGap = 40;

void draw(cairo_t* cr, const Heatmap& map, double left) {
  const int64_t rows = map.weights.size(0), cols = map.weights.size(1);
  const std::vector<double> w = map.weights.to(heed::kFloat64).contiguous().to_vector<double>();
  cairo_set_font_size(cr, 11);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_move_to(cr, left + kMargin, kTitle - 8);
  cairo_show_text(cr, map.title.c_str());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const double v = std::clamp(w[static_cast<size_t>(r * cols + c)], 0.0, 1.0);
      cairo_set_source_rgb(cr, 1 - 0.9 * v, 1 - 0.6 * v, 1 - 0.2 * v);  // white -> deep blue
      cairo_rectangle(cr, left + kMargin + double(c) * kCell, kTitle + kMargin + double(r) * kCell,
                      kCell, kCell);
      cairo_fill(cr);
    }
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  for (int64_t r = 0; r < rows; ++r) {  // queries down the left
    cairo_move_to(cr, left + 4, kTitle + kMargin + (double(r) + 0.7) * kCell);
    cairo_show_text(cr, map.row_labels[static_cast<size_t>(r)].c_str());
  }
  for (int64_t c = 0; c < cols; ++c) {  // keys along the top, written upwards
    cairo_save(cr);
    cairo_move_to(cr, left + kMargin + (double(c) + 0.7) * kCell, kTitle + kMargin - 4);
    cairo_rotate(cr, -1.5708);
    cairo_show_text(cr, map.col_labels[static_cast<size_t>(c)].c_str());
    cairo_restore(cr);
  }
}

}  // namespace

void write_heatmaps(const std::string& path, const std::vector<Heatmap>& maps) {
  if (maps.empty()) heed::fail("write_heatmaps: nothing to draw");
  double width = 0, height = 0;
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
    width += kMargin + double(map.weights.size(1)) * kCell + kGap;
    height = std::max(height, kTitle + kMargin + double(map.weights.size(0)) * kCell + 10);
  }
  Drawing drawing(path, width, height);
  cairo_t* cr = drawing.context();
  double left = 0;
  for (const Heatmap& map : maps) {
    draw(cr, map, left);
    left += kMargin + double(map.weights.size(1)) * kCell + kGap;
  }
  drawing.save();
}

}  // namespace examples
