// `ser evaluate` and `ser predict` end to end on a small tone corpus: run re-aggregation with
// every output, metrics that agree with predictions.csv, CI gates and their exit codes, a model
// applied to a corpus (with a label map), prediction in every format on odd audio, bad input.
#include <gtest/gtest.h>
#include <sndfile.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "support/cli.hpp"
#include "support/shared.hpp"

namespace fs = std::filesystem;

namespace {

using ser::test::run_cli;
using ser::util::read_text;
using ser::util::write_text_atomic;

// A tone corpus with speaker and gender columns and a trained run of 3 folds (MLP, seconds).
class EvaluateCli : public ser::test::CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_tone_corpus("m.csv", true);
    write_text_atomic(p("tones.json"), R"({"name": "tones", "dataset": "manifest", "manifest": ")" + p("m.csv") +
                                           R"(", "runs_dir": ")" + p("runs") + R"(", "features": {"out": ")" +
                                           p("features") + R"("}, "protocol": {"name": "random_kfold", "k": 3},
                                           "model": {"architecture": "mlp"},
                                           "train": {"epochs": 8, "threads": 1, "optimizer": {"name": "adam", "lr": 0.01}}})");
    const auto r = run_cli("train --config " + p("tones.json") + " --jobs 1 --no-progress");
    ASSERT_EQ(r.code, 0) << r.out;
  }
  nlohmann::json json_of(const std::string& rel) const { return nlohmann::json::parse(read_text(p(rel))); }
  // Stereo float WAV at any rate (write_tone writes mono 16-bit).
  void write_stereo(const std::string& rel, int sr, double seconds) {
    SF_INFO info{};
    info.samplerate = sr;
    info.channels = 2;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE* f = sf_open(p(rel).c_str(), SFM_WRITE, &info);
    ASSERT_NE(f, nullptr);
    std::vector<float> frames;
    for (int i = 0; i < static_cast<int>(sr * seconds); ++i) {
      frames.push_back(0.3f * static_cast<float>(std::sin(2 * M_PI * 440.0 * i / sr)));
      frames.push_back(0.2f * static_cast<float>(std::sin(2 * M_PI * 660.0 * i / sr)));
    }
    sf_writef_float(f, frames.data(), static_cast<sf_count_t>(frames.size() / 2));
    sf_close(f);
  }
};

// Output without the "[warning] ..." lines stderr adds (flagged inputs, small speaker groups).
std::string without_warnings(const std::string& out) {
  std::string kept;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("[warning] ", 0) != 0) kept += line + "\n";
  }
  return kept;
}

// Probabilities of every p_ column sum to 1 in each row of a CSV document.
void expect_rows_sum_to_one(const std::string& text) {
  const std::string csv = without_warnings(text);
  const auto rows = ser::util::parse_csv(csv, "output");
  ASSERT_GT(rows.size(), 1u) << csv;
  std::vector<std::size_t> p_cols;
  for (std::size_t c = 0; c < rows[0].fields.size(); ++c) {
    if (rows[0].fields[c].rfind("p_", 0) == 0) p_cols.push_back(c);
  }
  ASSERT_FALSE(p_cols.empty()) << csv;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    double sum = 0;
    for (std::size_t c : p_cols) sum += std::stod(rows[r].fields[c]);
    EXPECT_NEAR(sum, 1.0, 1e-4) << "row " << r;
  }
}

TEST_F(EvaluateCli, RunReaggregationWritesEveryOutput) {
  const std::string run = p("runs/tones");
  const std::string before = read_text(run + "/metrics.json");
  const auto r = run_cli("evaluate --run " + run);
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* f : {"metrics.json", "confusion.csv", "confusion_normalized.csv", "predictions.csv", "report.md",
                        "confusion.svg", "recall.svg", "curves.svg"}) {
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;
  }
  const auto m = json_of("runs/tones/metrics.json");
  const auto b = nlohmann::json::parse(before);
  EXPECT_EQ(m["summary"], b["summary"]) << "re-aggregation reproduces what ser train wrote";
  EXPECT_EQ(m["pooled"]["n"], 24);
  EXPECT_EQ(m["folds"].size(), 3u);
  // Breakdowns by the manifest's speaker and gender columns, and a coverage curve.
  EXPECT_EQ(m["analysis"]["groups"]["speaker"].size(), 4u) << m["analysis"].dump();
  EXPECT_EQ(m["analysis"]["groups"]["gender"].size(), 2u) << m["analysis"].dump();
  EXPECT_FALSE(m["analysis"]["coverage"].empty());

  // The confusion matrix and per-class support agree with predictions.csv.
  const auto rows = ser::util::parse_csv(read_text(run + "/predictions.csv"), "predictions.csv");
  ASSERT_EQ(rows.size(), 25u);
  EXPECT_EQ(rows[0].fields[3], "fold");
  std::map<std::string, int> support;
  int correct = 0;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    ++support[rows[i].fields[1]];
    correct += rows[i].fields[1] == rows[i].fields[2];
  }
  int total = 0;
  const auto labels = m["labels"].get<std::vector<std::string>>();
  for (std::size_t t = 0; t < labels.size(); ++t) {
    int row_sum = 0;
    for (int v : m["pooled"]["confusion_matrix"][t].get<std::vector<int>>()) row_sum += v;
    EXPECT_EQ(row_sum, support[labels[t]]) << labels[t];
    EXPECT_EQ(m["pooled"]["per_class"][labels[t]]["support"], support[labels[t]]) << labels[t];
    total += row_sum;
  }
  EXPECT_EQ(total, 24);
  EXPECT_DOUBLE_EQ(m["pooled"]["accuracy"].get<double>(), correct / 24.0);
  const std::string report = read_text(run + "/report.md");
  EXPECT_NE(report.find("confusion.svg"), std::string::npos);
}

// On a terminal the report is printed as a table; in a pipe one summary line is enough.
TEST_F(EvaluateCli, TerminalTableOnlyOnATerminal) {
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "script (util-linux) not installed";
  const std::string cmd = ser::test::shell_quote(SER_CLI_PATH) + " evaluate --run " + p("runs/tones");
  const auto tty = run_cli("--version >/dev/null; script -qec " + ser::test::shell_quote(cmd) + " /dev/null");
  EXPECT_EQ(tty.code, 0) << tty.out;
  EXPECT_NE(tty.out.find("macro-F1"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("high"), std::string::npos) << "per-class rows: " << tty.out;
  const auto pipe = run_cli("evaluate --run " + p("runs/tones"));
  EXPECT_NE(pipe.out.find("tones: pooled accuracy "), std::string::npos) << pipe.out;
  EXPECT_NE(pipe.out.find("fold mean +- std over 3 of 3 folds"), std::string::npos) << pipe.out;
  EXPECT_NE(tty.out.find("fold mean ± std"), std::string::npos) << "the terminal table labels its columns: " << tty.out;
}

// A fold written before predictions.csv carried metadata (id,true,pred,p_...) next to newer ones.
TEST_F(EvaluateCli, FoldsWithDifferentMetadataColumnsAreAligned) {
  const std::string fold1 = p("runs/tones/fold-1/predictions.csv");
  auto rows = ser::util::parse_csv(read_text(fold1), "fold-1");
  std::string old_format;
  for (const auto& r : rows) {
    std::vector<std::string> f = {r.fields[0], r.fields[1], r.fields[2]};
    f.insert(f.end(), r.fields.end() - 3, r.fields.end());  // the three p_ columns
    old_format += ser::util::csv_line(f);
  }
  write_text_atomic(fold1, old_format);
  const auto r = run_cli("evaluate --run " + p("runs/tones"));
  ASSERT_EQ(r.code, 0) << r.out;
  const auto pooled = ser::util::parse_csv(read_text(p("runs/tones/predictions.csv")), "pooled");
  ASSERT_EQ(pooled.size(), 25u);
  EXPECT_EQ(pooled[0].fields[4], "speaker");
  int without_speaker = 0;
  for (std::size_t i = 1; i < pooled.size(); ++i) without_speaker += pooled[i].fields[4].empty();
  EXPECT_EQ(without_speaker, static_cast<int>(rows.size()) - 1) << "only fold 1's rows lack the speaker";
}

TEST_F(EvaluateCli, GatesExitWithTheirOwnCodeAfterWritingOutputs) {
  const std::string run = p("runs/tones");
  const auto pass = run_cli("evaluate --run " + run + " --fail-under uar=0.0,accuracy=0.0");
  EXPECT_EQ(pass.code, 0) << pass.out;
  EXPECT_NE(pass.out.find("gate passed"), std::string::npos) << pass.out;

  // A baseline that no model can match: the drop gate fails with exit code 3.
  nlohmann::json baseline = json_of("runs/tones/metrics.json");
  for (const char* k : {"accuracy", "balanced_accuracy", "macro_f1"}) baseline["summary"][k]["mean"] = 2.0;
  write_text_atomic(p("base.json"), baseline.dump());
  fs::remove_all(run + "/gates");
  const std::string own_metrics = read_text(run + "/metrics.json"), own_report = read_text(run + "/report.md");
  const auto fail = run_cli("evaluate --run " + run + " --baseline " + p("base.json") + " --max-drop 0.02");
  EXPECT_EQ(fail.code, 3) << fail.out;
  EXPECT_NE(fail.out.find("gate FAILED"), std::string::npos) << fail.out;
  // The gate's outputs go to <run>/gates/, written before the verdict; the run's own stay.
  ASSERT_TRUE(fs::exists(run + "/gates/report.md")) << "outputs are written before the gate verdict";
  EXPECT_NE(read_text(run + "/gates/report.md").find("❌"), std::string::npos);
  EXPECT_EQ(json_of("runs/tones/gates/metrics.json")["gates"][0]["passed"], false);
  EXPECT_EQ(read_text(run + "/metrics.json"), own_metrics);
  EXPECT_EQ(read_text(run + "/report.md"), own_report);

  // Gate mistakes are usage errors (exit 2), named.
  for (const std::string& bad : std::vector<std::string>{"--fail-under uar=abc", "--fail-under recall=0.5", "--fail-under uar=1.5",
                                "--max-drop 0.1", "--baseline " + p("missing.json")}) {
    const auto r = run_cli("evaluate --run " + run + " " + bad);
    EXPECT_NE(r.code, 0) << bad;
    EXPECT_NE(r.code, 3) << bad;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << bad << "\n" << r.out;
  }
}

TEST_F(EvaluateCli, ModelOnACorpusWithALabelMap) {
  // A second corpus whose labels differ: "bass" maps onto the model's "low"; "squeak" is unknown.
  std::string manifest = "path,label,speaker\n";
  for (int i = 0; i < 4; ++i) {
    write_tone("clips/b" + std::to_string(i) + ".wav", 225.0 + i, 22050);
    manifest += p("clips/b" + std::to_string(i) + ".wav") + ",bass,x" + std::to_string(i) + "\n";
  }
  write_tone("clips/s.wav", 5000, 22050);
  manifest += p("clips/s.wav") + ",squeak,x9\n";
  write_text_atomic(p("other.csv"), manifest);
  const auto r = run_cli("evaluate --model " + p("runs/tones/fold-1") + " --dataset manifest --manifest " +
                         p("other.csv") + " --map bass=low --out " + p("ev") + " --no-progress");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("squeak 1"), std::string::npos) << "unmapped labels are reported: " << r.out;
  const auto m = json_of("ev/metrics.json");
  EXPECT_EQ(m["n"], 4);
  EXPECT_EQ(m["skipped_labels"]["squeak"], 1);
  EXPECT_EQ(m["per_class"]["low"]["support"], 4);
  expect_rows_sum_to_one(read_text(p("ev/predictions.csv")));

  // The same map from a config's label_map.
  write_text_atomic(p("other.json"), R"({"dataset": "manifest", "manifest": ")" + p("other.csv") +
                                         R"(", "features": {"out": "unused"}, "label_map": {"bass": "low"}})");
  const auto from_config = run_cli("evaluate --model " + p("runs/tones/fold-1") + " --config " + p("other.json") +
                                   " --out " + p("ev-config") + " --no-progress");
  ASSERT_EQ(from_config.code, 0) << from_config.out;
  EXPECT_EQ(json_of("ev-config/metrics.json")["n"], 4);
  EXPECT_EQ(json_of("ev-config/metrics.json")["label_map"]["bass"], "low");

  // A whole run is a fold ensemble.
  const auto ens = run_cli("evaluate --model " + p("runs/tones") + " --dataset manifest --manifest " + p("m.csv") +
                           " --out " + p("ev2") + " --no-progress");
  ASSERT_EQ(ens.code, 0) << ens.out;
  EXPECT_EQ(json_of("ev2/metrics.json")["members"], 3);

  const auto bad_map = run_cli("evaluate --model " + p("runs/tones/fold-1") + " --dataset manifest --manifest " +
                               p("other.csv") + " --map bass=lowest --out " + p("ev3"));
  EXPECT_EQ(bad_map.code, 2) << bad_map.out;
  EXPECT_NE(bad_map.out.find("'lowest' is not a label of the model"), std::string::npos) << bad_map.out;
  const auto none = run_cli("evaluate --model " + p("runs/tones/fold-1") + " --dataset manifest --manifest " +
                            p("other.csv") + " --out " + p("ev4") + " --no-progress");
  EXPECT_EQ(none.code, 1) << "without the map no item is one the model can score: " << none.out;
  EXPECT_NE(none.out.find("no item has a label the model knows"), std::string::npos) << none.out;
}

TEST_F(EvaluateCli, PredictInEveryFormatOnOddAudio) {
  write_stereo("clips/stereo44k.wav", 44100, 1.0);
  write_stereo("clips/short40ms.wav", 22050, 0.04);
  const std::string model = p("runs/tones/fold-2");
  const auto csv = run_cli("--quiet predict --model " + model + " --format csv " + p("clips/low0.wav") + " " +
                           p("clips/stereo44k.wav") + " " + p("clips/short40ms.wav"));
  EXPECT_EQ(csv.code, 0) << csv.out;
  expect_rows_sum_to_one(csv.out);
  EXPECT_EQ(ser::util::parse_csv(without_warnings(csv.out), "csv").size(), 4u) << csv.out;
  EXPECT_NE(csv.out.find("short40ms.wav: "), std::string::npos) << "a 40 ms clip is flagged: " << csv.out;

  const auto json = run_cli("--quiet predict --model " + p("runs/tones") + " --format json " + p("clips"));
  ASSERT_EQ(json.code, 0) << json.out;
  const auto j = nlohmann::json::parse(without_warnings(json.out))["items"];
  EXPECT_EQ(j.size(), 26u);  // 24 tones + 2 stereo clips, found recursively
  for (const auto& row : j) {
    double sum = 0;
    for (auto& [k, v] : row["probabilities"].items()) sum += v.get<double>();
    EXPECT_NEAR(sum, 1.0, 1e-6);
    EXPECT_EQ(row["probabilities"][row["label"].get<std::string>()], row["confidence"]);
  }
  const auto table = run_cli("predict --model " + model + " " + p("m.csv"));
  EXPECT_EQ(table.code, 0) << table.out;
  EXPECT_NE(table.out.find("confidence"), std::string::npos) << table.out;
  const std::string rows = without_warnings(table.out);
  EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), 25) << table.out;
}

TEST_F(EvaluateCli, PredictAndEvaluateRejectBadInputClearly) {
  const std::string model = p("runs/tones/fold-1");
  write_text_atomic(p("clips/notaudio.wav"), "this is text");
  write_text_atomic(p("clips/empty.wav"), "");
  // Bad files are reported one line each and make the exit code 1; good ones are still predicted.
  const auto mixed = run_cli("--quiet predict --model " + model + " --format csv " + p("clips/low1.wav") + " " +
                             p("clips/missing.wav") + " " + p("clips/notaudio.wav") + " " + p("clips/empty.wav"));
  EXPECT_EQ(mixed.code, 1) << mixed.out;
  for (const char* f : {"missing.wav", "notaudio.wav", "empty.wav"}) {
    EXPECT_NE(mixed.out.find(std::string("ser: error: ") + p(std::string("clips/") + f) + ": "), std::string::npos) << f << "\n" << mixed.out;
  }
  EXPECT_NE(mixed.out.find(p("clips/low1.wav") + ","), std::string::npos) << mixed.out;

  // A model path that is not there is a mistake in the command (2), like a missing corpus root.
  const auto no_model = run_cli("predict --model " + p("nowhere") + " " + p("clips/low1.wav"));
  EXPECT_EQ(no_model.code, 2) << no_model.out;
  EXPECT_NE(no_model.out.find(p("nowhere")), std::string::npos) << no_model.out;
  const auto bad_format = run_cli("predict --model " + model + " --format xml " + p("clips/low1.wav"));
  EXPECT_EQ(bad_format.code, 2) << bad_format.out;

  // A model whose feature settings differ from this build's: refused before any audio is read.
  fs::copy(model, p("other-model"), fs::copy_options::recursive);
  auto card = json_of("other-model/model.json");
  card["feature_fingerprint"] = "issa193;sr=16000";
  write_text_atomic(p("other-model/model.json"), card.dump());
  const auto mismatch = run_cli("predict --model " + p("other-model") + " " + p("clips/low1.wav"));
  EXPECT_EQ(mismatch.code, 1) << mismatch.out;
  EXPECT_NE(mismatch.out.find("other settings"), std::string::npos) << mismatch.out;
  const auto corrupt_json = (write_text_atomic(p("other-model/model.json"), "{"),
                             run_cli("predict --model " + p("other-model") + " " + p("clips/low1.wav")));
  EXPECT_EQ(corrupt_json.code, 1);
  EXPECT_NE(corrupt_json.out.find("model.json"), std::string::npos) << corrupt_json.out;

  const auto both = run_cli("evaluate --run " + p("runs/tones") + " --model " + model);
  EXPECT_EQ(both.code, 2) << both.out;
  const auto not_run = run_cli("evaluate --run " + p("clips"));
  EXPECT_EQ(not_run.code, 1) << not_run.out;
  EXPECT_NE(not_run.out.find("no finished fold"), std::string::npos) << not_run.out;
}

// The corpus's own odd clips (stereo 44.1 kHz, 40 ms, silence) through `ser predict`.
TEST_F(EvaluateCli, PredictOnTheSharedEdgeClips) {
  SER_REQUIRE_SHARED();
  const std::string edge = ser::test::shared_dir() + "/data/edge";
  const auto r = run_cli("--quiet predict --model " + p("runs/tones") + " --format csv " + ser::test::shell_quote(edge));
  // Silence may be refused by the feature set; every file gets a row or a one-line error.
  std::size_t rows = 0, errors = 0;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("ser: error: ", 0) == 0) ++errors;
    else if (line.rfind("[warning] ", 0) == 0) continue;  // flagged inputs: these are no speech
    else if (line.rfind("id,", 0) != 0) ++rows;
  }
  EXPECT_EQ(rows + errors, 6u) << r.out;
  EXPECT_EQ(r.code, errors ? 1 : 0) << r.out;
}

// NaN in a torch model's weights: refused at load, naming model.pt, for predict and evaluate.
TEST_F(EvaluateCli, NaNWeightsInATorchModelAreAnError) {
  fs::copy(p("runs/tones/fold-1"), p("nan-model"), fs::copy_options::recursive);
  std::string zip = read_text(p("nan-model/model.pt"));
  // The first tensor's bytes follow its zip local header (stored, uncompressed); LibTorch does
  // not check the CRC, so overwriting 4 bytes in place is enough.
  std::size_t at = 0, start = std::string::npos;
  while ((at = zip.find(std::string("PK\x03\x04", 4), at)) != std::string::npos) {
    auto u16 = [&](std::size_t o) { return static_cast<std::size_t>(static_cast<unsigned char>(zip[o])) |
                                           static_cast<std::size_t>(static_cast<unsigned char>(zip[o + 1])) << 8; };
    const std::size_t name_len = u16(at + 26), extra_len = u16(at + 28);
    const std::string name = zip.substr(at + 30, name_len);
    if (name.size() >= 7 && name.compare(name.size() - 7, 7, "/data/0") == 0) {
      start = at + 30 + name_len + extra_len;
      break;
    }
    at += 4;
  }
  ASSERT_NE(start, std::string::npos) << "no data/0 entry in model.pt";
  const float nan = std::nanf("");
  zip.replace(start, sizeof(float), reinterpret_cast<const char*>(&nan), sizeof(float));
  write_text_atomic(p("nan-model/model.pt"), zip);
  const auto pred = run_cli("predict --model " + p("nan-model") + " " + p("clips/low0.wav"));
  EXPECT_EQ(pred.code, 1) << pred.out;
  EXPECT_NE(pred.out.find(p("nan-model/model.pt") + ": gives non-finite probabilities"), std::string::npos) << pred.out;
  EXPECT_EQ(pred.out.find("nan "), std::string::npos) << pred.out;
  const auto ev = run_cli("evaluate --model " + p("nan-model") + " --dataset manifest --manifest " + p("m.csv") +
                          " --out " + p("ev-nan") + " --no-progress");
  EXPECT_EQ(ev.code, 1) << ev.out;
  EXPECT_NE(ev.out.find("nan-model/model.pt"), std::string::npos) << ev.out;
}

}  // namespace
