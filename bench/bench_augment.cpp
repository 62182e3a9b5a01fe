// Augmentation cost per op on a 3-second utterance (22050 Hz), as a ratio against extracting the
// issa193 vector of the same clip: training-time copies are each augmented once and then
// extracted, so the ratio says how much augmentation adds to making a copy.
//   bench_augment [--repeat N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ser/augment/augment.hpp"
#include "ser/features/registry.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double best_ms(const std::function<std::size_t()>& fn, int repeat) {
  double best = 1e300;
  std::size_t sink = 0;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = Clock::now();
    sink += fn();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  if (sink == 1) std::printf(" ");
  return best * 1e3;
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 10;
  for (int i = 1; i + 1 < argc; i += 2)
    if (std::string(argv[i]) == "--repeat") repeat = std::max(1, std::atoi(argv[i + 1]));
  const int sr = 22050;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.f, 0.1f);
  std::vector<float> y(3 * sr);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = 0.3f * std::sin(0.05f * static_cast<float>(i)) + nd(rng);

  const auto set = ser::features::make_feature_set("issa193");
  const double extract = best_ms([&] { return set->compute(ser::audio::Signal{y, sr}).size(); }, repeat);
  std::printf("issa193 extraction (baseline): %8.2f ms\n", extract);
  const struct {
    const char* recipe;
  } ops[] = {{"speed=0.81"}, {"tempo=0.81"}, {"pitch=2"}, {"noise=20"}, {"shift=200"}, {"trim"}};
  for (const auto& op : ops) {
    const auto recipe = ser::augment::parse_recipe(op.recipe, "bench");
    const double ms = best_ms([&] { return ser::augment::apply_recipe(recipe, y, sr, 1, "bench").samples.size(); }, repeat);
    std::printf("%-12s %8.2f ms  = %5.3f x extraction\n", op.recipe, ms, ms / extract);
  }
  return 0;
}
