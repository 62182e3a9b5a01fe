// Speech-encoder forward speed on the CPU: a base-sized wav2vec2 folder (bench/make_random_encoder.py)
// on a clip of S seconds, best of R runs, with the real-time factor and the achieved GFLOP/s;
// compared with PyTorch-Python on the same architecture, threads and clip by bench_encoder.sh.
//   bench_encoder FOLDER [seconds=3] [runs=3]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "model/torch/encoder.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_encoder FOLDER [seconds] [runs]\n");
    return 2;
  }
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 3;
  const auto encoder = ser::model::SpeechEncoder::load(argv[1]);
  const auto& c = encoder.config();
  std::mt19937 rng(1);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  std::vector<float> clip(static_cast<std::size_t>(seconds * c.sampling_rate));
  for (auto& v : clip) v = noise(rng);
  encoder.forward(clip);  // warm-up: allocator, oneDNN kernels
  double best = 1e30;
  std::size_t frames = 0;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto out = encoder.forward(clip);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    frames = static_cast<std::size_t>(out.cnn.size(0));
  }
  // Multiply-adds x 2: the conv stack, then per layer the 4 projections, attention and the
  // feed-forward over `frames` frames.
  double flops = 0;
  double length = static_cast<double>(clip.size());
  for (std::size_t i = 0; i < c.conv_dim.size(); ++i) {
    length = std::floor((length - c.conv_kernel[i]) / c.conv_stride[i]) + 1;
    flops += 2.0 * length * c.conv_dim[i] * (i == 0 ? 1 : c.conv_dim[i - 1]) * c.conv_kernel[i];
  }
  const double t = static_cast<double>(frames), h = c.hidden_size;
  flops += 2.0 * t * c.conv_dim.back() * h;                                              // projection
  flops += 2.0 * t * h * (h / c.num_conv_pos_embedding_groups) * c.num_conv_pos_embeddings;  // positional conv
  flops += c.num_hidden_layers * (2.0 * t * h * h * 4 + 2.0 * 2 * t * t * h + 2.0 * 2 * t * h * c.intermediate_size);
  std::printf("ser encoder forward: %s, %.1f s clip, %zu frames: best %.3f s of %d (real-time factor %.3f, %.1fx real "
              "time), %.1f GFLOP, %.1f GFLOP/s\n",
              c.model_type.c_str(), seconds, frames, best, runs, best / seconds, seconds / best, flops / 1e9,
              flops / 1e9 / best);
  return 0;
}
