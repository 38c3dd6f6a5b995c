// Attention heatmaps with cairo: a grid of weights (rows attend to columns), darker for more
// weight, with token labels along both axes. One map or several side by side (e.g. one per
// head). Writes PNG or SVG, chosen by the file's extension.
#pragma once

#include <string>
#include <vector>

#include "engine/heed.hpp"

namespace examples {

struct Heatmap {
  heed::Tensor weights;                 // (rows, cols), values in [0, 1]
  std::vector<std::string> row_labels;  // one per row (the queries)
  std::vector<std::string> col_labels;  // one per column (the keys)
  std::string title;
};

// Draws the maps in a row; heed::Error when the file cannot be written or the labels do not
// match the shapes.
void write_heatmaps(const std::string& path, const std::vector<Heatmap>& maps);

}  // namespace examples
