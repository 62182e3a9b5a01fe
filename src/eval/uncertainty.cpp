#include "ser/eval/uncertainty.hpp"

#include <algorithm>
#include <map>

#include "ser/error.hpp"
#include "ser/util/csv.hpp"

namespace ser::eval {

ScoredTable scored_table(const PredictionTable& table, const std::string& unit, const std::string& origin) {
  if (unit != "speaker" && unit != "item") fail_input(origin, "unknown resampling unit '" + unit + "'");
  const std::vector<std::string> repeat_of = table.column("repeat");
  const std::vector<std::string> speaker_of = table.column("speaker");
  if (unit == "speaker" && speaker_of.empty()) fail_input(origin, "no speaker column to resample speakers by");

  // repeat name -> (id -> row), repeats in order of first appearance.
  std::vector<std::string> repeat_names;
  std::map<std::string, std::map<std::string, std::size_t>> rows_of;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    if (row.truth < 0) fail_input(origin, "item '" + row.id + "' has no true label: nothing to score");
    const std::string rep = repeat_of.empty() ? "" : repeat_of[r];
    if (!rows_of.count(rep)) repeat_names.push_back(rep);
    if (!rows_of[rep].emplace(row.id, r).second) {
      fail_input(origin, "item '" + row.id + "' appears twice" + (rep.empty() ? "" : " in repeat " + rep));
    }
  }
  if (repeat_names.empty()) fail_input(origin, "no predictions");
  ScoredTable out;
  out.unit = unit;
  out.repeats = static_cast<int>(repeat_names.size());
  const auto& first = rows_of[repeat_names.front()];
  std::map<std::string, int> unit_index;
  for (const auto& [id, r] : first) {
    out.ids.push_back(id);
    out.scored.truth.push_back(table.rows[r].truth);
    const std::string name = unit == "speaker" ? speaker_of[r] : id;
    if (name.empty()) fail_input(origin, "item '" + id + "' has no speaker to resample by");
    const auto it = unit_index.emplace(name, static_cast<int>(unit_index.size())).first;
    if (it->second == static_cast<int>(out.units.size())) out.units.push_back(name);
    out.scored.unit.push_back(it->second);
  }
  out.scored.n_units = static_cast<int>(out.units.size());
  out.scored.n_classes = static_cast<int>(table.labels.size());
  for (const auto& rep : repeat_names) {
    const auto& rows = rows_of[rep];
    if (rows.size() != first.size()) {
      fail_input(origin, "repeat " + rep + " has " + std::to_string(rows.size()) + " items, repeat " +
                             repeat_names.front() + " " + std::to_string(first.size()));
    }
    std::vector<int> pred;
    pred.reserve(out.ids.size());
    for (std::size_t i = 0; i < out.ids.size(); ++i) {
      const auto it = rows.find(out.ids[i]);
      if (it == rows.end()) fail_input(origin, "item '" + out.ids[i] + "' is missing from repeat " + rep);
      const auto& row = table.rows[it->second];
      if (row.truth != out.scored.truth[i]) fail_input(origin, "item '" + row.id + "' changes its true label between repeats");
      if (unit == "speaker" && speaker_of[it->second] != out.units[static_cast<std::size_t>(out.scored.unit[i])]) {
        fail_input(origin, "item '" + row.id + "' changes its speaker between repeats");
      }
      pred.push_back(row.pred);
    }
    out.scored.pred.push_back(std::move(pred));
  }
  return out;
}

std::string resample_unit_for(const std::string& protocol, bool holdout_by_speaker) {
  // cross_corpus: the test corpus's speakers (none of them trained).
  return protocol == "speaker_kfold" || protocol == "cross_corpus" || (protocol == "holdout" && holdout_by_speaker)
             ? "speaker"
             : "item";
}

nlohmann::json bootstrap_json(const ScoredTable& t, std::uint64_t seed, int resamples) {
  stats::BootstrapOptions opt;
  opt.resamples = resamples;
  opt.seed = seed;
  opt.level = kConfidenceLevel;
  const stats::Intervals ci = stats::bootstrap_intervals(t.scored, opt);
  auto pair = [](const stats::Interval& i) { return nlohmann::json::array({i.low, i.high}); };
  return {{"level", opt.level},
          {"method", "percentile bootstrap"},
          {"resamples", resamples},
          {"seed", seed},
          {"unit", t.unit},
          {"n_units", t.scored.n_units},
          {"repeats", t.repeats},
          {"accuracy", pair(ci.accuracy)},
          {"balanced_accuracy", pair(ci.balanced_accuracy)},
          {"macro_f1", pair(ci.macro_f1)}};
}

std::string interval_text(const nlohmann::json& ci, const std::string& key) {
  if (!ci.is_object() || !ci.contains(key) || !ci[key].is_array() || ci[key].size() != 2) return "";
  if (!ci[key][0].is_number() || !ci[key][1].is_number()) return "";
  return "[" + util::format_double("%.3f", ci[key][0].get<double>()) + ", " +
         util::format_double("%.3f", ci[key][1].get<double>()) + "]";
}

}  // namespace ser::eval
