#include "ser/train/run.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "experiment.hpp"
#include "cross_corpus.hpp"
#include "ood_calibration.hpp"
#include "repeats.hpp"
#include "run_files.hpp"
#include "run_lock.hpp"
#include "ser/data/corpus.hpp"
#include "ser/error.hpp"
#include "ser/eval/analysis.hpp"
#include "ser/eval/evaluate.hpp"
#include "ser/eval/metrics.hpp"
#include "ser/features/augmented.hpp"
#include "ser/features/extract.hpp"
#include "ser/features/registry.hpp"
#include "ser/features/speaker_norm.hpp"
#include "ser/train/search.hpp"
#include "ser/train/trainer.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "ser/version.hpp"

namespace ser::train {

namespace fs = std::filesystem;

namespace {

using detail::Experiment;
using detail::FoldRows;
using detail::fold_rows;
using detail::warn_about_shared_sources;
using detail::copy_sources;
using detail::add_copies;
using detail::with_training_copies;
using detail::write_copy_list;

std::vector<std::string> label_set(const config::Config& cfg, const std::vector<data::Item>& items) {
  std::vector<std::string> labels = data::dataset_labels(cfg.dataset);
  if (labels.empty()) {  // manifest: whatever the CSV holds, sorted
    std::set<std::string> seen;
    for (const auto& it : items) seen.insert(it.label);
    labels.assign(seen.begin(), seen.end());
  }
  return labels;
}

// Features of the corpus: extracted (cached per file) or, with features.from_store, the store
// as it is, after checking it was made with the configured feature set.
features::FeatureTable load_features(const config::Config& cfg, const features::FeatureSet& set, bool progress) {
  return detail::load_corpus_features(cfg, cfg.dataset, cfg.dataset == "manifest" ? cfg.manifest : cfg.root,
                                      cfg.features.out, set, progress);
}

}  // namespace

void detail::claim_run_directory(const std::string& run_dir, const nlohmann::json& resolved, bool fresh) {
  const std::string path = run_dir + "/config.json";
  if (fresh && fs::exists(run_dir)) {
    for (const auto& entry : fs::directory_iterator(run_dir)) {
      const std::string name = entry.path().filename().string();
      // The folds, the final model and what the aggregate writes (eval::write_evaluation).
      static const std::set<std::string> aggregate = {
          "metrics.json", "confusion.csv", "confusion_normalized.csv", "predictions.csv", "report.md",
          "confusion.svg", "recall.svg", "curves.svg", "config.json", "plan.json", "items.csv", "corpus.json", "gates"};
      if (name.rfind("fold-", 0) == 0 || name.rfind("repeat-", 0) == 0 || name == "final" || aggregate.count(name)) {
        fs::remove_all(entry.path());
      }
    }
  } else if (fs::exists(path)) {
    nlohmann::json stored;
    try {
      stored = nlohmann::json::parse(util::read_text(path));
    } catch (const nlohmann::json::exception&) {
      fail_input(path, "not valid JSON; pass --fresh to start the run over");
    }
    // Keys added to the config since that run was started count as their defaults.
    nlohmann::json with_defaults = config::to_json(config::Config{});
    with_defaults.merge_patch(stored);
    const std::string diff = detail::config_difference(with_defaults, resolved);
    if (!diff.empty()) {
      fail_config(diff, "differs from the run already in " + run_dir +
                            "; pick another run name or pass --fresh to replace that run");
    }
  }
  fs::create_directories(run_dir);
  // An existing one stays as it is: it records how the run was started.
  if (!fs::exists(path)) util::write_text_atomic(path, resolved.dump(2) + "\n");
}

namespace {

bool fold_finished(const std::string& run_dir, int number) {
  return fs::exists(run_dir + "/fold-" + std::to_string(number) + "/metrics.json");
}

// Where a model directory's training keeps its files, and the per-epoch hook (debug log, Ctrl-C).
FoldOptions model_dir_options(const std::string& dir, const std::string& what, const RunOptions& opt,
                              const std::string& architecture) {
  FoldOptions fo;
  fo.model_path = dir + "/" + weights_file(architecture);
  fo.checkpoint_path = dir + "/checkpoint.pt";
  fo.keep_going = [what, &opt](const EpochRecord& e) {
    spdlog::debug("{} epoch {}: lr {:.3g}, train loss {:.4f}, acc {:.4f}; validation loss {:.4f}, acc {:.4f}, UAR {:.4f}",
                  what, e.epoch, e.lr, e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy, e.val_uar);
    return !opt.keep_going || opt.keep_going();
  };
  return fo;
}

// With train.refit, the validation run lives in fold-K/selection (its own model files, history
// with validation columns, and selection.json naming the chosen epoch, written last so that a
// resumed run skips a finished selection). It never sees the test part.
struct Selection {
  int best_epoch = 0, epochs_run = 0;
  double best_validation = NAN;
};

Selection select_epochs(const Experiment& ex, const data::Fold& fold, const std::string& dir, const RunOptions& opt,
                        const FoldRows& rows, const TrainConfig& tc) {
  const std::string marker = dir + "/selection.json";
  if (fs::exists(marker)) {
    const auto j = util::read_json(marker);
    return {j.at("best_epoch").get<int>(), j.at("epochs_run").get<int>(), j.at("best_validation").get<double>()};
  }
  fs::create_directories(dir);
  data::Fold no_test = with_training_copies(ex, fold);
  no_test.test.clear();
  write_copy_list(ex, no_test, dir);
  const FoldOptions fo =
      model_dir_options(dir, "fold " + std::to_string(fold.index + 1) + " selection", opt, tc.model.architecture);
  const FoldResult r = train_fold(rows.values(), ex.table.dim, ex.y, static_cast<int>(ex.labels.size()), no_test, tc, fo);
  detail::write_model_files(ex, dir, r, tc, &rows.norm, fold.test,
                    ood_calibration(ex, rows, no_test.train, ex.cfg.train.seed + static_cast<std::uint64_t>(fold.index)));
  const nlohmann::json j = {{"best_epoch", r.best_epoch}, {"best_validation", r.best_validation},
                            {"monitor", ex.cfg.train.monitor}, {"epochs_run", r.history.size()}};
  util::write_text_atomic(marker, j.dump(2) + "\n");
  return {r.best_epoch, static_cast<int>(r.history.size()), r.best_validation};
}

void train_and_write_fold(const Experiment& ex, const data::Fold& fold, const RunOptions& opt) {
  const int number = fold.index + 1;
  const std::string dir = ex.run_dir + "/fold-" + std::to_string(number);
  fs::create_directories(dir);
  const bool resuming = fs::exists(dir + "/checkpoint.pt") || fs::exists(dir + "/selection/checkpoint.pt");
  spdlog::info("fold {}/{}: {} train, {} validation, {} test{}", number, ex.folds.size(), fold.train.size(),
               fold.validation.size(), fold.test.size(), resuming ? " (resuming from its checkpoint)" : "");
  const FoldRows rows = fold_rows(ex, fold);
  SearchInput si;
  si.cfg = &ex.cfg;
  si.values = &rows.values();
  si.dim = ex.table.dim;
  si.labels = &ex.y;
  si.n_classes = static_cast<int>(ex.labels.size());
  si.items = &ex.table.items;
  si.copy_source = &ex.copy_source;
  si.by_speaker = ex.by_speaker;
  si.keep_going = opt.keep_going;
  const SearchResult search = search_fold(si, fold);
  const TrainConfig& tc = search.config.train;
  if (!ex.cfg.train.search.empty()) {
    spdlog::info("fold {}: search chose {} (inner UAR {:.4f} over {} inner folds, {} points)", number,
                 search.chosen.dump(), search.inner_uar, search.inner_folds, search.grid.size());
  }
  FoldOptions fo = model_dir_options(dir, "fold " + std::to_string(number), opt, tc.model.architecture);
  data::Fold trained = fold;
  Selection selection;
  const bool refit = tc.refit && !fold.validation.empty() && !is_classic(tc.model.architecture);
  if (refit) {
    selection = select_epochs(ex, fold, dir + "/selection", opt, rows, tc);
    trained.train.insert(trained.train.end(), fold.validation.begin(), fold.validation.end());
    std::sort(trained.train.begin(), trained.train.end());
    trained.validation.clear();
    fo.epochs_override = selection.best_epoch;
    spdlog::info("fold {}: validation chose epoch {}; refitting on all {} training items", number,
                 selection.best_epoch, trained.train.size());
  }
  trained = with_training_copies(ex, trained);
  write_copy_list(ex, trained, dir);
  FoldResult r = train_fold(rows.values(), ex.table.dim, ex.y, static_cast<int>(ex.labels.size()), trained, tc, fo);
  if (refit) {
    r.best_epoch = selection.best_epoch;
    r.best_validation = selection.best_validation;
  }
  std::vector<int> truth;
  for (std::size_t i : fold.test) truth.push_back(ex.y[i]);
  const eval::Metrics m = eval::compute_metrics(truth, r.test_predictions, ex.labels);
  nlohmann::json fm = eval::to_json(m);
  fm["fold"] = number;
  fm["best_epoch"] = r.best_epoch;
  fm["monitor"] = ex.cfg.train.monitor;
  if (!std::isnan(r.best_validation)) fm["best_validation"] = r.best_validation;  // what picked the epoch
  fm["epochs_run"] = r.history.size();
  fm["refit"] = refit;
  fm["device"] = r.device;
  const auto copies = static_cast<std::size_t>(std::count_if(trained.train.begin(), trained.train.end(),
                                                           [&](std::size_t i) { return i >= ex.table.items.size(); }));
  fm["n_train"] = trained.train.size() - copies;
  fm["n_train_copies"] = copies;
  fm["n_validation"] = fold.validation.size();
  fm["architecture"] = tc.model.architecture;
  fm["normalize"] = ex.speaker_norm ? "speaker" : "global";
  if (ex.speaker_norm) fm["normalization_note"] = eval::kSpeakerNormalisedNote;
  if (!ex.cfg.train.search.empty()) {
    fm["search"] = {{"chosen", search.chosen}, {"inner_uar", search.inner_uar}, {"inner_folds", search.inner_folds},
                    {"grouped_by_speaker", ex.by_speaker}, {"grid", search.grid}};
  }
  nlohmann::json ood = ood_calibration(ex, rows, trained.train, ex.cfg.train.seed + static_cast<std::uint64_t>(fold.index));
  detail::write_model_files(ex, dir, r, tc, &rows.norm, fold.test, ood);
  if (!ood.is_null()) {
    // What the threshold does on held-out speech: the share of this fold's test items flagged.
    ood["test_false_alarm_rate"] = ood_false_alarm_rate(ex, rows, fold.test, r.scaler, ood["threshold"].get<double>());
    fm["ood"] = ood;
  }
  util::write_text_atomic(dir + "/predictions.csv", detail::predictions_csv(ex.table.items, fold.test, truth, r,
                                                                            ex.labels, ex.table.metadata_columns));
  util::write_text_atomic(dir + "/metrics.json", fm.dump(2) + "\n");  // last: marks the fold finished
  spdlog::info("fold {}: accuracy {:.4f}, UAR {:.4f}, macro-F1 {:.4f} (best epoch {} of {}{})", number, m.accuracy,
               m.balanced_accuracy, m.macro_f1, r.best_epoch, refit ? selection.epochs_run : r.history.size(),
               refit ? ", refit" : "");
}

// One model on every item, for deployment. Without a validation part there is no early stopping:
// it trains for the median of the folds' best epochs (the configured epochs when no fold ran).
std::string train_final(const Experiment& ex, const std::vector<int>& best_epochs, const nlohmann::json& choice,
                        const RunOptions& opt) {
  const nlohmann::json chosen = choice["point"];
  std::vector<int> e = best_epochs;
  int epochs = ex.cfg.train.epochs;
  if (!e.empty()) {
    std::sort(e.begin(), e.end());
    epochs = std::max(1, e[e.size() / 2]);
  }
  data::Fold all;
  all.index = static_cast<int>(ex.folds.size());  // its own seed, distinct from every fold's
  for (std::size_t i = 0; i < ex.table.items.size(); ++i) all.train.push_back(i);
  all = with_training_copies(ex, all);
  const std::string dir = ex.run_dir + "/final";
  if (fs::exists(dir + "/model.json")) {
    spdlog::info("final model: finished earlier, kept");
    return dir;
  }
  fs::create_directories(dir);
  const config::Config cfg = config::with_point(ex.cfg, chosen);
  const TrainConfig& tc = cfg.train;
  const bool classic = is_classic(tc.model.architecture);
  spdlog::info("final model: {} items{}{}", all.train.size(), classic ? "" : ", " + std::to_string(epochs) + " epochs",
               chosen.empty() ? "" : ", " + choice["rule"].get<std::string>() + ": " + chosen.dump());
  nlohmann::json record = {{"items", ex.table.items.size()}, {"copies", all.train.size() - ex.table.items.size()}};
  if (!classic) record["epochs"] = epochs;
  if (!chosen.empty()) record["search"] = {{"chosen", chosen}, {"rule", choice["rule"]}, {"votes", choice["votes"]}};
  util::write_text_atomic(dir + "/metrics.json", record.dump(2) + "\n");
  FoldOptions fo = model_dir_options(dir, "final model", opt, tc.model.architecture);
  fo.epochs_override = epochs;
  write_copy_list(ex, all, dir);
  data::Fold items_only = all;
  items_only.train.erase(std::remove_if(items_only.train.begin(), items_only.train.end(),
                                        [&](std::size_t i) { return i >= ex.table.items.size(); }),
                         items_only.train.end());
  const FoldRows rows = fold_rows(ex, items_only);
  const FoldResult r = train_fold(rows.values(), ex.table.dim, ex.y, static_cast<int>(ex.labels.size()), all, tc, fo);
  detail::write_model_files(ex, dir, r, tc, &rows.norm, {},
                    ood_calibration(ex, rows, all.train, ex.cfg.train.seed + ex.folds.size()));  // model.json last: marks the final model finished
  return dir;
}

void stop_if_asked(const RunOptions& opt) {
  if (opt.keep_going && !opt.keep_going()) {
    throw Error(ErrorKind::Interrupted, "train", "stopped; run the same command again to resume");
  }
}

// The search point most folds chose, the earliest fold's on ties (said, with the votes); {} and
// no votes without a search.
nlohmann::json most_chosen(const std::vector<nlohmann::json>& points) {
  nlohmann::json best = nlohmann::json::object(), votes = nlohmann::json::array();
  std::size_t best_count = 0, tied = 0;
  for (const auto& p : points) {
    const auto c = static_cast<std::size_t>(std::count(points.begin(), points.end(), p));
    bool seen = false;
    for (const auto& v : votes) seen = seen || v["point"] == p;
    if (!seen) votes.push_back({{"point", p}, {"folds", c}});
    if (c > best_count) {
      best_count = c;
      best = p;
      tied = 1;
    } else if (c == best_count && !seen) {
      ++tied;
    }
  }
  const std::string rule = tied > 1 ? "a tie of " + std::to_string(tied) + " points chosen by " + std::to_string(best_count) +
                                          " fold(s) each: the earliest fold's choice wins"
                                    : "the point most folds chose";
  return {{"point", best}, {"votes", votes}, {"rule", rule}};
}

}  // namespace

int fold_count(const config::Config& cfg) {
  if (cfg.protocol.name == "cross_corpus") return 1;  // train on one corpus, test on the other
  std::vector<data::Item> items;
  if (cfg.features.from_store) {
    items = features::read_feature_store(cfg.features.out).items;
  } else {
    items = data::index_corpus(cfg.dataset, cfg.dataset == "manifest" ? cfg.manifest : cfg.root).items;
  }
  if (items.empty()) fail_runtime(cfg.dataset == "manifest" ? cfg.manifest : cfg.root, "no items to make folds of");
  return static_cast<int>(data::build_folds(items, cfg.dataset, cfg.protocol).size());
}

std::string run_directory(const config::Config& cfg) {
  return (fs::path(cfg.runs_dir) / (cfg.name.empty() ? cfg.dataset : cfg.name)).string();
}

RunSummary run_experiment(const config::Config& cfg, const RunOptions& opt) {
  if (cfg.train.repeats > 1) return detail::run_repeats(cfg, opt);
  const auto t0 = std::chrono::steady_clock::now();
  // Everything that can be checked without the data, before anything is read or written.
  config::validate_training(cfg, "config");
  if (opt.jobs < 1) fail_config("--jobs", "must be >= 1");
  if (opt.only_fold < 0) fail_config("--fold", "must be >= 1");
  for (const auto& point : config::search_points(cfg.train)) {
    const TrainConfig tc = point.empty() ? cfg.train : config::with_point(cfg, point).train;
    // cuda: only asked when named, so that a CPU run never loads the torch backend here.
    if (is_classic(tc.model.architecture) || tc.device == "cuda") resolve_device(tc.device, tc.model.architecture);
  }
  detail::require_corpus(cfg);
  Experiment ex{cfg, features::make_feature_set(cfg.features.set, cfg.features.fmax, cfg.features.encoder), {}, {}, {}, {}, run_directory(cfg)};
  // A fold started on its own (a job array's task) shares the run with its sibling folds.
  const bool one_fold_alone = opt.only_fold > 0 && opt.inherited_lock_fd < 0;
  const detail::RunLock lock(ex.run_dir, opt.wait_for_lock, opt.inherited_lock_fd, opt.keep_going, one_fold_alone);
  std::unique_ptr<detail::RunLock> fold_lock;
  if (one_fold_alone) {
    fold_lock = std::make_unique<detail::RunLock>(ex.run_dir + "/fold-" + std::to_string(opt.only_fold), opt.wait_for_lock,
                                                  -1, opt.keep_going);
  }

  ex.table = load_features(cfg, *ex.set, opt.progress);
  stop_if_asked(opt);
  nlohmann::json classes_left_out;
  ex.labels = detail::select_classes(cfg, ex.table, label_set(cfg, ex.table.items), &classes_left_out);
  nlohmann::json cross;
  if (cfg.protocol.name == "cross_corpus") {
    detail::CrossCorpus cc = detail::join_cross_corpus(cfg, *ex.set, std::move(ex.table), ex.labels, opt.progress);
    ex.table = std::move(cc.table);
    ex.labels = cc.classes;
    ex.folds = {cc.fold};
    cross = cc.description;
  }
  std::map<std::string, int> label_index;
  for (std::size_t i = 0; i < ex.labels.size(); ++i) label_index[ex.labels[i]] = static_cast<int>(i);
  ex.y.resize(ex.table.items.size());
  for (std::size_t i = 0; i < ex.table.items.size(); ++i) {
    auto it = label_index.find(ex.table.items[i].label);
    if (it == label_index.end()) {
      fail_runtime(ex.table.items[i].path, "label '" + ex.table.items[i].label + "' is not a class of " + cfg.dataset);
    }
    ex.y[i] = it->second;
  }

  if (cross.is_null()) ex.folds = data::build_folds(ex.table.items, cfg.dataset, cfg.protocol);
  // A classic model has no epochs to choose: what the protocol set aside for validation trains
  // (when every point a search may pick is classic too).
  bool all_classic = true;
  for (const auto& point : config::search_points(cfg.train)) {
    all_classic = all_classic && is_classic(config::with_point(cfg, point).train.model.architecture);
  }
  if (all_classic) {
    for (auto& f : ex.folds) {
      f.train.insert(f.train.end(), f.validation.begin(), f.validation.end());
      std::sort(f.train.begin(), f.train.end());
      f.validation.clear();
    }
  }
  ex.speaker_norm = cfg.features.normalize == "speaker";
  for (const auto& it : ex.table.items) ex.speakers.push_back(it.speaker);
  ex.by_speaker = cfg.protocol.name == "speaker_kfold" || cfg.protocol.name == "cross_corpus" ||
                  (cfg.protocol.name == "holdout" && !cfg.protocol.holdout_test_speakers.empty());
  for (const auto& f : ex.folds) {
    const std::string problem = data::check_fold(ex.table.items, f, ex.by_speaker);
    if (!problem.empty()) fail_runtime("fold " + std::to_string(f.index + 1), "leakage check failed: " + problem);
  }
  if (opt.only_fold == 0) warn_about_shared_sources(ex);  // once, not again in every fold process
  ex.content = detail::item_content(cfg, ex.run_dir, ex.table.items);
  if (opt.inherited_lock_fd < 0) detail::check_duplicates(ex);  // a fold process's parent checked
  const int n_folds = static_cast<int>(ex.folds.size());
  if (opt.only_fold < 0 || opt.only_fold > n_folds) fail_config("--fold", "must be between 1 and " + std::to_string(n_folds));

  detail::claim_run_directory(ex.run_dir, config::to_json(cfg), opt.fresh);
  if (opt.on_run_directory) opt.on_run_directory(ex.run_dir);
  detail::write_run_plan(ex.run_dir, cfg, ex.folds, ex.labels);
  detail::write_item_content(ex.run_dir, ex.content);
  nlohmann::json corpus = nlohmann::json::object();
  if (!cross.is_null()) corpus["cross_corpus"] = cross;
  if (!cfg.classes.empty()) corpus["classes"] = {{"kept", cfg.classes}, {"left_out", classes_left_out}};
  if (!corpus.empty()) util::write_text_atomic(ex.run_dir + "/corpus.json", corpus.dump(2) + "\n");

  RunSummary summary;
  summary.run_dir = ex.run_dir;
  summary.folds_total = n_folds;
  std::vector<int> pending;
  for (int k = 1; k <= n_folds; ++k) {
    if (opt.only_fold && k != opt.only_fold) continue;
    if (fold_finished(ex.run_dir, k)) {
      spdlog::info("fold {}: finished earlier, kept", k);
    } else {
      pending.push_back(k);
    }
  }
  ex.values = ex.table.values;
  for (std::size_t i = 0; i < cfg.augment.ops.size(); ++i) {
    ex.recipes.push_back(augment::parse_recipe(cfg.augment.ops[i], "augment.ops[" + std::to_string(i) + "]"));
  }
  // Made here even when the folds run in other processes: they then read every copy from the cache.
  const bool final_pending = opt.final_model && !fs::exists(ex.run_dir + "/final/model.json");
  add_copies(ex, copy_sources(ex, pending, final_pending));
  stop_if_asked(opt);
  if (opt.before_folds) opt.before_folds();
  if (opt.jobs > 1 && pending.size() > 1 && opt.run_folds_elsewhere) {
    opt.run_folds_elsewhere(ex.run_dir, pending, opt.jobs, lock.fd());
    for (int k : pending) {
      if (!fold_finished(ex.run_dir, k)) fail_runtime("fold " + std::to_string(k), "did not finish (see its log above)");
    }
  } else {
    for (int k : pending) {
      stop_if_asked(opt);  // a fold without epochs (classic) never polls keep_going itself
      train_and_write_fold(ex, ex.folds[static_cast<std::size_t>(k - 1)], opt);
    }
  }
  summary.folds_trained = static_cast<int>(pending.size());

  // The aggregate is always rebuilt from the files, so kept and new folds count alike.
  std::vector<int> best_epochs;
  std::vector<nlohmann::json> chosen_points;
  bool any_finished = false;
  for (int k = 1; k <= n_folds; ++k) any_finished = any_finished || fold_finished(ex.run_dir, k);
  if (any_finished) {
    eval::EvaluationInput in = eval::read_run(ex.run_dir);
    in.header["protocol"] = cfg.protocol.name;
    in.header["folds_total"] = n_folds;
    for (const auto& fm : in.fold_metrics) {
      best_epochs.push_back(fm.value("best_epoch", 0));
      if (fm.contains("search")) chosen_points.push_back(fm["search"]["chosen"]);
    }
    summary.folds_finished = static_cast<int>(in.per_fold.size());
    summary.complete = summary.folds_finished == n_folds;
    if (summary.complete && opt.aggregate) {
      summary.metrics = eval::write_evaluation(in, {}, ex.run_dir).metrics;
    } else {
      summary.metrics = {{"summary", eval::summarize_folds(in.per_fold)},
                         {"pooled", eval::to_json(eval::table_metrics(in.predictions))}};
    }
  }
  if (opt.final_model) stop_if_asked(opt);
  if (opt.final_model) summary.final_dir = train_final(ex, best_epochs, most_chosen(chosen_points), opt);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace ser::train
