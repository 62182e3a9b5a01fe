#include "ser/features/issa193.hpp"

#include "ser/dsp/hpss.hpp"
#include "ser/dsp/spectral.hpp"
#include "ser/dsp/stft.hpp"
#include "ser/dsp/tonnetz.hpp"
#include "ser/dsp/tuning.hpp"
#include "ser/error.hpp"

namespace ser::features {

namespace {

constexpr int kNfft = 2048;
constexpr int kHop = 512;

template <typename M>
void append_row_means(const M& m, std::vector<float>& out) {
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    double sum = 0.0;
    for (Eigen::Index t = 0; t < m.cols(); ++t) sum += static_cast<double>(m(r, t));
    out.push_back(static_cast<float>(m.cols() > 0 ? sum / static_cast<double>(m.cols()) : 0.0));
  }
}

}  // namespace

Issa193Frames issa193_frames(const std::vector<float>& y, double sr, const TuningOverride& tuning) {
  if (y.empty()) fail_input("", "zero-length audio");
  Issa193Frames f;
  // One magnitude STFT feeds mel, MFCC, chroma, contrast and the HPSS of the harmonic branch;
  // the complex STFT is never held whole (the harmonic branch remakes its columns as it goes).
  dsp::Matrix S = dsp::stft_magnitude(y.data(), y.size(), kNfft, kHop);

  f.mel = dsp::melspectrogram(S, sr, kNfft);
  f.mfcc = dsp::mfcc_from_mel_db(dsp::power_to_db(f.mel), 40);
  f.tuning_stft = tuning.stft ? *tuning.stft : dsp::estimate_tuning(S, sr, kNfft, 12);
  f.chroma_stft = dsp::chroma_stft(S, sr, f.tuning_stft, kNfft);
  f.contrast = dsp::spectral_contrast(S, sr, kNfft);

  const double* cqt_tuning = tuning.cqt ? &*tuning.cqt : nullptr;
  std::vector<float> y_harm = dsp::harmonic(y.data(), y.size(), S);
  S = dsp::Matrix();  // the tuning estimate and the CQT need only y_harm: free the spectrogram first
  dsp::HarmonicBranch h = dsp::harmonic_branch_from(std::move(y_harm), sr, cqt_tuning);
  f.tuning_cqt = h.tuning_cqt;
  f.tonnetz = std::move(h.tonnetz);
  return f;
}

std::vector<float> issa193_vector(const Issa193Frames& f) {
  std::vector<float> v;
  v.reserve(193);
  append_row_means(f.mfcc, v);
  append_row_means(f.chroma_stft, v);
  append_row_means(f.mel, v);
  append_row_means(f.contrast, v);
  append_row_means(f.tonnetz, v);
  return v;
}

std::vector<Block> Issa193::blocks() const {
  return {{"mfcc", 0, 40}, {"chroma", 40, 12}, {"mel", 52, 128}, {"contrast", 180, 7}, {"tonnetz", 187, 6}};
}

std::string Issa193::settings_fingerprint() const {
  // Everything that changes the numbers; bump the trailing revision when the algorithm changes.
  return "issa193;sr=22050;soxr_hq;n_fft=2048;hop=512;hann;center=zeros;n_mfcc=40;n_mels=128;"
         "chroma=12;contrast=fmin200,6,q0.02;hpss=31,p2,m1;cqt=C1,7x36;rev=1";
}

std::vector<float> Issa193::compute(const audio::Signal& signal) const {
  if (signal.sample_rate != sample_rate()) {
    fail_runtime("issa193", "expects audio at 22050 Hz, got " + std::to_string(signal.sample_rate));
  }
  return issa193_vector(issa193_frames(signal.samples, signal.sample_rate));
}

}  // namespace ser::features
