#pragma once
// submit: the command line's client of a running server. Uploads a folder (zipped first) or
// an archive, follows the job's WebSocket (polling GET /api/v1/jobs/{id} when the socket
// cannot open or drops), and downloads the cleaned archive through a temporary file.
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "fti/core/error.hpp"
#include "fti/core/progress.hpp"

namespace fti::client {

struct SubmitOptions {
  std::string input;      // a folder or an archive (.zip, .tar, .tar.gz/.tgz)
  std::string output;     // the cleaned archive; empty: default_output_path(input)
  std::string report;     // also download the JSON report here, when set
  std::string server;     // http(s)://HOST[:PORT][/PREFIX]
  std::string api_key;    // sent as "Authorization: Bearer KEY" when set
  std::string ca_file;    // https/wss: trust this PEM file instead of the system's certificates
  std::string type;       // job type, profile and priority; empty: the server's default
  std::string profile;
  std::string priority;
  std::chrono::seconds timeout{3600};           // the whole submit: upload, job and download
  int busy_retries = 5;                         // tries more after 429 or 503, then fail
  std::chrono::seconds max_retry_wait{60};      // a longer Retry-After is cut to this
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds stall_timeout{60000};  // an upload or download moving no byte
  std::chrono::milliseconds poll_min{250};      // polling backoff, doubled up to poll_max
  std::chrono::milliseconds poll_max{5000};
  std::filesystem::path work_dir;               // the folder's temporary zip; empty: the system's
  // Polled (about every 100 ms while waiting); true ends the submit early (Ctrl-C). The job,
  // once uploaded, keeps running on the server.
  std::function<bool()> interrupted;
};

struct SubmitOutcome {
  std::optional<Error> error;  // none: the cleaned archive is at `output`
  bool usage_error = false;    // the caller must change something (exit 2); else exit 1
  std::string job_id;          // once the server has accepted the upload
  std::string output;          // where the cleaned archive was written
  std::string job_json;        // the finished job as the server last described it
  std::string result_json;     // its "result" object (files_in, files_out, ...) on success
  std::string summary;         // that result in words: "12 files in, 9 out (4 changed, 3 removed)"
  bool polled = false;         // the job was followed by polling, not by its WebSocket
  bool interrupted = false;    // options.interrupted() ended it
};

// Runs a whole submit, showing the upload and the job's progress on `progress`; notes for a
// person (a retry, the fallback to polling) go to `notes`.
SubmitOutcome submit(const SubmitOptions& options, ProgressDisplay& progress, std::FILE* notes = stderr);

// "messy.tar.gz" -> "messy-clean.zip", "src/" -> "src-clean.zip": in the working directory,
// as `clean` names its output.
std::string default_output_path(const std::string& input);

}  // namespace fti::client
