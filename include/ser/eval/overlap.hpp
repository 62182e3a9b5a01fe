#pragma once
// Whether a model is being scored on items it was trained on. A model directory inside a run
// (fold-K/, final/) knows its training items: the run's corpus (config.json) less the fold's
// test items (fold-K/predictions.csv); final/ trained on all of them. Items are matched by id
// and by content (XXH64 of the file's bytes), so a renamed copy still counts.
#include <cstddef>
#include <string>
#include <vector>

#include "ser/data/corpus.hpp"

namespace ser::eval {

struct TrainingOverlap {
  bool known = false;          // false: no member's training items could be found
  std::size_t items = 0;       // evaluated items
  std::size_t by_id = 0;       // of them, with the id of an item some member trained on
  std::size_t by_content = 0;  // of them, whose file has the bytes of such an item
  std::size_t either = 0;      // by id or by content
  std::string note;            // how the training items were found, or why they were not
};

// model_dirs: the directories of the models scored (Predictor::sources()' parents).
// Never throws for a missing or unreadable run corpus: the overlap is then unknown (or by id
// only, when the folds' test lists are all there is), and `note` says so.
TrainingOverlap training_overlap(const std::vector<std::string>& model_dirs, const std::vector<data::Item>& evaluated,
                                 int jobs = 0);

// One sentence for report.md and the terminal; empty when no evaluated item was trained on.
std::string overlap_warning(const TrainingOverlap& o);

}  // namespace ser::eval
