#include "ser/util/csv.hpp"

#include <cstdio>
#include <cstdlib>

#include "ser/error.hpp"

namespace ser::util {

std::vector<CsvRow> parse_csv(const std::string& text, const std::string& source) {
  std::vector<CsvRow> rows;
  std::size_t i = 0;
  const std::size_t n = text.size();
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;
  std::size_t line = 1;

  CsvRow row;
  std::string field;
  bool in_record = false;      // an empty line is no record; "," or "x" starts one
  bool at_field_start = true;  // only a quote here opens a quoted field
  auto finish_record = [&] {
    row.fields.push_back(std::move(field));
    field.clear();
    rows.push_back(std::move(row));
    row = CsvRow{};
    in_record = false;
    at_field_start = true;
  };

  while (i < n) {
    if (!in_record) row.line = line;
    const char c = text[i];
    if (c == '"' && at_field_start) {
      const std::size_t open_line = line;
      in_record = true;
      at_field_start = false;
      ++i;
      bool closed = false;
      while (i < n) {
        if (text[i] == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        if (text[i] == '\n') ++line;
        field.push_back(text[i++]);
      }
      if (!closed) fail_input(source, "unterminated quoted field starting on line " + std::to_string(open_line));
      if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        fail_input(source, "unexpected character after a closing quote on line " + std::to_string(line) +
                               " (quotes inside a field must be doubled)");
      }
    } else if (c == ',') {
      row.fields.push_back(std::move(field));
      field.clear();
      in_record = true;
      at_field_start = true;
      ++i;
    } else if (c == '\n' || c == '\r') {
      if (in_record) finish_record();
      if (c == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
      ++i;
      ++line;
    } else {
      field.push_back(c);
      in_record = true;
      at_field_start = false;
      ++i;
    }
  }
  if (in_record) finish_record();
  return rows;
}

std::string csv_field(const std::string& value) {
  const bool needs_quotes = value.find_first_of(",\"\r\n") != std::string::npos ||
                            (!value.empty() && (value.front() == ' ' || value.back() == ' '));
  if (!needs_quotes) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out.push_back(',');
    out += csv_field(fields[i]);
  }
  out.push_back('\n');
  return out;
}

std::string format_double(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string exact_double(double v) {
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace ser::util
