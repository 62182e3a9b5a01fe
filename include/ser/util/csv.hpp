#pragma once
// RFC 4180 CSV: the feature store's index.csv and user manifests (written by spreadsheets, pandas,
// hand). Quoted fields may hold commas, doubled quotes and line breaks.
#include <string>
#include <vector>

namespace ser::util {

struct CsvRow {
  std::size_t line = 0;  // 1-based line where the record starts, for error messages
  std::vector<std::string> fields;
};

// Parses a whole document. A UTF-8 BOM, CRLF line ends and blank lines are tolerated. Throws
// ser::Error naming `source` on an unterminated quoted field or a stray quote after a closing one.
std::vector<CsvRow> parse_csv(const std::string& text, const std::string& source);

// Quotes a field only when it needs it (comma, quote, CR/LF, leading/trailing space).
std::string csv_field(const std::string& value);
// A number as printf's `format` spells it (locale independent), for CSV and table cells.
std::string format_double(const char* format, double v);
// The shortest decimal text that reads back as exactly `v` ("0.532", "0.1", "0.53194444444444444"),
// for numbers a user compares against (gate values and thresholds).
std::string exact_double(double v);
// One record with a trailing '\n'.
std::string csv_line(const std::vector<std::string>& fields);

}  // namespace ser::util
