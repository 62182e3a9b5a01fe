#pragma once
// The one plot of a sweep's report: each finished task on its own row, in rank order, with its
// validation UAR (what ranks it, filled dot) and its test UAR (pooled, hollow dot) with the
// bootstrap interval as a whisker.
#include <string>
#include <vector>

namespace ser::eval {

struct RankedPoint {
  std::string label;           // task name
  double validation = -1;      // < 0: none
  double test = 0, test_low = 0, test_high = 0;
};

std::string ranking_svg(const std::vector<RankedPoint>& points, const std::string& title);

}  // namespace ser::eval
