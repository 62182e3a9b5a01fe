#include "ser/model/predictor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

#include "ser/classic/classic.hpp"
#include "ser/error.hpp"
#include "ser/features/bandwidth.hpp"
#include "ser/features/registry.hpp"
#include "ser/features/scaler.hpp"
#include "ser/features/speaker_norm.hpp"
#include "ser/model/torch_backend.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"

namespace fs = std::filesystem;

namespace ser::model {

namespace {

struct Member {
  std::string weights_path;
  std::unique_ptr<ScoringModel> net;
  features::StandardScaler scaler;
  double ood_threshold = 0;  // the max |z| learnt for it at training (model.json "ood"); 0: none
  std::optional<features::TrainedBand> band;  // model.json "audio"; none for older models
};

// Columns of the feature set's vector a model was trained on (features.blocks): [offset, size)
// ranges, in order. Empty: all of them.
using Columns = std::vector<std::pair<std::size_t, std::size_t>>;

struct Card {
  std::string feature_set, fingerprint, architecture, weights, normalize;
  std::size_t dim = 0;        // the model's input: the selected columns
  std::size_t input_dim = 0;  // the feature set's vector
  Columns columns;
  double ood_threshold = 0;
  double band_limit_hz = 0;
  std::optional<features::TrainedBand> band;
  features::EncoderOptions encoder;
  std::vector<std::string> labels;
  features::StandardScaler scaler;
};

Card read_card(const std::string& path) {
  const nlohmann::json j = util::read_json(path);
  Card c;
  try {
    c.feature_set = j.at("feature_set").get<std::string>();
    c.fingerprint = j.at("feature_fingerprint").get<std::string>();
    c.dim = j.at("dim").get<std::size_t>();
    c.labels = j.at("labels").get<std::vector<std::string>>();
    // Cards written before classic models existed describe a torch model in model.pt.
    c.architecture = j.value("architecture", "model_a");
    c.weights = j.value("weights", "model.pt");
    c.normalize = j.value("normalize", "global");
  } catch (const nlohmann::json::exception&) {
    fail_input(path, "not a model card (needs feature_set, feature_fingerprint, dim, labels, scaler)");
  }
  if (!j.contains("scaler")) fail_input(path, "model card lacks its scaler");
  if (j.contains("ood")) {
    const auto& ood = j["ood"];
    if (!ood.is_object() || !ood.contains("threshold") || !ood["threshold"].is_number() ||
        !(ood["threshold"].get<double>() > 0) || !std::isfinite(ood["threshold"].get<double>())) {
      fail_input(path, "'ood' needs a finite threshold > 0");
    }
    c.ood_threshold = ood["threshold"].get<double>();
  }
  if (j.contains("band_limit_hz")) {
    const auto& b = j["band_limit_hz"];
    if (!b.is_number() || !std::isfinite(b.get<double>()) || b.get<double>() < 0) {
      fail_input(path, "'band_limit_hz' must be a number >= 0");
    }
    c.band_limit_hz = b.get<double>();
  }
  if (j.contains("audio")) c.band = features::trained_band_from_json(j["audio"], path);
  if (j.contains("encoder")) {
    const auto& e = j["encoder"];
    if (!e.is_object() || !e.contains("checkpoint") || !e["checkpoint"].is_string()) {
      fail_input(path, "'encoder' needs the checkpoint folder");
    }
    c.encoder.checkpoint = e["checkpoint"].get<std::string>();
    c.encoder.pooling = e.value("pooling", std::string("mean"));
    c.encoder.chunk_seconds = e.value("chunk_seconds", 30.0);
    c.encoder.dtype = e.value("dtype", std::string("float32"));
    if (e.contains("layers") && e["layers"].is_array()) {
      for (const auto& l : e["layers"]) {
        if (!l.is_number_integer()) fail_input(path, "'encoder.layers' must be integers");
        c.encoder.layers.push_back(l.get<int>());
      }
    }
  }
  c.input_dim = c.dim;
  if (j.contains("feature_columns")) {
    // {"input_dim": N, "ranges": [[offset, size], ...]}: the blocks chosen by features.blocks.
    const auto& fc = j["feature_columns"];
    std::size_t total = 0;
    try {
      c.input_dim = fc.at("input_dim").get<std::size_t>();
      for (const auto& r : fc.at("ranges")) {
        const auto off = r.at(0).get<std::size_t>(), size = r.at(1).get<std::size_t>();
        if (size == 0 || off > c.input_dim || size > c.input_dim - off) throw std::out_of_range("range");
        c.columns.emplace_back(off, size);
        total += size;
      }
    } catch (const std::exception&) {
      fail_input(path, "'feature_columns' needs input_dim and ranges [[offset, size], ...] inside it");
    }
    if (total != c.dim) fail_input(path, "'feature_columns' select " + std::to_string(total) + " values, dim is " + std::to_string(c.dim));
  }
  c.scaler = features::StandardScaler::from_json(j.at("scaler"), path);
  if (c.labels.size() < 2) fail_input(path, "a model needs at least 2 labels");
  if (c.scaler.dim() != c.dim) fail_input(path, "scaler and model card disagree on the feature dimension");
  if (c.normalize != "global" && c.normalize != "speaker") fail_input(path, "unknown normalize '" + c.normalize + "'");
  if (c.weights.empty() || c.weights.find('/') != std::string::npos) fail_input(path, "bad weights file name");
  return c;
}

// Model directories behind `path`: itself, its parent (for a file in one), or fold-K/ of a run.
// A run must have a model for each of its folds: an ensemble of the rest would answer for a
// different model than the run's metrics describe.
std::vector<std::string> model_dirs(const std::string& path, bool allow_partial, std::size_t* expected) {
  // A path that is not there is a mistake in the command, like a corpus root that does not exist.
  if (!fs::exists(path)) throw Error(ErrorKind::Usage, path, "no such model file or directory");
  if (fs::is_regular_file(path)) {
    const std::string name = fs::path(path).filename().string();
    if (name != "model.pt" && name != "model.json" && name != "classifier.json") {
      fail_input(path, "expected a model directory, model.json, model.pt or classifier.json");
    }
    return {fs::path(path).parent_path().string()};
  }
  if (fs::exists(fs::path(path) / "model.json")) return {path};
  const auto folds = util::numbered_subdirs(path, "fold-");
  if (folds.empty()) fail_input(path, "neither a model directory (model.json) nor a run directory (fold-K/)");
  *expected = run_fold_count(path);
  if (*expected == 0) {
    // A run from before plan.json that never finished: how many folds it has is not recorded.
    if (!allow_partial) {
      fail_input(path, "the run does not record how many folds it has (no plan.json or aggregate metrics.json); "
                       "finish it with `ser train`, or pass --allow-partial to ensemble the fold models it has");
    }
    *expected = folds.size();
  }
  std::vector<std::string> dirs;
  std::string missing;
  std::size_t next = 1;
  auto note_missing = [&](const std::string& what) { missing += (missing.empty() ? "" : ", ") + what; };
  for (const auto& [k, dir] : folds) {
    for (; next < static_cast<std::size_t>(k); ++next) note_missing("fold-" + std::to_string(next) + " missing");
    next = static_cast<std::size_t>(k) + 1;
    if (fs::exists(dir + "/model.json")) {
      dirs.push_back(dir);
    } else {
      note_missing("fold-" + std::to_string(k) + " has no model.json");
    }
  }
  for (; next <= *expected; ++next) note_missing("fold-" + std::to_string(next) + " missing");
  if (dirs.size() < *expected) {
    const std::string coverage = std::to_string(dirs.size()) + " of " + std::to_string(*expected) + " folds";
    if (!allow_partial || dirs.empty()) {
      fail_input(path, "only " + coverage + " have a finished model (" + missing + "); finish the run" +
                           (dirs.empty() ? std::string() : ", or pass --allow-partial to ensemble those"));
    }
    spdlog::warn("{}: ensemble of {} only ({}), as --allow-partial asks", path, coverage, missing);
  }
  return dirs;
}

bool all_finite(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

// Standardised values must stay finite in float: a scale near 0 or a mean near the float limit
// would turn every input into inf and every probability into NaN.
void check_scaler(const features::StandardScaler& s, const std::string& origin) {
  constexpr double kLimit = 1e30;
  for (std::size_t j = 0; j < s.dim(); ++j) {
    const double m = s.mean()[j], sc = s.scale()[j];
    if (!std::isfinite(m) || !std::isfinite(sc) || std::fabs(m) > kLimit || sc > kLimit || sc < 1.0 / kLimit) {
      fail_input(origin, "scaler value out of range at feature " + std::to_string(j) + " (mean " + util::format_double("%g", m) +
                             ", scale " + util::format_double("%g", sc) + "); the model file is damaged");
    }
  }
}

class ClassicScoringModel : public ScoringModel {
 public:
  explicit ClassicScoringModel(classic::ClassicModel m) : m_(std::move(m)) {}
  std::size_t input_dim() const override { return m_.dim(); }
  std::size_t n_classes() const override { return static_cast<std::size_t>(m_.n_classes()); }
  std::vector<double> probabilities(const float* rows, std::size_t n) const override {
    std::vector<int> pred;
    std::vector<std::vector<float>> proba;
    m_.predict(rows, n, pred, proba);
    std::vector<double> out;
    out.reserve(n * n_classes());
    for (const auto& p : proba) out.insert(out.end(), p.begin(), p.end());
    return out;
  }

 private:
  classic::ClassicModel m_;
};

}  // namespace

std::unique_ptr<ScoringModel> load_classic_scoring_model(const std::string& path) {
  return std::make_unique<ClassicScoringModel>(classic::ClassicModel::load(path));
}

struct Predictor::Impl {
  std::string feature_set, fingerprint, architecture, normalize;
  std::size_t dim = 0, input_dim = 0;
  Columns columns;
  double band_limit_hz = 0;
  features::EncoderOptions encoder;
  std::vector<std::string> labels, sources;
  std::vector<Member> members;
  std::size_t folds_expected = 0;
};

Predictor::Predictor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Predictor::Predictor(Predictor&&) noexcept = default;
Predictor& Predictor::operator=(Predictor&&) noexcept = default;
Predictor::~Predictor() = default;

Predictor Predictor::load(const std::string& path, const std::string& device, bool allow_partial) {
  if (device != "cpu" && device != "auto" && device != "cuda") {
    fail_config("--device", "unknown device '" + device + "' (known: auto, cpu, cuda)");
  }
  auto impl = std::make_unique<Impl>();
  for (const auto& dir : model_dirs(path, allow_partial, &impl->folds_expected)) {
    const std::string card_path = dir + "/model.json";
    Card card = read_card(card_path);
    check_scaler(card.scaler, card_path);
    if (impl->members.empty()) {
      try {
        // An encoder set is made (and LibTorch loaded) by the caller; its fingerprint check
        // there covers the dimension.
        const bool encoder = features::uses_encoder(card.feature_set);
        const auto set = encoder ? nullptr : features::make_feature_set(card.feature_set, card.band_limit_hz);
        if (set && set->dim() != card.input_dim) {
          fail_input(card_path, "dim " + std::to_string(card.input_dim) + " but feature set '" + card.feature_set + "' has " +
                                    std::to_string(set->dim()) + " values");
        }
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::Config) throw;
        fail_input(card_path, "the model was trained on feature set '" + card.feature_set +
                                  "', which this build does not compute (known: issa193, functionals, joined with '+')");
      }
      impl->feature_set = card.feature_set;
      impl->fingerprint = card.fingerprint;
      impl->dim = card.dim;
      impl->input_dim = card.input_dim;
      impl->columns = card.columns;
      impl->labels = card.labels;
      impl->architecture = card.architecture;
      impl->normalize = card.normalize;
      impl->band_limit_hz = card.band_limit_hz;
      impl->encoder = card.encoder;
    } else if (card.feature_set != impl->feature_set || card.fingerprint != impl->fingerprint ||
               card.dim != impl->dim || card.columns != impl->columns || card.labels != impl->labels ||
               card.normalize != impl->normalize) {
      fail_input(card_path, "differs from " + impl->sources.front() +
                                " in feature set, labels or normalisation; cannot ensemble");
    }
    Member m;
    m.weights_path = dir + "/" + card.weights;
    if (!fs::exists(m.weights_path)) fail_input(m.weights_path, "missing (named by " + card_path + ")");
    if (classic::is_classic_architecture(card.architecture)) {
      m.net = load_classic_scoring_model(m.weights_path);
    } else {
      m.net = torch_backend().load_scoring_model(m.weights_path, device);
    }
    if (m.net->input_dim() != card.dim || m.net->n_classes() != card.labels.size()) {
      fail_input(m.weights_path, "model shape (" + std::to_string(m.net->input_dim()) + " -> " +
                                     std::to_string(m.net->n_classes()) + ") does not match its model.json (" +
                                     std::to_string(card.dim) + " -> " + std::to_string(card.labels.size()) + ")");
    }
    // NaN or inf in the weights shows on any input; the training mean (all zeros once
    // standardised) is a row every model must score.
    const std::vector<float> probe(card.dim, 0.0f);
    if (!all_finite(m.net->probabilities(probe.data(), 1))) {
      fail_input(m.weights_path, "gives non-finite probabilities (NaN or inf in its weights); the model file is damaged");
    }
    m.scaler = std::move(card.scaler);
    m.ood_threshold = card.ood_threshold;
    m.band = card.band;
    impl->sources.push_back(m.weights_path);
    impl->members.push_back(std::move(m));
  }
  return Predictor(std::move(impl));
}

const std::string& Predictor::feature_set() const { return impl_->feature_set; }
const std::string& Predictor::feature_fingerprint() const { return impl_->fingerprint; }
std::size_t Predictor::dim() const { return impl_->input_dim; }
const std::vector<std::string>& Predictor::labels() const { return impl_->labels; }
std::size_t Predictor::members() const { return impl_->members.size(); }
const std::vector<std::string>& Predictor::sources() const { return impl_->sources; }
std::size_t Predictor::folds_expected() const { return impl_->folds_expected; }
const std::string& Predictor::architecture() const { return impl_->architecture; }
const std::string& Predictor::normalize() const { return impl_->normalize; }
double Predictor::band_limit_hz() const { return impl_->band_limit_hz; }
const features::EncoderOptions& Predictor::encoder() const { return impl_->encoder; }
std::optional<features::TrainedBand> Predictor::trained_band() const {
  // The most tolerant member decides: an input is warned about only when it is below every
  // member's band (fold models of one corpus agree to within a few Hz anyway).
  std::optional<features::TrainedBand> out;
  for (const auto& m : impl_->members) {
    if (!m.band) return std::nullopt;
    if (!out || m.band->bandwidth_hz < out->bandwidth_hz) out = m.band;
  }
  return out;
}
bool Predictor::calibrated() const {
  return std::all_of(impl_->members.begin(), impl_->members.end(), [](const Member& m) { return m.ood_threshold > 0; });
}

std::vector<std::vector<double>> Predictor::predict(const std::vector<float>& rows, std::size_t n,
                                                    const std::vector<std::string>& groups,
                                                    std::vector<std::string>* small_groups,
                                                    std::vector<RowZ>* z) const {
  const std::size_t dim = impl_->dim, in_dim = impl_->input_dim, k = impl_->labels.size();
  if (rows.size() != n * in_dim) {
    fail_runtime("predict", "expected " + std::to_string(n) + " x " + std::to_string(in_dim) + " features");
  }
  std::vector<std::vector<double>> out(n, std::vector<double>(k, 0.0));
  if (z) z->assign(n, RowZ{});
  if (n == 0) return out;
  // The model's columns of each row (features.blocks), and for z the way back to the set's.
  std::vector<std::size_t> input_column(dim);
  std::vector<float> input;
  if (impl_->columns.empty()) {
    input = rows;
    for (std::size_t j = 0; j < dim; ++j) input_column[j] = j;
  } else {
    input.reserve(n * dim);
    for (std::size_t i = 0; i < n; ++i) {
      for (const auto& [off, size] : impl_->columns) {
        input.insert(input.end(), rows.begin() + static_cast<std::ptrdiff_t>(i * in_dim + off),
                     rows.begin() + static_cast<std::ptrdiff_t>(i * in_dim + off + size));
      }
    }
    std::size_t j = 0;
    for (const auto& [off, size] : impl_->columns) {
      for (std::size_t c = 0; c < size; ++c) input_column[j++] = off + c;
    }
  }
  if (speaker_normalized()) {
    if (groups.size() != n) {
      fail_input(impl_->sources.front(), "the model is speaker-normalised: every input needs a speaker "
                                         "(a manifest 'speaker' column, a corpus, or --speaker NAME)");
    }
    features::normalize_groups(input, dim, groups, small_groups);
  }
  const bool calibrated = this->calibrated();
  for (std::size_t mi = 0; mi < impl_->members.size(); ++mi) {
    const Member& m = impl_->members[mi];
    std::vector<float> scaled = input;
    m.scaler.transform_rows(scaled.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      const float* row = scaled.data() + i * dim;
      RowZ worst;
      for (std::size_t j = 0; j < dim; ++j) {
        const double a = std::fabs(static_cast<double>(row[j]));
        if (!std::isfinite(a)) {
          fail_input(m.weights_path, "standardised feature " + std::to_string(input_column[j]) + " of input " + std::to_string(i + 1) +
                                         " is not finite (the input or this model's scaler is out of range)");
        }
        if (a > worst.max_abs_z) worst = RowZ{a, input_column[j]};
      }
      // The ensemble's view: far out only when every member finds it so (a fold's own test
      // item can look unusual to that one fold of a small corpus). Members with a learnt
      // threshold are compared by max |z| over it.
      if (calibrated) {
        worst.threshold = m.ood_threshold;
        worst.score = worst.max_abs_z / m.ood_threshold;
      }
      if (z) {
        const bool less_unusual = calibrated ? worst.score < (*z)[i].score : worst.max_abs_z < (*z)[i].max_abs_z;
        if (mi == 0 || less_unusual) (*z)[i] = worst;
      }
    }
    const std::vector<double> p = m.net->probabilities(scaled.data(), n);
    if (!all_finite(p)) fail_input(m.weights_path, "gave a non-finite probability; the model file is damaged");
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t c = 0; c < k; ++c) out[i][c] += p[i * k + c] / static_cast<double>(impl_->members.size());
    }
  }
  return out;
}

std::string block_of(const std::vector<features::Block>& blocks, std::size_t index) {
  for (const auto& b : blocks) {
    if (index >= b.offset && index < b.offset + b.size) return b.name;
  }
  return "?";
}

std::size_t run_fold_count(const std::string& run_dir) {
  // plan.json: written by `ser train` when it lays out the folds from the resolved config; the
  // aggregate metrics.json of runs from before it existed. Never the fold folders present: a
  // job array whose later tasks have not run has folders for its first folds only.
  for (const char* file : {"/plan.json", "/metrics.json"}) {
    const std::string path = run_dir + file;
    if (!fs::exists(path)) continue;
    try {
      const auto j = nlohmann::json::parse(util::read_text(path));
      if (!j.is_object() || !j.contains("folds_total") || !j["folds_total"].is_number_unsigned()) continue;
      const std::size_t total = j["folds_total"].get<std::size_t>();
      // An aggregate counts only when it covered every fold it names (an --allow-partial
      // evaluation of a run without plan.json records no total).
      const auto c = j.find("coverage");
      const bool whole = c == j.end() || !c->is_object() || c->value("folds_used", total) == total;
      if (total > 0 && whole) return total;
    } catch (const std::exception&) {
      // damaged: try the next record
    }
  }
  return 0;
}

}  // namespace ser::model
