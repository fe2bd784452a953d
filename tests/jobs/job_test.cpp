#include <catch2/catch.hpp>

#include "fti/core/json.hpp"
#include "fti/jobs/job.hpp"

using namespace fti;
using namespace fti::jobs;

TEST_CASE("job: states and priorities read back from their names", "[jobs]") {
  for (auto s : {JobStatus::queued, JobStatus::running, JobStatus::retrying, JobStatus::succeeded,
                 JobStatus::failed, JobStatus::cancelled}) {
    CHECK(parse_status(to_string(s)) == s);
  }
  for (auto p : {Priority::high, Priority::normal, Priority::low}) CHECK(parse_priority(to_string(p)) == p);
  CHECK(to_string(JobStatus::retrying) == "retrying");
  CHECK(to_string(Priority::low) == "low");
  CHECK_FALSE(parse_status("done").has_value());
  CHECK_FALSE(parse_priority("urgent").has_value());
  CHECK(is_terminal(JobStatus::succeeded));
  CHECK(is_terminal(JobStatus::failed));
  CHECK(is_terminal(JobStatus::cancelled));
  CHECK_FALSE(is_terminal(JobStatus::retrying));
  CHECK_FALSE(is_terminal(JobStatus::running));
  CHECK(is_valid_job_type("cleanup"));
  CHECK(is_valid_job_type("enterprise"));
  CHECK_FALSE(is_valid_job_type("Cleanup"));
  CHECK_FALSE(is_valid_job_type(""));
}

TEST_CASE("job: JSON has the API's shape", "[jobs]") {
  Job job;
  job.id = "01JABCDEFGHJKMNPQRSTVWXYZ0";
  job.type = "template";
  job.priority = Priority::high;
  job.status = JobStatus::running;
  job.progress = 40;
  job.stage = "format";
  job.attempt = 1;
  job.created_at = 1767225600000;  // 2026-01-01T00:00:00Z
  job.started_at = 1767225601000;
  job.input = {"messy \"v2\".zip", 12345, "deadbeef", "uploads/x"};

  auto doc = json::Document::parse(job_to_json(job));
  REQUIRE(doc.ok());
  const json::Value root = doc->root();
  CHECK(root.get_string("id") == job.id);
  CHECK(root.get_string("type") == "template");
  CHECK(root.get_string("priority") == "high");
  CHECK(root.get_string("status") == "running");
  CHECK(root.get_int("progress") == 40);
  CHECK(root.get_string("stage") == "format");
  CHECK(root.get_int("attempt") == 1);
  CHECK(root.get_int("max_attempts") == 3);
  CHECK(root.get_string("created_at") == "2026-01-01T00:00:00Z");
  CHECK(root.get_string("started_at") == "2026-01-01T00:00:01Z");
  CHECK(root.get("finished_at")->is_null());
  CHECK(root.get("error")->is_null());
  CHECK(root.get("result")->is_null());
  const auto input = root.get("input");
  REQUIRE(input);
  CHECK(input->get_string("filename") == "messy \"v2\".zip");
  CHECK(input->get_int("bytes") == 12345);
  CHECK(input->get_string("sha256") == "deadbeef");
  CHECK_FALSE(input->get("key").has_value());  // blob keys are internal
  const auto links = root.get("links");
  REQUIRE(links);
  CHECK(links->get_string("self") == "/api/v1/jobs/" + job.id);
  CHECK(links->get_string("result") == "/api/v1/jobs/" + job.id + "/result");
  CHECK(links->get_string("report") == "/api/v1/jobs/" + job.id + "/report");
  CHECK(links->get_string("events") == "/api/v1/jobs/" + job.id + "/events");
  CHECK(links->get_string("diff") == "/api/v1/jobs/" + job.id + "/diff");
  CHECK_FALSE(root.get("tenant").has_value());

  SECTION("a finished job carries its result object or its error") {
    job.status = JobStatus::succeeded;
    job.finished_at = 1767225660000;
    job.result_json = R"({"files_in":3,"files_out":2})";
    auto done = json::Document::parse(job_to_json(job));
    REQUIRE(done.ok());
    CHECK(done->root().get_string("finished_at") == "2026-01-01T00:01:00Z");
    CHECK(done->root().get("result")->get_int("files_in") == 3);

    job.status = JobStatus::failed;
    job.result_json.reset();
    job.error = JobError{"bad_archive", "not a zip file"};
    auto failed = json::Document::parse(job_to_json(job));
    REQUIRE(failed.ok());
    CHECK(failed->root().get("error")->get_string("code") == "bad_archive");
    CHECK(failed->root().get("error")->get_string("message") == "not a zip file");
  }
}
