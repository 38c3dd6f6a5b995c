#include "examples/common/drawing.hpp"

#include <cairo-svg.h>

#include "engine/error.hpp"

namespace examples {

Drawing::Drawing(const std::string& path, double width, double height)
    : path_(path), svg_(path.size() >= 4 && path.substr(path.size() - 4) == ".svg") {
  surface_ = svg_ ? cairo_svg_surface_create(path.c_str(), width, height)
                  : cairo_image_surface_create(CAIRO_FORMAT_RGB24, int(width), int(height));
  cr_ = cairo_create(surface_);
  cairo_set_source_rgb(cr_, 1, 1, 1);
  cairo_paint(cr_);
}

Drawing::~Drawing() {
  if (cr_ != nullptr) cairo_destroy(cr_);
  if (surface_ != nullptr) cairo_surface_destroy(surface_);
}

void Drawing::save() {
  cairo_destroy(cr_);
  cr_ = nullptr;
  cairo_status_t status = cairo_surface_status(surface_);
  if (!svg_ && status == CAIRO_STATUS_SUCCESS) {
    status = cairo_surface_write_to_png(surface_, path_.c_str());
  }
  cairo_surface_finish(surface_);  // an SVG is written here
  if (status == CAIRO_STATUS_SUCCESS) status = cairo_surface_status(surface_);
  if (status != CAIRO_STATUS_SUCCESS) {
    heed::fail("cannot write {}: {}", path_, cairo_status_to_string(status));
  }
}

}  // namespace examples
