// The feature store on disk: features.npy + index.csv + meta.json. NumPy/pandas read it directly;
// meta.json carries what is needed to refuse mixing stores made with different settings.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "extract_internal.hpp"
#include "ser/error.hpp"
#include "ser/features/extract.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "ser/util/npy.hpp"

namespace ser::features {

namespace {

const std::vector<std::string> kFixedColumns = {"id", "path", "label", "speaker"};

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

// audio.csv: one row per item, ids in index.csv's order. Absent in stores written before it
// (their files' facts are unknown, not refused).
std::vector<AudioFacts> read_audio_facts(const std::string& path, const std::vector<data::Item>& items) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  const auto rows = util::parse_csv(util::read_text(path), path);
  if (rows.empty() || rows[0].fields != std::vector<std::string>{"id", "native_rate", "bandwidth_hz"}) {
    fail_input(path, "header must be id,native_rate,bandwidth_hz");
  }
  if (rows.size() - 1 != items.size()) {
    fail_input(path, "has " + std::to_string(rows.size() - 1) + " rows but index.csv has " +
                         std::to_string(items.size()) + " (files from different runs?)");
  }
  std::vector<AudioFacts> facts;
  facts.reserve(items.size());
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& f = rows[r].fields;
    const std::string where = "line " + std::to_string(rows[r].line);
    if (f.size() != 3 || f[0] != items[r - 1].id) fail_input(path, where + " does not match index.csv's item");
    AudioFacts a;
    char* end = nullptr;
    const long rate = std::strtol(f[1].c_str(), &end, 10);
    if (f[1].empty() || *end || rate < 0 || rate > audio::kMaxSampleRate) fail_input(path, where + ": bad native_rate '" + f[1] + "'");
    const double bw = std::strtod(f[2].c_str(), &end);
    if (f[2].empty() || *end || !(bw >= 0 && bw <= rate / 2.0 + 1)) fail_input(path, where + ": bad bandwidth_hz '" + f[2] + "'");
    a.native_rate = static_cast<int>(rate);
    a.bandwidth_hz = bw;
    facts.push_back(a);
  }
  return facts;
}

}  // namespace

namespace detail {

void write_store(const std::string& dir, const data::CorpusIndex& index, const std::vector<std::size_t>& rows,
                 const std::vector<float>& values, std::size_t dim, const std::vector<AudioFacts>& facts,
                 const nlohmann::json& meta) {
  util::write_npy_f32(dir + "/features.npy", {rows.size(), dim}, values.data());

  std::vector<std::string> header = kFixedColumns;
  header.insert(header.end(), index.metadata_columns.begin(), index.metadata_columns.end());
  util::write_file_atomic(dir + "/index.csv", [&](std::ostream& out) {
    out << util::csv_line(header);
    for (std::size_t r : rows) {
      const data::Item& item = index.items[r];
      std::vector<std::string> fields = {item.id, item.path, item.label, item.speaker};
      // Metadata pairs are matched by column name so an item missing a column gets an empty cell
      // instead of shifting every later column.
      for (const auto& column : index.metadata_columns) {
        std::string value;
        for (const auto& [k, v] : item.metadata) {
          if (k == column) {
            value = v;
            break;
          }
        }
        fields.push_back(std::move(value));
      }
      out << util::csv_line(fields);
    }
  });
  util::write_file_atomic(dir + "/audio.csv", [&](std::ostream& out) {
    out << util::csv_line({"id", "native_rate", "bandwidth_hz"});
    for (std::size_t r = 0; r < rows.size(); ++r) {
      out << util::csv_line({index.items[rows[r]].id, std::to_string(facts[r].native_rate),
                             std::to_string(static_cast<long long>(std::lround(facts[r].bandwidth_hz)))});
    }
  });
  // Last, so a store with a meta.json had its other two files completed before it.
  util::write_text_atomic(dir + "/meta.json", meta.dump(2) + "\n");
}

}  // namespace detail

FeatureTable read_feature_store(const std::string& dir) {
  const std::string meta_path = dir + "/meta.json";
  const std::string npy_path = dir + "/features.npy";
  const std::string csv_path = dir + "/index.csv";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) fail_input(dir, "feature store folder not found");

  FeatureTable table;
  table.meta = util::read_json(meta_path);
  if (!table.meta.is_object() || !table.meta.contains("dim") || !table.meta["dim"].is_number_unsigned()) {
    fail_input(meta_path, "lacks a non-negative integer 'dim' (not written by ser extract?)");
  }
  table.dim = table.meta["dim"].get<std::size_t>();

  const util::NpyArray arr = util::read_npy(npy_path);
  if (arr.dtype != "<f4") fail_input(npy_path, "dtype " + arr.dtype + ", expected <f4 (float32)");
  if (arr.shape.size() != 2 || arr.shape[1] != table.dim) {
    fail_input(npy_path, "shape " + shape_text(arr.shape) + " does not match dim " + std::to_string(table.dim) +
                             " in meta.json (expected (N, " + std::to_string(table.dim) + "))");
  }
  const std::size_t n = arr.shape[0];

  const auto rows = util::parse_csv(util::read_text(csv_path), csv_path);
  if (rows.empty()) fail_input(csv_path, "empty (expected a header id,path,label,speaker,...)");
  const auto& header = rows[0].fields;
  if (header.size() < kFixedColumns.size() ||
      !std::equal(kFixedColumns.begin(), kFixedColumns.end(), header.begin())) {
    fail_input(csv_path, "header must start with id,path,label,speaker");
  }
  table.metadata_columns.assign(header.begin() + static_cast<std::ptrdiff_t>(kFixedColumns.size()), header.end());
  if (table.meta.contains("metadata_columns") &&
      table.meta["metadata_columns"] != nlohmann::json(table.metadata_columns)) {
    fail_input(csv_path, "metadata columns differ from those listed in meta.json");
  }
  if (rows.size() - 1 != n) {
    fail_input(csv_path, "has " + std::to_string(rows.size() - 1) + " rows but features.npy has " +
                             std::to_string(n) + " (files from different runs?)");
  }

  table.items.reserve(n);
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& f = rows[r].fields;
    if (f.size() != header.size()) {
      fail_input(csv_path, "line " + std::to_string(rows[r].line) + " has " + std::to_string(f.size()) +
                               " fields, the header has " + std::to_string(header.size()));
    }
    data::Item item{f[0], f[1], f[2], f[3], {}};
    for (std::size_t c = kFixedColumns.size(); c < f.size(); ++c) item.metadata.emplace_back(header[c], f[c]);
    table.items.push_back(std::move(item));
  }

  table.audio = read_audio_facts(dir + "/audio.csv", table.items);

  table.values.resize(arr.values.size());
  for (std::size_t i = 0; i < arr.values.size(); ++i) table.values[i] = static_cast<float>(arr.values[i]);
  return table;
}

}  // namespace ser::features
