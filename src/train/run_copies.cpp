// The per-fold rows of a run: speaker normalisation and training-time copies (experiment.hpp).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "experiment.hpp"
#include "ser/eval/duplicates.hpp"
#include "ser/error.hpp"
#include "ser/error.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"

namespace ser::train::detail {

FoldRows fold_rows(const Experiment& ex, const data::Fold& fold) {
  FoldRows r;
  r.extracted = &ex.values;
  if (!ex.speaker_norm) return r;
  r.norm = features::normalize_fold(ex.values, ex.table.dim, ex.speakers, ex.table.items.size(), ex.copy_source, fold);
  r.normalized = true;
  if (!r.norm.from_own_part.empty()) {
    spdlog::info("fold {}: speaker-normalised; {} speaker(s) without training items use their own unlabeled features",
                 fold.index + 1, r.norm.from_own_part.size());
  }
  return r;
}

// A manifest written by `ser augment --with-originals` names each row's `source`. Used as a corpus,
// its copies are items of their own, and random folds scatter them: a model then trains on copies
// of its test items. The protocol cannot know what `source` means, so this warns with the count.
void warn_about_shared_sources(const Experiment& ex) {
  const auto& cols = ex.table.metadata_columns;
  const auto col = std::find(cols.begin(), cols.end(), "source");
  if (col == cols.end()) return;
  const auto c = static_cast<std::size_t>(col - cols.begin());
  static const std::string none;
  auto source = [&](std::size_t i) -> const std::string& {
    const auto& m = ex.table.items[i].metadata;
    return c < m.size() ? m[c].second : none;
  };
  for (const auto& f : ex.folds) {
    std::set<std::string> trained;
    for (std::size_t i : f.train) trained.insert(source(i));
    std::size_t shared = 0;
    for (std::size_t i : f.test) shared += !source(i).empty() && trained.count(source(i));
    if (shared) {
      spdlog::warn("fold {}: {} of {} test items share their 'source' with training items (copies made before the "
                   "split?); their scores will be inflated. Train on the originals with augment.ops instead",
                   f.index + 1, shared, f.test.size());
    }
  }
}

void check_duplicates(const Experiment& ex) {
  std::vector<std::vector<char>> in_test;
  for (const auto& f : ex.folds) {
    in_test.emplace_back(ex.content.size(), 0);
    for (std::size_t i : f.test) in_test.back()[i] = 1;
  }
  const eval::FoldsDuplicates d = eval::folds_duplicates(ex.content, in_test);
  if (d.groups == 0) return;
  const std::string corpus = ex.cfg.dataset == "manifest" ? ex.cfg.manifest : ex.cfg.root;
  if (d.across == 0) {
    spdlog::warn("{}: {} item(s) repeat the audio of another item ({} group(s) of identical files); they stay on one "
                 "side of every fold, but weigh one recording more than once",
                 corpus, d.duplicate_items, d.groups);
    return;
  }
  const std::string what = std::to_string(d.across) + " pair(s) of identical audio across the train/test boundary of " +
                           std::to_string(d.folds_across) + " of " + std::to_string(ex.folds.size()) + " fold(s) (e.g. " +
                           eval::example_pairs(d.examples) + "; " + std::to_string(d.duplicate_items) +
                           " duplicate item(s) in all)";
  if (!ex.cfg.protocol.allow_duplicates) {
    fail_input(corpus, what + ": those test scores would not be held-out; remove the duplicates, or pass "
                              "--allow-duplicates (protocol.allow_duplicates) to train anyway");
  }
  spdlog::warn("{}: {}; training anyway, as --allow-duplicates asks: those test scores are not held-out", corpus, what);
}

// Items whose copies the folds about to train will use: their training parts, plus validation
// (refit trains on it) and every item (the final model). Test items only ever enter through those.
std::vector<std::size_t> copy_sources(const Experiment& ex, const std::vector<int>& folds, bool final_model) {
  std::vector<bool> needed(ex.table.items.size(), final_model);
  for (int k : folds) {
    const data::Fold& f = ex.folds[static_cast<std::size_t>(k - 1)];
    for (std::size_t i : f.train) needed[i] = true;
    if (ex.cfg.train.refit) {
      for (std::size_t i : f.validation) needed[i] = true;
    }
  }
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < needed.size(); ++i) {
    if (needed[i]) out.push_back(i);
  }
  return out;
}

void add_copies(Experiment& ex, const std::vector<std::size_t>& sources) {
  if (ex.recipes.empty() || sources.empty()) return;
  features::AugmentOptions ao;
  ao.copies = ex.cfg.augment.copies;
  ao.seed = ex.cfg.train.seed;
  ao.jobs = ex.cfg.features.jobs;
  ao.use_cache = ex.cfg.features.cache;
  ao.cache_dir = ex.cfg.features.cache_dir.empty() ? ex.cfg.features.out + "/cache" : ex.cfg.features.cache_dir;
  features::AugmentedFeatures a = features::augment_features(ex.table.items, sources, ex.recipes, *ex.set, ao);
  spdlog::info("augment: {} copies of {} training items ({} computed, {} from cache) in {:.1f} s", a.rows.size(),
               sources.size(), a.computed, a.from_cache, a.seconds);
  ex.values.insert(ex.values.end(), a.values.begin(), a.values.end());
  for (const auto& row : a.rows) {
    ex.copy_rows.push_back(row);
    ex.copy_source.push_back(row.source);
    ex.y.push_back(ex.y[row.source]);
  }
}

// The fold as trained: its training part plus the copies of its training items, checked against
// leakage rule 2 independently of how it was built.
data::Fold with_training_copies(const Experiment& ex, const data::Fold& fold) {
  if (ex.copy_source.empty()) return fold;
  data::Fold f = data::with_copies(fold, ex.copy_source, ex.table.items.size());
  const std::string problem = data::check_copies(ex.table.items, f, ex.copy_source, ex.by_speaker);
  if (!problem.empty()) fail_runtime("fold " + std::to_string(fold.index + 1), "augmentation leakage check failed: " + problem);
  return f;
}

// fold-K/augmented.csv: the copies a model trained on, for audits.
void write_copy_list(const Experiment& ex, const data::Fold& trained, const std::string& dir) {
  if (ex.copy_source.empty()) return;
  std::string csv = "id,source,recipe,copy\n";
  const std::size_t n = ex.table.items.size();
  for (std::size_t i : trained.train) {
    if (i < n) continue;
    const features::CopyRow& row = ex.copy_rows[i - n];
    const augment::Recipe& recipe = ex.recipes[row.recipe];
    csv += util::csv_line({features::copy_id(ex.table.items[row.source].id, recipe, row.copy),
                           ex.table.items[row.source].id, recipe.text, std::to_string(row.copy + 1)});
  }
  util::write_text_atomic(dir + "/augmented.csv", csv);
}

}  // namespace ser::train::detail
