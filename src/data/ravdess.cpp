// RAVDESS names: MM-VV-EE-II-SS-RR-AA, seven two-digit codes (Livingstone & Russo 2018).
#include <cctype>
#include <string>

#include "corpus_internal.hpp"
#include "ser/data/corpus.hpp"

namespace ser::data {

namespace {

struct Field {
  const char* what;                 // used in messages: "emotion code 09 is not a RAVDESS emotion"
  int max;                          // codes run 01..max
  std::vector<const char*> values;  // value per code, or empty to keep the two-digit code
};

const Field kModality{"modality", 3, {"full-AV", "video-only", "audio-only"}};
const Field kChannel{"vocal channel", 2, {"speech", "song"}};
const Field kEmotion{"emotion", 8, {"neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"}};
const Field kIntensity{"intensity", 2, {"normal", "strong"}};
const Field kStatement{"statement", 2, {}};
const Field kRepetition{"repetition", 2, {}};
const Field kActor{"actor", 24, {}};

std::string range_text(int max) { return "01-" + std::string(max < 10 ? "0" : "") + std::to_string(max); }

// Empty on success; otherwise why the code is not valid for this field.
std::string check(const Field& f, const std::string& code, int& value) {
  value = (code[0] - '0') * 10 + (code[1] - '0');
  if (value < 1 || value > f.max) {
    return std::string(f.what) + " code " + code + " is not a RAVDESS " + f.what + " (" + range_text(f.max) + ")";
  }
  return {};
}

std::string value_of(const Field& f, const std::string& code, int value) {
  return f.values.empty() ? code : f.values[static_cast<std::size_t>(value - 1)];
}

// "Actor_07" -> 7; -1 when the folder is not named like an actor folder.
int actor_folder_number(const std::string& folder) {
  const std::string prefix = "actor_";
  if (folder.size() <= prefix.size() || detail::to_lower(folder.substr(0, prefix.size())) != prefix) return -1;
  int n = 0;
  for (std::size_t i = prefix.size(); i < folder.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(folder[i])) || n > 1000) return -1;
    n = n * 10 + (folder[i] - '0');
  }
  return n;
}

}  // namespace

std::vector<std::string> ravdess_metadata_columns() {
  return {"modality", "vocal_channel", "intensity", "statement", "repetition", "actor", "gender"};
}

ParsedName parse_ravdess_name(const std::string& stem) {
  ParsedName out;
  bool shape_ok = stem.size() == 20;
  for (std::size_t i = 0; shape_ok && i < stem.size(); ++i) {
    shape_ok = (i % 3 == 2) ? stem[i] == '-' : std::isdigit(static_cast<unsigned char>(stem[i])) != 0;
  }
  if (!shape_ok) {
    out.error = "'" + stem + "' is not a RAVDESS name (expected seven two-digit codes MM-VV-EE-II-SS-RR-AA, "
                "e.g. 03-01-05-02-01-01-12)";
    return out;
  }
  const Field* fields[] = {&kModality, &kChannel, &kEmotion, &kIntensity, &kStatement, &kRepetition, &kActor};
  int values[7];
  std::string codes[7];
  for (int k = 0; k < 7; ++k) {
    codes[k] = stem.substr(static_cast<std::size_t>(k) * 3, 2);
    out.error = check(*fields[k], codes[k], values[k]);
    if (!out.ok()) return out;
  }
  if (values[2] == 1 && values[3] == 2) {
    out.error = "intensity code 02 (strong) does not exist for emotion 01 (neutral) in RAVDESS";
    return out;
  }
  Item& item = out.item;
  item.label = value_of(kEmotion, codes[2], values[2]);
  item.speaker = codes[6];
  item.metadata = {
      {"modality", value_of(kModality, codes[0], values[0])},
      {"vocal_channel", value_of(kChannel, codes[1], values[1])},
      {"intensity", value_of(kIntensity, codes[3], values[3])},
      {"statement", codes[4]},
      {"repetition", codes[5]},
      {"actor", codes[6]},
      {"gender", values[6] % 2 == 1 ? "male" : "female"},
  };
  return out;
}

CorpusIndex index_ravdess(const std::string& root) {
  // A file filed under the wrong actor's folder means the corpus was rearranged by hand; its
  // label may be right but its speaker is in doubt, which would leak across speaker folds.
  auto check_folder = [](const detail::ScannedFile& f, const Item& item) -> std::string {
    const int folder_actor = actor_folder_number(f.parent);
    if (folder_actor >= 0 && folder_actor != std::stoi(item.speaker)) {
      return "actor code " + item.speaker + " in the name does not match folder " + f.parent;
    }
    return "";
  };
  return detail::index_folder(root, "ravdess", ravdess_metadata_columns(), parse_ravdess_name, check_folder);
}

}  // namespace ser::data
