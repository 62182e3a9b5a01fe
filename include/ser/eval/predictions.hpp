#pragma once
// predictions.csv: one row per evaluated item, the format every run, `ser evaluate` and
// `ser predict --format csv` share:
//
//   id,true,pred,[fold,][<metadata>...,]p_<label1>,...,p_<labelK>
//
// `true` is empty when the truth is unknown (ser predict on unlabelled files). Columns between
// `pred` and the first `p_` column are metadata (fold, speaker, gender, intensity, ...); files
// written before metadata existed (id,true,pred,p_...) read as having none.
#include <string>
#include <vector>

namespace ser::eval {

struct PredictionRow {
  std::string id;
  int truth = -1;  // index into labels; -1 = unknown
  int pred = 0;    // index into labels
  std::vector<std::string> metadata;  // parallel to PredictionTable::metadata_columns
  std::vector<double> probabilities;  // parallel to labels
};

struct PredictionTable {
  std::vector<std::string> labels;            // order of the p_ columns
  std::vector<std::string> metadata_columns;  // e.g. {"fold", "speaker", "gender"}
  std::vector<PredictionRow> rows;

  // The values of one metadata column ("" where a row lacks it); empty vector if no such column.
  std::vector<std::string> column(const std::string& name) const;
};

// numpy.argmax semantics: the first of tied maxima wins.
int argmax(const std::vector<double>& probabilities);

// Throws ser::Error (input kind) naming `path` (and line) for a missing/short header, a p_ label
// given twice, a row with the wrong number of fields, a true/pred label that is not one of the
// p_ labels, or a probability that is not a finite number.
PredictionTable read_predictions_csv(const std::string& path);
PredictionTable parse_predictions_csv(const std::string& text, const std::string& origin);
// Probabilities written with 6 significant digits ("%.6g").
std::string predictions_csv(const PredictionTable& table);

}  // namespace ser::eval
