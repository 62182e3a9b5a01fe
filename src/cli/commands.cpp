#include "cli/commands.hpp"

#include <map>

#include "ser/error.hpp"

namespace ser::cli {

namespace {
std::map<std::string, std::function<int()>>& runners() {
  static std::map<std::string, std::function<int()>> r;
  return r;
}
}  // namespace

void add_runner(const std::string& name, std::function<int()> runner) { runners()[name] = std::move(runner); }

int run_subcommand(const std::string& name) {
  auto it = runners().find(name);
  if (it == runners().end()) throw Error(ErrorKind::Usage, name, "unknown subcommand");
  return it->second();
}

}  // namespace ser::cli
