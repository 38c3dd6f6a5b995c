// Built instead of the cairo drawings when cairo was not found at build time: every option that
// draws (--heatmap, --plot-loss, --attention-map, --heatmaps) says so instead of failing silently.
#include "engine/error.hpp"
#include "examples/common/heatmap.hpp"
#include "examples/common/image_grid.hpp"
#include "examples/common/line_plot.hpp"

namespace examples {

namespace {

[[noreturn]] void no_cairo(const std::string& path) {
  heed::fail(
      "cannot draw {}: this build of heed has no cairo (install libcairo2-dev, then "
      "reconfigure and rebuild)",
      path);
}

}  // namespace

void write_heatmaps(const std::string& path, const std::vector<Heatmap>&) {
  no_cairo(path);
}

void write_line_plot(const std::string& path, const std::string&, const std::string&,
                     const std::string&, const std::vector<Series>&) {
  no_cairo(path);
}

void write_image_grid(const std::string& path, const std::string&, const std::vector<GridImage>&,
                      int64_t) {
  no_cairo(path);
}

}  // namespace examples
