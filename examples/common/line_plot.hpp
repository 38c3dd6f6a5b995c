// Line plots with cairo (a training run's loss curves): one or more series against a shared
// x axis, with axis ticks and a legend. Writes PNG or SVG, chosen by the file's extension.
#pragma once

#include <string>
#include <vector>

namespace examples {

struct Series {
  std::string name;
  std::vector<double> x, y;
};

// heed::Error when there is nothing to draw or the file cannot be written.
void write_line_plot(const std::string& path, const std::string& title, const std::string& x_label,
                     const std::string& y_label, const std::vector<Series>& series);

}  // namespace examples
