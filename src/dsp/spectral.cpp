#include "ser/dsp/spectral.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <map>
#include <stdexcept>
#include <vector>

#include "ser/dsp/filters.hpp"

namespace ser::dsp {

namespace {

template <typename M, typename T>
M power_to_db_impl(const M& S, T amin, T top_db) {
  M out(S.rows(), S.cols());
  const T* in = S.data();
  T* o = out.data();
  T max_db = -std::numeric_limits<T>::infinity();
  for (Eigen::Index i = 0; i < S.size(); ++i) {
    o[i] = T(10) * std::log10(std::max(amin, in[i]));
    max_db = std::max(max_db, o[i]);
  }
  if (top_db >= 0 && S.size() > 0) {
    const T floor = max_db - top_db;
    for (Eigen::Index i = 0; i < S.size(); ++i) o[i] = std::max(o[i], floor);
  }
  return out;
}

// Filter banks depend only on (sr, n_fft[, tuning]); build each once per process.
template <typename Key, typename Make>
const Matrix& cached_bank(const Key& key, Make make) {
  static std::mutex m;
  static std::map<Key, Matrix> cache;
  std::lock_guard<std::mutex> lock(m);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make()).first;
  return it->second;
}

}  // namespace

Matrix power_to_db(const Matrix& S, float amin, float top_db) { return power_to_db_impl<Matrix, float>(S, amin, top_db); }
MatrixD power_to_db(const MatrixD& S, double amin, double top_db) {
  return power_to_db_impl<MatrixD, double>(S, amin, top_db);
}

namespace {

// The mel bank is ~98 % zeros: each band touches a short run of FFT bins. Store the runs.
struct SparseBank {
  std::vector<Eigen::Index> begin, end;  // per row, nonzero columns [begin, end)
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> weights;  // rows contiguous
};

SparseBank make_sparse_mel(double sr, int n_fft, int n_mels) {
  SparseBank bank{{}, {}, mel_filterbank(sr, n_fft, n_mels)};
  for (Eigen::Index m = 0; m < bank.weights.rows(); ++m) {
    Eigen::Index b = 0, e = bank.weights.cols();
    while (b < e && bank.weights(m, b) == 0.0f) ++b;
    while (e > b && bank.weights(m, e - 1) == 0.0f) --e;
    bank.begin.push_back(b);
    bank.end.push_back(e);
  }
  return bank;
}

}  // namespace

Matrix melspectrogram(const Matrix& S_mag, double sr, int n_fft, int n_mels) {
  static std::mutex m;
  static std::map<std::tuple<double, int, int>, SparseBank> cache;
  const SparseBank* bank = nullptr;
  {
    std::lock_guard<std::mutex> lock(m);
    const auto key = std::make_tuple(sr, n_fft, n_mels);
    auto it = cache.find(key);
    if (it == cache.end()) it = cache.emplace(key, make_sparse_mel(sr, n_fft, n_mels)).first;
    bank = &it->second;
  }
  Matrix mel(n_mels, S_mag.cols());
  std::vector<float> power(static_cast<std::size_t>(S_mag.rows()));
  for (Eigen::Index t = 0; t < S_mag.cols(); ++t) {
    const float* s = S_mag.col(t).data();
    for (std::size_t k = 0; k < power.size(); ++k) power[k] = s[k] * s[k];  // |S|**2 in float32
    for (Eigen::Index r = 0; r < n_mels; ++r) {
      const float* w = bank->weights.row(r).data();
      double acc = 0.0;
      for (Eigen::Index k = bank->begin[static_cast<std::size_t>(r)]; k < bank->end[static_cast<std::size_t>(r)]; ++k) {
        acc += static_cast<double>(w[k]) * power[static_cast<std::size_t>(k)];
      }
      mel(r, t) = static_cast<float>(acc);
    }
  }
  return mel;
}

Matrix mfcc_from_mel_db(const Matrix& mel_db, int n_mfcc) {
  static std::mutex m;
  static std::map<std::pair<int, int>, Matrix> cache;
  const Matrix* dct = nullptr;
  {
    std::lock_guard<std::mutex> lock(m);
    const auto key = std::make_pair(n_mfcc, static_cast<int>(mel_db.rows()));
    auto it = cache.find(key);
    if (it == cache.end()) it = cache.emplace(key, dct_ortho_matrix(n_mfcc, static_cast<int>(mel_db.rows())).cast<float>()).first;
    dct = &it->second;
  }
  return *dct * mel_db;
}

Matrix chroma_stft(const Matrix& S_mag, double sr, double tuning, int n_fft, int n_chroma) {
  const Matrix& basis = cached_bank(std::make_tuple(sr, n_fft, tuning, n_chroma),
                                    [&] { return chroma_filterbank(sr, n_fft, tuning, n_chroma); });
  Matrix chroma = basis * S_mag;
  // Per-frame inf-norm; frames whose maximum is below the smallest normal are left as they are.
  for (Eigen::Index t = 0; t < chroma.cols(); ++t) {
    const double peak = chroma.col(t).cwiseAbs().maxCoeff();
    if (peak >= std::numeric_limits<double>::min()) {
      for (Eigen::Index c = 0; c < chroma.rows(); ++c) chroma(c, t) = static_cast<float>(chroma(c, t) / peak);
    }
  }
  return chroma;
}

namespace {
constexpr int kLanes = 16;  // frames processed together; one AVX-512 register of floats
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

inline Lanes lane_min(Lanes a, Lanes b) { return b < a ? b : a; }
inline Lanes lane_max(Lanes a, Lanes b) { return b > a ? b : a; }

// For kLanes frames at once, the float32 sums (ascending, as numpy sums a sorted slice) of the q
// smallest and q largest values of rows [lo, lo+n) of `block` (one Lanes per bin). Each lane
// keeps two sorted lists updated branchlessly: inserting v into an ascending list a while
// dropping its largest is t[i] = min(a[i], max(a[i-1], v)), evaluated from the top down.
void band_extreme_sums(const Lanes* block, std::size_t lo, std::size_t n, std::size_t q, Lanes& low_sum,
                       Lanes& high_sum) {
  constexpr std::size_t kMaxQ = 32;
  Lanes low[kMaxQ], high[kMaxQ];
  const float inf = std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < q; ++i) {
    low[i] = Lanes{} + inf;
    high[i] = Lanes{} - inf;
  }
  for (std::size_t b = lo; b < lo + n; ++b) {
    const Lanes v = block[b];
    for (std::size_t i = q - 1; i > 0; --i) {
      low[i] = lane_min(low[i], lane_max(low[i - 1], v));
      high[i] = lane_max(high[i], lane_min(high[i - 1], v));
    }
    low[0] = lane_min(low[0], v);
    high[0] = lane_max(high[0], v);
  }
  low_sum = Lanes{};
  high_sum = Lanes{};
  for (std::size_t i = 0; i < q; ++i) {
    low_sum += low[i];
    high_sum += high[q - 1 - i];
  }
}

}  // namespace

MatrixD spectral_contrast(const Matrix& S_mag, double sr, int n_fft, double fmin, int n_bands, double quantile) {
  const Eigen::Index n_bins = S_mag.rows(), n_frames = S_mag.cols();
  std::vector<double> octa(static_cast<std::size_t>(n_bands) + 2, 0.0);
  for (int i = 1; i < n_bands + 2; ++i) octa[static_cast<std::size_t>(i)] = fmin * std::pow(2.0, i - 1);

  MatrixD valley(n_bands + 1, n_frames), peak(n_bands + 1, n_frames);
  struct Band {
    std::size_t lo, n, q;
  };
  std::vector<Band> bands;
  for (int k = 0; k <= n_bands; ++k) {
    const double f_low = octa[static_cast<std::size_t>(k)], f_high = octa[static_cast<std::size_t>(k) + 1];
    Eigen::Index first = -1, last = -1;
    for (Eigen::Index b = 0; b < n_bins; ++b) {
      const double f = static_cast<double>(b) * sr / n_fft;
      if (f >= f_low && f <= f_high) {
        if (first < 0) first = b;
        last = b;
      }
    }
    // librosa widens each band by the bin below it, and the last band up to Nyquist.
    Eigen::Index lo = first, hi = last;  // inclusive
    if (k > 0) lo = first - 1;
    if (k == n_bands) hi = n_bins - 1;
    const Eigen::Index band_count = hi - lo + 1;
    if (k < n_bands) --hi;  // the top bin of a band belongs to the next band's sub-band only
    const Eigen::Index sub_count = hi - lo + 1;
    const auto q = static_cast<std::size_t>(std::min<double>(
        static_cast<double>(sub_count), std::max(1.0, std::nearbyint(quantile * static_cast<double>(band_count)))));
    if (q > 32) throw std::invalid_argument("spectral_contrast: quantile too large for this band size");
    bands.push_back({static_cast<std::size_t>(lo), static_cast<std::size_t>(sub_count), q});
  }

  // Frames side by side (one Lanes of kLanes frames per bin) so each band's selection runs on
  // kLanes frames at once.
  const auto bins = static_cast<std::size_t>(n_bins);
  std::vector<Lanes> block(bins);
  const float* cols[kLanes];
  for (Eigen::Index t0 = 0; t0 < n_frames; t0 += kLanes) {
    const int lanes = static_cast<int>(std::min<Eigen::Index>(kLanes, n_frames - t0));
    for (int l = 0; l < kLanes; ++l) cols[l] = S_mag.col(t0 + std::min(l, lanes - 1)).data();  // pad: repeat last
    for (std::size_t b = 0; b < bins; ++b) {
      for (int l = 0; l < kLanes; ++l) block[b][l] = cols[l][b];
    }
    for (std::size_t k = 0; k < bands.size(); ++k) {
      const Band& band = bands[k];
      Lanes low_sum, high_sum;
      band_extreme_sums(block.data(), band.lo, band.n, band.q, low_sum, high_sum);
      for (int l = 0; l < lanes; ++l) {
        valley(static_cast<Eigen::Index>(k), t0 + l) = low_sum[l] / static_cast<float>(band.q);
        peak(static_cast<Eigen::Index>(k), t0 + l) = high_sum[l] / static_cast<float>(band.q);
      }
    }
  }
  return power_to_db(peak) - power_to_db(valley);
}

}  // namespace ser::dsp
