#include "ser/eval/predictions.hpp"

#include <cmath>
#include <cstdlib>
#include <map>

#include "ser/error.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"

namespace ser::eval {

namespace {

const std::string kProbPrefix = "p_";

bool is_prob_column(const std::string& name) { return name.compare(0, kProbPrefix.size(), kProbPrefix) == 0; }

std::string where(const std::string& origin, std::size_t line) { return origin + ":" + std::to_string(line); }

// A finite number spelled completely (no trailing text); false for "", "nan", "inf", "1e999".
bool parse_finite(const std::string& text, double& out) {
  if (text.empty()) return false;
  const char* begin = text.c_str();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);  // overflow gives inf, refused below
  if (end == begin || *end != '\0' || !std::isfinite(v)) return false;
  out = v;
  return true;
}

}  // namespace

std::vector<std::string> PredictionTable::column(const std::string& name) const {
  std::size_t index = metadata_columns.size();
  for (std::size_t i = 0; i < metadata_columns.size(); ++i) {
    if (metadata_columns[i] == name) {
      index = i;
      break;
    }
  }
  if (index == metadata_columns.size()) return {};
  std::vector<std::string> values;
  values.reserve(rows.size());
  for (const auto& r : rows) values.push_back(index < r.metadata.size() ? r.metadata[index] : std::string());
  return values;
}

int argmax(const std::vector<double>& probabilities) {
  if (probabilities.empty()) fail_runtime("argmax", "no probabilities");
  std::size_t best = 0;
  for (std::size_t i = 0; i < probabilities.size(); ++i) {
    if (std::isnan(probabilities[i])) return static_cast<int>(i);  // numpy: the first NaN is the maximum
    if (probabilities[i] > probabilities[best]) best = i;
  }
  return static_cast<int>(best);
}

PredictionTable parse_predictions_csv(const std::string& text, const std::string& origin) {
  const auto records = util::parse_csv(text, origin);
  if (records.empty()) fail_input(origin, "empty file; expected a header id,true,pred,...,p_<label>,...");
  const auto& header = records.front().fields;
  if (header.size() < 4 || header[0] != "id" || header[1] != "true" || header[2] != "pred") {
    fail_input(where(origin, records.front().line),
               "header must start with id,true,pred and end with p_<label> columns");
  }
  std::size_t first_prob = header.size();
  for (std::size_t i = 3; i < header.size(); ++i) {
    if (is_prob_column(header[i])) {
      first_prob = i;
      break;
    }
  }
  if (first_prob == header.size()) fail_input(origin, "header has no p_<label> columns");

  PredictionTable table;
  std::map<std::string, int> index;
  for (std::size_t i = 3; i < first_prob; ++i) table.metadata_columns.push_back(header[i]);
  for (std::size_t i = first_prob; i < header.size(); ++i) {
    if (!is_prob_column(header[i])) {
      fail_input(origin,
                 "column '" + header[i] + "' after the first p_ column; metadata goes before the probabilities");
    }
    const std::string label = header[i].substr(kProbPrefix.size());
    if (label.empty()) fail_input(origin, "header has a p_ column without a label");
    if (!index.emplace(label, static_cast<int>(table.labels.size())).second) {
      fail_input(origin, "label '" + label + "' has two p_ columns");
    }
    table.labels.push_back(label);
  }

  const std::size_t n_meta = table.metadata_columns.size();
  table.rows.reserve(records.size() - 1);
  for (std::size_t r = 1; r < records.size(); ++r) {
    const auto& rec = records[r];
    const auto& f = rec.fields;
    if (f.size() != header.size()) {
      fail_input(where(origin, rec.line),
                 "expected " + std::to_string(header.size()) + " fields, found " + std::to_string(f.size()));
    }
    PredictionRow row;
    row.id = f[0];
    if (!f[1].empty()) {
      const auto it = index.find(f[1]);
      if (it == index.end()) {
        fail_input(where(origin, rec.line), "true label '" + f[1] + "' is not one of the p_ labels");
      }
      row.truth = it->second;
    }
    const auto it = index.find(f[2]);
    if (it == index.end()) {
      fail_input(where(origin, rec.line), "predicted label '" + f[2] + "' is not one of the p_ labels");
    }
    row.pred = it->second;
    row.metadata.assign(f.begin() + 3, f.begin() + static_cast<std::ptrdiff_t>(3 + n_meta));
    row.probabilities.reserve(table.labels.size());
    for (std::size_t i = first_prob; i < f.size(); ++i) {
      double p = 0;
      if (!parse_finite(f[i], p)) {
        fail_input(where(origin, rec.line), header[i] + " '" + f[i] + "' is not a finite number");
      }
      row.probabilities.push_back(p);
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

PredictionTable read_predictions_csv(const std::string& path) {
  return parse_predictions_csv(util::read_text(path), path);
}

std::string predictions_csv(const PredictionTable& table) {
  const auto k = static_cast<int>(table.labels.size());
  std::vector<std::string> header{"id", "true", "pred"};
  header.insert(header.end(), table.metadata_columns.begin(), table.metadata_columns.end());
  for (const auto& l : table.labels) header.push_back(kProbPrefix + l);
  std::string out = util::csv_line(header);
  for (const auto& r : table.rows) {
    if (r.truth >= k || r.truth < -1 || r.pred < 0 || r.pred >= k) {
      fail_runtime("predictions", "class index out of range for item '" + r.id + "'");
    }
    if (r.probabilities.size() != table.labels.size()) {
      fail_runtime("predictions", "item '" + r.id + "' has " + std::to_string(r.probabilities.size()) +
                                      " probabilities for " + std::to_string(k) + " labels");
    }
    std::vector<std::string> row{r.id, r.truth < 0 ? std::string() : table.labels[static_cast<std::size_t>(r.truth)],
                                 table.labels[static_cast<std::size_t>(r.pred)]};
    for (std::size_t i = 0; i < table.metadata_columns.size(); ++i) {
      row.push_back(i < r.metadata.size() ? r.metadata[i] : std::string());
    }
    for (double p : r.probabilities) row.push_back(util::format_double("%.6g", p));
    out += util::csv_line(row);
  }
  return out;
}

}  // namespace ser::eval
