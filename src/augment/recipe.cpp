// Recipes: parsing the op grammar (augment.hpp), validating every parameter before any audio is
// touched, and applying a recipe with seeded draws.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>

#include "ser/audio/audio.hpp"
#include "ser/augment/augment.hpp"
#include "ser/error.hpp"
#include "ser/util/hash.hpp"

namespace ser::augment {

// ---- Rng ----

namespace {
std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(std::uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

std::uint64_t Rng::next() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
double Rng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

std::uint64_t Rng::below(std::uint64_t n) {
  // Rejection keeps the draw unbiased for any n.
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
  std::uint64_t x;
  do x = next();
  while (x >= limit);
  return x % n;
}

double Rng::normal() {
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * uniform());
}

std::uint64_t copy_seed(std::uint64_t seed, const std::string& item_id, std::size_t recipe, int copy) {
  std::uint64_t h = util::hash64(item_id, seed);
  const std::uint64_t parts[2] = {static_cast<std::uint64_t>(recipe), static_cast<std::uint64_t>(copy)};
  return util::hash64(parts, sizeof(parts), h);
}

// ---- grammar ----

namespace {

// Number: in [lo, hi] (lo excluded when lo_open). Int: a whole number in [lo, hi].
enum class Kind { Number, Int, Word };

struct ParamDef {
  const char* name;
  Kind kind;
  const char* fallback;  // nullptr = required
  double lo = 0, hi = 0;
  bool lo_open = false;
  std::vector<std::string> words = {};  // Kind::Word: the allowed values
};

struct OpDef {
  const char* name;
  std::vector<ParamDef> params;  // the first is the main parameter (the `name=value` shorthand)
};

const std::vector<OpDef>& op_table() {
  static const std::vector<OpDef> table = {
      {"speed", {{"factor", Kind::Number, nullptr, kMinRate, kMaxRate}}},
      {"tempo", {{"rate", Kind::Number, nullptr, kMinRate, kMaxRate}}},
      // |steps| <= 2 * bins_per_octave is checked on the pair (parse_op).
      {"pitch", {{"steps", Kind::Number, nullptr, -240, 240}, {"bins_per_octave", Kind::Int, "12", 1, 120}}},
      {"noise", {{"snr_db", Kind::Number, nullptr, -20, 100}, {"fraction", Kind::Number, "1", 0, 1, true}}},
      {"shift", {{"max_ms", Kind::Number, nullptr, 0, 60000}, {"direction", Kind::Word, "right", 0, 0, false, {"right", "left"}}}},
      {"trim", {{"top_db", Kind::Number, "60", 0, 200, true}}},
  };
  return table;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (std::size_t at; (at = s.find(sep, from)) != std::string::npos; from = at + sep.size()) {
    out.push_back(s.substr(from, at - from));
  }
  out.push_back(s.substr(from));
  return out;
}

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// A whole-string number; inf and nan parse too, so that the range checks can name them.
bool to_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && errno != ERANGE;
}

std::string shown(double v) {
  std::ostringstream out;
  out << v;  // %g-style: 0, -1.5, 1e+300, inf, nan
  return out.str();
}

void check_number(double v, const ParamDef& def, const std::string& where, const std::string& what) {
  const bool in = (def.lo_open ? v > def.lo : v >= def.lo) && v <= def.hi;  // false for NaN
  const std::string range = (def.lo_open ? "(" : "[") + shown(def.lo) + ", " + shown(def.hi) + "]";
  if (def.kind == Kind::Int && !(in && v == std::floor(v))) {
    fail_config(where, what + " must be a whole number in " + range + " (got " + shown(v) + ")");
  }
  if (!in) fail_config(where, what + " must be in " + range + " (got " + shown(v) + ")");
}

ParamValue parse_value(const std::string& text, const ParamDef& def, const std::string& where, const std::string& op) {
  const std::string what = op + " " + def.name;
  ParamValue v;
  if (text.empty()) fail_config(where, what + " has no value");
  if (def.kind == Kind::Word) {
    for (const auto& c : split(text, "|")) {
      if (std::find(def.words.begin(), def.words.end(), c) == def.words.end()) {
        fail_config(where, what + " must be " + join(def.words, " or ") + " (got '" + c + "')");
      }
      v.choices.push_back(c);
    }
    return v;
  }
  const auto dots = text.find("..");
  if (dots != std::string::npos) {
    double lo = 0, hi = 0;
    if (!to_number(text.substr(0, dots), lo) || !to_number(text.substr(dots + 2), hi)) {
      fail_config(where, what + ": '" + text + "' is not a range lo..hi of numbers");
    }
    if (def.kind == Kind::Int) fail_config(where, what + " takes whole numbers, not a range");
    check_number(lo, def, where, what);
    check_number(hi, def, where, what);
    if (lo > hi) fail_config(where, what + ": range '" + text + "' has lo > hi");
    v.is_range = true;
    v.lo = lo;
    v.hi = hi;
    return v;
  }
  for (const auto& c : split(text, "|")) {
    double x;
    if (!to_number(c, x)) fail_config(where, what + ": '" + c + "' is not a number");
    check_number(x, def, where, what);
    v.choices.push_back(c);
  }
  return v;
}

OpSpec parse_op(const std::string& raw, const std::string& where) {
  const std::string text = trimmed(raw);
  if (text.empty()) fail_config(where, "empty op (recipes are op, op+op, ...; ops: " + join(op_names(), ", ") + ")");
  const auto colon = text.find(':'), eq = text.find('=');
  const std::size_t name_end = std::min(colon, eq);
  const std::string name = trimmed(text.substr(0, name_end));
  const auto def = std::find_if(op_table().begin(), op_table().end(), [&](const OpDef& d) { return name == d.name; });
  if (def == op_table().end()) {
    fail_config(where, "unknown augmentation op '" + name + "' (known: " + join(op_names(), ", ") + ")");
  }
  std::map<std::string, std::string> given;
  if (name_end == eq && eq != std::string::npos) {  // shorthand: the main parameter
    given[def->params.front().name] = trimmed(text.substr(eq + 1));
  } else if (colon != std::string::npos) {
    for (const auto& assignment : split(text.substr(colon + 1), ",")) {
      const auto at = assignment.find('=');
      if (at == std::string::npos) fail_config(where, name + ": '" + assignment + "' is not key=value");
      const std::string key = trimmed(assignment.substr(0, at));
      const bool known = std::any_of(def->params.begin(), def->params.end(), [&](const ParamDef& p) { return key == p.name; });
      if (!known) {
        std::vector<std::string> names;
        for (const auto& p : def->params) names.push_back(p.name);
        fail_config(where, name + " has no parameter '" + key + "' (it takes " + join(names, ", ") + ")");
      }
      if (given.count(key)) fail_config(where, name + ": parameter '" + key + "' given twice");
      given[key] = trimmed(assignment.substr(at + 1));
    }
  }
  OpSpec op;
  op.name = def->name;
  for (const auto& p : def->params) {
    auto it = given.find(p.name);
    if (it == given.end() && !p.fallback) {
      fail_config(where, op.name + " needs " + p.name + " (e.g. '" + op.name + "=" +
                             (op.name == "speed" || op.name == "tempo" ? "0.9" : "20") + "')");
    }
    op.params.emplace_back(p.name, parse_value(it == given.end() ? p.fallback : it->second, p, where, op.name));
  }
  if (op.name == "pitch") {  // every draw must stay within two octaves
    double steps = 0, bins = 1e9;
    for (const auto& c : op.params[0].second.choices) steps = std::max(steps, std::abs(std::strtod(c.c_str(), nullptr)));
    if (op.params[0].second.is_range) steps = std::max(std::abs(op.params[0].second.lo), std::abs(op.params[0].second.hi));
    for (const auto& c : op.params[1].second.choices) bins = std::min(bins, std::strtod(c.c_str(), nullptr));
    if (steps > kMaxPitchOctaves * bins) {
      fail_config(where, "pitch steps must be within two octaves, |steps| <= 2 * bins_per_octave (got " + shown(steps) +
                             " steps at " + shown(bins) + " bins per octave)");
    }
  }
  return op;
}

// One draw of a parameter, as text (the choice as written, or a range draw to 4 decimals).
std::string draw(const ParamValue& v, Rng& rng) {
  if (v.is_range) {
    std::ostringstream s;
    s.precision(4);
    s << std::fixed << rng.uniform(v.lo, v.hi);
    std::string t = s.str();
    while (t.back() == '0') t.pop_back();
    if (t.back() == '.') t.pop_back();
    return t;
  }
  if (v.choices.size() == 1) return v.choices.front();
  return v.choices[static_cast<std::size_t>(rng.below(v.choices.size()))];
}

}  // namespace

std::vector<std::string> op_names() {
  std::vector<std::string> names;
  for (const auto& d : op_table()) names.push_back(d.name);
  return names;
}

Recipe parse_recipe(const std::string& text, const std::string& where) {
  Recipe r;
  r.text = trimmed(text);
  if (r.text.empty()) fail_config(where, "empty recipe (ops: " + join(op_names(), ", ") + ")");
  for (const auto& part : split(r.text, "+")) r.ops.push_back(parse_op(part, where));
  return r;
}

std::string recipe_tag(const Recipe& recipe) {
  std::vector<std::string> names;
  for (const auto& op : recipe.ops) names.push_back(op.name);
  return join(names, "+");
}

Augmented apply_recipe(const Recipe& recipe, const std::vector<float>& y, int sr, std::uint64_t seed,
                       const std::string& what) {
  Rng rng(seed);
  Augmented out;
  out.samples = y;
  const double max_len = std::floor(audio::limits().max_seconds * sr);
  std::vector<std::string> applied;
  for (const auto& op : recipe.ops) {
    // Draw every parameter first, in declaration order, so a copy's draws do not depend on its audio.
    std::vector<std::pair<std::string, std::string>> values;
    for (const auto& [name, v] : op.params) values.emplace_back(name, draw(v, rng));
    auto num = [&](std::size_t i) { return std::strtod(values[i].second.c_str(), nullptr); };
    std::vector<float>& s = out.samples;
    // Chained ops multiply lengths (speed=0.25+speed=0.25...): refuse before computing.
    const double n = static_cast<double>(s.size());
    const double len = op.name == "speed" ? std::ceil(n / num(0)) : op.name == "tempo" ? std::nearbyint(n / num(0)) : n;
    if (len > max_len) {
      fail_input(what, op.name + ": the copy would be " + std::to_string(static_cast<long long>(len)) + " samples (" +
                           shown(len / sr) + " s), over the limit of " + shown(audio::limits().max_seconds) +
                           " s (raise it with --max-seconds or SER_MAX_SECONDS)");
    }
    try {
      if (op.name == "speed") {
        s = change_speed(s, sr, num(0));
      } else if (op.name == "tempo") {
        s = time_stretch(s, num(0));
      } else if (op.name == "pitch") {
        s = pitch_shift(s, sr, num(0), static_cast<int>(num(1)));
      } else if (op.name == "noise") {
        s = add_noise(s, num(0), num(1), rng);
      } else if (op.name == "shift") {
        const double max_samples = num(0) * sr / 1000.0;
        if (max_samples >= static_cast<double>(s.size())) {
          fail_input(what, "shift of up to " + values[0].second + " ms (" + std::to_string(std::llround(max_samples)) +
                               " samples) is not shorter than the clip (" + std::to_string(s.size()) + " samples)");
        }
        const auto k = static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(std::floor(max_samples)) + 1));
        s = shift(s, k, values[1].second == "right");
        values[0] = {"samples", std::to_string(k)};
      } else if (op.name == "trim") {
        s = trim(s, num(0)).samples;
      }
    } catch (const Error& e) {
      if (e.subject() == what) throw;
      fail_input(what, op.name + ": " + e.what());
    }
    if (s.empty()) fail_input(what, op.name + " left no audio");
    std::string text = op.name + ":";
    for (std::size_t i = 0; i < values.size(); ++i) text += (i ? "," : "") + values[i].first + "=" + values[i].second;
    applied.push_back(text);
  }
  out.applied = join(applied, "+");
  return out;
}

}  // namespace ser::augment
