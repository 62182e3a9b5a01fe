#include "ser/features/extract.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "extract_internal.hpp"
#include "ser/audio/audio.hpp"
#include "ser/error.hpp"
#include "ser/util/files.hpp"
#include "ser/util/parallel.hpp"
#include "ser/version.hpp"

namespace ser::features {

namespace {

using Clock = std::chrono::steady_clock;

enum class Outcome : unsigned char { Failed, Computed, Cached };

// The message without a leading "<path>: ", since FileFailure carries the path separately.
std::string reason_of(const std::exception& e, const std::string& path) {
  std::string what = e.what();
  if (const auto* err = dynamic_cast<const Error*>(&e)) {
    const std::string prefix = err->subject() + ": ";
    if (!err->subject().empty() && err->subject() == path && what.compare(0, prefix.size(), prefix) == 0) {
      what.erase(0, prefix.size());
    }
  }
  return what;
}

std::string block_at(const FeatureSet& set, std::size_t index) {
  for (const auto& b : set.blocks()) {
    if (index >= b.offset && index < b.offset + b.size) return b.name;
  }
  return "?";
}

// What a per-file exception says, as one line a user can act on: memory exhaustion and impossible
// sizes are named as such (a C++ runtime's "std::bad_alloc" says nothing about the file).
template <typename Fn>
void catch_file_errors(const std::string& path, std::string& reason, Fn&& fn) {
  try {
    fn();
  } catch (const std::bad_alloc&) {
    reason = "out of memory while decoding or analysing it (a long file with many --jobs? see --max-seconds)";
  } catch (const std::length_error&) {
    reason = "a size computed from its header is impossibly large (corrupt header)";
  } catch (const std::exception& e) {
    reason = reason_of(e, path);
  } catch (...) {
    reason = "unknown error";
  }
}

// A feature set that returns the wrong length or NaN would silently poison every model trained on
// the store, so both are per-file failures here rather than surprises downstream.
void check_vector(const FeatureSet& set, const std::vector<float>& v, std::size_t dim) {
  if (v.size() != dim) {
    fail_runtime("feature set " + set.name(), "returned " + std::to_string(v.size()) + " values, expected " +
                                                  std::to_string(dim));
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      fail_runtime("feature set " + set.name(), std::string("produced a non-finite value (") +
                                                    (std::isnan(v[i]) ? "NaN" : "Inf") + ") at index " +
                                                    std::to_string(i) + " (block " + block_at(set, i) + ")");
    }
  }
}

std::string iso_utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string clock_text(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof(buf), "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else std::snprintf(buf, sizeof(buf), "%ld:%02ld", s / 60, s % 60);
  return buf;
}

// Seconds between progress lines off a terminal: SER_PROGRESS_SECONDS, default 10.
double progress_interval() {
  const char* env = std::getenv("SER_PROGRESS_SECONDS");
  if (!env || !*env) return 10.0;
  char* end = nullptr;
  const double v = std::strtod(env, &end);
  return *end == '\0' && v >= 0 && v <= 86400 ? v : 10.0;
}

// On a terminal, one self-overwriting stderr line; elsewhere (a log, a batch job) a logged line
// every progress_interval() seconds, so a long extraction is never silent for minutes.
class ProgressLine {
 public:
  ProgressLine(std::size_t total, bool enabled)
      : total_(total), enabled_(enabled), terminal_(::isatty(2) != 0), interval_(progress_interval()), start_(Clock::now()) {}
  void update(std::size_t done) {
    if (!enabled_) return;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
    if (!terminal_) {
      if (elapsed < last_ + interval_) return;
      last_ = elapsed;
      spdlog::info("extracting: {}/{} files, {:.1f} files/s, ETA {}", done, total_, rate,
                   rate > 0 ? clock_text(static_cast<double>(total_ - done) / rate) : std::string("?"));
      return;
    }
    const int width = 30;
    const int filled = total_ ? static_cast<int>(width * done / total_) : width;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    std::string eta = rate > 0 ? clock_text(static_cast<double>(total_ - done) / rate) : "?";
    std::fprintf(stderr, "\r[%s] %zu/%zu  %.1f files/s  ETA %s   ", bar.c_str(), done, total_, rate, eta.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }
  void finish() {
    if (drawn_) std::fputc('\n', stderr);
  }

 private:
  std::size_t total_;
  bool enabled_, terminal_;
  double interval_, last_ = 0;
  bool drawn_ = false;
  Clock::time_point start_;
};

}  // namespace

namespace detail {

nlohmann::json store_meta(const FeatureSet& set, const data::CorpusIndex& index, const ExtractSummary& summary,
                          std::size_t rows) {
  nlohmann::json blocks = nlohmann::json::array();
  for (const auto& b : set.blocks()) blocks.push_back({{"name", b.name}, {"offset", b.offset}, {"size", b.size}});
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& f : summary.failures) {
    nlohmann::json e = {{"path", f.path}, {"reason", f.reason}};
    if (!f.id.empty()) e["id"] = f.id;
    errors.push_back(std::move(e));
  }
  nlohmann::json warned = nlohmann::json::array();
  for (const auto& w : summary.warnings) warned.push_back({{"id", w.id}, {"path", w.path}, {"warning", w.reason}});
  return {
      {"format", "ser-feature-store"},
      {"format_version", 1},
      {"toolkit_version", kVersion},
      {"feature_set", set.name()},
      {"settings_fingerprint", set.settings_fingerprint()},
      {"sample_rate", set.sample_rate()},
      {"band_limit_hz", set.band_limit_hz()},
      {"dim", set.dim()},
      {"blocks", blocks},
      {"dataset", index.dataset},
      {"root", index.root},
      {"metadata_columns", index.metadata_columns},
      {"created", iso_utc_now()},
      {"seconds", summary.seconds},
      {"counts",
       {{"total", summary.total},
        {"rows", rows},
        {"extracted", summary.extracted},
        {"from_cache", summary.from_cache},
        {"failed", summary.failed},
        {"warnings", summary.warnings.size()}}},
      {"errors", errors},
      {"warnings", warned},
  };
}

}  // namespace detail

std::size_t extract_window(const FeatureSet& set) { return set.batch_size() <= 1 ? 1 : 8 * set.batch_size(); }

std::string shard_dir(const std::string& out_dir, int k, int n) {
  return out_dir + "/shards/" + std::to_string(k) + "-of-" + std::to_string(n);
}

ExtractSummary extract_corpus(const data::CorpusIndex& index, const FeatureSet& set, const ExtractOptions& opt) {
  const auto start = Clock::now();
  if (opt.out_dir.empty()) fail_config("out_dir", "no output folder given for the feature store");
  const std::size_t dim = set.dim();
  if (dim == 0) fail_config("feature_set", "feature set '" + set.name() + "' has no blocks (dimension 0)");
  if (index.items.empty() && index.problems.empty()) {
    fail_input(index.root, index.dataset == "manifest" ? "the manifest lists no items" : "no audio files found");
  }
  const bool sharded = opt.shards > 0;
  if (sharded && (opt.shards > 100000 || opt.shard < 1 || opt.shard > opt.shards)) {
    fail_config("--shard", "K/N needs 1 <= K <= N (got " + std::to_string(opt.shard) + "/" + std::to_string(opt.shards) + ")");
  }
  const std::size_t frame_width = opt.frames ? set.frame_width() : 0;
  if (opt.frames && frame_width == 0) {
    fail_config("features.frames", "feature set '" + set.name() + "' has no frame sequences (sets with frames: functionals, encoder)");
  }
  const std::string out_dir = sharded ? shard_dir(opt.out_dir, opt.shard, opt.shards) : opt.out_dir;
  util::ensure_writable_dir(opt.out_dir);
  util::ensure_writable_dir(out_dir);

  // A shard computes every N-th window of the listing (interleaved, so shards of a corpus sorted
  // by speaker or length get similar work; a window is one item unless the set batches); the
  // rest of the function sees only its own items.
  const std::size_t window = extract_window(set);
  data::CorpusIndex part;
  if (sharded) {
    part.dataset = index.dataset;
    part.root = index.root;
    part.metadata_columns = index.metadata_columns;
    for (std::size_t p = 0; p < index.items.size(); ++p) {
      if ((p / window) % static_cast<std::size_t>(opt.shards) == static_cast<std::size_t>(opt.shard - 1)) {
        part.items.push_back(index.items[p]);
      }
    }
    if (opt.shard == 1) part.problems = index.problems;
  }
  const data::CorpusIndex& items = sharded ? part : index;

  const std::size_t n = items.items.size();
  std::vector<float> values(n * dim);
  std::vector<Outcome> outcome(n, Outcome::Failed);
  std::vector<std::string> reasons(n);
  std::vector<std::vector<std::string>> warnings(n);
  std::vector<AudioFacts> facts(n);
  // Frames go to one file per item (in the cache when there is one, else a spool folder) and
  // are concatenated into frames.npy at the end, so no item's frames stay in memory.
  std::vector<std::string> frame_file(n);
  std::vector<std::size_t> frame_count(n, 0);
  const std::string spool = out_dir + "/.frames-spool";
  if (frame_width) util::ensure_writable_dir(spool);

  std::unique_ptr<detail::FeatureCache> cache;
  if (opt.use_cache) {
    cache = std::make_unique<detail::FeatureCache>(opt.cache_dir.empty() ? opt.out_dir + "/cache" : opt.cache_dir,
                                                   set);
  }

  // An item from the cache, or its decoded audio: true when it still needs computing.
  std::vector<std::uint64_t> keys(n, 0);
  std::vector<char> keyed(n, 0);
  // An item's frames file: beside its cache entry, or in the spool folder without a cache.
  auto frame_path = [&](std::size_t i) {
    return keyed[i] ? cache->file_for(keys[i]) + ".frames" : spool + "/" + std::to_string(i) + ".frames";
  };
  auto prepare = [&](std::size_t i, audio::Signal& signal) {
    bool need = false;
    const data::Item& item = items.items[i];
    catch_file_errors(item.path, reasons[i], [&] {
      if (cache) {
        try {
          keys[i] = cache->key_for(item.path);
          keyed[i] = 1;
        } catch (const Error&) {
          // Unreadable: fall through so the decoder reports the precise reason (missing, folder...).
        }
      }
      std::vector<float> v;
      if (keyed[i] && cache->load(keys[i], v, facts[i]) &&
          (!frame_width || detail::frame_file_frames(frame_path(i), frame_width, frame_count[i]))) {
        if (frame_width) frame_file[i] = frame_path(i);
        std::copy(v.begin(), v.end(), values.begin() + static_cast<std::ptrdiff_t>(i * dim));
        outcome[i] = Outcome::Cached;
        // A damaged header's warning must not vanish on a re-run; reading a header is cheap.
        try {
          warnings[i] = audio::header_warnings(item.path);
        } catch (const Error&) {
        }
        return;
      }
      signal = load_for(item.path, set);
      warnings[i] = signal.warnings;
      facts[i] = {signal.native_rate, signal.bandwidth_hz};
      need = true;
    });
    return need;
  };
  auto frame_writer = [&](std::size_t i) { return std::make_unique<detail::FrameFileWriter>(frame_path(i), frame_width); };
  auto finish = [&](std::size_t i, const std::vector<float>& v, detail::FrameFileWriter* writer) {
    check_vector(set, v, dim);
    if (writer) {
      writer->commit();
      frame_file[i] = frame_path(i);
      frame_count[i] = writer->frames();
    }
    std::copy(v.begin(), v.end(), values.begin() + static_cast<std::ptrdiff_t>(i * dim));
    outcome[i] = Outcome::Computed;
    if (keyed[i]) cache->store(keys[i], v, facts[i]);
  };
  auto compute_one = [&](std::size_t i, const audio::Signal& signal) {
    catch_file_errors(items.items[i].path, reasons[i], [&] {
      if (!frame_width) return finish(i, set.compute(signal), nullptr);
      const auto writer = frame_writer(i);
      const auto v = set.compute_with_frames(signal, [&](const float* rows, std::size_t count) { writer->append(rows, count); });
      finish(i, v, writer.get());
    });
  };

  ProgressLine progress(n, opt.progress);
  const std::size_t jobs = util::resolve_jobs(opt.jobs, n);
  if (set.batch_size() <= 1) {
    util::parallel_for(
        n, jobs,
        [&](std::size_t i) {
          audio::Signal signal;
          if (prepare(i, signal)) compute_one(i, signal);
        },
        [&](std::size_t done) { progress.update(done); });
  } else {
    // Windows of the listing (the unit shards are cut in, so a shard batches exactly as one
    // process does): decoded in parallel, sorted by length, and computed in batches of similar
    // lengths (the longest at most 1.25 x the shortest), one batch at a time.
    const std::size_t batch = set.batch_size(), window = extract_window(set);
    for (std::size_t w0 = 0; w0 < n; w0 += window) {
      const std::size_t wn = std::min(window, n - w0);
      std::vector<audio::Signal> signals(wn);
      std::vector<char> need(wn, 0);
      util::parallel_for(wn, std::min(jobs, wn), [&](std::size_t j) { need[j] = prepare(w0 + j, signals[j]) ? 1 : 0; });
      std::vector<std::size_t> order;
      for (std::size_t j = 0; j < wn; ++j) {
        if (need[j]) order.push_back(j);
      }
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return signals[a].samples.size() < signals[b].samples.size(); });
      for (std::size_t b0 = 0; b0 < order.size();) {
        // At most 60 s of audio per batch: attention memory grows with clips x frames^2.
        std::size_t b1 = b0 + 1, samples = signals[order[b0]].samples.size();
        const std::size_t cap = static_cast<std::size_t>(60 * set.sample_rate());
        while (b1 < order.size() && b1 - b0 < batch &&
               signals[order[b1]].samples.size() * 4 <= signals[order[b0]].samples.size() * 5 &&
               samples + signals[order[b1]].samples.size() <= cap) {
          samples += signals[order[b1]].samples.size();
          ++b1;
        }
        std::vector<const audio::Signal*> group;
        for (std::size_t k = b0; k < b1; ++k) group.push_back(&signals[order[k]]);
        bool done = false;
        if (group.size() > 1) {
          try {
            std::vector<std::unique_ptr<detail::FrameFileWriter>> writers;
            std::vector<FeatureSet::FrameSink> sinks;
            for (std::size_t k = b0; k < b1 && frame_width; ++k) {
              writers.push_back(frame_writer(w0 + order[k]));
              auto* w = writers.back().get();
              sinks.push_back([w](const float* rows, std::size_t count) { w->append(rows, count); });
            }
            const auto results = set.compute_batch(group, frame_width ? &sinks : nullptr);
            for (std::size_t k = b0; k < b1; ++k) {
              const std::size_t i = w0 + order[k];
              catch_file_errors(items.items[i].path, reasons[i],
                                [&] { finish(i, results[k - b0], frame_width ? writers[k - b0].get() : nullptr); });
            }
            done = true;
          } catch (const std::exception&) {
            // One clip that cannot be computed spoils its batch: each alone, so the failure is its own.
          }
        }
        for (std::size_t k = b0; k < b1 && !done; ++k) compute_one(w0 + order[k], signals[order[k]]);
        for (std::size_t k = b0; k < b1; ++k) signals[order[k]] = audio::Signal{};
        b0 = b1;
      }
      progress.update(w0 + wn);
    }
  }
  progress.finish();

  ExtractSummary summary;
  summary.total = n + items.problems.size();
  for (const auto& p : items.problems) summary.failures.push_back({"", p.path, p.reason});
  std::vector<std::size_t> rows;
  rows.reserve(n);
  std::vector<AudioFacts> row_facts;
  for (std::size_t i = 0; i < n; ++i) {
    if (outcome[i] == Outcome::Failed) {
      summary.failures.push_back({items.items[i].id, items.items[i].path, reasons[i]});
      continue;
    }
    (outcome[i] == Outcome::Cached ? summary.from_cache : summary.extracted)++;
    for (const auto& w : warnings[i]) summary.warnings.push_back({items.items[i].id, items.items[i].path, w});
    if (rows.size() != i) {
      std::copy_n(values.begin() + static_cast<std::ptrdiff_t>(i * dim), dim,
                  values.begin() + static_cast<std::ptrdiff_t>(rows.size() * dim));
    }
    rows.push_back(i);
    row_facts.push_back(facts[i]);
  }
  values.resize(rows.size() * dim);
  summary.failed = summary.failures.size();

  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  nlohmann::json meta = detail::store_meta(set, items, summary, rows.size());
  if (sharded) {
    meta["shard"] = {{"k", opt.shard}, {"n", opt.shards}, {"index_items", index.items.size()}, {"window", window}};
  }
  if (frame_width) {
    std::vector<std::string> ids;
    std::vector<std::size_t> counts;
    for (std::size_t r : rows) {
      ids.push_back(items.items[r].id);
      counts.push_back(frame_count[r]);
    }
    meta["frames"] = detail::write_frame_files(out_dir, set, ids, counts, [&](std::size_t k, std::ostream& out) {
      detail::copy_frame_file(frame_file[rows[k]], frame_width, counts[k], out);
    });
    std::error_code ec;
    std::filesystem::remove_all(spool, ec);
  } else {
    detail::remove_frame_files(out_dir);  // a store's frames must never outlive its features
  }
  detail::write_store(out_dir, items, rows, values, dim, row_facts, meta);

  // Callers (the CLI) list every failure; the log keeps them for library users at debug level.
  for (const auto& f : summary.failures) spdlog::debug("skipped {}: {}", f.path, f.reason);
  for (const auto& w : summary.warnings) spdlog::warn("{}: {} (extracted; listed in meta.json)", w.path, w.reason);
  spdlog::info("extracted {} of {} files with {} ({} computed, {} from cache, {} failed) in {:.1f} s -> {}",
               rows.size(), summary.total, set.name(), summary.extracted, summary.from_cache, summary.failed,
               summary.seconds, out_dir);
  return summary;
}

ComputedFeatures compute_features(const std::vector<std::string>& paths, const FeatureSet& set, int jobs) {
  const std::size_t n = paths.size(), dim = set.dim();
  std::vector<std::vector<float>> rows(n);
  std::vector<std::string> reasons(n);
  std::vector<std::vector<std::string>> warnings(n);
  std::vector<AudioFacts> facts(n);
  util::parallel_for(n, util::resolve_jobs(jobs, n), [&](std::size_t i) {
    catch_file_errors(paths[i], reasons[i], [&] {
      const audio::Signal signal = load_for(paths[i], set);
      warnings[i] = signal.warnings;
      facts[i] = {signal.native_rate, signal.bandwidth_hz};
      std::vector<float> v = set.compute(signal);
      check_vector(set, v, dim);
      rows[i] = std::move(v);
    });
  });
  ComputedFeatures out;
  for (std::size_t i = 0; i < n; ++i) {
    if (rows[i].empty()) {
      out.failures.push_back({"", paths[i], reasons[i]});
      continue;
    }
    out.ok.push_back(i);
    out.audio.push_back(facts[i]);
    out.values.insert(out.values.end(), rows[i].begin(), rows[i].end());
    for (const auto& w : warnings[i]) {
      out.warnings.push_back({"", paths[i], w});
      spdlog::warn("{}: {}", paths[i], w);
    }
  }
  return out;
}

}  // namespace ser::features
