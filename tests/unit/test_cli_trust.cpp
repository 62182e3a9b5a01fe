// Outputs CI gates and scripts can trust: coverage from the run's plan (not the fold folders
// present), training overlap known wherever the command runs, stdout that parses whatever goes
// wrong, gates that an empty argument cannot switch off, baselines that must match, repeats runs
// with the outputs of any run, and one metrics.json schema.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "support/cli.hpp"
#include "support/tone_runs.hpp"

namespace fs = std::filesystem;

namespace {

using ser::test::run_cli;
using ser::test::run_cli_streams;
using ser::test::shell_quote;
using ser::util::read_text;
using ser::util::write_text_atomic;
using TrustCli = ser::test::ToneRunCli;

// A job array whose later tasks have not run is k of n folds, n from the config.
TEST_F(TrustCli, APartialRunIsKOfNFoldsFromTheConfigNotTheFolders) {
  const std::string cfg = config("lr");
  train(cfg, "--fold 1");
  train(cfg, "--fold 2");
  const auto listed = run_cli_streams("train --config " + cfg + " --list-folds");
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_EQ(listed.out, "3\n");
  EXPECT_EQ(json_of(p("runs/lr/plan.json"))["folds_total"], 3);

  const auto gated = run_cli("evaluate --run " + p("runs/lr") + " --fail-under uar=0.0");
  EXPECT_EQ(gated.code, 1) << gated.out;
  EXPECT_NE(gated.out.find("2 of 3 folds"), std::string::npos) << gated.out;
  EXPECT_NE(gated.out.find("--allow-partial"), std::string::npos) << gated.out;
  EXPECT_FALSE(fs::exists(p("runs/lr/metrics.json"))) << "a refused evaluation writes nothing";
  const auto plain = run_cli("evaluate --run " + p("runs/lr"));
  EXPECT_EQ(plain.code, 1) << "refused without gates too:\n" << plain.out;

  const auto allowed = run_cli("evaluate --run " + p("runs/lr") + " --allow-partial");
  EXPECT_EQ(allowed.code, 0) << allowed.out;
  EXPECT_NE(allowed.out.find("over 2 of 3 folds"), std::string::npos) << allowed.out;
  const auto m = json_of(p("runs/lr/metrics.json"));
  EXPECT_EQ(m["coverage"]["folds_used"], 2);
  EXPECT_EQ(m["coverage"]["folds_total"], 3);
  EXPECT_EQ(m["coverage"]["complete"], false);
  EXPECT_NE(read_text(p("runs/lr/report.md")).find("Coverage: 2 of 3 folds"), std::string::npos);

  const auto pred = run_cli("predict --model " + p("runs/lr") + " " + p("clips/low0.wav"));
  EXPECT_EQ(pred.code, 1) << pred.out;
  EXPECT_NE(pred.out.find("only 2 of 3 folds"), std::string::npos) << pred.out;

  // A run from before plan.json records no fold total: the folders present are never taken for
  // it, nor written down as one.
  fs::remove(p("runs/lr/plan.json"));
  fs::remove(p("runs/lr/metrics.json"));
  const auto unknown = run_cli("evaluate --run " + p("runs/lr"));
  EXPECT_EQ(unknown.code, 1) << unknown.out;
  EXPECT_NE(unknown.out.find("2 of at least 2 folds"), std::string::npos) << unknown.out;
  ASSERT_EQ(run_cli("evaluate --run " + p("runs/lr") + " --allow-partial").code, 0);
  const auto guessed = json_of(p("runs/lr/metrics.json"));
  EXPECT_FALSE(guessed.contains("folds_total")) << guessed.dump(2);
  EXPECT_EQ(guessed["coverage"]["complete"], false);
  EXPECT_EQ(run_cli("evaluate --run " + p("runs/lr")).code, 1) << "its own partial aggregate is no record either";

  // The third task runs: the run is whole and gates apply.
  train(cfg, "--fold 3");
  const auto whole = run_cli("evaluate --run " + p("runs/lr") + " --fail-under uar=0.0");
  EXPECT_EQ(whole.code, 0) << whole.out;
  EXPECT_EQ(json_of(p("runs/lr/metrics.json"))["coverage"]["complete"], true);
}

// The run's corpus is relative to where training ran; evaluating from elsewhere still
// finds its training items, and a gate on them fails unless asked to allow it.
TEST_F(TrustCli, TrainingOverlapIsKnownFromAnyWorkingDirectoryAndFailsGates) {
  fs::create_directories(p("proj"));
  write_text_atomic(p("proj/lr.json"), R"({"name": "lr", "dataset": "manifest", "manifest": "m.csv",
      "features": {"out": "runs/features"}, "protocol": {"name": "random_kfold", "k": 3},
      "model": {"architecture": "logreg"}})");
  fs::copy_file(p("m.csv"), p("proj/m.csv"));
  const std::string in_proj = "cd " + shell_quote(p("proj")) + " &&";
  const auto trained = run_cli_streams("train --config lr.json --no-progress --jobs 1", in_proj);
  ASSERT_EQ(trained.code, 0) << trained.err;
  ASSERT_TRUE(fs::exists(p("proj/runs/lr/fold-1/training_items.csv")));

  // Six of the corpus files listed by absolute path (ids differ from the run's).
  std::string manifest = "path,label,speaker\n";
  for (const char* c : {"low", "mid", "high"}) {
    for (int i : {0, 1}) manifest += p("clips/" + std::string(c) + std::to_string(i) + ".wav") + "," + c + ",x\n";
  }
  fs::create_directories(p("elsewhere"));
  write_text_atomic(p("elsewhere/m2.csv"), manifest);
  const std::string elsewhere = "cd " + shell_quote(p("elsewhere")) + " &&";
  const std::string eval = "evaluate --model ../proj/runs/lr --dataset manifest --manifest m2.csv --out ev ";
  const auto gated = run_cli_streams(eval + "--fail-under uar=0.1", elsewhere);
  EXPECT_EQ(gated.code, 3) << gated.out << gated.err;
  EXPECT_NE(gated.out.find("training overlap: 6 of 6 evaluated items"), std::string::npos) << gated.out;
  const auto m = json_of(p("elsewhere/ev/metrics.json"));
  EXPECT_EQ(m["training_overlap"]["known"], true);
  EXPECT_EQ(m["training_overlap"]["by_content"], 6);
  const auto allowed = run_cli_streams(eval + "--fail-under uar=0.1 --allow-training-overlap", elsewhere);
  EXPECT_EQ(allowed.code, 0) << allowed.out << allowed.err;

  // Models from before training_items.csv: the run's relative corpus is resolved against the run
  // directory, not the working directory.
  for (int k = 1; k <= 3; ++k) fs::remove(p("proj/runs/lr/fold-" + std::to_string(k) + "/training_items.csv"));
  const auto legacy = run_cli_streams(eval + "--fail-under uar=0.1", elsewhere);
  EXPECT_EQ(legacy.code, 3) << legacy.out << legacy.err;
  EXPECT_EQ(json_of(p("elsewhere/ev/metrics.json"))["training_overlap"]["by_content"], 6);

  // A model folder whose training items cannot be known: the gate refuses to vouch.
  fs::create_directories(p("loose"));
  for (const char* f : {"model.json", "classifier.json"}) fs::copy_file(p("proj/runs/lr/fold-1/") + f, p("loose/") + f);
  const auto unknown = run_cli_streams("evaluate --model " + p("loose") + " --dataset manifest --manifest " +
                                       p("elsewhere/m2.csv") + " --out " + p("ev2") + " --fail-under uar=0.1");
  EXPECT_EQ(unknown.code, 3) << unknown.out << unknown.err;
  EXPECT_NE(unknown.out.find("training overlap: unknown"), std::string::npos) << unknown.out;
  const auto ev2 = json_of(p("ev2/metrics.json"));
  EXPECT_EQ(ev2["training_overlap"]["known"], false);
  ASSERT_FALSE(ev2["warnings"].empty());
  EXPECT_NE(ev2["warnings"].back().get<std::string>().find("is not known"), std::string::npos) << ev2["warnings"];
}

// Stdout is only the data, even when warnings are printed.
TEST_F(TrustCli, StdoutParsesStrictlyWhateverIsWarned) {
  train(config("lr"));
  train(config("lr2", 0.1));
  fs::create_directories(p("noise"));
  write_noise("noise/n.wav");
  fs::copy_file(p("clips/low0.wav"), p("noise/low0.wav"));

  const auto json = run_cli_streams("predict --model " + p("runs/lr") + " --format json " + p("noise"));
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_NE(json.err.find("[warning]"), std::string::npos) << "the noise clip is warned about on stderr:\n" << json.err;
  const auto rows = nlohmann::json::parse(json.out).at("items");  // throws on anything but JSON
  ASSERT_EQ(rows.size(), 2u);
  const auto& noise = rows[1];  // files are listed in path order: low0.wav, n.wav
  ASSERT_EQ(fs::path(noise["path"].get<std::string>()).filename(), "n.wav");
  EXPECT_TRUE(noise["ood"].get<bool>()) << rows.dump(2);
  ASSERT_TRUE(noise["warnings"].is_array());
  EXPECT_FALSE(noise["warnings"].empty()) << rows.dump(2);
  EXPECT_TRUE(rows[0]["warnings"].empty()) << rows.dump(2);

  const auto csv = run_cli_streams("predict --model " + p("runs/lr") + " --format csv " + p("noise"));
  ASSERT_EQ(csv.code, 0) << csv.err;
  const auto table = ser::util::parse_csv(csv.out, "stdout");
  ASSERT_EQ(table.size(), 3u) << csv.out;
  EXPECT_EQ(table[0].fields[0], "id");
  const auto& h = table[0].fields;
  const auto w = static_cast<std::size_t>(std::find(h.begin(), h.end(), "warnings") - h.begin());
  ASSERT_LT(w, h.size()) << csv.out;
  EXPECT_TRUE(table[1].fields[w].empty()) << csv.out;
  EXPECT_FALSE(table[2].fields[w].empty()) << csv.out;
  const auto to_file = run_cli_streams("predict --model " + p("runs/lr") + " --format csv --out " + p("o.csv") + " " + p("noise"));
  ASSERT_EQ(to_file.code, 0) << to_file.err;
  EXPECT_TRUE(to_file.out.empty()) << to_file.out;
  EXPECT_EQ(read_text(p("o.csv")), csv.out) << "--out writes the bytes stdout gets";

  // evaluate --format json: exactly metrics.json, with the run's warnings (a noisy manifest).
  const auto ev = run_cli_streams("evaluate --run " + p("runs/lr") + " --format json");
  ASSERT_EQ(ev.code, 0) << ev.err;
  EXPECT_EQ(nlohmann::json::parse(ev.out), json_of(p("runs/lr/metrics.json")));
  EXPECT_EQ(ev.out, read_text(p("runs/lr/metrics.json")));
  write_text_atomic(p("n.csv"), "path,label,speaker\n" + p("noise/n.wav") + ",low,z\n" + p("noise/low0.wav") + ",low,z\n");
  const auto evm = run_cli_streams("evaluate --model " + p("runs/lr/fold-1") + " --dataset manifest --manifest " + p("n.csv") +
                                   " --out " + p("evn") + " --format json");
  ASSERT_EQ(evm.code, 0) << evm.err;
  EXPECT_NE(evm.err.find("[warning]"), std::string::npos) << evm.err;
  EXPECT_FALSE(nlohmann::json::parse(evm.out)["warnings"].empty()) << evm.out;
  const auto evm_rows = ser::util::parse_csv(read_text(p("evn/predictions.csv")), "predictions");
  const auto& evm_head = evm_rows[0].fields;
  const auto evm_w = static_cast<std::size_t>(std::find(evm_head.begin(), evm_head.end(), "warnings") - evm_head.begin());
  ASSERT_LT(evm_w, evm_head.size());
  EXPECT_EQ(evm_rows.size(), 3u);
  EXPECT_NE(evm_rows[2].fields[evm_w].find("|z|"), std::string::npos) << "the noise row says why";
  const auto md = run_cli_streams("evaluate --run " + p("runs/lr") + " --format md");
  ASSERT_EQ(md.code, 0) << md.err;
  EXPECT_EQ(md.out, read_text(p("runs/lr/report.md")));

  // compare repeats the interval each run reports (its own seed), unless --seed says otherwise.
  spoil(p("runs/lr2/fold-1/predictions.csv"), 2);
  ASSERT_EQ(run_cli("evaluate --run " + p("runs/lr2")).code, 0);
  const auto cmp = run_cli_streams("compare " + p("runs/lr2") + " " + p("runs/lr") + " --format json");
  ASSERT_EQ(cmp.code, 0) << cmp.err;
  const auto compared = nlohmann::json::parse(cmp.out);
  const auto own = json_of(p("runs/lr2/metrics.json"))["ci"];
  EXPECT_EQ(compared["runs"][0]["ci"]["balanced_accuracy"], own["balanced_accuracy"]) << compared["runs"][0] << own;
  EXPECT_EQ(compared["settings"]["seed"], own["seed"]);
  const auto info = run_cli_streams("info --json");
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_TRUE(nlohmann::json::parse(info.out).contains("version"));

  // sweep --list: index<TAB>name lines only; `ser train` logs (on stderr) stay out of stdout.
  const auto list = run_cli_streams("sweep --config " + config("sw") + " --grid model.logreg_c=0.1,1 --list");
  ASSERT_EQ(list.code, 0) << list.err;
  const auto lines = ser::util::parse_csv(list.out, "stdout");
  ASSERT_EQ(lines.size(), 2u) << list.out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].fields[0].rfind(std::to_string(i) + "\t", 0), 0u) << list.out;
  }
  const auto trained = run_cli_streams("train --config " + config("lr3") + " --no-progress --jobs 1");
  ASSERT_EQ(trained.code, 0) << trained.err;
  EXPECT_EQ(trained.out.find("[info]"), std::string::npos) << trained.out;
  EXPECT_NE(trained.err.find("[info]"), std::string::npos) << trained.err;
}

// Empty gate arguments, mismatched baselines, rounding, skipped files.
TEST_F(TrustCli, GatesCannotBeSwitchedOffByAccident) {
  train(config("lr"));
  const std::string run = p("runs/lr");
  for (const std::string& bad : {std::string("--fail-under ''"), std::string("--fail-under ' '"), std::string("--baseline ''"),
                                 std::string("--baseline ' '")}) {
    const auto r = run_cli("evaluate --run " + run + " " + bad);
    EXPECT_EQ(r.code, 2) << bad << "\n" << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << bad << "\n" << r.out;
  }

  // Thresholds as given: 0.5319 and 0.532 are different gates, and the value is shown exactly.
  spoil(run + "/fold-1/predictions.csv", 1);
  ASSERT_EQ(run_cli("evaluate --run " + run).code, 0);
  const auto m = json_of(run + "/metrics.json");
  const double uar = m["summary"]["balanced_accuracy"]["mean"].get<double>();
  const std::string below = ser::util::exact_double(uar - 4e-5), above = ser::util::exact_double(uar + 4e-5);
  const auto pass = run_cli_streams("evaluate --run " + run + " --fail-under uar=" + below);
  EXPECT_EQ(pass.code, 0) << pass.out << pass.err;
  EXPECT_NE(pass.out.find("balanced_accuracy >= " + below + " (measured " + ser::util::exact_double(uar) + ")"),
            std::string::npos)
      << pass.out;
  const auto fail = run_cli_streams("evaluate --run " + run + " --fail-under uar=" + above);
  EXPECT_EQ(fail.code, 3) << fail.out << fail.err;
  EXPECT_NE(fail.out.find(">= " + above), std::string::npos) << fail.out;
  // Gate results go to <run>/gates/: the run's own files stay as training wrote them.
  EXPECT_EQ(json_of(run + "/gates/metrics.json")["gates"][0]["gate"], "balanced_accuracy >= " + above);
  EXPECT_EQ(json_of(run + "/metrics.json"), m);

  // A baseline of another label set or corpus is refused, saying what differs.
  nlohmann::json other = m;
  other["labels"] = {"high", "low", "mid", "squeak"};
  other["dataset"] = "emodb";
  write_text_atomic(p("other.json"), other.dump());
  const auto mismatch = run_cli("evaluate --run " + run + " --baseline " + p("other.json"));
  EXPECT_EQ(mismatch.code, 2) << mismatch.out;
  EXPECT_NE(mismatch.out.find("dataset emodb in the baseline, manifest here"), std::string::npos) << mismatch.out;
  EXPECT_NE(mismatch.out.find("labels 4"), std::string::npos) << mismatch.out;
  EXPECT_EQ(run_cli("evaluate --run " + run + " --baseline " + p("other.json") + " --allow-mismatch").code, 0);
  // ... and so is a baseline of a partial run, or of a model evaluation (no protocol).
  nlohmann::json partial = m;
  partial["coverage"]["folds_used"] = 1;
  write_text_atomic(p("partial.json"), partial.dump());
  const auto part = run_cli("evaluate --run " + run + " --baseline " + p("partial.json"));
  EXPECT_EQ(part.code, 2) << part.out;
  EXPECT_NE(part.out.find("covers only 1 of 3 folds"), std::string::npos) << part.out;
  nlohmann::json model_eval = m;
  model_eval.erase("protocol");
  write_text_atomic(p("model.json"), model_eval.dump());
  EXPECT_EQ(run_cli("evaluate --run " + run + " --baseline " + p("model.json")).code, 2);
  EXPECT_EQ(run_cli("evaluate --run " + run + " --baseline " + run + "/metrics.json").code, 0);

  // A corpus file that cannot be read: listed, counted, and the evaluation fails unless allowed.
  write_text_atomic(p("clips/broken.wav"), "not audio");
  write_text_atomic(p("b.csv"), "path,label,speaker\n" + p("clips/low0.wav") + ",low,q\n" + p("clips/broken.wav") + ",low,q\n");
  const std::string eval = "evaluate --model " + run + "/fold-1 --dataset manifest --manifest " + p("b.csv") + " --out " + p("evb");
  const auto skipped = run_cli(eval);
  EXPECT_EQ(skipped.code, 1) << skipped.out;
  EXPECT_NE(skipped.out.find("--allow-skipped"), std::string::npos) << skipped.out;
  const auto sm = json_of(p("evb/metrics.json"));
  EXPECT_EQ(sm["skipped_files_count"], 1);
  EXPECT_NE(sm["warnings"][0].get<std::string>().find("1 of 2 corpus files could not be used"), std::string::npos)
      << sm["warnings"];
  EXPECT_EQ(sm["skipped_files"][0]["path"], p("clips/broken.wav"));
  EXPECT_NE(read_text(p("evb/report.md")).find("## Skipped files"), std::string::npos);
  EXPECT_EQ(run_cli(eval + " --allow-skipped").code, 0);

  // Paths that are not there are mistakes in the command (2), as a missing corpus root is.
  for (const std::string& missing : {"evaluate --run " + p("nowhere"), "predict --model " + p("nowhere") + " " + p("clips/low0.wav"),
                                     "evaluate --run " + run + " --baseline " + p("nowhere.json"),
                                     "evaluate --model " + p("nowhere") + " --dataset manifest --manifest " + p("m.csv")}) {
    const auto r = run_cli(missing);
    EXPECT_EQ(r.code, 2) << missing << "\n" << r.out;
    EXPECT_NE(r.out.find("nowhere"), std::string::npos) << r.out;
  }
}

// A repeats run has every output of a run, rebuilt from the fold files; every
// metrics.json has the documented top-level keys.
TEST_F(TrustCli, RepeatsRunsHaveTheOutputsOfAnyRunAndOneSchema) {
  train(config("rep"), "--repeats 2");
  const std::string run = p("runs/rep");
  const std::string before_edit = read_text(run + "/metrics.json");
  // Fold predictions edited: every evaluation sums up the fold files, never stale aggregates.
  spoil(run + "/repeat-1/fold-1/predictions.csv", 3);
  const auto gate = run_cli("evaluate --run " + run + " --fail-under uar=0.9999");
  EXPECT_EQ(gate.code, 3) << gate.out;
  auto m = json_of(run + "/gates/metrics.json");
  ASSERT_EQ(m["gates"].size(), 1u) << m.dump(2);
  EXPECT_EQ(m["gates"][0]["passed"], false);
  EXPECT_NE(read_text(run + "/gates/report.md").find("## Gates"), std::string::npos);
  ASSERT_TRUE(fs::exists(run + "/gates/confusion.csv"));
  EXPECT_EQ(m["confusion_matrix"].size(), 3u);
  int total = 0;
  for (const auto& row : m["confusion_matrix"]) {
    for (const auto& c : row) total += c.get<int>();
  }
  EXPECT_EQ(total, 2 * 24) << "confusion counts summed over both repeats";

  // --out writes everything elsewhere, the run is untouched.
  const std::string before = read_text(run + "/metrics.json");
  const auto out = run_cli("evaluate --run " + run + " --out " + p("rep-eval") + " --fail-under uar=0.0");
  EXPECT_EQ(out.code, 0) << out.out;
  EXPECT_TRUE(fs::exists(p("rep-eval/metrics.json")));
  EXPECT_TRUE(fs::exists(p("rep-eval/repeat-1/report.md")));
  EXPECT_EQ(read_text(run + "/metrics.json"), before);

  // The gate's aggregate came from the edited fold files; a re-aggregation without a gate
  // rebuilds the run's own files from them too.
  EXPECT_LT(json_of(run + "/gates/metrics.json")["accuracy"].get<double>(),
            nlohmann::json::parse(before_edit)["accuracy"].get<double>());
  ASSERT_EQ(run_cli("evaluate --run " + run).code, 0);
  EXPECT_LT(json_of(run + "/metrics.json")["accuracy"].get<double>(), nlohmann::json::parse(before_edit)["accuracy"].get<double>());
  const auto fold1 = json_of(run + "/repeat-1/metrics.json")["folds"][0];
  EXPECT_LT(fold1["accuracy"].get<double>(), 1.0) << fold1.dump();

  // One schema: a run, a repeats run and a model evaluation share the top-level keys.
  train(config("lr"));
  const auto ev = run_cli("evaluate --model " + p("runs/lr") + " --dataset manifest --manifest " + p("m.csv") + " --out " + p("ev"));
  ASSERT_EQ(ev.code, 0) << ev.out;
  for (const std::string& path : {run + "/metrics.json", p("runs/lr/metrics.json"), p("ev/metrics.json")}) {
    const auto doc = json_of(path);
    for (const char* key : {"format_version", "kind", "labels", "accuracy", "balanced_accuracy", "macro_f1", "per_class",
                            "confusion_matrix", "ci", "warnings", "skipped_files", "skipped_files_count", "gates"}) {
      EXPECT_TRUE(doc.contains(key)) << path << " lacks " << key;
    }
    EXPECT_EQ(doc["format_version"], 1) << path;
  }
  EXPECT_EQ(json_of(run + "/metrics.json")["kind"], "repeats");
  EXPECT_EQ(json_of(p("runs/lr/metrics.json"))["kind"], "run");
  EXPECT_EQ(json_of(p("ev/metrics.json"))["kind"], "model");
  const auto run_doc = json_of(p("runs/lr/metrics.json"));
  EXPECT_EQ(run_doc["balanced_accuracy"], run_doc["pooled"]["balanced_accuracy"]);

  // repeats that cannot vary (a fixed speaker table, deterministic logistic
  // regression, no search) say so instead of a bare "± 0.0000".
  const auto fixed = run_cli_streams("train --config " + config("fixed", 1.0, true) + " --repeats 2 --no-progress --jobs 1");
  ASSERT_EQ(fixed.code, 0) << fixed.err;
  EXPECT_NE(fixed.err.find("the repeats did not vary here"), std::string::npos) << fixed.err;
  EXPECT_NE(json_of(p("runs/fixed/metrics.json"))["warnings"].dump().find("did not vary"), std::string::npos);
  EXPECT_NE(read_text(p("runs/fixed/report.md")).find("did not vary"), std::string::npos);
  EXPECT_EQ(json_of(run + "/metrics.json")["warnings"].dump().find("did not vary"), std::string::npos)
      << "the edited repeat differs from the other";
}



// A manifest's speaker, label and own columns come back with each prediction, in CSV and JSON,
// so a script never joins the output back to its manifest.
TEST_F(TrustCli, PredictCarriesTheManifestColumns) {
  train(config("lr"));
  const auto csv = run_cli_streams("predict --model " + p("runs/lr") + " --format csv " + p("m.csv"));
  ASSERT_EQ(csv.code, 0) << csv.err;
  const auto rows = ser::util::parse_csv(csv.out, "stdout");
  ASSERT_EQ(rows.size(), 25u);
  const auto& header = rows[0].fields;
  ASSERT_GE(header.size(), 6u);
  EXPECT_EQ(header[1], "true");
  EXPECT_EQ(header[3], "speaker");
  EXPECT_EQ(header[4], "gender");
  EXPECT_EQ(header[5], "max_abs_z");
  EXPECT_EQ(rows[1].fields[1], "low");  // the manifest's label, one of the model's
  EXPECT_EQ(rows[1].fields[3], "spk0");
  EXPECT_EQ(rows[1].fields[4], "male");

  const auto json = run_cli_streams("predict --model " + p("runs/lr") + " --format json " + p("m.csv"));
  ASSERT_EQ(json.code, 0) << json.err;
  const auto first = nlohmann::json::parse(json.out)["items"][0];
  EXPECT_EQ(first["speaker"], "spk0");
  EXPECT_EQ(first["manifest_label"], "low");
  EXPECT_EQ(first["metadata"]["gender"], "male");
  // A file given as it is has none of them.
  const auto loose = run_cli_streams("predict --model " + p("runs/lr") + " --format json " + p("clips/low0.wav"));
  const auto item = nlohmann::json::parse(loose.out)["items"][0];
  EXPECT_EQ(item["speaker"], "");
  EXPECT_TRUE(item["metadata"].empty());
}

}  // namespace
