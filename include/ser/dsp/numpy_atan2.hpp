#pragma once
// np.arctan2 on float32 as NumPy 2 computes it on x86-64 with AVX-512 (the SVML "la" kernel it
// bundles), for the phase vocoder: its float32 phase accumulator turns 1-ulp differences in the
// angles into ~0.01 rad phase steps late in long clips.
namespace ser::dsp {

float numpy_atan2f(float y, float x);

}  // namespace ser::dsp
