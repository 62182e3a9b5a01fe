#pragma once
// Internal: the overlap-add engine behind istft, fed one complex64 column at a time so that
// effects.harmonic can mask each frame on the fly instead of materialising the masked STFT.
#include <complex>
#include <cstddef>
#include <functional>
#include <vector>

namespace ser::dsp::detail {

// column(t, out) writes frame t's n_bins complex64 values to out.
using ColumnFn = std::function<void(std::size_t, std::complex<float>*)>;

std::vector<float> istft_columns(int n_bins, std::size_t n_cols, std::size_t length, int hop, const ColumnFn& column);

}  // namespace ser::dsp::detail
