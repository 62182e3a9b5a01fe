#pragma once
// Data augmentation of mono float32 utterances. The signal-changing primitives follow librosa
// 0.11 (time_stretch, pitch_shift, trim, resample with soxr HQ) so that copies made here match
// copies made in Python; noise and shift are seeded draws from a portable generator, so the same
// seed gives the same copy on every machine and in any processing order.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ser::augment {

// xoshiro256** seeded through splitmix64: identical streams on every standard library (unlike
// std::normal_distribution and friends).
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t next();
  double uniform();                          // [0, 1)
  double uniform(double lo, double hi);      // [lo, hi)
  std::uint64_t below(std::uint64_t n);      // [0, n), n > 0
  double normal();                           // standard normal (Box-Muller)

 private:
  std::uint64_t s_[4];
};

// The seed of one copy: a hash of (run seed, item id, recipe position, copy number), so a copy
// does not depend on which other items, folds or threads exist.
std::uint64_t copy_seed(std::uint64_t seed, const std::string& item_id, std::size_t recipe, int copy);

// ---- primitives (sr = the signal's sample rate) ----
// The speed factor and tempo rate range, and pitch's reach in octaves.
inline constexpr double kMinRate = 0.25, kMaxRate = 4.0, kMaxPitchOctaves = 2.0;


// Speed change by resampling, pitch and tempo together: librosa.resample(y, orig_sr=sr,
// target_sr=sr / factor, res_type="soxr_hq") played back at sr. factor < 1 is slower and longer.
// factor must be in [kMinRate, kMaxRate], like tempo's rate and pitch's 2^(-steps/bins).
std::vector<float> change_speed(const std::vector<float>& y, int sr, double factor);

// librosa.effects.time_stretch(y, rate): phase vocoder on the 2048/512 Hann STFT, length
// round(n / rate). rate > 1 is faster (shorter); pitch is kept.
std::vector<float> time_stretch(const std::vector<float>& y, double rate);

// librosa.effects.pitch_shift(y, sr, n_steps, bins_per_octave): time stretch by
// 2^(-steps/bins), resample back to the original duration, fixed to the input length.
std::vector<float> pitch_shift(const std::vector<float>& y, int sr, double n_steps, int bins_per_octave = 12);

// librosa.effects.trim(y, top_db): frames (2048/512, centred) whose RMS is within top_db of the
// loudest frame are kept; [start, end) is the kept interval in samples (0, 0 when nothing is).
struct Trimmed {
  std::vector<float> samples;
  std::size_t start = 0, end = 0;
};
Trimmed trim(const std::vector<float>& y, double top_db = 60.0, int frame_length = 2048, int hop = 512);

// White Gaussian noise at snr_db relative to the power of the part it covers: a seeded contiguous
// segment of round(fraction * n) samples (the whole utterance when fraction = 1). Silence stays
// silence (its power is 0, so is the noise's).
std::vector<float> add_noise(const std::vector<float>& y, double snr_db, double fraction, Rng& rng);

// Shift by `samples` with zero fill, the length kept: delay = zeros in front (the end drops off),
// advance = the start drops off and zeros follow. Throws when samples >= the clip's length.
std::vector<float> shift(const std::vector<float>& y, std::size_t samples, bool delay = true);

// ---- recipes: the ops users write in --ops and in a config's augment.ops ----
//
//   recipe := op ('+' op)*                    ops applied left to right to one copy
//   op     := name | name '=' value           the shorthand sets the op's main parameter
//           | name ':' key '=' value (',' key '=' value)*
//   value  := number | choice ('|' choice)*   one of the choices, drawn per copy
//           | number '..' number              uniform in [lo, hi], drawn per copy
//
//   op     parameters (main first)                          defaults
//   speed  factor in [0.25, 4]                              (required)
//   tempo  rate in [0.25, 4]                                (required)
//   pitch  steps (semitones), bins_per_octave in [1, 120];  steps required, bins_per_octave 12
//          |steps| <= 2 * bins_per_octave (two octaves)
//   noise  snr_db in [-20, 100], fraction in (0, 1]         snr_db required, fraction 1
//   shift  max_ms in [0, 60000], direction right|left       max_ms required (drawn in [0, max_ms]), right
//   trim   top_db in (0, 200]                               60
//
// The bounds keep every copy within a factor 4 of its source's length (and pitch within two
// octaves): beyond them an op is no longer an augmentation, and its cost and output size grow
// without limit. A copy is also refused when it would exceed audio::limits().max_seconds.
//
// e.g. "speed=0.81|1.23", "noise:snr_db=10..30,fraction=0.25", "trim+shift=200".

struct ParamValue {
  std::vector<std::string> choices;  // one element for a plain value
  bool is_range = false;
  double lo = 0, hi = 0;
};

struct OpSpec {
  std::string name;
  std::vector<std::pair<std::string, ParamValue>> params;  // every parameter, defaults filled in
};

struct Recipe {
  std::string text;  // as written
  std::vector<OpSpec> ops;
};

std::vector<std::string> op_names();


// Throws ser::Error (config kind, subject `where`, e.g. "--ops" or "augment.ops[1]") for an
// unknown op or parameter, a malformed value, a value outside its range above (the message names
// the op, the parameter and the range), or a range with lo > hi.
Recipe parse_recipe(const std::string& text, const std::string& where);

// A copy and what was drawn for it, e.g. "speed:factor=0.81+noise:snr_db=17.3,fraction=0.25".
struct Augmented {
  std::vector<float> samples;
  std::string applied;
};

// Applies the recipe to one utterance with every draw taken from `seed`. Throws ser::Error
// (input kind, subject `what`: the file) when an op cannot apply to this clip (a shift at least
// as long as the clip), would make it longer than audio::limits().max_seconds, or leaves no
// audio (trim of an all-silent clip).
Augmented apply_recipe(const Recipe& recipe, const std::vector<float>& y, int sr, std::uint64_t seed,
                       const std::string& what);

// A short name for file names: "speed", "trim+shift", ...
std::string recipe_tag(const Recipe& recipe);

}  // namespace ser::augment
