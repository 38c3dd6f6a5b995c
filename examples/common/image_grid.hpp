// Small grey images in a grid, each with an optional attention map laid over it in red and an
// optional box: what the attention zoo's vision models looked at and found. PNG or SVG.
#pragma once

#include <string>
#include <vector>

#include "engine/tensor.hpp"

namespace examples {

struct GridImage {
  heed::Tensor pixels;           // (H, W), ink in [0, 1]
  heed::Tensor attention;        // (h, w) weights, stretched over the image; undefined for none
  std::vector<double> box;       // left, top, right, bottom in [0, 1]; empty for none
  std::vector<double> true_box;  // drawn dashed; empty for none
  std::string caption;
};

// heed::Error when there is nothing to draw or the file cannot be written.
void write_image_grid(const std::string& path, const std::string& title,
                      const std::vector<GridImage>& images, int64_t columns);

}  // namespace examples
