// Emo-DB names: SSTTTEV = speaker, text code, emotion letter (German initial), version letter
// (Burkhardt et al. 2005).
#include <algorithm>
#include <cctype>
#include <string>

#include "corpus_internal.hpp"
#include "ser/data/corpus.hpp"

namespace ser::data {

namespace {

struct Speaker {
  const char* code;
  const char* gender;
};
// The ten Emo-DB actors; an unknown speaker code means a foreign or mistyped file, and its gender
// (needed for gender-balanced reports) could only be guessed.
const Speaker kSpeakers[] = {{"03", "male"},   {"08", "female"}, {"09", "female"}, {"10", "male"},
                             {"11", "male"},   {"12", "male"},   {"13", "female"}, {"14", "female"},
                             {"15", "male"},   {"16", "female"}};

struct Emotion {
  char letter;
  const char* label;
};
const Emotion kEmotions[] = {{'W', "anger"},     {'L', "boredom"}, {'E', "disgust"}, {'A', "fear"},
                             {'F', "happiness"}, {'T', "sadness"}, {'N', "neutral"}};

}  // namespace

std::vector<std::string> emodb_metadata_columns() { return {"text", "version", "gender"}; }

ParsedName parse_emodb_name(const std::string& stem) {
  ParsedName out;
  if (stem.size() != 7) {
    out.error = "'" + stem + "' is not an Emo-DB name (expected 7 characters SSTTTEV: speaker, text, emotion, "
                "version, e.g. 03a01Fa)";
    return out;
  }
  const std::string speaker = stem.substr(0, 2), text = stem.substr(2, 3);
  const char emotion = stem[5], version = stem[6];

  if (!std::isdigit(static_cast<unsigned char>(speaker[0])) || !std::isdigit(static_cast<unsigned char>(speaker[1]))) {
    out.error = "speaker '" + speaker + "' is not two digits (Emo-DB names start with the speaker, e.g. 03a01Fa)";
    return out;
  }
  const auto sp = std::find_if(std::begin(kSpeakers), std::end(kSpeakers),
                               [&](const Speaker& s) { return speaker == s.code; });
  if (sp == std::end(kSpeakers)) {
    out.error = "speaker " + speaker + " is not an Emo-DB speaker (03 08 09 10 11 12 13 14 15 16)";
    return out;
  }

  bool text_ok = (text[0] == 'a' || text[0] == 'b') && std::isdigit(static_cast<unsigned char>(text[1])) &&
                 std::isdigit(static_cast<unsigned char>(text[2]));
  if (text_ok) {
    const int n = (text[1] - '0') * 10 + (text[2] - '0');
    text_ok = n >= 1 && n <= (text[0] == 'a' ? 7 : 10);
  }
  if (!text_ok) {
    out.error = "text code " + text + " is not an Emo-DB text (a01-a07, b01-b10)";
    return out;
  }

  const auto em = std::find_if(std::begin(kEmotions), std::end(kEmotions),
                               [&](const Emotion& e) { return e.letter == emotion; });
  if (em == std::end(kEmotions)) {
    out.error = std::string("emotion letter '") + emotion + "' is not an Emo-DB emotion (W L E A F T N)";
    return out;
  }
  if (!std::islower(static_cast<unsigned char>(version))) {
    out.error = std::string("version '") + version + "' is not a lower-case letter (a, b, c, ...)";
    return out;
  }

  Item& item = out.item;
  item.label = em->label;
  item.speaker = speaker;
  item.metadata = {{"text", text}, {"version", std::string(1, version)}, {"gender", sp->gender}};
  return out;
}

CorpusIndex index_emodb(const std::string& root) {
  return detail::index_folder(root, "emodb", emodb_metadata_columns(), parse_emodb_name);
}

}  // namespace ser::data
