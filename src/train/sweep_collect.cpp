// The summary of a sweep: results.csv, report.md and ranking.svg from the finished tasks.
#include <algorithm>
#include <filesystem>

#include "ser/eval/report.hpp"
#include "ser/eval/sweep_plot.hpp"
#include "ser/eval/uncertainty.hpp"
#include "ser/train/sweep.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"

namespace fs = std::filesystem;

namespace ser::train {

namespace {

struct Row {
  const SweepTask* task = nullptr;
  bool finished = false;
  nlohmann::json metrics;
  bool has_validation = false;
  double validation = 0;
  std::string rank;  // within its corpus; "" = unranked (no validation score, or not finished)
};

std::string f6(double v) { return util::format_double("%.6f", v); }
std::string f4(double v) { return util::format_double("%.4f", v); }

double at(const nlohmann::json& m, const char* a, const char* key, const char* b = nullptr) {
  const auto& v = m[a][key];
  return b ? v[b].get<double>() : v.get<double>();
}

std::string corpus_of(const SweepTask& t) {
  return t.config.dataset == "manifest" ? t.config.manifest : t.config.dataset;
}

}  // namespace

int collect_sweep(const SweepPlan& plan) {
  std::vector<Row> rows;
  for (const auto& t : plan.tasks) {
    Row r;
    r.task = &t;
    const std::string path = plan.dir + "/" + t.name + "/metrics.json";
    if (fs::exists(path)) {
      r.metrics = util::read_json(path);
      r.finished = r.metrics.contains("summary") && r.metrics.contains("pooled");
      if (r.metrics.contains("validation") && r.metrics["validation"].contains("uar")) {
        r.has_validation = true;
        r.validation = r.metrics["validation"]["uar"].get<double>();
      }
    }
    rows.push_back(std::move(r));
  }
  // Ranked within each corpus by validation UAR alone (task order breaks ties); test numbers
  // are shown beside and never consulted.
  std::vector<std::string> corpora;
  for (const auto& r : rows) {
    if (std::find(corpora.begin(), corpora.end(), corpus_of(*r.task)) == corpora.end()) corpora.push_back(corpus_of(*r.task));
  }
  auto group = [&](const Row& r) { return std::find(corpora.begin(), corpora.end(), corpus_of(*r.task)) - corpora.begin(); };
  auto tier = [](const Row& r) { return r.finished ? (r.has_validation ? 0 : 1) : 2; };
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    if (group(a) != group(b)) return group(a) < group(b);
    if (tier(a) != tier(b)) return tier(a) < tier(b);
    if (tier(a) == 0 && a.validation != b.validation) return a.validation > b.validation;
    return a.task->index < b.task->index;
  });
  int finished = 0;
  for (std::size_t i = 0, rank = 0; i < rows.size(); ++i) {
    if (i > 0 && group(rows[i]) != group(rows[i - 1])) rank = 0;
    if (tier(rows[i]) == 0) rows[i].rank = std::to_string(++rank);
    finished += rows[i].finished;
  }

  std::string csv = "rank,task,name,corpus";
  for (const auto& a : plan.axes) csv += "," + util::csv_field(a.key);
  csv += ",status,validation_uar,validation_source,test_accuracy,test_uar,test_uar_std,test_macro_f1,pooled_uar,"
         "pooled_uar_ci_low,pooled_uar_ci_high,repeats,folds\n";
  std::string table = "| rank | task | corpus |";
  std::string align = "|---:|---|---|";
  for (const auto& a : plan.axes) {
    table += " " + a.key + " |";
    align += "---|";
  }
  table += " validation UAR | test UAR (fold mean ± std) | test WA | test macro-F1 | pooled UAR [95 % CI] |\n";
  align += "---:|---:|---:|---:|---:|\n";
  table += align;
  std::vector<eval::RankedPoint> points;
  for (const auto& r : rows) {
    const SweepTask& t = *r.task;
    csv += r.rank + "," + std::to_string(t.index) + "," + util::csv_field(t.name) + "," + util::csv_field(corpus_of(t));
    std::string md = "| " + (r.rank.empty() ? "–" : r.rank) + " | " + t.name + " | " + corpus_of(t) + " |";
    for (const auto& a : plan.axes) {
      const std::string v = grid_value_text(t.point[a.key]);
      csv += "," + util::csv_field(v);
      md += " " + v + " |";
    }
    if (!r.finished) {
      csv += ",pending,,,,,,,,,,,\n";
      md += " pending | | | | |\n";
      table += md;
      continue;
    }
    const auto& m = r.metrics;
    const auto& ci = m["ci"];
    const std::string source = r.has_validation ? m["validation"].value("source", "") : "";
    const int repeats = m.value("repeats_total", 1);
    csv += ",finished," + (r.has_validation ? f6(r.validation) : "") + "," + util::csv_field(source) + "," +
           f6(at(m, "summary", "accuracy", "mean")) + "," + f6(at(m, "summary", "balanced_accuracy", "mean")) + "," +
           f6(at(m, "summary", "balanced_accuracy", "std")) + "," + f6(at(m, "summary", "macro_f1", "mean")) + "," +
           f6(at(m, "pooled", "balanced_accuracy")) + "," + f6(ci["balanced_accuracy"][0].get<double>()) + "," +
           f6(ci["balanced_accuracy"][1].get<double>()) + "," + std::to_string(repeats) + "," +
           std::to_string(m.value("folds_total", 0)) + "\n";
    md += " " + (r.has_validation ? f4(r.validation) : "–") + " | " + f4(at(m, "summary", "balanced_accuracy", "mean")) +
          " ± " + f4(at(m, "summary", "balanced_accuracy", "std")) + " | " + f4(at(m, "summary", "accuracy", "mean")) + " | " +
          f4(at(m, "summary", "macro_f1", "mean")) + " | " + f4(at(m, "pooled", "balanced_accuracy")) + " " +
          eval::interval_text(ci, "balanced_accuracy") + " |\n";
    table += md;
    points.push_back({t.name, r.has_validation ? r.validation : -1, at(m, "pooled", "balanced_accuracy"),
                      ci["balanced_accuracy"][0].get<double>(), ci["balanced_accuracy"][1].get<double>()});
  }

  std::string report = "# Sweep " + plan.name + "\n\n";
  report += std::to_string(finished) + " of " + std::to_string(plan.tasks.size()) + " tasks finished.";
  if (finished < static_cast<int>(plan.tasks.size())) report += " **The table is partial**: pending tasks are listed last.";
  report += "\n\nGrid:";
  for (const auto& a : plan.axes) {
    std::string vs;
    for (const auto& v : a.values) vs += (vs.empty() ? "" : ", ") + grid_value_text(v);
    report += " `" + a.key + "` in {" + vs + "};";
  }
  if (!plan.corpora.empty()) {
    std::string cs;
    for (const auto& c : plan.corpora) cs += (cs.empty() ? "" : ", ") + c;
    report += " corpora {" + cs + "};";
  }
  report += "\n\nRanked within each corpus by **validation UAR** (the score that chose each fold's model, never the "
            "test folds: inner cross-validation on the training part for searched classic models, the validation "
            "part at the best epoch for torch models); tasks without one are listed after, unranked. Test metrics are "
            "shown beside and are not used to rank.\n\n";
  report += table + "\n![ranking](ranking.svg)\n";
  util::write_text_atomic(plan.dir + "/ranking.svg", eval::ranking_svg(points, "Sweep " + plan.name + ": ranked by validation UAR"));
  util::write_text_atomic(plan.dir + "/results.csv", csv);
  util::write_text_atomic(plan.dir + "/report.md", report);
  return finished;
}

}  // namespace ser::train
