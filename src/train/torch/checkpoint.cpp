#include "checkpoint.hpp"

#include <ATen/Context.h>

#include <fstream>
#include <sstream>

#include "ser/error.hpp"
#include "ser/util/files.hpp"

namespace ser::train::detail {

namespace {

constexpr std::int64_t kFormat = 1;
constexpr int kHistoryColumns = 7;

at::Generator generator_of(const torch::Device& device) {
  return at::globalContext().defaultGenerator(device.is_cuda() ? torch::Device(torch::kCUDA, device.index() < 0 ? 0 : device.index())
                                                               : torch::Device(torch::kCPU));
}

torch::Tensor history_tensor(const std::vector<EpochRecord>& history) {
  auto t = torch::empty({static_cast<std::int64_t>(history.size()), kHistoryColumns}, torch::kFloat64);
  double* p = t.data_ptr<double>();
  for (const auto& e : history) {
    *p++ = e.epoch;
    *p++ = e.lr;
    *p++ = e.train_loss;
    *p++ = e.train_accuracy;
    *p++ = e.val_loss;
    *p++ = e.val_accuracy;
    *p++ = e.val_uar;
  }
  return t;
}

std::vector<EpochRecord> history_from(const torch::Tensor& t) {
  std::vector<EpochRecord> out;
  const torch::Tensor c = t.to(torch::kFloat64).contiguous();
  const double* p = c.data_ptr<double>();
  for (std::int64_t i = 0; i < c.size(0); ++i, p += kHistoryColumns) {
    out.push_back({static_cast<int>(p[0]), p[1], p[2], p[3], p[4], p[5], p[6]});
  }
  return out;
}

torch::Tensor scalar(double v) { return torch::tensor(v, torch::kFloat64); }
torch::Tensor scalar(std::int64_t v) { return torch::tensor(v, torch::kInt64); }

}  // namespace

void save_checkpoint(const std::string& path, const CheckpointShape& shape, const LoopState& s,
                     const model::Classifier& net, const model::Classifier* best, torch::optim::Optimizer& optimizer,
                     const torch::Device& device) {
  torch::serialize::OutputArchive ar, net_ar, best_ar, opt_ar;
  ar.write("format", scalar(kFormat));
  ar.write("shape", torch::tensor({shape.n_train, shape.n_validation, shape.dim, shape.n_classes}, torch::kInt64));
  ar.write("epoch", scalar(static_cast<std::int64_t>(s.epoch)));
  ar.write("step", scalar(s.step));
  ar.write("best_score", scalar(s.best_score));
  ar.write("best_epoch", scalar(static_cast<std::int64_t>(s.best_epoch)));
  ar.write("since_best", scalar(static_cast<std::int64_t>(s.since_best)));
  ar.write("since_plateau_best", scalar(static_cast<std::int64_t>(s.since_plateau_best)));
  ar.write("plateau_factor", scalar(s.plateau_factor));
  ar.write("plateau_best", scalar(s.plateau_best));
  ar.write("history", history_tensor(s.history));
  ar.write("rng", generator_of(device).get_state());
  if (device.is_cuda()) ar.write("rng_cpu", generator_of(torch::kCPU).get_state());
  net.save(net_ar);
  ar.write("net", net_ar);
  ar.write("has_best", scalar(static_cast<std::int64_t>(best != nullptr)));
  if (best) {
    best->save(best_ar);
    ar.write("best", best_ar);
  }
  optimizer.save(opt_ar);
  ar.write("optimizer", opt_ar);
  util::write_file_atomic(path, [&](std::ostream& out) { ar.save_to(out); });
}

void load_checkpoint(const std::string& path, const CheckpointShape& shape, LoopState& s, model::Classifier& net,
                     model::ModelPtr& best, torch::optim::Optimizer& optimizer, const torch::Device& device) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_input(path, "cannot open checkpoint");
  try {
    torch::serialize::InputArchive ar, net_ar, best_ar, opt_ar;
    ar.load_from(in, device);
    // A fresh tensor per key: read() into a defined tensor would set_() it in place.
    auto tensor = [&](const char* key) {
      torch::Tensor t;
      ar.read(key, t);
      return t;
    };
    auto integer = [&](const char* key) { return tensor(key).item<std::int64_t>(); };
    auto real = [&](const char* key) { return tensor(key).item<double>(); };
    if (integer("format") != kFormat) fail_input(path, "unsupported checkpoint format");
    const torch::Tensor sh = tensor("shape").to(torch::kCPU);
    if (sh.numel() != 4 || sh[0].item<std::int64_t>() != shape.n_train ||
        sh[1].item<std::int64_t>() != shape.n_validation || sh[2].item<std::int64_t>() != shape.dim ||
        sh[3].item<std::int64_t>() != shape.n_classes) {
      fail_input(path, "checkpoint belongs to a different fold or feature set; remove it (or use --fresh) to start over");
    }
    s.epoch = static_cast<int>(integer("epoch"));
    s.step = integer("step");
    s.best_score = real("best_score");
    s.best_epoch = static_cast<int>(integer("best_epoch"));
    s.since_best = static_cast<int>(integer("since_best"));
    s.since_plateau_best = static_cast<int>(integer("since_plateau_best"));
    s.plateau_factor = real("plateau_factor");
    s.plateau_best = real("plateau_best");
    s.history = history_from(tensor("history").to(torch::kCPU));
    ar.read("net", net_ar);
    net.load(net_ar);
    if (integer("has_best")) {
      ar.read("best", best_ar);
      best = model::clone_model(net);  // same spec and device; weights replaced below
      best->load(best_ar);
    } else {
      best.reset();
    }
    ar.read("optimizer", opt_ar);
    optimizer.load(opt_ar);
    generator_of(device).set_state(tensor("rng").to(torch::kCPU));
    if (device.is_cuda()) generator_of(torch::kCPU).set_state(tensor("rng_cpu").to(torch::kCPU));
  } catch (const ser::Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string what = e.what();
    fail_input(path, "not a readable checkpoint: " + what.substr(0, what.find('\n')));
  }
}

}  // namespace ser::train::detail
