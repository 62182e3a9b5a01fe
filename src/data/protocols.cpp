// Fold builders for the three protocols of PROTOCOLS.md and the independent leakage check.
// Randomness: one std::mt19937_64 stream per purpose and fold, derived from the seed with
// splitmix64, with our own Fisher-Yates and rejection-sampled bounded draws, because std::shuffle
// and std::uniform_int_distribution are implementation-defined (folds must not change with the
// standard library).
#include "ser/data/protocols.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "corpus_internal.hpp"
#include "ser/error.hpp"

namespace ser::data {

namespace {

using Indices = std::vector<std::size_t>;

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Streams: which random decision (class dealing, validation, ...) and which fold it is for, so
// that e.g. changing k never changes how validation speakers of an unrelated stream are drawn.
enum Stream : std::uint64_t { kDeal = 1, kValidation = 2, kHoldout = 3, kSpeakerDeal = 4 };

class Rng {
 public:
  Rng(std::uint64_t seed, Stream stream, int fold)
      : gen_(splitmix64(seed ^ splitmix64((static_cast<std::uint64_t>(stream) << 32) + static_cast<std::uint64_t>(fold)))) {}

  // Uniform in [0, n), n >= 1, by rejection (no modulo bias).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = std::mt19937_64::max() - (std::mt19937_64::max() % n);
    std::uint64_t r;
    do r = gen_(); while (r >= limit);
    return r % n;
  }

  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::mt19937_64 gen_;
};

// ceil(fraction * n), tolerant of 0.1 * 30 = 3.0000000000000004.
std::size_t ceil_share(double fraction, std::size_t n) {
  return static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(n) - 1e-9));
}

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string join(const std::vector<std::string>& v, const std::string& sep = " ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// Item indices per label, labels in sorted order (so dealing order never depends on item order
// beyond the indices themselves).
std::map<std::string, Indices> by_label(const std::vector<Item>& items, const Indices& subset) {
  std::map<std::string, Indices> out;
  for (std::size_t i : subset) out[items[i].label].push_back(i);
  return out;
}

Indices all_indices(std::size_t n) {
  Indices v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

// Per class of `part`: take ceil(fraction * n) seeded-chosen items (at least 1 when n >= 2 and
// fraction > 0, never all n) into `taken`; the rest stay in `kept`. Both come back sorted.
void stratified_take(const std::vector<Item>& items, const Indices& part, double fraction, Rng& rng, Indices& taken,
                     Indices& kept) {
  taken.clear();
  kept.clear();
  for (auto& [label, idx] : by_label(items, part)) {
    std::size_t n_take = 0;
    if (fraction > 0 && idx.size() >= 2) n_take = std::min(std::max<std::size_t>(1, ceil_share(fraction, idx.size())), idx.size() - 1);
    rng.shuffle(idx);
    taken.insert(taken.end(), idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(n_take));
    kept.insert(kept.end(), idx.begin() + static_cast<std::ptrdiff_t>(n_take), idx.end());
  }
  std::sort(taken.begin(), taken.end());
  std::sort(kept.begin(), kept.end());
}

// The first class (sorted) present in `test` but absent from `train`, or "".
std::string missing_class(const std::vector<Item>& items, const Indices& train, const Indices& test) {
  std::set<std::string> have;
  for (std::size_t i : train) have.insert(items[i].label);
  std::set<std::string> need;
  for (std::size_t i : test) need.insert(items[i].label);
  for (const auto& c : need) {
    if (!have.count(c)) return c;
  }
  return "";
}

void require_speakers(const std::vector<Item>& items, const std::string& key, const std::string& what) {
  std::size_t missing = 0;
  std::string first;
  for (const auto& it : items) {
    if (it.speaker.empty() && missing++ == 0) first = it.id;
  }
  if (missing) {
    fail_config(key, what + " needs a speaker for every item; " + std::to_string(missing) + " of " +
                         std::to_string(items.size()) + " items have none (first: '" + first +
                         "'); add a speaker column to the manifest or use random_kfold");
  }
}

// Speaker -> its item indices, speakers sorted.
std::map<std::string, Indices> by_speaker(const std::vector<Item>& items) {
  std::map<std::string, Indices> out;
  for (std::size_t i = 0; i < items.size(); ++i) out[items[i].speaker].push_back(i);
  return out;
}

// One speaker-disjoint fold: test = the items of `test_speakers`; validation = every item of
// ceil(fraction * n) seeded-chosen training speakers; train = the rest. `key` names the config
// entry that chose the test speakers, for the class-coverage error.
Fold speaker_fold(const std::vector<Item>& items, const std::map<std::string, Indices>& speakers,
                  const std::vector<std::string>& test_speakers, int index, const ProtocolConfig& cfg,
                  const std::string& key) {
  Fold fold;
  fold.index = index;
  const std::set<std::string> test_set(test_speakers.begin(), test_speakers.end());
  std::vector<std::string> train_speakers;  // sorted, as `speakers` is
  for (const auto& [spk, idx] : speakers) {
    if (test_set.count(spk)) {
      fold.test.insert(fold.test.end(), idx.begin(), idx.end());
    } else {
      train_speakers.push_back(spk);
    }
  }
  const std::string where = "fold " + std::to_string(index) + " (test speakers " + join(test_speakers) + ")";
  if (train_speakers.empty()) fail_config(key, where + " leaves no speaker for training");

  Indices training;
  for (const auto& spk : train_speakers) {
    const Indices& idx = speakers.at(spk);
    training.insert(training.end(), idx.begin(), idx.end());
  }
  if (const std::string c = missing_class(items, training, fold.test); !c.empty()) {
    fail_config(key, "class '" + c + "' absent from training in " + where);
  }

  std::size_t n_val = 0;
  if (cfg.validation_fraction > 0) {
    n_val = std::min(std::max<std::size_t>(1, ceil_share(cfg.validation_fraction, train_speakers.size())),
                     train_speakers.size() - 1);
  }
  Rng rng(cfg.seed, kValidation, index);
  std::vector<std::string> order = train_speakers;
  rng.shuffle(order);
  const std::set<std::string> val_set(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_val));
  for (const auto& spk : train_speakers) {
    const Indices& idx = speakers.at(spk);
    Indices& dst = val_set.count(spk) ? fold.validation : fold.train;
    dst.insert(dst.end(), idx.begin(), idx.end());
  }
  if (const std::string c = missing_class(items, fold.train, fold.test); !c.empty()) {
    fail_config("protocol.validation_fraction",
                "class '" + c + "' absent from training in " + where + " once validation speakers " +
                    join(std::vector<std::string>(val_set.begin(), val_set.end())) +
                    " are set aside; lower protocol.validation_fraction or change protocol.seed");
  }
  std::sort(fold.train.begin(), fold.train.end());
  std::sort(fold.validation.begin(), fold.validation.end());
  std::sort(fold.test.begin(), fold.test.end());
  return fold;
}

// ------------------------------------------------------------------ protocols

std::vector<Fold> random_kfold(const std::vector<Item>& items, const ProtocolConfig& cfg) {
  const auto classes = by_label(items, all_indices(items.size()));
  if (cfg.k < 2) fail_config("protocol.k", "k = " + std::to_string(cfg.k) + " must be at least 2");
  for (const auto& [label, idx] : classes) {
    if (idx.size() < static_cast<std::size_t>(cfg.k)) {
      fail_config("protocol.k", "k = " + std::to_string(cfg.k) + " exceeds the " + std::to_string(idx.size()) +
                                    " items of class '" + label + "' (each test fold needs every class); lower k");
    }
  }
  const std::size_t k = static_cast<std::size_t>(cfg.k);
  // Deal each class's shuffled items round-robin, continuing where the previous class stopped, so
  // per-class counts differ by <= 1 between folds and total fold sizes do too.
  std::vector<int> fold_of(items.size(), -1);
  Rng deal(cfg.seed, kDeal, 0);
  std::size_t next = 0;
  for (auto [label, idx] : classes) {
    deal.shuffle(idx);
    for (std::size_t i : idx) fold_of[i] = static_cast<int>(next++ % k);
  }
  std::vector<Fold> folds(k);
  for (std::size_t f = 0; f < k; ++f) {
    Fold& fold = folds[f];
    fold.index = static_cast<int>(f);
    Indices training;
    for (std::size_t i = 0; i < items.size(); ++i) (fold_of[i] == fold.index ? fold.test : training).push_back(i);
    Rng rng(cfg.seed, kValidation, fold.index);
    stratified_take(items, training, cfg.validation_fraction, rng, fold.validation, fold.train);
  }
  return folds;
}

// Speaker-disjoint folds made from the corpus: its speakers shuffled by the seed, then dealt,
// most items first, each to the fold with the fewest items so far (the lowest index on ties),
// so that fold sizes stay close. k = the number of speakers is leave-one-speaker-out.
std::vector<std::vector<std::string>> speaker_table_from_data(const std::map<std::string, Indices>& speakers,
                                                              const ProtocolConfig& cfg) {
  if (cfg.k < 2) fail_config("protocol.k", "k = " + std::to_string(cfg.k) + " must be at least 2");
  const std::size_t k = static_cast<std::size_t>(cfg.k);
  if (k > speakers.size()) {
    fail_config("protocol.k", "k = " + std::to_string(k) + " exceeds the " + std::to_string(speakers.size()) +
                                  " speakers of the corpus (speaker_kfold tests each speaker in one fold); lower k (" +
                                  std::to_string(speakers.size()) + " = leave-one-speaker-out)");
  }
  std::vector<std::pair<std::string, std::size_t>> order;
  for (const auto& [spk, idx] : speakers) order.emplace_back(spk, idx.size());
  Rng rng(cfg.seed, kSpeakerDeal, 0);
  rng.shuffle(order);
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::vector<std::string>> table(k);
  std::vector<std::size_t> load(k, 0);
  for (const auto& [spk, n] : order) {
    const std::size_t f = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    table[f].push_back(spk);
    load[f] += n;
  }
  for (auto& fold : table) std::sort(fold.begin(), fold.end());
  return table;
}

std::vector<Fold> speaker_kfold(const std::vector<Item>& items, const std::string& dataset, const ProtocolConfig& cfg) {
  const std::string key = "protocol.speaker_table";
  require_speakers(items, "protocol.name", "speaker_kfold");
  const bool given = !cfg.speaker_table.empty();
  const auto speakers = by_speaker(items);
  const auto builtin_table = given ? std::vector<std::vector<std::string>>() : builtin_speaker_table(dataset);
  const bool builtin = !given && !builtin_table.empty();
  const auto table = given ? cfg.speaker_table : builtin ? builtin_table : speaker_table_from_data(speakers, cfg);
  const std::string which = given     ? "the table"
                            : builtin ? "the built-in " + detail::to_lower(dataset) + " table"
                                      : "the speaker folds made from the corpus";

  std::map<std::string, std::size_t> fold_of;
  std::vector<std::string> unknown;
  for (std::size_t f = 0; f < table.size(); ++f) {
    if (table[f].empty()) fail_config(key, "fold " + std::to_string(f) + " of " + which + " has no speakers");
    for (const auto& spk : table[f]) {
      if (auto [it, fresh] = fold_of.emplace(spk, f); !fresh) {
        const std::string place = it->second == f ? "twice in fold " + std::to_string(f)
                                                  : "in fold " + std::to_string(it->second) + " and fold " + std::to_string(f);
        fail_config(key, "speaker '" + spk + "' is " + place + " of " + which + " (a speaker may be tested in one fold only)");
      }
      if (!speakers.count(spk)) unknown.push_back(spk);
    }
  }
  if (!unknown.empty()) {
    std::sort(unknown.begin(), unknown.end());
    fail_config(key, (unknown.size() == 1 ? "speaker " : "speakers ") + join(unknown) + " of " + which +
                         (unknown.size() == 1 ? " is" : " are") + " not in the corpus" +
                         (builtin ? " (the corpus is partial; give " + key + " for its speakers)" : ""));
  }
  // With a given table every corpus speaker must be placed; the built-in tables cover the full
  // corpora, so extra speakers (e.g. a manifest with more actors) simply train in every fold.
  std::vector<std::string> unplaced;
  for (const auto& [spk, idx] : speakers) {
    if (!fold_of.count(spk)) unplaced.push_back(spk);
  }
  if (given && !unplaced.empty()) {
    fail_config(key, (unplaced.size() == 1 ? "speaker " : "speakers ") + join(unplaced) +
                         " of the corpus in no fold of the table; add them to a fold");
  }

  std::vector<Fold> folds;
  for (std::size_t f = 0; f < table.size(); ++f) {
    folds.push_back(speaker_fold(items, speakers, table[f], static_cast<int>(f), cfg, key));
  }
  return folds;
}

std::vector<Fold> holdout(const std::vector<Item>& items, const ProtocolConfig& cfg) {
  if (!cfg.holdout_test_speakers.empty()) {
    const std::string key = "protocol.holdout_test_speakers";
    require_speakers(items, key, "holdout by speakers");
    const auto speakers = by_speaker(items);
    std::set<std::string> seen;
    std::vector<std::string> unknown;
    for (const auto& spk : cfg.holdout_test_speakers) {
      if (!seen.insert(spk).second) fail_config(key, "speaker '" + spk + "' is listed twice");
      if (!speakers.count(spk)) unknown.push_back(spk);
    }
    if (!unknown.empty()) {
      fail_config(key, (unknown.size() == 1 ? "speaker " : "speakers ") + join(unknown) +
                           (unknown.size() == 1 ? " is" : " are") + " not in the corpus");
    }
    return {speaker_fold(items, speakers, cfg.holdout_test_speakers, 0, cfg, key)};
  }

  const double f = cfg.holdout_test_fraction;
  if (!(f > 0 && f < 1)) {
    fail_config("protocol.holdout_test_fraction", "must be in (0, 1), got " + number(f));
  }
  Fold fold;
  Rng split(cfg.seed, kHoldout, 0);
  Indices training;
  stratified_take(items, all_indices(items.size()), f, split, fold.test, training);
  Rng rng(cfg.seed, kValidation, 0);
  stratified_take(items, training, cfg.validation_fraction, rng, fold.validation, fold.train);
  return {fold};
}

}  // namespace

std::vector<std::vector<std::string>> builtin_speaker_table(const std::string& dataset) {
  const std::string d = detail::to_lower(dataset);
  if (d == "ravdess") {
    // EmoBox's speaker-independent 6-fold split of the 24 actors.
    return {{"01", "11", "20", "21"}, {"04", "10", "12", "14"}, {"08", "09", "19", "23"},
            {"03", "05", "07", "24"}, {"02", "15", "16", "18"}, {"06", "13", "17", "22"}};
  }
  if (d == "emodb" || d == "emo-db") {
    std::vector<std::vector<std::string>> loso;
    for (const char* s : {"03", "08", "09", "10", "11", "12", "13", "14", "15", "16"}) loso.push_back({s});
    return loso;
  }
  return {};
}

std::vector<Fold> build_folds(const std::vector<Item>& items, const std::string& dataset, const ProtocolConfig& cfg) {
  if (items.empty()) fail_config("protocol", "the corpus has no items to split into folds");
  for (const auto& it : items) {
    if (it.label.empty()) fail_config("protocol", "item '" + it.id + "' has no label; every item needs one to be split");
  }
  if (!(cfg.validation_fraction >= 0 && cfg.validation_fraction < 1)) {
    fail_config("protocol.validation_fraction", "must be in [0, 1), got " + number(cfg.validation_fraction));
  }
  if (cfg.name == "random_kfold") return random_kfold(items, cfg);
  if (cfg.name == "speaker_kfold") return speaker_kfold(items, dataset, cfg);
  if (cfg.name == "holdout") return holdout(items, cfg);
  fail_config("protocol.name", "unknown protocol '" + cfg.name + "' (known: random_kfold, speaker_kfold, holdout)");
}

std::string check_fold(const std::vector<Item>& items, const Fold& fold, bool speaker_disjoint) {
  const std::string where = "fold " + std::to_string(fold.index) + ": ";
  static const char* const kPart[] = {"", "train", "validation", "test"};
  const Indices* parts[] = {nullptr, &fold.train, &fold.validation, &fold.test};
  std::vector<int> part_of(items.size(), 0);
  for (int p = 1; p <= 3; ++p) {
    for (std::size_t i : *parts[p]) {
      if (i >= items.size()) {
        return where + kPart[p] + " index " + std::to_string(i) + " out of range (" + std::to_string(items.size()) +
               " items)";
      }
      if (part_of[i] == p) return where + "item '" + items[i].id + "' listed twice in " + kPart[p];
      if (part_of[i] != 0) return where + "item '" + items[i].id + "' in both " + kPart[part_of[i]] + " and " + kPart[p];
      part_of[i] = p;
    }
  }
  if (fold.train.empty()) return where + "no training items";
  if (fold.test.empty()) return where + "no test items";
  std::size_t uncovered = 0;
  std::string first;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (part_of[i] == 0 && uncovered++ == 0) first = items[i].id;
  }
  if (uncovered) return where + std::to_string(uncovered) + " items in no part (first: '" + first + "')";
  if (speaker_disjoint) {
    std::map<std::string, int> speaker_part;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i].speaker.empty()) return where + "item '" + items[i].id + "' has no speaker";
      auto [it, fresh] = speaker_part.emplace(items[i].speaker, part_of[i]);
      if (!fresh && it->second != part_of[i]) {
        return where + "speaker '" + items[i].speaker + "' in both " + kPart[std::min(it->second, part_of[i])] + " and " +
               kPart[std::max(it->second, part_of[i])];
      }
    }
  }
  return "";
}

Fold with_copies(const Fold& fold, const std::vector<std::size_t>& copy_source, std::size_t n_items) {
  std::vector<bool> in_train(n_items, false);
  for (std::size_t i : fold.train) {
    if (i < n_items) in_train[i] = true;
  }
  Fold out = fold;
  for (std::size_t j = 0; j < copy_source.size(); ++j) {
    if (copy_source[j] < n_items && in_train[copy_source[j]]) out.train.push_back(n_items + j);
  }
  return out;
}

std::string check_copies(const std::vector<Item>& items, const Fold& fold, const std::vector<std::size_t>& copy_source,
                         bool speaker_disjoint) {
  const std::string where = "fold " + std::to_string(fold.index) + ": ";
  const std::size_t n = items.size();
  auto copy_name = [&](std::size_t row) {
    const std::size_t j = row - n;
    return "copy " + std::to_string(j) + (j < copy_source.size() && copy_source[j] < n ? " of '" + items[copy_source[j]].id + "'" : "");
  };
  for (const Indices* part : {&fold.validation, &fold.test}) {
    for (std::size_t i : *part) {
      if (i >= n) return where + copy_name(i) + " in " + (part == &fold.test ? "test" : "validation");
    }
  }
  std::vector<bool> in_train(n, false);
  std::set<std::string> held_out_speakers;
  for (std::size_t i : fold.train) {
    if (i < n) in_train[i] = true;
  }
  for (const Indices* part : {&fold.validation, &fold.test}) {
    for (std::size_t i : *part) held_out_speakers.insert(items[i].speaker);
  }
  for (std::size_t i : fold.train) {
    if (i < n) continue;
    const std::size_t j = i - n;
    if (j >= copy_source.size() || copy_source[j] >= n) return where + "training row " + std::to_string(i) + " is not a known copy";
    const Item& src = items[copy_source[j]];
    if (!in_train[copy_source[j]]) return where + copy_name(i) + " in training, but its source is not a training item";
    if (speaker_disjoint && held_out_speakers.count(src.speaker)) {
      return where + copy_name(i) + " in training is of held-out speaker '" + src.speaker + "'";
    }
  }
  return "";
}

}  // namespace ser::data
