#pragma once
// Logging facade over spdlog. Each line carries a component name and the request or job id
// of the work in progress on this thread (set with ScopedLogContext). Levels are checked
// before formatting, so a disabled debug line costs a branch.
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace fti::log {

enum class Format { text, json };

// Configures the process-wide sink: level "trace".."off", text or JSON lines, to stderr
// unless another sink is given (tests capture lines this way).
void init(std::string_view level, Format format, spdlog::sink_ptr sink = nullptr);

// The id shown on every line logged from this thread while the scope lives.
class ScopedLogContext {
 public:
  explicit ScopedLogContext(std::string id);
  ~ScopedLogContext();
  ScopedLogContext(const ScopedLogContext&) = delete;
  ScopedLogContext& operator=(const ScopedLogContext&) = delete;

 private:
  std::string previous_;
};
const std::string& current_context();

// A named logger for one component ("http", "jobs", "cleanup"...).
std::shared_ptr<spdlog::logger> get(const std::string& component);

}  // namespace fti::log
