#!/usr/bin/python3
"""Golden outputs for tests/unit/test_stft_exact.cpp (ser::dsp::RealFftF64 and ser::dsp::stft).

NumPy >= 2.0's numpy.fft.rfft and scipy.fft.rfft (>= 1.4) run the same pocketfft C++ code, in
double precision for float64 input; librosa 0.11's stft is np.fft.rfft(fft_window * y_frames)
with a float64 scipy window and float32 frames, stored as complex64. NumPy 1.x's own numpy.fft
is the older C pocketfft, so the goldens use scipy.fft. Generated with NumPy 1.24 + SciPy 1.10
(Debian 12):  /usr/bin/python3 scripts/make_stft_fixtures.py

Files (tests/fixtures/stft/):
  rfft64_sizes.npy  int64 (S,)   sizes; the next two concatenate one vector per size, in order
  rfft64_in.npy     float64      n samples          (the n = 1024 vector spans 1e-8 .. 1)
  rfft64_out.npy    float64      (n/2+1, 2) (re, im) of scipy.fft.rfft(x)
  y.npy             float32 (5000,)  a 215 Hz tone plus a chirp fading in from -200 dB
  stft_hann_2048_512.npy  float32 (1025, F, 2)  librosa.stft(y) (hann, n_fft 2048, hop 512)
  stft_ones_1024_256.npy  float32 (513, F, 2)   librosa.stft(y, 1024, 256, window="ones")
"""
import os

import numpy as np
import scipy.fft
import scipy.signal

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "stft")
# Powers of two are what ser uses; the others exercise radices 2, 3 and 5 with ido > 1.
SIZES = [1, 2, 3, 4, 5, 6, 8, 12, 15, 16, 30, 60, 120, 250, 960, 1000, 1024, 2048]


def librosa_stft(y, n_fft, hop, window):
    """librosa 0.11 stft(center=True, pad_mode="constant") with scipy.fft as NumPy 2's rfft."""
    w = scipy.signal.get_window(window, n_fft, fftbins=True)
    assert w.dtype == np.float64
    yp = np.pad(y, n_fft // 2, mode="constant")
    frames = 1 + len(y) // hop
    fr = np.stack([yp[t * hop:t * hop + n_fft] for t in range(frames)], axis=1)
    assert fr.dtype == np.float32
    return scipy.fft.rfft(w[:, None] * fr, axis=0).astype(np.complex64)


def pairs(z):
    return np.stack([z.real, z.imag], axis=-1)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240612)
    xin, xout = [], []
    for n in SIZES:
        x = rng.standard_normal(n)
        if n == 1024:
            x *= 10.0 ** rng.uniform(-8, 0, n)
        X = scipy.fft.rfft(x)
        assert X.dtype == np.complex128
        xin.append(x)
        xout.append(pairs(X).ravel())
    np.save(os.path.join(OUT, "rfft64_sizes.npy"), np.array(SIZES, np.int64))
    np.save(os.path.join(OUT, "rfft64_in.npy"), np.concatenate(xin))
    np.save(os.path.join(OUT, "rfft64_out.npy"), np.concatenate(xout))

    sr = 22050
    t = np.arange(5000) / sr
    env = 10.0 ** (-5 + 5 * t / t[-1])
    # A loud tone periodic in 1024 samples (bin 10 of n_fft 1024, 215 Hz) plus a quiet chirp: most
    # bins are ~1e-8 of the frame's energy, so the last bit of the window or of any FFT rounding
    # shows. NumPy 1.x's C pocketfft instead of scipy.fft changes 889 of the 10250 hann values and
    # 447 of the 10260 ones-window values; a glibc-cos Hann window changes 1785 (a plain chirp:
    # none at all).
    y = 0.5 * np.cos(2 * np.pi * 10 * np.arange(len(t)) / 1024) + 1e-5 * env * scipy.signal.chirp(
        t, f0=100, t1=t[-1], f1=8000)
    y = y.astype(np.float32)
    np.save(os.path.join(OUT, "y.npy"), y)
    np.save(os.path.join(OUT, "stft_hann_2048_512.npy"), pairs(librosa_stft(y, 2048, 512, "hann")))
    np.save(os.path.join(OUT, "stft_ones_1024_256.npy"), pairs(librosa_stft(y, 1024, 256, "boxcar")))


if __name__ == "__main__":
    main()
