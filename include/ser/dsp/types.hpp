#pragma once
// Spectral matrices follow librosa's (feature x time) shape: rows are frequency bins or feature
// channels, columns are frames. Eigen's column-major storage keeps each frame contiguous.
#include <Eigen/Core>
#include <complex>

namespace ser::dsp {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;
using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;
using ComplexMatrix = Eigen::Matrix<std::complex<float>, Eigen::Dynamic, Eigen::Dynamic>;

}  // namespace ser::dsp
