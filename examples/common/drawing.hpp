// A cairo drawing bound for a file: PNG or SVG, chosen by the path's extension. Shared by the
// heatmaps and the loss plots so each only draws.
#pragma once

#include <cairo.h>

#include <string>

namespace examples {

class Drawing {
 public:
  Drawing(const std::string& path, double width, double height);  // a white page
  ~Drawing();
  Drawing(const Drawing&) = delete;
  Drawing& operator=(const Drawing&) = delete;
  cairo_t* context() const { return cr_; }
  // Writes the file; heed::Error naming the path when cairo cannot.
  void save();

 private:
  std::string path_;
  bool svg_;
  cairo_surface_t* surface_;
  cairo_t* cr_;
};

}  // namespace examples
