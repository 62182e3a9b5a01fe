// `ser augment`: write augmented copies of a corpus to disk, with a manifest naming the source
// item, the recipe and what was drawn for every copy. Offline copies are for listening and for
// other tools; `ser train` makes its own copies per fold (augment.ops), after the split.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/commands.hpp"
#include "ser/audio/audio.hpp"
#include "ser/augment/augment.hpp"
#include "ser/data/corpus.hpp"
#include "ser/error.hpp"
#include "ser/features/augmented.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "ser/util/parallel.hpp"

namespace ser::cli {

namespace {

namespace fs = std::filesystem;

struct AugmentArgs {
  std::string input, dataset, out, max_seconds;
  std::vector<std::string> ops;
  int copies = 1, jobs = 0, sample_rate = audio::kDefaultSampleRate;
  std::uint64_t seed = 42;
  bool pcm16 = false, with_originals = false;
};

// The items to copy: a manifest (.csv), a RAVDESS/Emo-DB folder (--dataset), any folder of audio
// (ids = relative paths, no labels) or one audio file.
data::CorpusIndex index_input(const AugmentArgs& a) {
  if (!fs::exists(a.input)) fail_input(a.input, "no such file or folder");
  if (fs::is_regular_file(a.input)) {
    if (fs::path(a.input).extension() == ".csv" || a.dataset == "manifest") return data::index_manifest(a.input);
    data::CorpusIndex one;
    one.dataset = "files";
    one.root = a.input;
    one.items.push_back({fs::path(a.input).stem().string(), a.input, "", "", {}});
    return one;
  }
  if (!a.dataset.empty() && a.dataset != "files") return data::index_corpus(a.dataset, a.input);
  data::CorpusIndex index = data::index_audio_folder(a.input);
  if (index.items.empty() && index.problems.empty()) fail_input(a.input, "no audio files found");
  return index;
}

// "noise+shift" -> "noise-shift": '+' is legal in file names but awkward in shells.
std::string file_tag(const augment::Recipe& r) {
  std::string t = augment::recipe_tag(r);
  for (char& c : t)
    if (c == '+') c = '-';
  return t;
}

// An id as a path inside the output folder: a manifest's ids can be absolute paths (files outside
// its folder) or hold "..", and no copy may land outside --out.
std::string relative_name(const std::string& id) {
  std::string out;
  for (const auto& part : fs::path(id)) {
    const std::string s = part.string();
    if (s.empty() || s == "/" || s == ".") continue;
    out += (out.empty() ? "" : "/") + (s == ".." ? std::string("__") : s);
  }
  return out.empty() ? "item" : out;
}

int run_augment(const AugmentArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  if (a.ops.empty()) throw Error(ErrorKind::Usage, "--ops", "give at least one recipe, e.g. --ops speed=0.9|1.1");
  if (a.copies < 1) throw Error(ErrorKind::Usage, "--copies", "must be >= 1");
  if (a.sample_rate != 0 && (a.sample_rate < audio::kMinSampleRate || a.sample_rate > audio::kMaxSampleRate)) {
    throw Error(ErrorKind::Usage, "--sr",
                "must be in " + std::to_string(audio::kMinSampleRate) + ".." + std::to_string(audio::kMaxSampleRate) +
                    " Hz, or 0 for each file's own rate (got " + std::to_string(a.sample_rate) + ")");
  }
  if (!a.max_seconds.empty()) audio::set_limits({audio::parse_max_seconds(a.max_seconds, "--max-seconds")});
  audio::limits();  // a bad SER_MAX_SECONDS is a config error before any file is touched
  std::vector<augment::Recipe> recipes;
  for (const auto& text : a.ops) recipes.push_back(augment::parse_recipe(text, "--ops " + text));
  const data::CorpusIndex index = index_input(a);
  for (const auto& p : index.problems) std::fprintf(stderr, "ser: error: %s: %s\n", p.path.c_str(), p.reason.c_str());
  util::ensure_writable_dir(a.out);  // before any copy is computed

  const std::size_t n = index.items.size(), per_item = recipes.size() * static_cast<std::size_t>(a.copies);
  std::vector<std::vector<std::string>> rows(n * per_item);  // one manifest row per copy; empty = not written
  std::vector<std::string> errors(n);
  std::vector<std::vector<std::string>> warnings(n);
  util::parallel_for(n, util::resolve_jobs(a.jobs, n), [&](std::size_t i) {
    const data::Item& item = index.items[i];
    try {
      const audio::Signal in = a.sample_rate > 0 ? audio::load(item.path, a.sample_rate) : audio::read_mono(item.path);
      warnings[i] = in.warnings;
      for (std::size_t r = 0; r < recipes.size(); ++r) {
        for (int c = 0; c < a.copies; ++c) {
          const std::uint64_t seed = augment::copy_seed(a.seed, item.id, r, c);
          const augment::Augmented copy = augment::apply_recipe(recipes[r], in.samples, in.sample_rate, seed, item.path);
          const std::string rel = relative_name(item.id) + "." + file_tag(recipes[r]) + "." + std::to_string(c + 1) + ".wav";
          fs::create_directories((fs::path(a.out) / rel).parent_path());
          audio::write_wav((fs::path(a.out) / rel).string(), audio::Signal{copy.samples, in.sample_rate}, !a.pcm16);
          std::vector<std::string> row = {rel, features::copy_id(item.id, recipes[r], c), item.label, item.speaker,
                                          item.id, item.path, recipes[r].text, copy.applied, std::to_string(c + 1),
                                          std::to_string(seed)};
          for (const auto& [key, value] : item.metadata) row.push_back(value);
          rows[i * per_item + r * static_cast<std::size_t>(a.copies) + static_cast<std::size_t>(c)] = std::move(row);
        }
      }
    } catch (const std::bad_alloc&) {
      errors[i] = "out of memory while copying it (a long file with many --jobs? see --max-seconds)";
    } catch (const std::length_error&) {
      errors[i] = "a size computed from its header is impossibly large (corrupt header)";
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  });

  std::vector<std::string> header = {"path", "id", "label", "speaker", "source", "source_path", "recipe", "applied", "copy", "seed"};
  header.insert(header.end(), index.metadata_columns.begin(), index.metadata_columns.end());
  std::string csv = util::csv_line(header);
  std::size_t written = 0, failed = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const data::Item& item = index.items[i];
    for (const auto& w : warnings[i]) std::fprintf(stderr, "ser: warning: %s: %s\n", item.path.c_str(), w.c_str());
    if (!errors[i].empty()) {
      ++failed;
      const std::string& msg = errors[i];
      std::fprintf(stderr, "ser: error: %s\n", msg.rfind(item.path, 0) == 0 ? msg.c_str() : (item.path + ": " + msg).c_str());
    }
    if (a.with_originals && errors[i].empty()) {
      std::vector<std::string> row = {fs::absolute(item.path).string(), item.id, item.label, item.speaker, item.id,
                                      item.path, "", "", "0", ""};
      for (const auto& [key, value] : item.metadata) row.push_back(value);
      csv += util::csv_line(row);
    }
    for (std::size_t q = 0; q < per_item; ++q) {
      // An item that failed part-way keeps the copies it wrote out of the manifest as well.
      if (rows[i * per_item + q].empty() || !errors[i].empty()) continue;
      csv += util::csv_line(rows[i * per_item + q]);
      ++written;
    }
  }
  fs::create_directories(a.out);
  util::write_text_atomic((fs::path(a.out) / "manifest.csv").string(), csv);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("augment: {} copies of {} file(s) written to {} ({} failed, {} unparsable) in {:.1f} s; manifest {}",
               written, n - failed, a.out, failed, index.problems.size(), seconds, (fs::path(a.out) / "manifest.csv").string());
  return failed || !index.problems.empty() ? 1 : 0;
}

}  // namespace

void register_augment(CLI::App& app) {
  auto a = std::make_shared<AugmentArgs>();
  auto* sub = app.add_subcommand("augment", "Write augmented copies of audio files, with a manifest");
  sub->add_option("-i,--input", a->input, "Folder (searched recursively), CSV manifest or one audio file")->required();
  sub->add_option("-o,--out", a->out, "Output folder for the copies and manifest.csv")->required();
  sub->add_option("--ops", a->ops,
                  "Recipe, repeatable: op[=value] or op:key=value,... joined by '+'; values a|b (choice) or lo..hi. "
                  "Ops: speed=F, tempo=R, pitch=STEPS, noise=SNR_DB[,fraction=F], shift=MAX_MS[,direction=right|left], trim[=TOP_DB]")
      ->required();
  sub->add_option("--copies", a->copies, "Copies per recipe and file (default 1)");
  sub->add_option("--seed", a->seed, "Seed of every draw (default 42)");
  sub->add_option("--dataset", a->dataset, "ravdess | emodb | manifest: label folders by a corpus's file names");
  sub->add_option("--sr", a->sample_rate, "Load at this rate (default 22050, as librosa.load); 0 keeps each file's rate");
  sub->add_option("-j,--jobs", a->jobs, "Worker threads (0 = all cores)");
  sub->add_option("--max-seconds", a->max_seconds,
                  "Longest source or copy, in seconds (default 1800, or SER_MAX_SECONDS); longer ones fail");
  sub->add_flag("--pcm16", a->pcm16, "Write 16-bit PCM WAV instead of 32-bit float");
  sub->add_flag("--with-originals", a->with_originals, "Also list the source files in manifest.csv (copy 0)");
  add_runner("augment", [a]() { return run_augment(*a); });
}

}  // namespace ser::cli
