// Corpus indexing: RAVDESS / Emo-DB name parsing, folder scans, CSV manifests, and the real corpora.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "ser/data/corpus.hpp"
#include "ser/error.hpp"
#include "ser/util/csv.hpp"
#include "support/shared.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace ser::data;

namespace {

using ser::test::TempDir;

// Indexing never opens audio, so empty files named like the corpus are enough.
void touch(const std::string& path, const std::string& content = "") {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string meta(const Item& item, const std::string& key) {
  for (const auto& [k, v] : item.metadata) {
    if (k == key) return v;
  }
  return "<missing " + key + ">";
}

const IndexProblem* find_problem(const CorpusIndex& index, const std::string& path_suffix) {
  for (const auto& p : index.problems) {
    if (p.path.size() >= path_suffix.size() &&
        p.path.compare(p.path.size() - path_suffix.size(), path_suffix.size(), path_suffix) == 0) {
      return &p;
    }
  }
  return nullptr;
}

std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const ser::Error& e) {
    return e.what();
  }
  return "<no ser::Error thrown>";
}

}  // namespace

// ---------------------------------------------------------------- RAVDESS names

TEST(Ravdess, ParsesEveryField) {
  const ParsedName p = parse_ravdess_name("03-01-05-02-01-01-12");
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.item.label, "angry");
  EXPECT_EQ(p.item.speaker, "12");
  EXPECT_EQ(meta(p.item, "modality"), "audio-only");
  EXPECT_EQ(meta(p.item, "vocal_channel"), "speech");
  EXPECT_EQ(meta(p.item, "intensity"), "strong");
  EXPECT_EQ(meta(p.item, "statement"), "01");
  EXPECT_EQ(meta(p.item, "repetition"), "01");
  EXPECT_EQ(meta(p.item, "actor"), "12");
  EXPECT_EQ(meta(p.item, "gender"), "female");

  std::vector<std::string> columns;
  for (const auto& kv : p.item.metadata) columns.push_back(kv.first);
  EXPECT_EQ(columns, ravdess_metadata_columns());

  const ParsedName song = parse_ravdess_name("01-02-08-01-02-02-01");
  ASSERT_TRUE(song.ok()) << song.error;
  EXPECT_EQ(song.item.label, "surprised");
  EXPECT_EQ(meta(song.item, "modality"), "full-AV");
  EXPECT_EQ(meta(song.item, "vocal_channel"), "song");
  EXPECT_EQ(meta(song.item, "intensity"), "normal");
  EXPECT_EQ(meta(song.item, "statement"), "02");
  EXPECT_EQ(meta(song.item, "repetition"), "02");
  EXPECT_EQ(meta(song.item, "gender"), "male");
}

TEST(Ravdess, EmotionCodesMapToLabelsInOrder) {
  const auto labels = dataset_labels("ravdess");
  ASSERT_EQ(labels.size(), 8u);
  for (int e = 1; e <= 8; ++e) {
    const std::string stem = "03-01-0" + std::to_string(e) + "-01-01-01-01";
    const ParsedName p = parse_ravdess_name(stem);
    ASSERT_TRUE(p.ok()) << stem << ": " << p.error;
    EXPECT_EQ(p.item.label, labels[static_cast<std::size_t>(e - 1)]);
  }
  EXPECT_EQ(labels[0], "neutral");
  EXPECT_EQ(labels[7], "surprised");
}

TEST(Ravdess, GenderFollowsActorParity) {
  for (int a = 1; a <= 24; ++a) {
    const std::string code = (a < 10 ? "0" : "") + std::to_string(a);
    const ParsedName p = parse_ravdess_name("03-01-02-01-01-01-" + code);
    ASSERT_TRUE(p.ok()) << p.error;
    EXPECT_EQ(p.item.speaker, code);
    EXPECT_EQ(meta(p.item, "gender"), a % 2 ? "male" : "female") << "actor " << code;
  }
}

TEST(Ravdess, RejectsEveryBadFieldWithAPreciseReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"03-01-05-02-01-01", "is not a RAVDESS name"},
      {"03-01-05-02-01-01-12-01", "is not a RAVDESS name"},
      {"03_01_05_02_01_01_12", "is not a RAVDESS name"},
      {"03-01-05-02-01-01-1a", "is not a RAVDESS name"},
      {"3-01-05-02-01-01-12", "is not a RAVDESS name"},
      {"", "is not a RAVDESS name"},
      {"00-01-05-02-01-01-12", "modality code 00 is not a RAVDESS modality (01-03)"},
      {"04-01-05-02-01-01-12", "modality code 04 is not a RAVDESS modality (01-03)"},
      {"03-00-05-02-01-01-12", "vocal channel code 00 is not a RAVDESS vocal channel (01-02)"},
      {"03-03-05-02-01-01-12", "vocal channel code 03 is not a RAVDESS vocal channel (01-02)"},
      {"03-01-00-02-01-01-12", "emotion code 00 is not a RAVDESS emotion (01-08)"},
      {"03-01-09-02-01-01-12", "emotion code 09 is not a RAVDESS emotion (01-08)"},
      {"03-01-05-00-01-01-12", "intensity code 00 is not a RAVDESS intensity (01-02)"},
      {"03-01-05-03-01-01-12", "intensity code 03 is not a RAVDESS intensity (01-02)"},
      {"03-01-05-02-00-01-12", "statement code 00 is not a RAVDESS statement (01-02)"},
      {"03-01-05-02-03-01-12", "statement code 03 is not a RAVDESS statement (01-02)"},
      {"03-01-05-02-01-00-12", "repetition code 00 is not a RAVDESS repetition (01-02)"},
      {"03-01-05-02-01-03-12", "repetition code 03 is not a RAVDESS repetition (01-02)"},
      {"03-01-05-02-01-01-00", "actor code 00 is not a RAVDESS actor (01-24)"},
      {"03-01-05-02-01-01-25", "actor code 25 is not a RAVDESS actor (01-24)"},
      {"03-01-01-02-01-01-12", "intensity code 02 (strong) does not exist for emotion 01 (neutral)"},
  };
  for (const auto& [stem, reason] : cases) {
    const ParsedName p = parse_ravdess_name(stem);
    EXPECT_FALSE(p.ok()) << "'" << stem << "' parsed";
    EXPECT_NE(p.error.find(reason), std::string::npos) << "'" << stem << "' gave: " << p.error;
  }
}

// ---------------------------------------------------------------- Emo-DB names

TEST(EmoDb, ParsesEveryField) {
  const ParsedName p = parse_emodb_name("03a01Fa");
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.item.label, "happiness");
  EXPECT_EQ(p.item.speaker, "03");
  EXPECT_EQ(meta(p.item, "text"), "a01");
  EXPECT_EQ(meta(p.item, "version"), "a");
  EXPECT_EQ(meta(p.item, "gender"), "male");

  const ParsedName q = parse_emodb_name("16b10Wb");
  ASSERT_TRUE(q.ok()) << q.error;
  EXPECT_EQ(q.item.label, "anger");
  EXPECT_EQ(q.item.speaker, "16");
  EXPECT_EQ(meta(q.item, "text"), "b10");
  EXPECT_EQ(meta(q.item, "version"), "b");
  EXPECT_EQ(meta(q.item, "gender"), "female");
}

TEST(EmoDb, EmotionLettersAndSpeakerGenders) {
  const std::map<char, std::string> letters = {{'W', "anger"},     {'L', "boredom"}, {'E', "disgust"}, {'A', "fear"},
                                               {'F', "happiness"}, {'T', "sadness"}, {'N', "neutral"}};
  for (const auto& [letter, label] : letters) {
    const ParsedName p = parse_emodb_name(std::string("10a05") + letter + "c");
    ASSERT_TRUE(p.ok()) << p.error;
    EXPECT_EQ(p.item.label, label);
  }
  EXPECT_EQ(dataset_labels("emodb").size(), 7u);
  const std::set<std::string> female = {"08", "09", "13", "14", "16"};
  for (const char* s : {"03", "08", "09", "10", "11", "12", "13", "14", "15", "16"}) {
    const ParsedName p = parse_emodb_name(std::string(s) + "b03Nd");
    ASSERT_TRUE(p.ok()) << p.error;
    EXPECT_EQ(p.item.speaker, s);
    EXPECT_EQ(meta(p.item, "gender"), female.count(s) ? "female" : "male") << s;
  }
}

TEST(EmoDb, RejectsEveryBadFieldWithAPreciseReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"03a01F", "is not an Emo-DB name (expected 7 characters"},
      {"03a01Faa", "is not an Emo-DB name"},
      {"", "is not an Emo-DB name"},
      {"x3a01Fa", "speaker 'x3' is not two digits"},
      {"05a01Fa", "speaker 05 is not an Emo-DB speaker"},
      {"17a01Fa", "speaker 17 is not an Emo-DB speaker"},
      {"03c01Fa", "text code c01 is not an Emo-DB text (a01-a07, b01-b10)"},
      {"03a00Fa", "text code a00 is not an Emo-DB text"},
      {"03a08Fa", "text code a08 is not an Emo-DB text"},
      {"03b11Fa", "text code b11 is not an Emo-DB text"},
      {"03ax1Fa", "text code ax1 is not an Emo-DB text"},
      {"03a01Xa", "emotion letter 'X' is not an Emo-DB emotion (W L E A F T N)"},
      {"03a01fa", "emotion letter 'f' is not an Emo-DB emotion"},
      {"03a01FA", "version 'A' is not a lower-case letter"},
      {"03a01F1", "version '1' is not a lower-case letter"},
  };
  for (const auto& [stem, reason] : cases) {
    const ParsedName p = parse_emodb_name(stem);
    EXPECT_FALSE(p.ok()) << "'" << stem << "' parsed";
    EXPECT_NE(p.error.find(reason), std::string::npos) << "'" << stem << "' gave: " << p.error;
  }
}

// ---------------------------------------------------------------- folder scans

TEST(CorpusScan, RavdessTreeWithLitterAndBadNames) {
  TempDir d;
  touch(d / "Actor_01/03-01-05-02-01-01-01.wav");
  touch(d / "Actor_01/03-01-01-01-01-01-01.wav");
  touch(d / "Actor_02/03-01-03-01-02-02-02.WAV");  // upper-case extension is still audio
  touch(d / "Actor_02/03-01-09-01-01-01-02.wav");  // bad emotion
  touch(d / "Actor_02/03-01-04-01-01-01-01.wav");  // actor 01 filed under Actor_02
  touch(d / "Actor_02/notes.wav");                 // audio extension, not a RAVDESS name
  touch(d / "README.txt", "not audio");
  touch(d / "Actor_01/.DS_Store");
  touch(d / "Actor_01/._03-01-05-02-01-01-01.wav");  // macOS AppleDouble litter
  touch(d / ".hidden/03-01-05-02-01-01-03.wav");
  touch(d.str() + "-linked/03-01-02-01-01-01-03.wav");
  fs::create_directory_symlink(d.str() + "-linked", d / "Actor_03");  // linked folders are followed

  const CorpusIndex index = index_ravdess(d.str());
  EXPECT_EQ(index.dataset, "ravdess");
  EXPECT_EQ(index.metadata_columns, ravdess_metadata_columns());
  fs::remove_all(d.str() + "-linked");
  ASSERT_EQ(index.items.size(), 4u);
  EXPECT_EQ(index.items[0].id, "Actor_01/03-01-01-01-01-01-01");
  EXPECT_EQ(index.items[1].id, "Actor_01/03-01-05-02-01-01-01");
  EXPECT_EQ(index.items[2].id, "Actor_02/03-01-03-01-02-02-02");
  EXPECT_EQ(index.items[3].id, "Actor_03/03-01-02-01-01-01-03");
  EXPECT_EQ(index.items[0].label, "neutral");
  EXPECT_EQ(index.items[2].label, "happy");
  EXPECT_EQ(index.items[2].speaker, "02");
  EXPECT_EQ(index.items[1].path, d / "Actor_01/03-01-05-02-01-01-01.wav");
  EXPECT_TRUE(fs::exists(index.items[2].path));

  ASSERT_EQ(index.problems.size(), 3u);
  const IndexProblem* bad = find_problem(index, "03-01-09-01-01-01-02.wav");
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(bad->reason, "emotion code 09 is not a RAVDESS emotion (01-08)");
  const IndexProblem* moved = find_problem(index, "Actor_02/03-01-04-01-01-01-01.wav");
  ASSERT_NE(moved, nullptr);
  EXPECT_NE(moved->reason.find("does not match folder Actor_02"), std::string::npos) << moved->reason;
  const IndexProblem* notes = find_problem(index, "notes.wav");
  ASSERT_NE(notes, nullptr);
  EXPECT_NE(notes->reason.find("is not a RAVDESS name"), std::string::npos);
}

TEST(CorpusScan, WavAndFlacLayoutsIndexIdentically) {
  TempDir w, f;
  const char* ravdess[] = {"Actor_01/03-01-02-01-01-02-01", "Actor_01/03-01-08-02-02-01-01",
                           "Actor_24/03-01-06-01-01-02-24", "Actor_24/03-01-01-01-02-01-24"};
  for (const char* s : ravdess) {
    touch(w / (std::string(s) + ".wav"));
    touch(f / (std::string(s) + ".flac"));
  }
  const CorpusIndex a = index_ravdess(w.str()), b = index_ravdess(f.str());
  ASSERT_EQ(a.items.size(), 4u);
  ASSERT_EQ(a.items.size(), b.items.size());
  for (std::size_t i = 0; i < a.items.size(); ++i) {
    EXPECT_EQ(a.items[i].id, b.items[i].id);
    EXPECT_EQ(a.items[i].label, b.items[i].label);
    EXPECT_EQ(a.items[i].speaker, b.items[i].speaker);
    EXPECT_EQ(a.items[i].metadata, b.items[i].metadata);
    EXPECT_EQ(fs::path(a.items[i].path).replace_extension().filename(),
              fs::path(b.items[i].path).replace_extension().filename());
  }
  EXPECT_TRUE(a.problems.empty());
  EXPECT_TRUE(b.problems.empty());

  TempDir ew, ef;
  for (const char* s : {"wav/03a01Fa", "wav/16b10Wb", "wav/08a02Lc"}) {
    touch(ew / (std::string(s) + ".wav"));
    touch(ef / (std::string(s) + ".flac"));
  }
  const CorpusIndex c = index_emodb(ew.str()), e = index_emodb(ef.str());
  ASSERT_EQ(c.items.size(), 3u);
  ASSERT_EQ(e.items.size(), 3u);
  EXPECT_EQ(c.items[0].id, "wav/03a01Fa");
  EXPECT_EQ(c.items[1].id, "wav/08a02Lc");
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(c.items[i].id, e.items[i].id);
    EXPECT_EQ(c.items[i].label, e.items[i].label);
    EXPECT_EQ(c.items[i].metadata, e.items[i].metadata);
  }
}

TEST(CorpusScan, SameIdTwiceIsAProblemNotAChoice) {
  TempDir d;
  touch(d / "wav/03a01Fa.wav");
  touch(d / "wav/03a01Fa.flac");
  touch(d / "wav/03a01Wa.flac");
  const CorpusIndex index = index_emodb(d.str());
  ASSERT_EQ(index.items.size(), 1u);
  EXPECT_EQ(index.items[0].id, "wav/03a01Wa");
  ASSERT_EQ(index.problems.size(), 2u);
  for (const auto& p : index.problems) {
    EXPECT_NE(p.reason.find("duplicate id 'wav/03a01Fa'"), std::string::npos) << p.reason;
  }
  EXPECT_NE(index.problems[0].reason.find("03a01Fa.wav"), std::string::npos);  // the .flac names its twin
}

TEST(CorpusScan, EmoDbTreeReportsUnparsableNames) {
  TempDir d;
  touch(d / "wav/03a01Fa.wav");
  touch(d / "wav/05a01Fa.wav");
  touch(d / "wav/03a01Xa.wav");
  touch(d / "wav/info.txt");
  touch(d / "erkennung.txt");
  const CorpusIndex index = index_emodb(d.str() + "/");  // a trailing slash changes nothing
  ASSERT_EQ(index.items.size(), 1u);
  EXPECT_EQ(index.items[0].id, "wav/03a01Fa");
  EXPECT_EQ(index.items[0].label, "happiness");
  ASSERT_EQ(index.problems.size(), 2u);
  EXPECT_EQ(index.problems[0].reason, "emotion letter 'X' is not an Emo-DB emotion (W L E A F T N)");
  EXPECT_NE(index.problems[1].reason.find("speaker 05"), std::string::npos);
}

TEST(CorpusScan, MissingRootIsAnErrorNamingIt) {
  TempDir d;
  const std::string missing = d / "no-such-corpus";
  std::string msg = error_text([&] { index_ravdess(missing); });
  EXPECT_NE(msg.find(missing), std::string::npos) << msg;
  EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
  touch(d / "file.wav");
  msg = error_text([&] { index_emodb(d / "file.wav"); });
  EXPECT_NE(msg.find("not a folder"), std::string::npos) << msg;
  msg = error_text([&] { index_corpus("timit", d.str()); });
  EXPECT_NE(msg.find("unknown dataset 'timit'"), std::string::npos) << msg;
}

TEST(CorpusScan, AudioExtensions) {
  for (const char* p : {"a.wav", "a.WAV", "x/y.flac", "a.Flac", "a.aiff", "a.aif", "a.ogg", "a.mp3", "a.opus"}) {
    EXPECT_TRUE(is_audio_extension(p)) << p;
  }
  for (const char* p : {"README.txt", ".DS_Store", "a.csv", "wav", "a.wav.bak", "a.npy", "noext"}) {
    EXPECT_FALSE(is_audio_extension(p)) << p;
  }
}

TEST(CorpusScan, IndexCorpusDispatches) {
  TempDir d;
  touch(d / "wav/03a01Fa.flac");
  EXPECT_EQ(index_corpus("emodb", d.str()).items.size(), 1u);
  EXPECT_EQ(index_corpus("ravdess", d.str()).problems.size(), 1u);
}

// ---------------------------------------------------------------- CSV and manifests

TEST(Csv, QuotingRoundTrips) {
  const std::vector<std::string> fields = {"plain", "a, b", "say \"hi\"", "", "two\nlines", " padded "};
  const std::string line = ser::util::csv_line(fields);
  EXPECT_EQ(line, "plain,\"a, b\",\"say \"\"hi\"\"\",,\"two\nlines\",\" padded \"\n");
  const auto rows = ser::util::parse_csv(line + "x,y\r\n\r\n,\n", "t.csv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].fields, fields);
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(rows[1].line, 3u);  // the quoted line break counts
  EXPECT_EQ(rows[2].fields, (std::vector<std::string>{"", ""}));

  std::string msg = error_text([] { ser::util::parse_csv("a,\"open\nb\n", "bad.csv"); });
  EXPECT_NE(msg.find("bad.csv"), std::string::npos);
  EXPECT_NE(msg.find("unterminated quoted field starting on line 1"), std::string::npos) << msg;
  msg = error_text([] { ser::util::parse_csv("a,\"x\"y\n", "bad.csv"); });
  EXPECT_NE(msg.find("after a closing quote"), std::string::npos) << msg;
}

TEST(Manifest, ParsesQuotingRelativePathsAndExtraColumns) {
  TempDir d;
  const std::string outside = fs::path(d.str()).parent_path().string() + "/elsewhere/z.flac";
  const std::string csv =
      "\xEF\xBB\xBF"
      "path,label,speaker,note,session\r\n"
      "clips/a.wav,happy,s1,\"hello, world\",1\r\n"
      "\"clips/b, take 2.flac\",sad,s2,\"she said \"\"no\"\"\",2\r\n"
      "" + d.str() + "/clips/c.wav,angry,s1,,3\r\n"
      "" + outside + ",calm,s3,\"multi\nline\",4\r\n"
      "clips/d.wav,,s1,x,5\r\n"
      "clips/e.wav,happy,s1\r\n";
  touch(d / "manifest.csv", csv);

  const CorpusIndex index = index_manifest(d / "manifest.csv");
  EXPECT_EQ(index.dataset, "manifest");
  EXPECT_EQ(index.root, d / "manifest.csv");
  EXPECT_EQ(index.metadata_columns, (std::vector<std::string>{"note", "session"}));
  ASSERT_EQ(index.items.size(), 4u);

  std::map<std::string, const Item*> by_id;
  for (const auto& it : index.items) by_id[it.id] = &it;
  ASSERT_TRUE(by_id.count("clips/a")) << index.items[0].id;
  ASSERT_TRUE(by_id.count("clips/b, take 2"));
  ASSERT_TRUE(by_id.count("clips/c"));  // absolute but inside the manifest's folder
  const std::string outside_id = fs::path(outside).replace_extension().string();
  ASSERT_TRUE(by_id.count(outside_id));

  const Item& a = *by_id["clips/a"];
  EXPECT_EQ(a.path, d / "clips/a.wav");
  EXPECT_EQ(a.label, "happy");
  EXPECT_EQ(a.speaker, "s1");
  EXPECT_EQ(a.metadata, (std::vector<std::pair<std::string, std::string>>{{"note", "hello, world"}, {"session", "1"}}));
  EXPECT_EQ(by_id["clips/b, take 2"]->metadata[0].second, "she said \"no\"");
  EXPECT_EQ(by_id["clips/b, take 2"]->path, d / "clips/b, take 2.flac");
  EXPECT_EQ(by_id[outside_id]->path, outside);
  EXPECT_EQ(by_id[outside_id]->metadata[0].second, "multi\nline");

  ASSERT_EQ(index.problems.size(), 2u);
  const IndexProblem* empty_label = find_problem(index, "clips/d.wav");
  ASSERT_NE(empty_label, nullptr);
  EXPECT_NE(empty_label->reason.find("empty label"), std::string::npos);
  const IndexProblem* short_row = find_problem(index, "manifest.csv:8");
  ASSERT_NE(short_row, nullptr) << index.problems[0].path << " / " << index.problems[1].path;
  EXPECT_NE(short_row->reason.find("row has 3 fields, the header has 5"), std::string::npos);
}

TEST(Manifest, IdColumnAndNoSpeaker) {
  TempDir d;
  touch(d / "m.csv", "label,id,path\nneutral,utt-2,x/2.wav\nsad,utt-1,x/1.wav\nhappy,,x/3.ogg\n");
  const CorpusIndex index = index_manifest(d / "m.csv");
  ASSERT_EQ(index.items.size(), 3u);
  EXPECT_EQ(index.items[0].id, "utt-1");  // sorted by id
  EXPECT_EQ(index.items[1].id, "utt-2");
  EXPECT_EQ(index.items[2].id, "x/3");  // an empty id falls back to the path
  EXPECT_EQ(index.items[0].path, d / "x/1.wav");
  EXPECT_EQ(index.items[0].speaker, "");
  EXPECT_TRUE(index.metadata_columns.empty());
  EXPECT_TRUE(index.problems.empty());
}

TEST(Manifest, MissingRequiredColumnOrFileIsAnError) {
  TempDir d;
  touch(d / "nolabel.csv", "path,speaker\na.wav,1\n");
  std::string msg = error_text([&] { index_manifest(d / "nolabel.csv"); });
  EXPECT_NE(msg.find(d / "nolabel.csv"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing required column 'label'"), std::string::npos) << msg;

  touch(d / "nopath.csv", "file,label\na.wav,x\n");
  msg = error_text([&] { index_manifest(d / "nopath.csv"); });
  EXPECT_NE(msg.find("missing required column 'path'"), std::string::npos) << msg;

  touch(d / "empty.csv", "");
  msg = error_text([&] { index_manifest(d / "empty.csv"); });
  EXPECT_NE(msg.find("manifest is empty"), std::string::npos) << msg;

  msg = error_text([&] { index_manifest(d / "missing.csv"); });
  EXPECT_NE(msg.find(d / "missing.csv"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not found"), std::string::npos) << msg;

  touch(d / "dup.csv", "path,label,label\na.wav,x,y\n");
  msg = error_text([&] { index_manifest(d / "dup.csv"); });
  EXPECT_NE(msg.find("appears twice"), std::string::npos) << msg;
}

TEST(Manifest, DuplicateIdsAreProblems) {
  TempDir d;
  touch(d / "m.csv", "path,label\na.wav,x\na.flac,y\nb.wav,z\n");
  const CorpusIndex index = index_manifest(d / "m.csv");
  ASSERT_EQ(index.items.size(), 1u);
  EXPECT_EQ(index.items[0].id, "b");
  EXPECT_EQ(index.problems.size(), 2u);
}

// ---------------------------------------------------------------- the real corpora

TEST(RealCorpora, RavdessIndexesCompletely) {
  SER_REQUIRE_SHARED();
  const CorpusIndex index = index_ravdess(ser::test::shared_dir() + "/data/ravdess");
  for (const auto& p : index.problems) ADD_FAILURE() << p.path << ": " << p.reason;
  ASSERT_EQ(index.items.size(), 1440u);
  std::map<std::string, int> per_speaker, per_label, per_gender;
  for (const auto& it : index.items) {
    per_speaker[it.speaker]++;
    per_label[it.label]++;
    per_gender[meta(it, "gender")]++;
    EXPECT_EQ(meta(it, "vocal_channel"), "speech");
    EXPECT_EQ(it.id.substr(0, 6), "Actor_");
  }
  EXPECT_EQ(per_speaker.size(), 24u);
  for (const auto& [s, n] : per_speaker) EXPECT_EQ(n, 60) << "actor " << s;
  EXPECT_EQ(per_label.size(), 8u);
  for (const auto& [l, n] : per_label) EXPECT_EQ(n, l == "neutral" ? 96 : 192) << l;
  EXPECT_EQ(per_gender["male"], 720);
  EXPECT_EQ(per_gender["female"], 720);
  EXPECT_EQ(index.items.front().id, "Actor_01/03-01-01-01-01-01-01");
}

TEST(RealCorpora, EmoDbIndexesCompletely) {
  SER_REQUIRE_SHARED();
  const CorpusIndex index = index_emodb(ser::test::shared_dir() + "/data/emodb");
  for (const auto& p : index.problems) ADD_FAILURE() << p.path << ": " << p.reason;
  ASSERT_EQ(index.items.size(), 535u);
  std::map<std::string, int> per_label;
  std::set<std::string> speakers;
  for (const auto& it : index.items) {
    per_label[it.label]++;
    speakers.insert(it.speaker);
  }
  const std::map<std::string, int> expected = {{"anger", 127},    {"boredom", 81}, {"neutral", 79}, {"happiness", 71},
                                               {"fear", 69},      {"sadness", 62}, {"disgust", 46}};
  EXPECT_EQ(per_label, expected);
  EXPECT_EQ(speakers.size(), 10u);
  EXPECT_EQ(index.items.front().id, "wav/03a01Fa");
}

TEST(RealCorpora, SampleWavsAreSkippedOrReported) {
  SER_REQUIRE_SHARED();
  // samples/ holds prefixed names ("ravdess_03-..."): not RAVDESS names, so each is a problem.
  const CorpusIndex index = index_ravdess(ser::test::shared_dir() + "/data/samples");
  EXPECT_TRUE(index.items.empty());
  EXPECT_EQ(index.problems.size(), 3u);
}

// Any folder of audio (`ser augment` without --dataset): every audio file, no labels, the corpora's
// skips and duplicate rule.
TEST(CorpusScan, PlainAudioFolder) {
  TempDir d;
  touch(d / "a.wav");
  touch(d / "sub/b.flac");
  touch(d / "x.wav");
  touch(d / "x.flac");  // the same id twice: neither is indexed
  touch(d / ".hidden.wav");
  touch(d / "notes.txt", "not audio");
  const CorpusIndex index = index_audio_folder(d.str());
  EXPECT_EQ(index.dataset, "files");
  ASSERT_EQ(index.items.size(), 2u);
  EXPECT_EQ(index.items[0].id, "a");
  EXPECT_EQ(index.items[1].id, "sub/b");
  EXPECT_TRUE(index.items[1].label.empty());
  EXPECT_EQ(index.problems.size(), 2u);
}
