// Batch extraction: per-file failures, the feature store round trip, the content cache.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "ser/audio/audio.hpp"
#include "ser/data/corpus.hpp"
#include "ser/error.hpp"
#include "ser/features/extract.hpp"
#include "ser/util/files.hpp"
#include "ser/util/hash.hpp"
#include "ser/util/npy.hpp"
#include "support/shared.hpp"
#include "support/temp_dir.hpp"

#include <spdlog/spdlog.h>

namespace fs = std::filesystem;
using namespace ser;
using features::ExtractOptions;
using features::ExtractSummary;

namespace {

using ser::test::TempDir;

// mean, RMS, length: cheap, exact, and different for every test signal.
class FakeSet : public features::FeatureSet {
 public:
  enum class Mode { Good, WrongLength, NaN };
  explicit FakeSet(Mode mode = Mode::Good, std::string fingerprint = "v1")
      : mode_(mode), fingerprint_(std::move(fingerprint)) {}
  std::string name() const override { return "fake-stats"; }
  int sample_rate() const override { return 16000; }
  std::vector<features::Block> blocks() const override { return {{"stats", 0, 2}, {"length", 2, 1}}; }
  std::string settings_fingerprint() const override { return fingerprint_; }
  std::vector<float> compute(const audio::Signal& s) const override {
    ++calls;
    double sum = 0, sq = 0;
    for (float x : s.samples) {
      sum += x;
      sq += static_cast<double>(x) * x;
    }
    const double n = static_cast<double>(s.samples.size());
    std::vector<float> v = {static_cast<float>(sum / n), static_cast<float>(std::sqrt(sq / n)), static_cast<float>(n)};
    if (mode_ == Mode::WrongLength) v.pop_back();
    if (mode_ == Mode::NaN) v[1] = std::nanf("");
    return v;
  }
  mutable std::atomic<int> calls{0};

 private:
  Mode mode_;
  std::string fingerprint_;
};

audio::Signal tone(int rate, double seconds, double freq, double amp) {
  audio::Signal s;
  s.sample_rate = rate;
  s.samples.resize(static_cast<std::size_t>(rate * seconds));
  for (std::size_t i = 0; i < s.samples.size(); ++i) {
    s.samples[i] = static_cast<float>(amp * std::sin(2 * M_PI * freq * static_cast<double>(i) / rate));
  }
  return s;
}

std::string read_bytes(const std::string& path) { return util::read_text(path); }
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// The byte offset just past a WAV's "data" chunk header.
std::size_t data_offset(const std::string& wav) {
  const auto pos = wav.find("data");
  if (pos == std::string::npos) throw std::runtime_error("no data chunk");
  return pos + 8;
}

struct Corpus {
  std::string manifest;
  std::vector<std::string> good;  // ids expected to extract, in id order
  std::map<std::string, std::string> bad;  // file name -> expected reason fragment
};

// Good clips plus one of every kind of bad input, listed in a manifest.
Corpus make_corpus(const TempDir& d) {
  fs::create_directories(d / "clips");
  audio::write_wav(d / "clips/good_a.wav", tone(16000, 0.25, 440, 0.5));
  audio::write_wav(d / "clips/good_b.wav", tone(22050, 0.2, 220, 0.3));  // resampled to 16 kHz
  audio::Signal noise = tone(16000, 0.3, 0, 0);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  for (auto& x : noise.samples) x = u(rng);
  audio::write_wav(d / "clips/good_c.wav", noise, /*float32=*/true);

  audio::write_wav(d / "clips/good_d.wav", tone(16000, 0.0625, 330, 0.4));
  // Cut mid-data: partial audio would silently change the features, so it fails.
  audio::write_wav(d / "clips/cut_mid.wav", tone(16000, 0.25, 330, 0.4));
  const std::string full = read_bytes(d / "clips/cut_mid.wav");
  write_bytes(d / "clips/cut_mid.wav", full.substr(0, data_offset(full) + 2000));

  write_bytes(d / "clips/empty.wav", "");
  write_bytes(d / "clips/notes.txt", "These are recording notes, not audio.\nSession 1: fine.\n");
  // Valid header declaring 4000 samples, but the file ends one byte into the first one.
  audio::write_wav(d / "clips/truncated.wav", tone(16000, 0.25, 440, 0.5));
  const std::string t = read_bytes(d / "clips/truncated.wav");
  write_bytes(d / "clips/truncated.wav", t.substr(0, data_offset(t) + 1));
  audio::Signal with_nan = tone(16000, 0.1, 440, 0.5);
  with_nan.samples[100] = std::nanf("");
  audio::write_wav(d / "clips/nan.wav", with_nan, /*float32=*/true);
  audio::write_wav(d / "clips/zero.wav", audio::Signal{{}, 16000});

  Corpus c;
  c.manifest = d / "manifest.csv";
  std::ofstream m(c.manifest);
  m << "path,label,speaker,take\n";
  for (const char* good : {"good_a.wav", "good_b.wav", "good_c.wav", "good_d.wav"}) {
    m << "clips/" << good << ",happy,s1,\"1, first\"\n";
  }
  c.good = {"clips/good_a", "clips/good_b", "clips/good_c", "clips/good_d"};
  c.bad = {{"missing.wav", "file not found"},
           {"empty.wav", "empty file (0 bytes)"},
           {"notes.txt", "not readable as audio"},
           {"truncated.wav", "truncated"},
           {"cut_mid.wav", "truncated"},
           {"nan.wav", "non-finite samples (NaN or Inf)"},
           {"zero.wav", "zero-length audio"}};
  for (const auto& [name, reason] : c.bad) m << "clips/" << name << ",sad,s2,2\n";
  m << "clips/orphan.wav,,s3,3\n";  // empty label: an index problem, reported as a failure too
  return c;
}

ExtractOptions options(const std::string& out, int jobs = 2) {
  ExtractOptions o;
  o.out_dir = out;
  o.jobs = jobs;
  o.progress = false;
  return o;
}

std::vector<std::string> files_under(const std::string& dir, const std::string& fragment) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().filename().string().find(fragment) != std::string::npos) out.push_back(e.path().string());
  }
  return out;
}

std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const ser::Error& e) {
    return e.what();
  }
  return "<no ser::Error thrown>";
}

// Per-file warnings are the point of several tests here; keep the test log readable.
const bool kQuiet = [] {
  spdlog::set_level(spdlog::level::err);
  return true;
}();

}  // namespace

TEST(Extract, BadFilesFailIndividuallyAndGoodOnesAreStored) {
  TempDir d;
  const Corpus c = make_corpus(d);
  const data::CorpusIndex index = data::index_manifest(c.manifest);
  ASSERT_EQ(index.items.size(), 11u);
  ASSERT_EQ(index.problems.size(), 1u);

  FakeSet set;
  const ExtractSummary s = features::extract_corpus(index, set, options(d / "store"));
  EXPECT_EQ(s.total, 12u);
  EXPECT_EQ(s.extracted, 4u);
  EXPECT_EQ(s.from_cache, 0u);
  EXPECT_EQ(s.failed, 8u);
  ASSERT_EQ(s.failures.size(), 8u);
  EXPECT_EQ(set.calls.load(), 4);

  // The index problem comes first, without an id.
  EXPECT_EQ(s.failures[0].id, "");
  EXPECT_EQ(s.failures[0].path, d / "clips/orphan.wav");
  EXPECT_NE(s.failures[0].reason.find("empty label"), std::string::npos);
  std::map<std::string, features::FileFailure> by_name;
  for (const auto& f : s.failures) by_name[fs::path(f.path).filename().string()] = f;
  for (const auto& [name, reason] : c.bad) {
    ASSERT_TRUE(by_name.count(name)) << name << " did not fail";
    const auto& f = by_name[name];
    EXPECT_EQ(f.path, d / ("clips/" + name));
    EXPECT_EQ(f.id, "clips/" + fs::path(name).stem().string());
    EXPECT_NE(f.reason.find(reason), std::string::npos) << name << ": " << f.reason;
    EXPECT_EQ(f.reason.find(f.path), std::string::npos) << "path repeated in reason: " << f.reason;
  }

  const features::FeatureTable t = features::read_feature_store(d / "store");
  EXPECT_EQ(t.dim, 3u);
  ASSERT_EQ(t.items.size(), 4u);
  EXPECT_EQ(t.metadata_columns, std::vector<std::string>{"take"});
  for (std::size_t i = 0; i < t.items.size(); ++i) {
    EXPECT_EQ(t.items[i].id, c.good[i]);
    EXPECT_EQ(t.items[i].label, "happy");
    EXPECT_EQ(t.items[i].speaker, "s1");
    EXPECT_EQ(t.items[i].path, d / (c.good[i] + ".wav"));
    ASSERT_EQ(t.items[i].metadata.size(), 1u);
    EXPECT_EQ(t.items[i].metadata[0].second, "1, first");  // quoted comma survives
    const std::vector<float> expect = FakeSet().compute(audio::load(t.items[i].path, 16000));
    for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(t.row(i)[k], expect[k]) << c.good[i] << "[" << k << "]";
  }
  EXPECT_EQ(t.row(0)[2], 4000.0f);                                  // good_a: 0.25 s at 16 kHz
  EXPECT_EQ(t.row(1)[2], static_cast<float>(std::ceil(4410 * 16000.0 / 22050)));  // resampled
  EXPECT_EQ(t.row(3)[2], 1000.0f);                                  // good_d: 1/16 s

  const auto& meta = t.meta;
  EXPECT_EQ(meta["feature_set"], "fake-stats");
  EXPECT_EQ(meta["dim"], 3);
  EXPECT_EQ(meta["sample_rate"], 16000);
  EXPECT_EQ(meta["settings_fingerprint"], "v1");
  EXPECT_EQ(meta["dataset"], "manifest");
  EXPECT_EQ(meta["root"], c.manifest);
  EXPECT_EQ(meta["blocks"].size(), 2u);
  EXPECT_EQ(meta["blocks"][1]["name"], "length");
  EXPECT_EQ(meta["blocks"][1]["offset"], 2);
  EXPECT_FALSE(meta["toolkit_version"].get<std::string>().empty());
  EXPECT_EQ(meta["created"].get<std::string>().size(), 20u);  // 2024-01-02T03:04:05Z
  EXPECT_EQ(meta["counts"]["failed"], 8);
  EXPECT_EQ(meta["counts"]["rows"], 4);
  ASSERT_EQ(meta["errors"].size(), 8u);
  EXPECT_FALSE(meta["errors"][0].contains("id"));
  for (const auto& e : meta["errors"]) {
    EXPECT_FALSE(e["path"].get<std::string>().empty());
    EXPECT_FALSE(e["reason"].get<std::string>().empty());
  }

  EXPECT_TRUE(files_under(d.str(), ".tmp.").empty()) << files_under(d.str(), ".tmp.")[0];
}

TEST(Extract, RerunHitsTheCacheAndRecomputesOnlyWhatChanged) {
  TempDir d;
  const Corpus c = make_corpus(d);
  const data::CorpusIndex index = data::index_manifest(c.manifest);
  FakeSet set;
  const ExtractSummary first = features::extract_corpus(index, set, options(d / "store"));
  ASSERT_EQ(first.extracted, 4u);
  const auto before = features::read_feature_store(d / "store");
  EXPECT_EQ(files_under(d / "store/cache", ".bin").size(), 4u);

  const ExtractSummary again = features::extract_corpus(index, set, options(d / "store"));
  EXPECT_EQ(again.extracted, 0u);
  EXPECT_EQ(again.from_cache, 4u);
  EXPECT_EQ(again.failed, 8u);  // failures are retried, never cached
  EXPECT_EQ(set.calls.load(), 4);
  EXPECT_EQ(features::read_feature_store(d / "store").values, before.values);

  // Another fingerprint is another cache: nothing is reused.
  FakeSet other(FakeSet::Mode::Good, "v2");
  EXPECT_EQ(features::extract_corpus(index, other, options(d / "store-v2", 1)).extracted, 4u);

  // Edit one file: only it is recomputed.
  audio::write_wav(d / "clips/good_b.wav", tone(22050, 0.3, 500, 0.2));
  const ExtractSummary edited = features::extract_corpus(index, set, options(d / "store"));
  EXPECT_EQ(edited.extracted, 1u);
  EXPECT_EQ(edited.from_cache, 3u);
  const auto after = features::read_feature_store(d / "store");
  EXPECT_EQ(after.row(1)[2], static_cast<float>(std::ceil(6615 * 16000.0 / 22050)));
  EXPECT_EQ(after.row(0)[0], before.row(0)[0]);

  // Damage every cache entry a different way: each is ignored and rewritten.
  const auto entries = files_under(d / "store/cache", ".bin");
  ASSERT_EQ(entries.size(), 5u);
  for (std::size_t k = 0; k < entries.size(); ++k) {
    std::string raw = read_bytes(entries[k]);
    switch (k) {
      case 0: raw.resize(raw.size() / 2); break;     // short
      case 1: raw[30] ^= 0x40; break;                // flipped bit in a value
      case 2: raw = "garbage"; break;                // not ours
      case 3: raw.clear(); break;                    // empty
      default: raw[0] = 'X'; break;                  // bad magic
    }
    write_bytes(entries[k], raw);
  }
  const int calls_before = set.calls.load();
  const ExtractSummary repaired = features::extract_corpus(index, set, options(d / "store"));
  EXPECT_EQ(repaired.extracted, 4u);
  EXPECT_EQ(repaired.from_cache, 0u);
  EXPECT_EQ(set.calls.load(), calls_before + 4);
  EXPECT_EQ(features::read_feature_store(d / "store").values, after.values);
  EXPECT_EQ(features::extract_corpus(index, set, options(d / "store")).from_cache, 4u);

  EXPECT_TRUE(files_under(d.str(), ".tmp.").empty());
}

TEST(Extract, ThreadCountDoesNotChangeTheResult) {
  TempDir d;
  const Corpus c = make_corpus(d);
  const data::CorpusIndex index = data::index_manifest(c.manifest);
  FakeSet set;
  ExtractOptions one = options(d / "one", 1), many = options(d / "many", 4);
  one.use_cache = many.use_cache = false;
  features::extract_corpus(index, set, one);
  features::extract_corpus(index, set, many);
  EXPECT_EQ(read_bytes(d / "one/features.npy"), read_bytes(d / "many/features.npy"));
  EXPECT_EQ(read_bytes(d / "one/index.csv"), read_bytes(d / "many/index.csv"));
  EXPECT_FALSE(fs::exists(d / "one/cache"));  // use_cache=false leaves no cache behind
}

TEST(Extract, BadFeatureVectorsAreFailuresNotData) {
  TempDir d;
  const Corpus c = make_corpus(d);
  const data::CorpusIndex index = data::index_manifest(c.manifest);

  const ExtractSummary wrong = features::extract_corpus(index, FakeSet(FakeSet::Mode::WrongLength), options(d / "w"));
  EXPECT_EQ(wrong.extracted, 0u);
  EXPECT_EQ(wrong.failed, 12u);
  bool seen = false;
  for (const auto& f : wrong.failures) {
    if (f.id == "clips/good_a") {
      seen = true;
      EXPECT_NE(f.reason.find("returned 2 values, expected 3"), std::string::npos) << f.reason;
    }
  }
  EXPECT_TRUE(seen);
  const auto empty = features::read_feature_store(d / "w");
  EXPECT_TRUE(empty.items.empty());
  EXPECT_EQ(empty.dim, 3u);

  const ExtractSummary nan = features::extract_corpus(index, FakeSet(FakeSet::Mode::NaN), options(d / "n"));
  EXPECT_EQ(nan.extracted, 0u);
  for (const auto& f : nan.failures) {
    if (f.id == "clips/good_c") {
      EXPECT_NE(f.reason.find("non-finite value (NaN) at index 1 (block stats)"), std::string::npos) << f.reason;
    }
  }
  EXPECT_TRUE(files_under(d / "n/cache", ".bin").empty());  // bad vectors are never cached
}

TEST(Extract, IndexProblemsFromAFolderScanAreReported) {
  TempDir d;
  fs::create_directories(d / "corpus/wav");
  audio::write_wav(d / "corpus/wav/03a01Fa.wav", tone(16000, 0.2, 300, 0.3));
  audio::write_wav(d / "corpus/wav/03a01Xa.wav", tone(16000, 0.2, 300, 0.3));
  const data::CorpusIndex index = data::index_emodb(d / "corpus");
  const ExtractSummary s = features::extract_corpus(index, FakeSet(), options(d / "store"));
  EXPECT_EQ(s.total, 2u);
  EXPECT_EQ(s.extracted, 1u);
  ASSERT_EQ(s.failures.size(), 1u);
  EXPECT_EQ(s.failures[0].path, d / "corpus/wav/03a01Xa.wav");
  EXPECT_NE(s.failures[0].reason.find("emotion letter 'X'"), std::string::npos);
  const auto t = features::read_feature_store(d / "store");
  ASSERT_EQ(t.items.size(), 1u);
  EXPECT_EQ(t.items[0].id, "wav/03a01Fa");
  EXPECT_EQ(t.items[0].label, "happiness");
  EXPECT_EQ(t.metadata_columns, data::emodb_metadata_columns());
  EXPECT_EQ(t.items[0].metadata.back(), std::make_pair(std::string("gender"), std::string("male")));
  EXPECT_EQ(t.meta["dataset"], "emodb");
}

TEST(Extract, ProgressIsSilentWhenStderrIsNotATerminal) {
  TempDir d;
  const Corpus c = make_corpus(d);
  const data::CorpusIndex index = data::index_manifest(c.manifest);
  ExtractOptions o = options(d / "store");
  o.progress = true;
  testing::internal::CaptureStderr();
  features::extract_corpus(index, FakeSet(), o);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(FeatureStore, InconsistentFilesAreErrorsNamingTheFile) {
  TempDir d;
  const Corpus c = make_corpus(d);
  features::extract_corpus(data::index_manifest(c.manifest), FakeSet(), options(d / "store"));
  auto copy_store = [&](const std::string& name) {
    fs::create_directories(d / name);
    for (const char* f : {"features.npy", "index.csv", "meta.json"}) fs::copy_file(d / ("store/" + std::string(f)), d / (name + "/" + f));
    return d / name;
  };

  const std::string dim = copy_store("dim");
  std::string meta = read_bytes(dim + "/meta.json");
  const auto pos = meta.find("\"dim\": 3");
  ASSERT_NE(pos, std::string::npos);
  meta.replace(pos, 8, "\"dim\": 4");
  write_bytes(dim + "/meta.json", meta);
  std::string msg = error_text([&] { features::read_feature_store(dim); });
  EXPECT_NE(msg.find(dim + "/features.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not match dim 4"), std::string::npos) << msg;

  const std::string rows = copy_store("rows");
  std::string csv = read_bytes(rows + "/index.csv");
  csv.erase(csv.rfind('\n', csv.size() - 2) + 1);
  write_bytes(rows + "/index.csv", csv);
  msg = error_text([&] { features::read_feature_store(rows); });
  EXPECT_NE(msg.find(rows + "/index.csv"), std::string::npos) << msg;
  EXPECT_NE(msg.find("has 3 rows but features.npy has 4"), std::string::npos) << msg;

  const std::string nometa = copy_store("nometa");
  fs::remove(nometa + "/meta.json");
  msg = error_text([&] { features::read_feature_store(nometa); });
  EXPECT_NE(msg.find(nometa + "/meta.json"), std::string::npos) << msg;

  const std::string badjson = copy_store("badjson");
  write_bytes(badjson + "/meta.json", "{ not json");
  msg = error_text([&] { features::read_feature_store(badjson); });
  EXPECT_NE(msg.find("not valid JSON"), std::string::npos) << msg;

  msg = error_text([&] { features::read_feature_store(d / "nowhere"); });
  EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
}

TEST(Npy, Float32RoundTrip) {
  TempDir d;
  std::vector<float> v(12);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.37f - 1.5f;
  v[5] = 1e-38f;
  v[7] = -3.4e38f;
  util::write_npy_f32(d / "a.npy", {3, 4}, v.data());
  const util::NpyArray a = util::read_npy(d / "a.npy");
  EXPECT_EQ(a.dtype, "<f4");
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{3, 4}));
  ASSERT_EQ(a.size(), 12u);
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(static_cast<float>(a.values[i]), v[i]);
  EXPECT_EQ(a.at(2, 3), static_cast<double>(v[11]));
  // The header block (magic + length + dict) is padded to a multiple of 64 bytes.
  EXPECT_EQ((read_bytes(d / "a.npy").size() - 12 * 4) % 64, 0u);

  util::write_npy_f32(d / "empty.npy", {0, 5}, nullptr);
  const util::NpyArray e = util::read_npy(d / "empty.npy");
  EXPECT_EQ(e.shape, (std::vector<std::size_t>{0, 5}));
  EXPECT_EQ(e.size(), 0u);

  util::write_npy_f32(d / "vec.npy", {4}, v.data());
  EXPECT_EQ(util::read_npy(d / "vec.npy").shape, (std::vector<std::size_t>{4}));
  EXPECT_TRUE(files_under(d.str(), ".tmp.").empty());
}

TEST(Hash, MatchesXxh64ReferenceValues) {
  EXPECT_EQ(util::hash64("", 0), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(util::hash64("a", 1), 0xD24EC4F1A98C6E5BULL);
  EXPECT_EQ(util::hash64(std::string("abc")), 0x44BC2CF5AD770999ULL);
  const std::string long_text = "Nobody inspects the spammish repetition";
  EXPECT_EQ(util::hash64(long_text), 0xFBCEA83C8A378BF1ULL);
  EXPECT_NE(util::hash64(long_text, 1), util::hash64(long_text, 2));
  EXPECT_EQ(util::hex64(0xABCULL), "0000000000000abc");

  TempDir d;
  write_bytes(d / "f.bin", long_text);
  EXPECT_EQ(util::hash_file(d / "f.bin"), util::hash64(long_text));
  const std::string msg = error_text([&] { util::hash_file(d / "none.bin"); });
  EXPECT_NE(msg.find(d / "none.bin"), std::string::npos) << msg;
}

TEST(RealCorpora, EmoDbExtractsEveryFileAndRerunsFromCache) {
  SER_REQUIRE_SHARED();
  TempDir d;
  const data::CorpusIndex index = data::index_emodb(test::shared_dir() + "/data/emodb");
  FakeSet set;
  const ExtractSummary first = features::extract_corpus(index, set, options(d / "store"));
  for (const auto& f : first.failures) ADD_FAILURE() << f.path << ": " << f.reason;
  EXPECT_EQ(first.total, 535u);
  EXPECT_EQ(first.extracted + first.from_cache, 535u);
  const ExtractSummary again = features::extract_corpus(index, set, options(d / "store"));
  EXPECT_EQ(again.from_cache, 535u);
  EXPECT_EQ(again.extracted, 0u);
  const auto t = features::read_feature_store(d / "store");
  ASSERT_EQ(t.items.size(), 535u);
  EXPECT_EQ(t.items[0].id, "wav/03a01Fa");
  EXPECT_GT(t.row(0)[2], 16000.0f);  // longer than a second at 16 kHz
}
