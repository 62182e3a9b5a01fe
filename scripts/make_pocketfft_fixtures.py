#!/usr/bin/python3
"""Golden outputs for tests/unit/test_pocketfft_f32.cpp (ser::dsp::RealFftF32 / ComplexFftF32).

scipy.fft (>= 1.4) vendors pocketfft's C++ code and, unlike numpy.fft < 2.0, keeps float32 /
complex64 in single precision; NumPy 2.x's numpy.fft runs the same code. Generated with NumPy 1.24
+ SciPy 1.10 (Debian 12):  /usr/bin/python3 scripts/make_pocketfft_fixtures.py

Layout (all float32 unless noted; complex stored as trailing (re, im) pairs, flattened):
  sizes.npy       int64 (S, 2): rows (n, vectors); every other file concatenates, size by size
                  and vector by vector, the data for these rows in this order.
  irfft_in/out    n/2+1 complex spectra -> scipy.fft.irfft(x, n)       (DC/Nyquist imag != 0)
  rfft_in/out     n real samples        -> scipy.fft.rfft(x)
  fft_in/out      n complex values      -> scipy.fft.fft(x)
  chirp_frames    (F, 2048) hann-windowed frames of a fading-in chirp (hop 512)
  chirp_rfft      (F, 1025, 2) scipy.fft.rfft(frames);  chirp_irfft (F, 2048) irfft of that.
"""
import os

import numpy as np
import scipy.fft
import scipy.signal

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "pocketfft")
# Powers of two are what ser uses; the rest cover every radix (incl. 3 and 5 with ido > 1).
SIZES = [1, 2, 3, 5, 6, 8, 9, 10, 12, 15, 16, 20, 24, 25, 30, 32, 40, 45, 48, 50, 60, 64, 75, 100,
         120, 250, 256, 512, 960, 1000, 1024, 2048, 4096]


def vectors(n):
    return 3 if n <= 512 else (2 if n <= 2048 else 1)


def complex_vec(rng, m, v):
    z = rng.standard_normal(m) + 1j * rng.standard_normal(m)
    if v == 1:  # spectral dynamic range: magnitudes log-uniform over 1e-8 .. 1
        z *= 10.0 ** rng.uniform(-8, 0, m)
    return z.astype(np.complex64)


def real_vec(rng, n, v):
    x = rng.standard_normal(n)
    if v == 1:
        x *= 10.0 ** rng.uniform(-8, 0, n)
    return x.astype(np.float32)


def pairs(z):
    return np.stack([z.real, z.imag], axis=-1).astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240611)
    acc = {k: [] for k in ("irfft_in", "irfft_out", "rfft_in", "rfft_out", "fft_in", "fft_out")}
    for n in SIZES:
        for v in range(vectors(n)):
            spec = complex_vec(rng, n // 2 + 1, v)
            y = scipy.fft.irfft(spec, n)
            assert y.dtype == np.float32
            acc["irfft_in"].append(pairs(spec).ravel())
            acc["irfft_out"].append(y.ravel())
            x = real_vec(rng, n, v)
            X = scipy.fft.rfft(x)
            assert X.dtype == np.complex64
            acc["rfft_in"].append(x)
            acc["rfft_out"].append(pairs(X).ravel())
            z = complex_vec(rng, n, v)
            Z = scipy.fft.fft(z)
            assert Z.dtype == np.complex64
            acc["fft_in"].append(pairs(z).ravel())
            acc["fft_out"].append(pairs(Z).ravel())
    np.save(os.path.join(OUT, "sizes.npy"), np.array([[n, vectors(n)] for n in SIZES], np.int64))
    for k, parts in acc.items():
        np.save(os.path.join(OUT, k + ".npy"), np.concatenate(parts).astype(np.float32))

    # Realistic data: a chirp fading in from -100 dB, hann-windowed frames as librosa's stft makes.
    sr, n_fft, hop = 22050, 2048, 512
    t = np.arange(int(0.5 * sr)) / sr
    env = 10.0 ** (-5 + 5 * t / t[-1])
    y = (env * scipy.signal.chirp(t, f0=100, t1=t[-1], f1=8000)).astype(np.float32)
    win = scipy.signal.get_window("hann", n_fft, fftbins=True).astype(np.float32)
    starts = [0, 4 * hop, 9 * hop, 15 * hop]
    frames = np.stack([win * y[s:s + n_fft] for s in starts]).astype(np.float32)
    spec = scipy.fft.rfft(frames, axis=-1)
    back = scipy.fft.irfft(spec, n_fft, axis=-1)
    assert spec.dtype == np.complex64 and back.dtype == np.float32
    np.save(os.path.join(OUT, "chirp_frames.npy"), frames)
    np.save(os.path.join(OUT, "chirp_rfft.npy"), pairs(spec))
    np.save(os.path.join(OUT, "chirp_irfft.npy"), back)


if __name__ == "__main__":
    main()
