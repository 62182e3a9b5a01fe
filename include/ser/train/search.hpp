#pragma once
// Model selection without the test part (leakage rule 4): every point of train.search is scored
// by inner cross-validation on one outer fold's training part (its train + validation items;
// test items are never read), grouped by speaker in speaker protocols and stratified by label
// otherwise. The best point by mean inner UAR (first in grid order on ties) is then trained on
// the whole training part.
#include <nlohmann/json.hpp>

#include <functional>

#include <string>
#include <vector>

#include "ser/config/config.hpp"
#include "ser/data/corpus.hpp"
#include "ser/data/protocols.hpp"

namespace ser::train {

struct SearchInput {
  const config::Config* cfg = nullptr;
  const std::vector<float>* values = nullptr;  // rows: items then copies (already normalised for the fold)
  std::size_t dim = 0;
  const std::vector<int>* labels = nullptr;    // per row
  int n_classes = 0;
  const std::vector<data::Item>* items = nullptr;
  const std::vector<std::size_t>* copy_source = nullptr;  // copy j (row items.size() + j) was made from item copy_source[j]
  bool by_speaker = false;
  // Polled before every inner fit (a search of classic models has no epochs to poll);
  // returning false throws ser::Error (Interrupted). Empty: never stop.
  std::function<bool()> keep_going;
};

struct SearchResult {
  nlohmann::json chosen = nlohmann::json::object();  // the winning point ({} without a search)
  double inner_uar = 0;
  int inner_folds = 0;
  nlohmann::json grid = nlohmann::json::array();  // [{"point": {...}, "inner_uar": x, "per_fold": [...]}]
  config::Config config;                          // cfg with the chosen point applied
};

// The inner folds of an outer fold's training part, in the outer row index space (test never
// included): speaker groups dealt from a seeded order, or stratified random folds.
std::vector<data::Fold> inner_folds(const SearchInput& in, const data::Fold& outer);

SearchResult search_fold(const SearchInput& in, const data::Fold& outer);

}  // namespace ser::train
