#include "ser/features/registry.hpp"

#include <algorithm>
#include <cmath>

#include "ser/error.hpp"
#include "ser/util/csv.hpp"
#include "ser/features/functionals.hpp"
#include "ser/features/encoder_set.hpp"
#include "ser/features/issa193.hpp"

namespace ser::features {

namespace {

std::unique_ptr<FeatureSet> make_base_set(const std::string& name, const EncoderOptions& encoder) {
  if (name == "issa193") return std::make_unique<Issa193>();
  if (name == "functionals") return std::make_unique<Functionals>();
  if (name == "encoder") return make_encoder_set(encoder);
  return nullptr;
}

[[noreturn]] void unknown_set(const std::string& part, const std::string& whole) {
  std::string known;
  for (const auto& n : feature_set_names()) known += (known.empty() ? "" : ", ") + n;
  fail_config("features.set", "unknown feature set '" + part + "'" + (whole != part ? " in '" + whole + "'" : "") +
                                  " (known: " + known + "; parts may be joined with '+')");
}

// Parts concatenated in order. issa193 and functionals share their STFT / mel / mfcc / chroma /
// contrast work, so when both are parts one pass computes both.
class Concatenation : public FeatureSet {
 public:
  explicit Concatenation(std::vector<std::unique_ptr<FeatureSet>> parts) : parts_(std::move(parts)) {}

  std::string name() const override {
    std::string n;
    for (const auto& p : parts_) n += (n.empty() ? "" : "+") + p->name();
    return n;
  }
  int sample_rate() const override { return parts_.front()->sample_rate(); }
  std::vector<Block> blocks() const override {
    std::vector<Block> out;
    std::size_t off = 0;
    for (const auto& p : parts_) {
      for (const auto& b : p->blocks()) out.push_back({p->name() + "/" + b.name, off + b.offset, b.size});
      off += p->dim();
    }
    return out;
  }
  std::string settings_fingerprint() const override {
    std::string f = "concat(";
    for (std::size_t i = 0; i < parts_.size(); ++i) f += (i ? " + " : "") + parts_[i]->settings_fingerprint();
    return f + ")";
  }
  std::vector<Block> frame_blocks() const override {
    const FeatureSet* f = framed();
    if (!f) return {};
    std::vector<Block> out;
    for (const auto& b : f->frame_blocks()) out.push_back({f->name() + "/" + b.name, b.offset, b.size});
    return out;
  }
  double frame_rate_hz() const override { return framed() ? framed()->frame_rate_hz() : 0; }
  std::vector<float> compute_with_frames(const audio::Signal& signal, const FrameSink& frames) const override {
    const FeatureSet* f = framed();
    if (!f) return FeatureSet::compute_with_frames(signal, frames);
    std::vector<float> out;
    for (const auto& p : parts_) {
      const std::vector<float> v = p.get() == f ? p->compute_with_frames(signal, frames) : p->compute(signal);
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  }
  std::vector<float> compute(const audio::Signal& signal) const override {
    const bool shared = has("issa193") && has("functionals");
    Issa193FunctionalsFrames both;
    if (shared) {
      if (signal.sample_rate != 22050) {
        fail_runtime(name(), "expects audio at 22050 Hz, got " + std::to_string(signal.sample_rate));
      }
      both = issa193_functionals_frames(signal.samples, signal.sample_rate);
    }
    std::vector<float> out;
    for (const auto& p : parts_) {
      std::vector<float> v;
      if (shared && p->name() == "issa193") v = issa193_vector(both.issa193);
      else if (shared && p->name() == "functionals") v = functionals_vector(both.functionals);
      else v = p->compute(signal);
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  }

 private:
  // The one part with frame sequences (two would have two frame rates): null when none.
  const FeatureSet* framed() const {
    const FeatureSet* f = nullptr;
    for (const auto& p : parts_) {
      if (p->frame_width() == 0) continue;
      if (f) return nullptr;
      f = p.get();
    }
    return f;
  }
  bool has(const std::string& n) const {
    return std::any_of(parts_.begin(), parts_.end(), [&](const auto& p) { return p->name() == n; });
  }
  std::vector<std::unique_ptr<FeatureSet>> parts_;
};

// A set analysed below fmax: load_for() band-limits the audio, the numbers come from the inner set.
class BandLimited : public FeatureSet {
 public:
  BandLimited(std::unique_ptr<FeatureSet> inner, double fmax) : inner_(std::move(inner)), fmax_(fmax) {}
  std::string name() const override { return inner_->name(); }
  int sample_rate() const override { return inner_->sample_rate(); }
  std::vector<Block> blocks() const override { return inner_->blocks(); }
  std::string settings_fingerprint() const override {
    return inner_->settings_fingerprint() + ";band_limit=soxr_hq@" + std::to_string(limit_rate()) + "Hz";
  }
  std::vector<float> compute(const audio::Signal& signal) const override { return inner_->compute(signal); }
  std::vector<Block> frame_blocks() const override { return inner_->frame_blocks(); }
  double frame_rate_hz() const override { return inner_->frame_rate_hz(); }
  std::vector<float> compute_with_frames(const audio::Signal& signal, const FrameSink& frames) const override {
    return inner_->compute_with_frames(signal, frames);
  }
  std::size_t batch_size() const override { return inner_->batch_size(); }
  std::vector<std::vector<float>> compute_batch(const std::vector<const audio::Signal*>& signals,
                                                const std::vector<FrameSink>* frames) const override {
    return inner_->compute_batch(signals, frames);
  }
  double band_limit_hz() const override { return fmax_; }

 private:
  int limit_rate() const { return static_cast<int>(std::lround(2 * fmax_)); }
  std::unique_ptr<FeatureSet> inner_;
  double fmax_;
};

std::unique_ptr<FeatureSet> make_unlimited(const std::string& name, const EncoderOptions& encoder);

}  // namespace

std::unique_ptr<FeatureSet> make_feature_set(const std::string& name, double fmax, const EncoderOptions& encoder) {
  auto set = make_unlimited(name, encoder);
  if (fmax == 0) return set;
  const double nyquist = set->sample_rate() / 2.0;
  if (!(fmax >= 1000 && fmax < nyquist) || std::lround(2 * fmax) != 2 * fmax) {
    fail_config("features.fmax", "must be 0 (the whole band) or a whole or half number of Hz in [1000, " +
                                     std::to_string(static_cast<int>(nyquist)) + ") (got " + util::format_double("%g", fmax) + ")");
  }
  return std::make_unique<BandLimited>(std::move(set), fmax);
}

audio::Signal load_for(const std::string& path, const FeatureSet& set) {
  const double fmax = set.band_limit_hz();
  if (fmax <= 0) return audio::load(path, set.sample_rate());
  audio::Signal signal = audio::read_mono(path);
  const auto limit_rate = static_cast<int>(std::lround(2 * fmax));
  const auto max_len = [&](int rate) { return static_cast<std::size_t>(std::floor(audio::limits().max_seconds * rate)); };
  if (signal.sample_rate > limit_rate) {
    signal.samples = audio::resample(signal.samples, signal.sample_rate, limit_rate, max_len(limit_rate));
    signal.sample_rate = limit_rate;
  }
  if (signal.sample_rate != set.sample_rate()) {
    signal.samples = audio::resample(signal.samples, signal.sample_rate, set.sample_rate(), max_len(set.sample_rate()));
    signal.sample_rate = set.sample_rate();
  }
  return signal;
}

std::vector<float> FeatureSet::compute_with_frames(const audio::Signal&, const FrameSink&) const {
  fail_config("features.frames", "feature set '" + name() + "' has no frame sequences (sets with frames: functionals, encoder)");
}

std::vector<std::pair<std::size_t, std::size_t>> block_columns(const std::vector<Block>& blocks,
                                                               const std::vector<std::string>& patterns) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  std::vector<bool> used(patterns.size(), false);
  for (const auto& b : blocks) {
    bool take = patterns.empty();
    for (std::size_t p = 0; p < patterns.size(); ++p) {
      const std::string& pat = patterns[p];
      const bool prefix = !pat.empty() && pat.back() == '*';
      const bool match = prefix ? b.name.compare(0, pat.size() - 1, pat, 0, pat.size() - 1) == 0 : b.name == pat;
      if (match) take = used[p] = true;
    }
    if (take) out.emplace_back(b.offset, b.size);
  }
  for (std::size_t p = 0; p < patterns.size(); ++p) {
    if (used[p]) continue;
    std::string names;
    for (std::size_t i = 0; i < blocks.size() && i < 16; ++i) names += (i ? ", " : "") + blocks[i].name;
    if (blocks.size() > 16) names += ", ... (" + std::to_string(blocks.size()) + " blocks)";
    fail_config("features.blocks", "'" + patterns[p] + "' names no block (blocks: " + names + ")");
  }
  return out;
}

std::vector<std::vector<float>> FeatureSet::compute_batch(const std::vector<const audio::Signal*>& signals,
                                                         const std::vector<FrameSink>* frames) const {
  std::vector<std::vector<float>> out;
  for (std::size_t i = 0; i < signals.size(); ++i) {
    out.push_back(frames ? compute_with_frames(*signals[i], (*frames)[i]) : compute(*signals[i]));
  }
  return out;
}

std::vector<std::string> feature_set_names() { return {"issa193", "functionals"}; }  // and "encoder" (needs a checkpoint)

bool uses_encoder(const std::string& name) {
  std::size_t start = 0;
  while (true) {
    const std::size_t plus = name.find('+', start);
    if (name.compare(start, plus == std::string::npos ? std::string::npos : plus - start, "encoder") == 0) return true;
    if (plus == std::string::npos) return false;
    start = plus + 1;
  }
}

namespace {

std::unique_ptr<FeatureSet> make_unlimited(const std::string& name, const EncoderOptions& encoder) {
  if (name.find('+') == std::string::npos) {
    if (auto set = make_base_set(name, encoder)) return set;
    unknown_set(name, name);
  }
  std::vector<std::unique_ptr<FeatureSet>> parts;
  std::vector<std::string> seen;
  std::size_t start = 0;
  while (true) {
    const std::size_t plus = name.find('+', start);
    const std::string part = name.substr(start, plus == std::string::npos ? std::string::npos : plus - start);
    auto set = make_base_set(part, encoder);
    if (!set) unknown_set(part, name);
    if (std::find(seen.begin(), seen.end(), part) != seen.end()) {
      fail_config("features.set", "feature set '" + part + "' appears twice in '" + name + "'");
    }
    seen.push_back(part);
    parts.push_back(std::move(set));
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  for (const auto& part : parts) {
    if (part->sample_rate() != parts.front()->sample_rate()) {
      fail_config("features.set", "'" + name + "' joins sets analysed at " + std::to_string(parts.front()->sample_rate()) +
                                      " and " + std::to_string(part->sample_rate()) + " Hz; use them apart");
    }
  }
  return std::make_unique<Concatenation>(std::move(parts));
}
}  // namespace

}  // namespace ser::features
