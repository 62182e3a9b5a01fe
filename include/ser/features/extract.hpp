#pragma once
// Batch extraction of one feature set over a corpus index into a feature store:
//   <out_dir>/features.npy  N x dim float32, one row per extracted item, in index order
//   <out_dir>/index.csv     id,path,label,speaker,<metadata columns...>, same row order
//   <out_dir>/audio.csv     id,native_rate,bandwidth_hz: each file's own rate and effective band
//   <out_dir>/meta.json     feature set, blocks, fingerprint, counts, every failure with reason
// Per-file results are cached by content, so re-running over an unchanged corpus decodes nothing.
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ser/data/corpus.hpp"
#include "ser/features/registry.hpp"

namespace ser::features {

struct ExtractOptions {
  std::string out_dir;
  int jobs = 0;            // worker threads; 0 = every hardware thread
  bool use_cache = true;
  std::string cache_dir;   // empty = <out_dir>/cache
  bool progress = true;    // progress line on stderr, only when stderr is a terminal
  bool frames = false;     // also write the frame store (features/frames.hpp; sets with frames only)
  // One shard of the corpus (ser extract --shard K/N): the items at index positions p with
  // (p / extract_window(set)) % N == K - 1, written as a store of their own in shard_dir(out_dir, K, N); index problems
  // go with shard 1. 0/0: the whole corpus into out_dir.
  int shard = 0, shards = 0;
};

// <out_dir>/shards/<K>-of-<N>
std::string shard_dir(const std::string& out_dir, int k, int n);
// Items a set is extracted in groups of (1, or 8 batches for a set that batches): shards take
// every N-th group, and batches never cross one, so a shard computes exactly as one process.
std::size_t extract_window(const FeatureSet& set);

// What decoding learnt about a file's audio (audio::Signal): its own sample rate and effective
// bandwidth in Hz. 0 / 0 when unknown (a store written before they were recorded).
struct AudioFacts {
  int native_rate = 0;
  double bandwidth_hz = 0;
  bool known() const { return native_rate > 0; }
};

struct FileFailure {
  std::string id;      // empty for files the indexer could not name
  std::string path;
  std::string reason;  // why, without the path repeated
};

// total = index items + index problems; extracted + from_cache + failed == total. Index problems
// (unparsable names, duplicates) are failures too, with the indexer's reason.
struct ExtractSummary {
  std::size_t total = 0, extracted = 0, from_cache = 0, failed = 0;
  std::vector<FileFailure> failures;  // index problems first, then per-file failures in index order
  // Files that were extracted but whose header looks damaged (audio::Signal::warnings), in index
  // order; reason = the warning. Also in meta.json ("warnings") and logged.
  std::vector<FileFailure> warnings;
  double seconds = 0;
};

// FeatureSet::compute must be safe to call from several threads at once. Per-file errors (bad
// audio, wrong vector length, non-finite values) never abort the run; errors writing the store
// throw ser::Error. The output folder is created and checked for writing before any file is
// computed. The three store files are written only after every file is done, each atomically,
// meta.json last.
ExtractSummary extract_corpus(const data::CorpusIndex& index, const FeatureSet& set, const ExtractOptions& opt);

// Assembles the store in opt.out_dir from the N shard stores under <out_dir>/shards/ (every K of
// one N, made with the same settings over the same corpus listing): the same files, byte for
// byte, as one process extracting the whole corpus, except meta.json's created, seconds and
// the extracted/from_cache split (and "merged_from_shards": N). Throws ser::Error naming the
// missing or mismatched shard.
ExtractSummary merge_shards(const data::CorpusIndex& index, const FeatureSet& set, const ExtractOptions& opt);

struct FeatureTable {
  std::vector<data::Item> items;
  std::vector<std::string> metadata_columns;
  std::size_t dim = 0;
  std::vector<float> values;  // row-major items.size() x dim
  std::vector<AudioFacts> audio;  // one per item (audio.csv); empty for stores written before it
  nlohmann::json meta;

  const float* row(std::size_t i) const { return values.data() + i * dim; }
};

// Reads a store written by extract_corpus. Throws ser::Error naming the offending file when the
// files are missing or disagree (npy shape vs index.csv rows vs meta.json dim).
FeatureTable read_feature_store(const std::string& dir);

// Features of loose files, in memory and in parallel (no store, no cache), for prediction on
// audio no corpus parser knows. A file that cannot be used is a failure, not an exception.
struct ComputedFeatures {
  std::vector<float> values;         // ok.size() x dim, row-major
  std::vector<std::size_t> ok;       // indices into `paths` of the rows, ascending
  std::vector<AudioFacts> audio;     // one per row
  std::vector<FileFailure> failures;  // the other paths, with the reason
  std::vector<FileFailure> warnings;  // usable paths whose header looks damaged (also logged)
};
ComputedFeatures compute_features(const std::vector<std::string>& paths, const FeatureSet& set, int jobs = 0);

}  // namespace ser::features
