#pragma once
// Standalone SVG plots (no scripts, no external fonts or files) that open in any browser and
// render with rsvg-convert: confusion heatmap, per-epoch training curves, per-class recall bars.
#include <string>
#include <vector>

namespace ser::eval {

// Text for SVG text and attributes: markup characters escaped, control characters XML 1.0
// forbids turned into spaces (one would make rsvg and browsers reject the whole document).
std::string xml_escape(const std::string& s);

// Cells coloured by the row-normalised value (recall per true class), each showing the count
// and the row percentage; rows = true class, columns = predicted.
std::string confusion_svg(const std::vector<std::vector<int>>& confusion, const std::vector<std::string>& labels,
                          const std::string& title);

struct FoldCurve {
  std::string name;  // e.g. "fold 1"
  std::vector<double> epoch, train_loss, val_loss, val_metric;  // NaN = not measured (no validation)
  int best_epoch = 0;  // marked on the curves; 0 = none
};
// Two panels sharing the epoch axis: loss (train solid, validation dashed) and the validation
// metric (`metric_name`, e.g. "validation UAR"), one colour per fold, with a legend.
std::string training_curves_svg(const std::vector<FoldCurve>& folds, const std::string& metric_name,
                                const std::string& title);

// Horizontal bars of recall per class (0..1), labelled with the value and the support.
std::string recall_bars_svg(const std::vector<std::string>& labels, const std::vector<double>& recall,
                            const std::vector<int>& support, const std::string& title);

}  // namespace ser::eval
