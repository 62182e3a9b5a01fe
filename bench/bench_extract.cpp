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
#include "ser/features/issa193.hpp"

namespace {

constexpr double kLibrosaSeconds = 159.7;  // librosa 0.11, 535 Emo-DB files, one core
constexpr double kBestPortSeconds = 91.0;  // best existing C++ port (91-100 s)

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double run_extract(const ser::data::CorpusIndex& index, int jobs, const std::string& out) {
  ser::features::Issa193 set;
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
