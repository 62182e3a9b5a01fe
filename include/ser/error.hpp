#pragma once
// One exception type for everything the toolkit reports to a user. The CLI turns it into a
// single stderr line and an exit code: 2 for usage/config mistakes, 1 for runtime failures,
// 130 for work stopped on request (Ctrl-C) after saving what is needed to resume.
#include <stdexcept>
#include <string>

namespace ser {

enum class ErrorKind { Usage, Config, Input, Runtime, Interrupted };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string subject, const std::string& what)
      : std::runtime_error(subject.empty() ? what : subject + ": " + what),
        kind_(kind),
        subject_(std::move(subject)) {}
  ErrorKind kind() const { return kind_; }
  // The file, config key or item the error is about (may be empty).
  const std::string& subject() const { return subject_; }
  int exit_code() const {
    if (kind_ == ErrorKind::Interrupted) return 130;
    return (kind_ == ErrorKind::Usage || kind_ == ErrorKind::Config) ? 2 : 1;
  }

 private:
  ErrorKind kind_;
  std::string subject_;
};

[[noreturn]] inline void fail_input(const std::string& file, const std::string& what) {
  throw Error(ErrorKind::Input, file, what);
}
[[noreturn]] inline void fail_config(const std::string& key, const std::string& what) {
  throw Error(ErrorKind::Config, key, what);
}
[[noreturn]] inline void fail_runtime(const std::string& subject, const std::string& what) {
  throw Error(ErrorKind::Runtime, subject, what);
}

}  // namespace ser
