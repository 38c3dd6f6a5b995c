// The image grid with cairo: each pixel a grey square, the attention map's cells a red veil
// whose opacity grows with the weight (the largest weight of the map is fully red).
#include "examples/common/image_grid.hpp"

#include <algorithm>

#include "engine/error.hpp"
#include "examples/common/drawing.hpp"

namespace examples {

namespace {

constexpr double kCell = 96;  // each image's side, in points
constexpr double kCaption = 16, kTitle = 28, kMargin = 10;

void draw_box(cairo_t* cr, const std::vector<double>& box, double left, double top, bool dashed) {
  if (box.size() != 4) return;
  const double dash[] = {4.0};
  cairo_set_dash(cr, dash, dashed ? 1 : 0, 0);
  cairo_set_line_width(cr, 2);
  cairo_rectangle(cr, left + box[0] * kCell, top + box[1] * kCell, (box[2] - box[0]) * kCell,
                  (box[3] - box[1]) * kCell);
  cairo_stroke(cr);
  cairo_set_dash(cr, dash, 0, 0);
}

void draw_image(cairo_t* cr, const GridImage& image, double left, double top) {
  const int64_t H = image.pixels.size(0), W = image.pixels.size(1);
  const std::vector<double> ink = image.pixels.detach().to_vector<double>();
  for (int64_t y = 0; y < H; ++y) {
    for (int64_t x = 0; x < W; ++x) {
      const double v = 1.0 - std::clamp(ink[static_cast<size_t>(y * W + x)], 0.0, 1.0);
      cairo_set_source_rgb(cr, v, v, v);
      cairo_rectangle(cr, left + double(x) * kCell / double(W), top + double(y) * kCell / double(H),
                      kCell / double(W) + 0.5, kCell / double(H) + 0.5);
      cairo_fill(cr);
    }
  }
  if (image.attention.defined()) {
    const int64_t h = image.attention.size(0), w = image.attention.size(1);
    const std::vector<double> weights = image.attention.detach().to_vector<double>();
    const double top_weight = std::max(1e-12, *std::max_element(weights.begin(), weights.end()));
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        cairo_set_source_rgba(cr, 0.9, 0.1, 0.1,
                              0.75 * weights[static_cast<size_t>(y * w + x)] / top_weight);
        cairo_rectangle(cr, left + double(x) * kCell / double(w),
                        top + double(y) * kCell / double(h), kCell / double(w), kCell / double(h));
        cairo_fill(cr);
      }
    }
  }
  cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);  // the image's edge
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, left, top, kCell, kCell);
  cairo_stroke(cr);
  cairo_set_source_rgb(cr, 0.1, 0.6, 0.1);
  draw_box(cr, image.true_box, left, top, true);
  cairo_set_source_rgb(cr, 0.1, 0.2, 0.9);
  draw_box(cr, image.box, left, top, false);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_move_to(cr, left, top + kCell + kCaption - 4);
  cairo_show_text(cr, image.caption.c_str());
}

}  // namespace

void write_image_grid(const std::string& path, const std::string& title,
                      const std::vector<GridImage>& images, int64_t columns) {
  if (images.empty() || columns < 1) heed::fail("cannot draw {}: no images", path);
  for (const GridImage& image : images) {
    if (image.pixels.dim() != 2 || (image.attention.defined() && image.attention.dim() != 2)) {
      heed::fail("cannot draw {}: expected (H, W) images and attention maps", path);
    }
  }
  const auto count = static_cast<int64_t>(images.size());
  const int64_t rows = (count + columns - 1) / columns;
  const int64_t shown_columns = std::min(columns, count);
  Drawing drawing(path, kMargin * 2 + double(shown_columns) * (kCell + kMargin),
                  kTitle + double(rows) * (kCell + kCaption + kMargin) + kMargin);
  cairo_t* cr = drawing.context();
  cairo_set_font_size(cr, 12);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_move_to(cr, kMargin, kTitle - 10);
  cairo_show_text(cr, title.c_str());
  cairo_set_font_size(cr, 10);
  for (int64_t i = 0; i < count; ++i) {
    const double left = kMargin + double(i % columns) * (kCell + kMargin);
    const double top = kTitle + double(i / columns) * (kCell + kCaption + kMargin);
    draw_image(cr, images[static_cast<size_t>(i)], left, top);
  }
  drawing.save();
}

}  // namespace examples
