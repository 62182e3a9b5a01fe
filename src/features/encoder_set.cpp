#include "ser/features/encoder_set.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "ser/error.hpp"
#include "ser/model/encoder.hpp"
#include "ser/util/hash.hpp"

namespace fs = std::filesystem;

namespace ser::features {

namespace {

class EncoderSet : public FeatureSet {
 public:
  EncoderSet(const EncoderOptions& o, std::unique_ptr<model::SpeechEncoderModel> encoder, std::string content_hash)
      : o_(o), encoder_(std::move(encoder)), hash_(std::move(content_hash)) {
    const int hidden_states = encoder_->config().num_hidden_layers + 1;
    if (o_.layers.empty()) {
      for (int l = 0; l < hidden_states; ++l) layers_.push_back(l);
    } else {
      layers_ = o_.layers;
    }
    std::set<int> seen;
    for (int l : layers_) {
      if (l < 0 || l >= hidden_states) {
        fail_config("features.encoder.layers", "layer " + std::to_string(l) + " is outside 0.." +
                                                   std::to_string(hidden_states - 1) + " of " + o_.checkpoint);
      }
      if (!seen.insert(l).second) fail_config("features.encoder.layers", "layer " + std::to_string(l) + " is listed twice");
    }
  }
  std::string name() const override { return "encoder"; }
  int sample_rate() const override { return encoder_->config().sampling_rate; }
  std::vector<Block> blocks() const override {
    std::vector<Block> out;
    const std::size_t width = static_cast<std::size_t>(encoder_->config().hidden_size);
    std::size_t off = 0;
    char name[32];
    for (int l : layers_) {
      std::snprintf(name, sizeof(name), "layer%02d.mean", l);
      out.push_back({name, off, width});
      off += width;
      if (o_.pooling == "mean+std") {
        std::snprintf(name, sizeof(name), "layer%02d.std", l);
        out.push_back({name, off, width});
        off += width;
      }
    }
    return out;
  }
  std::string settings_fingerprint() const override {
    std::string layers;
    for (int l : layers_) layers += (layers.empty() ? "" : ",") + std::to_string(l);
    char chunk[32];
    std::snprintf(chunk, sizeof(chunk), "%g", o_.chunk_seconds);
    return "encoder;" + encoder_->config().model_type + ";checkpoint_xxh64=" + hash_ + ";layers=" + layers +
           ";pooling=" + o_.pooling + ";chunk_seconds=" + chunk + (o_.dtype == "float32" ? "" : ";dtype=" + o_.dtype);
  }
  std::vector<Block> frame_blocks() const override {
    std::vector<Block> out;
    const std::size_t width = static_cast<std::size_t>(encoder_->config().hidden_size);
    char name[32];
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      std::snprintf(name, sizeof(name), "layer%02d", layers_[i]);
      out.push_back({name, i * width, width});
    }
    return out;
  }
  double frame_rate_hz() const override {
    return static_cast<double>(encoder_->config().sampling_rate) / static_cast<double>(encoder_->config().hop());
  }
  std::vector<float> compute(const audio::Signal& signal) const override { return pooled(signal, nullptr); }
  std::vector<float> compute_with_frames(const audio::Signal& signal, const FrameSink& frames) const override {
    return pooled(signal, &frames);
  }
  std::size_t batch_size() const override { return static_cast<std::size_t>(o_.batch); }
  std::vector<std::vector<float>> compute_batch(const std::vector<const audio::Signal*>& signals,
                                                const std::vector<FrameSink>* frames) const override {
    std::vector<const std::vector<float>*> clips;
    std::vector<Pool> pools;
    for (const auto* s : signals) {
      check_rate(*s);
      clips.push_back(&s->samples);
      pools.emplace_back(*this);
    }
    encoder_->encode_spans_batch(clips, o_.chunk_seconds, layers_,
                                 [&](std::size_t i, const model::SpeechEncoderModel::Span& s) {
                                   pools[i].add(s, frames ? &(*frames)[i] : nullptr);
                                 });
    std::vector<std::vector<float>> out;
    for (const auto& p : pools) out.push_back(p.result());
    return out;
  }

 private:
  std::vector<float> pooled(const audio::Signal& signal, const FrameSink* frames) const {
    check_rate(signal);
    Pool pool(*this);
    encoder_->encode_spans(signal.samples, o_.chunk_seconds, layers_,
                           [&](const model::SpeechEncoderModel::Span& s) { pool.add(s, frames); });
    return pool.result();
  }
  void check_rate(const audio::Signal& signal) const {
    if (signal.sample_rate != sample_rate()) {
      fail_runtime(name(), "expects audio at " + std::to_string(sample_rate()) + " Hz, got " +
                               std::to_string(signal.sample_rate));
    }
  }

  // Mean (and standard deviation) of each chosen layer over a clip, accumulated span by span in
  // double around the first span's mean (no cancellation when the spread is small against the
  // mean); the frames, when asked for, go to the sink as rows of the layers side by side.
  class Pool {
   public:
    explicit Pool(const EncoderSet& set)
        : set_(&set),
          w_(static_cast<std::size_t>(set.encoder_->config().hidden_size)),
          nl_(set.layers_.size()),
          shift_(nl_ * w_, 0.0),
          sum_(nl_ * w_, 0.0),
          sq_(nl_ * w_, 0.0) {}
    void add(const model::SpeechEncoderModel::Span& s, const FrameSink* frames) {
      for (std::size_t l = 0; l < nl_; ++l) {
        const float* h = s.layers[l];
        double* sh = shift_.data() + l * w_;
        if (total_ == 0) {  // the first span's mean is the shift
          for (std::size_t f = 0; f < s.frames; ++f) {
            for (std::size_t j = 0; j < w_; ++j) sh[j] += h[f * w_ + j];
          }
          for (std::size_t j = 0; j < w_; ++j) sh[j] /= static_cast<double>(s.frames);
        }
        double* su = sum_.data() + l * w_;
        double* q = sq_.data() + l * w_;
        for (std::size_t f = 0; f < s.frames; ++f) {
          for (std::size_t j = 0; j < w_; ++j) {
            const double d = h[f * w_ + j] - sh[j];
            su[j] += d;
            q[j] += d * d;
          }
        }
      }
      total_ += s.frames;
      if (frames) {
        rows_.resize(s.frames * nl_ * w_);
        for (std::size_t f = 0; f < s.frames; ++f) {
          for (std::size_t l = 0; l < nl_; ++l) std::copy_n(s.layers[l] + f * w_, w_, rows_.data() + (f * nl_ + l) * w_);
        }
        (*frames)(rows_.data(), s.frames);
      }
    }
    std::vector<float> result() const {
      std::vector<float> out;
      out.reserve(set_->dim());
      const double n = static_cast<double>(total_);
      for (std::size_t l = 0; l < nl_; ++l) {
        for (std::size_t j = 0; j < w_; ++j) out.push_back(static_cast<float>(shift_[l * w_ + j] + sum_[l * w_ + j] / n));
        if (set_->o_.pooling == "mean+std") {
          for (std::size_t j = 0; j < w_; ++j) {
            const double m = sum_[l * w_ + j] / n;
            out.push_back(static_cast<float>(std::sqrt(std::max(0.0, sq_[l * w_ + j] / n - m * m))));
          }
        }
      }
      return out;
    }

   private:
    const EncoderSet* set_;
    std::size_t w_, nl_, total_ = 0;
    std::vector<double> shift_, sum_, sq_;
    std::vector<float> rows_;
  };

  EncoderOptions o_;
  std::unique_ptr<model::SpeechEncoderModel> encoder_;
  std::string hash_;
  std::vector<int> layers_;
};

}  // namespace

std::unique_ptr<FeatureSet> make_encoder_set(const EncoderOptions& o) {
  if (o.checkpoint.empty()) fail_config("features.encoder.checkpoint", "required for feature set 'encoder' (a Hugging Face folder)");
  if (!fs::is_directory(o.checkpoint)) fail_config("features.encoder.checkpoint", "'" + o.checkpoint + "' is not a folder");
  if (o.pooling != "mean" && o.pooling != "mean+std") {
    fail_config("features.encoder.pooling", "'" + o.pooling + "' is not one of mean, mean+std");
  }
  if (o.batch < 1 || o.batch > 256) fail_config("features.encoder.batch", "must be in 1..256 (1: one clip per pass)");
  if (!(o.chunk_seconds >= 0) || o.chunk_seconds > 3600) {
    fail_config("features.encoder.chunk_seconds", "must be in [0, 3600] (0: never chunk)");
  }
  // The checkpoint's content (weights and both configs), so that a re-trained or edited folder
  // under the same name never reuses cached features.
  std::uint64_t h = 0;
  for (const std::string& f : {model::encoder_weights_file(o.checkpoint), o.checkpoint + "/config.json",
                               o.checkpoint + "/preprocessor_config.json"}) {
    if (fs::exists(f)) h = util::hash_file(f, h);
  }
  return std::make_unique<EncoderSet>(o, model::load_speech_encoder(o.checkpoint, o.device, o.dtype), util::hex64(h));
}

}  // namespace ser::features
