// `ser extract`: index a corpus, compute a feature set for every file in parallel, write
// features.npy + index.csv + meta.json (with a content-keyed cache for re-runs).
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <tuple>
#include <utility>

#include "cli/commands.hpp"
#include "ser/audio/audio.hpp"
#include "ser/config/config.hpp"
#include "ser/data/corpus.hpp"
#include "ser/error.hpp"
#include "ser/features/extract.hpp"
#include "ser/features/registry.hpp"

namespace ser::cli {

namespace {

struct ExtractArgs {
  std::string config_path, dataset, root, manifest, out, feature_set, max_seconds, shard;
  int jobs = -1;
  double fmax = -1;
  bool no_cache = false, allow_failures = false, no_progress = false, frames = false, merge = false;
  std::vector<std::string> overrides;
};

// "K/N" with 1 <= K <= N: the shard this process extracts.
std::pair<int, int> parse_shard(const std::string& text) {
  int k = 0, n = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%d/%d%c", &k, &n, &tail) != 2 || n < 1 || n > 100000 || k < 1 || k > n) {
    throw Error(ErrorKind::Usage, "--shard", "'" + text + "' is not K/N with 1 <= K <= N (e.g. 2/8)");
  }
  return {k, n};
}

int run_extract(const ExtractArgs& a) {
  auto [doc, origin] = config_document(a.config_path);
  // Flags win over the file; --set wins over both.
  apply_corpus_flags(doc, a.dataset, a.root, a.manifest);
  if (!a.out.empty()) doc["features"]["out"] = a.out;
  if (!a.feature_set.empty()) doc["features"]["set"] = a.feature_set;
  if (a.jobs >= 0) doc["features"]["jobs"] = a.jobs;
  if (a.fmax >= 0) doc["features"]["fmax"] = a.fmax;
  if (a.no_cache) doc["features"]["cache"] = false;
  if (a.frames) doc["features"]["frames"] = true;
  for (const auto& o : a.overrides) config::apply_override(doc, o);
  const config::Config cfg = config::parse_config(doc, origin);
  if (cfg.dataset.empty() && a.config_path.empty()) {
    throw Error(ErrorKind::Usage, "extract", "give --config FILE or --dataset with --root/--manifest and --out");
  }
  config::validate(cfg, origin);
  // The limit does not change any file's numbers, only which files are refused, so it is a
  // flag (and SER_MAX_SECONDS) rather than a config key that would be part of a run's identity.
  if (!a.max_seconds.empty()) audio::set_limits({audio::parse_max_seconds(a.max_seconds, "--max-seconds")});
  audio::limits();  // a bad SER_MAX_SECONDS is a config error now, not one per file

  features::ExtractOptions opt;
  if (!a.shard.empty()) {
    if (a.merge) throw Error(ErrorKind::Usage, "--shard", "--shard and --merge are separate steps");
    std::tie(opt.shard, opt.shards) = parse_shard(a.shard);
  }
  const auto set = features::make_feature_set(cfg.features.set, cfg.features.fmax, cfg.features.encoder);
  features::block_columns(set->blocks(), cfg.features.blocks);  // a features.blocks typo, named now
  const data::CorpusIndex index =
      data::index_corpus(cfg.dataset, cfg.dataset == "manifest" ? cfg.manifest : cfg.root);
  spdlog::info("{}: {} files indexed, {} unparsable; feature set {} ({} dims)", cfg.dataset, index.items.size(),
               index.problems.size(), set->name(), set->dim());

  opt.out_dir = cfg.features.out;
  opt.jobs = cfg.features.jobs;
  opt.use_cache = cfg.features.cache;
  opt.cache_dir = cfg.features.cache_dir;
  opt.progress = !a.no_progress;
  opt.frames = cfg.features.frames;
  const features::ExtractSummary s =
      a.merge ? features::merge_shards(index, *set, opt) : features::extract_corpus(index, *set, opt);

  if (!s.warnings.empty()) {
    std::fprintf(stderr, "%zu file(s) extracted with a warning (listed in %s/meta.json)\n", s.warnings.size(),
                 cfg.features.out.c_str());
  }
  if (!s.failures.empty()) {
    std::fprintf(stderr, "%zu file(s) failed (listed in %s/meta.json):\n", s.failures.size(), cfg.features.out.c_str());
    for (const auto& f : s.failures) std::fprintf(stderr, "  %s: %s\n", f.path.c_str(), f.reason.c_str());
    return a.allow_failures ? 0 : 1;
  }
  return 0;
}

}  // namespace

void register_extract(CLI::App& app) {
  auto a = std::make_shared<ExtractArgs>();
  auto* sub = app.add_subcommand("extract", "Extract utterance features for a corpus");
  sub->add_option("-c,--config", a->config_path, "JSON config (keys: dataset, root, manifest, features.*)");
  sub->add_option("--dataset", a->dataset, "ravdess | emodb | manifest");
  sub->add_option("--root", a->root, "Corpus folder (ravdess, emodb)");
  sub->add_option("--manifest", a->manifest, "CSV manifest with path,label[,speaker,...] (dataset manifest)");
  sub->add_option("-o,--out", a->out, "Output folder for features.npy, index.csv, meta.json");
  sub->add_option("-j,--jobs", a->jobs, "Worker threads (0 = all cores)");
  sub->add_option("--features", a->feature_set, "Feature set (default issa193)");
  sub->add_option("--fmax", a->fmax, "Upper analysis frequency in Hz (features.fmax; 0 = the whole band, 8000 = "
                                     "what a 16 kHz recording holds)");
  sub->add_option("--max-seconds", a->max_seconds,
                  "Longest audio accepted, in seconds (default 1800, or SER_MAX_SECONDS); longer files fail");
  sub->add_flag("--frames", a->frames, "Also write the frame sequences (frames.npy, frames.csv; features.frames)");
  sub->add_option("--shard", a->shard, "Extract only shard K of N (every N-th file) into OUT/shards/K-of-N; "
                                       "then --merge");
  sub->add_flag("--merge", a->merge, "Assemble the store in OUT from the shards under OUT/shards (same settings)");
  sub->add_option("--set", a->overrides, "Override a config key: key=value (repeatable)");
  sub->add_flag("--no-cache", a->no_cache, "Recompute every file");
  sub->add_flag("--no-progress", a->no_progress, "No progress bar");
  sub->add_flag("--allow-failures", a->allow_failures, "Exit 0 even if some files could not be extracted");
  add_runner("extract", [a]() { return run_extract(*a); });
}

}  // namespace ser::cli
