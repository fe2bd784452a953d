#include "fti/core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

#include "fti/core/clock.hpp"
#include "fti/core/json.hpp"

namespace fti::log {
namespace {

thread_local std::string t_context;

std::mutex g_mutex;
spdlog::sink_ptr g_sink;
spdlog::level::level_enum g_level = spdlog::level::info;
Format g_format = Format::text;

// %* in the text pattern: the request or job id of this thread, "-" when none.
class ContextFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string& id = t_context.empty() ? kNone : t_context;
    dest.append(id.data(), id.data() + id.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<ContextFlag>();
  }

 private:
  inline static const std::string kNone = "-";
};

// One JSON object per line: ts, level, component, id, msg.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    json::Writer w;
    w.begin_object();
    w.field("ts", format_rfc3339(ms));
    auto level = spdlog::level::to_string_view(msg.level);
    w.field("level", std::string_view(level.data(), level.size()));
    w.field("component", std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    if (!t_context.empty()) w.field("id", t_context);
    w.field("msg", std::string_view(msg.payload.data(), msg.payload.size()));
    w.end_object();
    const std::string& s = w.str();
    dest.append(s.data(), s.data() + s.size());
    dest.push_back('\n');
  }
  std::unique_ptr<formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

std::unique_ptr<spdlog::formatter> make_formatter(Format format) {
  if (format == Format::json) return std::make_unique<JsonFormatter>();
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<ContextFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] [%*] %v");
  return f;
}

spdlog::sink_ptr sink_locked() {
  if (!g_sink) {
    g_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    g_sink->set_formatter(make_formatter(g_format));
  }
  return g_sink;
}

}  // namespace

void init(std::string_view level, Format format, spdlog::sink_ptr sink) {
  std::lock_guard lock(g_mutex);
  g_level = spdlog::level::from_str(std::string(level));
  g_format = format;
  if (sink) g_sink = std::move(sink);
  auto active = sink_locked();
  active->set_formatter(make_formatter(format));
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    l->sinks().assign(1, active);
    l->set_level(g_level);
  });
}

ScopedLogContext::ScopedLogContext(std::string id) : previous_(std::move(t_context)) {
  t_context = std::move(id);
}

ScopedLogContext::~ScopedLogContext() { t_context = std::move(previous_); }

const std::string& current_context() { return t_context; }

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  std::lock_guard lock(g_mutex);
  if (auto existing = spdlog::get(component)) return existing;
  auto logger = std::make_shared<spdlog::logger>(component, sink_locked());
  logger->set_level(g_level);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace fti::log
