// Writes the hand-made seed inputs of fuzz/corpus/ (run by scripts/fuzz.sh --seeds): small valid
// files in every container the audio target names, the damaged files that once crashed or
// misled the loader, and manifests and configs covering each column and key family.
//   g++ -std=c++17 fuzz/make_seeds.cpp -lsndfile -o make_seeds && ./make_seeds fuzz/corpus
#include <sndfile.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

std::vector<char> encode(int format, int rate, int channels, int frames) {
  const std::string tmp = "/tmp/ser-make-seed.bin";
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(tmp.c_str(), SFM_WRITE, &info);
  if (!f) {
    std::fprintf(stderr, "cannot write format %x: %s\n", format, sf_strerror(nullptr));
    return {};
  }
  std::vector<float> x(static_cast<std::size_t>(frames) * channels);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.5f * static_cast<float>(std::sin(0.05 * static_cast<double>(i)));
  sf_writef_float(f, x.data(), frames);
  sf_close(f);
  std::ifstream in(tmp, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void put(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The audio target's first byte picks the extension (targets.cpp: wav flac aiff ogg au caf w64 raw).
void audio(const std::string& dir, const std::string& name, char extension, std::vector<char> file) {
  file.insert(file.begin(), extension);
  put(dir + "/audio/" + name, file);
}

void text(const std::string& path, const std::string& body) { put(path, {body.begin(), body.end()}); }

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "fuzz/corpus";
  const auto wav16 = encode(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 400);
  audio(dir, "wav16", 0, wav16);
  audio(dir, "wav-float-stereo", 0, encode(SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, 2, 300));
  const auto flac = encode(SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 1, 3000);
  audio(dir, "flac16", 1, flac);
  audio(dir, "aiff16", 2, encode(SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 8000, 1, 300));
  audio(dir, "ogg-vorbis", 3, encode(SF_FORMAT_OGG | SF_FORMAT_VORBIS, 22050, 1, 2000));
  audio(dir, "au-ulaw", 4, encode(SF_FORMAT_AU | SF_FORMAT_ULAW, 8000, 1, 300));
  audio(dir, "caf-alaw", 5, encode(SF_FORMAT_CAF | SF_FORMAT_ALAW, 11025, 1, 300));
  audio(dir, "w64-24", 6, encode(SF_FORMAT_W64 | SF_FORMAT_PCM_24, 48000, 1, 300));
  // A 2 Hz header over 4000 frames: resampling to 22050 Hz would need 44 M samples.
  audio(dir, "wav-2hz", 0, encode(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 2, 1, 4000));
  // Cut halfway, and with the STREAMINFO block zeroed.
  audio(dir, "flac-truncated", 1, std::vector<char>(flac.begin(), flac.begin() + static_cast<long>(flac.size() / 2)));
  auto zeroed = flac;
  for (std::size_t i = 4; i < 42 && i < zeroed.size(); ++i) zeroed[i] = 0;
  audio(dir, "flac-zeroed-streaminfo", 1, zeroed);
  // A data chunk that declares 7 frames of the 400 written (bytes 40..43 of a plain WAV header).
  auto short_chunk = wav16;
  const std::uint32_t seven = 14;
  for (int b = 0; b < 4; ++b) short_chunk[40 + b] = static_cast<char>((seven >> (8 * b)) & 0xff);
  audio(dir, "wav-short-data-chunk", 0, short_chunk);
  audio(dir, "wav-header-only", 0, std::vector<char>(wav16.begin(), wav16.begin() + 44));

  text(dir + "/manifest/basic.csv", "path,label,speaker\na.wav,happy,s1\nsub/b.flac,sad,s2\n");
  text(dir + "/manifest/quoted.csv",
       "\xEF\xBB\xBF\"path\",label,note\r\n\"x, y.wav\",angry,\"multi\nline \"\"q\"\"\"\r\n/abs/z.wav,calm,\r\n");
  text(dir + "/manifest/ids-and-duplicates.csv", "id,path,label\nu1,a.wav,x\nu1,b.wav,y\n,a.wav,x\n,a.wav,x\n");
  text(dir + "/manifest/ragged.csv", "path,label\na.wav\nb.wav,x,extra\n\"unterminated,x\n");
  text(dir + "/manifest/no-label.csv", "path,speaker\n../up/a.wav,s1\n");
  text(dir + "/manifest/header-twice.csv", "path,path,label\n");

  text(dir + "/config/minimal.json", R"({"dataset": "ravdess", "root": "data/ravdess"})");
  text(dir + "/config/full.json", R"({"name": "x", "dataset": "manifest", "manifest": "m.csv",
  "features": {"set": "functionals", "normalize": "speaker", "jobs": 2},
  "protocol": {"name": "speaker_kfold", "folds": 3},
  "model": {"architecture": "logreg", "logreg_c": 0.1},
  "train": {"epochs": 3, "batch_size": 8, "search": {"model.logreg_c": [0.1, 1]}},
  "augment": {"ops": ["speed=0.9|1.1"], "copies": 1}, "label_map": {"calm": "neutral"}})");
  text(dir + "/config/overrides.json",
       "{\"dataset\": \"emodb\", \"root\": \"r\"}\n--\ntrain.epochs=5\nmodel.architecture=svm\nfeatures.set=issa193\n");
  text(dir + "/config/bad-values.json",
       "{\"dataset\": \"emodb\", \"root\": \"r\", \"train\": {\"epochs\": -5, \"lr\": -1, \"monitor\": \"val_f1\"}}\n--\n"
       "train.epochs=abc\nmodel.dropout=2.0\n");
  text(dir + "/config/wrong-types.json", R"({"dataset": 3, "root": ["r"], "features": "x", "train": {"epochs": "10"}})");
  return 0;
}
