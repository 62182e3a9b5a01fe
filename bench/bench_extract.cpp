// Extraction speed on Emo-DB (535 files): the whole `ser extract` path (decode, resample,
// issa193, store) with one worker and with all cores, printed as files/s and as a speed-up
// over Python librosa 0.11 (159.7 s on one core of this machine type for the same files).
// Then a per-stage breakdown on one thread.
//   bench_extract [--root DIR] [--repeat N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "ser/audio/audio.hpp"
#include "ser/data/corpus.hpp"
#include "ser/dsp/cqt.hpp"
#include "ser/dsp/hpss.hpp"
#include "ser/dsp/spectral.hpp"
#include "ser/dsp/stft.hpp"
#include "ser/dsp/tonnetz.hpp"
#include "ser/dsp/tuning.hpp"
#include "ser/features/extract.hpp"
#include "ser/features/functionals.hpp"
#include "ser/features/issa193.hpp"
#include "ser/dsp/lld.hpp"

namespace {

constexpr double kLibrosaSeconds = 159.7;  // librosa 0.11, 535 Emo-DB files, one core
constexpr double kBestPortSeconds = 91.0;  // best existing C++ port (91-100 s)
constexpr double kLibrosaFunctionalsSeconds = 90.9;  // librosa 0.11 functionals, same files, one core

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double run_extract(const ser::data::CorpusIndex& index, int jobs, const std::string& out,
                   const std::string& set_name = "issa193") {
  const auto set_ptr = ser::features::make_feature_set(set_name);
  const ser::features::FeatureSet& set = *set_ptr;
  ser::features::ExtractOptions opt;
  opt.out_dir = out;
  opt.jobs = jobs;
  opt.use_cache = false;
  opt.progress = false;
  const auto t0 = Clock::now();
  const auto summary = ser::features::extract_corpus(index, set, opt);
  const double s = since(t0);
  if (summary.failed) std::printf("  warning: %zu files failed\n", summary.failed);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string root = std::string(SER_SHARED_DEFAULT) + "/data/emodb";
  int repeat = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--root") root = argv[i + 1];
    else if (flag == "--repeat") repeat = std::max(1, std::atoi(argv[i + 1]));
  }
  if (!std::filesystem::is_directory(root)) {
    std::printf("SKIP: Emo-DB not found at %s (pass --root)\n", root.c_str());
    return 0;
  }
  const auto index = ser::data::index_emodb(root);
  const std::size_t n = index.items.size();
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const std::string out = (std::filesystem::temp_directory_path() / "ser-bench-extract").string();
  std::printf("Emo-DB: %zu files from %s\n", n, root.c_str());

  for (int r = 0; r < repeat; ++r) {
    const double t1 = run_extract(index, 1, out);
    const double tn = run_extract(index, static_cast<int>(cores), out);
    std::printf("1 thread : %6.2f s  %7.1f files/s  %6.1fx librosa 0.11 (159.7 s)  %5.1fx best C++ port (91 s)\n", t1,
                n / t1, kLibrosaSeconds / t1, kBestPortSeconds / t1);
    std::printf("%u threads: %6.2f s  %7.1f files/s  %6.1fx librosa 0.11           scaling %.2fx on %u cores\n",
                cores, tn, n / tn, kLibrosaSeconds / tn, t1 / tn, cores);
  }

  // The functionals set and the issa193+functionals concatenation (one shared pass).
  for (int r = 0; r < repeat; ++r) {
    const double i1 = run_extract(index, 1, out, "issa193");
    const double in = run_extract(index, static_cast<int>(cores), out, "issa193");
    const double f1 = run_extract(index, 1, out, "functionals");
    const double fn = run_extract(index, static_cast<int>(cores), out, "functionals");
    const double c1 = run_extract(index, 1, out, "issa193+functionals");
    const double cn = run_extract(index, static_cast<int>(cores), out, "issa193+functionals");
    std::printf("functionals 1 thread : %6.2f s  %7.1f files/s  %6.1fx librosa 0.11 functionals (90.9 s)\n", f1, n / f1,
                kLibrosaFunctionalsSeconds / f1);
    std::printf("functionals %u threads: %6.2f s  %7.1f files/s  %6.1fx librosa 0.11 functionals  scaling %.2fx\n", cores,
                fn, n / fn, kLibrosaFunctionalsSeconds / fn, f1 / fn);
    std::printf("issa193+functionals 1 thread : %6.2f s  = %.2fx issa193 alone (%.2f s); %.1fx librosa (159.7 + 90.9 s)\n",
                c1, c1 / i1, i1, (kLibrosaSeconds + kLibrosaFunctionalsSeconds) / c1);
    std::printf("issa193+functionals %u threads: %6.2f s  = %.2fx issa193 alone (%.2f s)\n", cores, cn, cn / in, in);
  }

  // Per-stage breakdown of the functionals-only work, one thread.
  {
    enum { kFLoad, kFStft, kFShared, kFDelta, kFLogmel, kFSpectral, kFZcr, kFYin, kFStats, kFStages };
    const char* fnames[kFStages] = {"decode+resample", "stft+magnitude", "mel+mfcc+chroma+contrast (shared)",
                                    "delta", "logmel64", "rms+centroid+bw+rolloff+flatness", "zcr", "yin",
                                    "stats (functionals_vector)"};
    double fsecs[kFStages] = {};
    auto ftimed = [&](int stage, auto&& fn) {
      const auto t0 = Clock::now();
      auto result = fn();
      fsecs[stage] += since(t0);
      return result;
    };
    for (const auto& item : index.items) {
      const auto sig = ftimed(kFLoad, [&] { return ser::audio::load(item.path, 22050); });
      const float* y = sig.samples.data();
      const std::size_t len = sig.samples.size();
      ser::features::FunctionalsFrames f;
      const auto S = ftimed(kFStft, [&] { return ser::dsp::magnitude(ser::dsp::stft(y, len)); });
      ftimed(kFShared, [&] {
        f.mfcc = ser::dsp::mfcc_from_mel_db(ser::dsp::power_to_db(ser::dsp::melspectrogram(S, 22050)));
        f.tuning_stft = ser::dsp::estimate_tuning(S, 22050);
        f.chroma_stft = ser::dsp::chroma_stft(S, 22050, f.tuning_stft);
        f.contrast = ser::dsp::spectral_contrast(S, 22050);
        return 0;
      });
      f.delta_mfcc = ftimed(kFDelta, [&] { return ser::dsp::delta(f.mfcc, 9); });
      f.logmel = ftimed(kFLogmel, [&] { return ser::dsp::power_to_db(ser::dsp::melspectrogram(S, 22050, 2048, 64)); });
      ftimed(kFSpectral, [&] {
        f.rms = ser::dsp::rms_from_magnitude(S).cast<double>();
        f.centroid = ser::dsp::spectral_centroid(S, 22050);
        f.bandwidth = ser::dsp::spectral_bandwidth(S, 22050, f.centroid);
        f.rolloff = ser::dsp::spectral_rolloff(S, 22050);
        f.flatness = ser::dsp::spectral_flatness(S);
        return 0;
      });
      f.zcr = ftimed(kFZcr, [&] { return ser::dsp::zero_crossing_rate(y, len); });
      f.f0 = ftimed(kFYin, [&] { return ser::dsp::yin(y, len, 60, 600, 22050); });
      f.voiced.assign(f.f0.size(), 1);
      f.n_samples = len;
      f.sr = 22050;
      ftimed(kFStats, [&] { return ser::features::functionals_vector(f); });
    }
    double total = 0;
    for (double s : fsecs) total += s;
    std::printf("functionals per stage, one thread (%.2f s in all):\n", total);
    for (int s = 0; s < kFStages; ++s)
      std::printf("  %-34s %6.3f s  %5.1f %%\n", fnames[s], fsecs[s], 100 * fsecs[s] / total);
  }

  // Per-stage breakdown, one thread, same work as issa193_frames.
  enum { kLoad, kStft, kMelMfcc, kChroma, kContrast, kHpss, kIstft, kTuningCqt, kCqt, kChromaTonnetz, kStages };
  const char* names[kStages] = {"decode+resample", "stft",       "mel+mfcc", "tuning+chroma_stft", "contrast",
                                "hpss",            "istft",      "stft+tuning of y_harm", "cqt", "chroma_cqt+tonnetz"};
  double secs[kStages] = {};
  auto timed = [&](int stage, auto&& fn) {
    const auto t0 = Clock::now();
    auto result = fn();
    secs[stage] += since(t0);
    return result;
  };
  double audio_seconds = 0;
  for (const auto& item : index.items) {
    const auto sig = timed(kLoad, [&] { return ser::audio::load(item.path, 22050); });
    audio_seconds += sig.duration_seconds();
    const float* y = sig.samples.data();
    const std::size_t len = sig.samples.size();
    const auto D = timed(kStft, [&] { return ser::dsp::stft(y, len); });
    const auto S = ser::dsp::magnitude(D);
    timed(kMelMfcc, [&] { return ser::dsp::mfcc_from_mel_db(ser::dsp::power_to_db(ser::dsp::melspectrogram(S, 22050))); });
    timed(kChroma, [&] { return ser::dsp::chroma_stft(S, 22050, ser::dsp::estimate_tuning(S, 22050)); });
    timed(kContrast, [&] { return ser::dsp::spectral_contrast(S, 22050); });
    const auto H = timed(kHpss, [&] { return ser::dsp::hpss_harmonic(D); });
    const auto y_harm = timed(kIstft, [&] { return ser::dsp::istft(H, len); });
    const double tuning = timed(kTuningCqt, [&] {
      return ser::dsp::estimate_tuning(ser::dsp::magnitude(ser::dsp::stft(y_harm.data(), len)), 22050, 2048, 36);
    });
    const auto C = timed(kCqt, [&] { return ser::dsp::cqt_magnitude(y_harm.data(), len, 22050, tuning); });
    timed(kChromaTonnetz, [&] { return ser::dsp::tonnetz_from_chroma(ser::dsp::chroma_cqt_from_magnitude(C)); });
  }
  double total = 0;
  for (double s : secs) total += s;
  std::printf("per stage, one thread (%.0f s of audio, %.1fx realtime overall):\n", audio_seconds, audio_seconds / total);
  for (int s = 0; s < kStages; ++s) std::printf("  %-22s %6.3f s  %5.1f %%\n", names[s], secs[s], 100 * secs[s] / total);
  std::filesystem::remove_all(out);
  return 0;
}
