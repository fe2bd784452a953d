#include <catch2/catch.hpp>

#include "fixtures.hpp"

using namespace fti::e2e;

namespace {

std::string error_code_of(const std::string& json) {
  auto doc = fti::json::Document::parse(json);
  if (!doc.ok()) return {};
  auto err = doc->root().get("error");
  return err && err->is_object() ? err->get_string("code").value_or("") : "";
}

}  // namespace

TEST_CASE("an uploaded codebase is cleaned end to end over HTTP", "[e2e]") {
  const TempDir temp("e2e-upload");
  const fs::path& dir = temp.path();
  auto zip = make_messy_zip(dir);
  Server server(dir / "data");

  CHECK(server.request("GET", "/healthz").status == 200);
  CHECK(server.request("GET", "/readyz").status == 200);

  auto created = server.upload_file(zip, "application/zip", "?filename=messy.zip");
  REQUIRE(created.status == 201);
  auto id = json_string(created.body, "id");
  REQUIRE_FALSE(id.empty());
  CHECK(json_string(created.body, "status") == "queued");

  auto done = server.wait_for_job(id);
  INFO(done << "\n" << server.log());
  REQUIRE(json_string(done, "status") == "succeeded");

  // The cleanup ran in a child process whose peak memory is kept on the job.
  auto usage = fti::json::Document::parse(done)->root().get("usage");
  REQUIRE(usage);
  CHECK(usage->get_int("peak_rss_bytes").value_or(0) > 1 << 20);
  auto result = server.request("GET", "/api/v1/jobs/" + id + "/result");
  REQUIRE(result.status == 200);
  CHECK(result.header("content-type") == "application/zip");
  auto clean_zip = dir / "clean.zip";
  write_file(clean_zip, result.body);
  // Normalised, then clang-format's LLVM style (the default profile) joins the short function.
  CHECK(unzip_member(clean_zip, "src/main.c") == "int main(void) { return 0; }\n");
  // The spaces inside the triple-quoted string are kept; those after it are not.
  CHECK(unzip_member(clean_zip, "app.py") ==
        "def banner():\n    return \"\"\"\n    kept   \n\"\"\"\n");
  CHECK(unzip_member(clean_zip, "README.md") == "# Demo\n\nline one  \nline two\n");
  CHECK(unzip_member(clean_zip, "run.bat") == "@echo off\r\necho hi\r\n");
  CHECK_FALSE(fs::exists(dir / "unzipped/node_modules"));
  CHECK_FALSE(fs::exists(dir / "unzipped/.DS_Store"));

  auto report = server.request("GET", "/api/v1/jobs/" + id + "/report");
  REQUIRE(report.status == 200);
  CHECK(report.body.find("node_modules/") != std::string::npos);
  CHECK(report.body.find("AKIAIOSFODNN7EXAMPLE") == std::string::npos);  // masked
  CHECK(report.body.find("\"secret\"") != std::string::npos);
  auto md = server.request("GET", "/api/v1/jobs/" + id + "/report?format=md");
  REQUIRE(md.status == 200);
  CHECK(md.header("content-type").find("text/markdown") == 0);
  CHECK(md.body.find("## Diff") != std::string::npos);

  // The diff explains every change, folders in one line, and git applies it to the upload.
  auto diff = server.request("GET", "/api/v1/jobs/" + id + "/diff");
  REQUIRE(diff.status == 200);
  CHECK(diff.header("content-type") == "text/x-diff; charset=utf-8");
  CHECK(diff.body.find("# removed folder node_modules/ (2 files)") != std::string::npos);
  CHECK(diff.body.find("node_modules/lodash") == std::string::npos);
  CHECK(diff.body.find("# normalize, format; line endings: CRLF -> LF\ndiff --git a/src/main.c b/src/main.c\n") !=
        std::string::npos);
  CHECK(diff.body.find("Binary files a/.DS_Store and /dev/null differ\n") != std::string::npos);
  write_file(dir / "clean.patch", diff.body);
  CHECK(sh("git -C '" + (dir / "messy").string() + "' apply --check '" + (dir / "clean.patch").string() + "'") == 0);

  auto metrics = server.request("GET", "/metrics");
  CHECK(metrics.body.find("fti_http_requests_total{") != std::string::npos);
  CHECK(metrics.body.find("fti_http_request_duration_seconds_bucket{") != std::string::npos);
}

TEST_CASE("the embedded defaults work: no config, no flags, data in ./data", "[e2e]") {
  const TempDir temp("e2e-defaults");
  const fs::path& dir = temp.path();
  auto zip = make_messy_zip(dir);
  Server server(Server::InWorkingDir{}, dir / "cwd");
  auto created = server.upload_file(zip, "application/zip");
  REQUIRE(created.status == 201);
  auto done = server.wait_for_job(json_string(created.body, "id"));
  INFO(done);
  CHECK(json_string(done, "status") == "succeeded");
  CHECK(fs::exists(dir / "cwd/data/fti.db"));
  CHECK(fs::is_directory(dir / "cwd/data/blobs/results"));
}

TEST_CASE("multipart uploads from a browser form are accepted", "[e2e]") {
  const TempDir temp("e2e-multipart");
  const fs::path& dir = temp.path();
  auto zip = make_messy_zip(dir);
  Server server(dir / "data");
  auto out = dir / "resp.json";
  REQUIRE(sh("curl -s -o '" + out.string() + "' -F 'file=@" + zip.string() + ";type=application/zip' '" +
             server.url("/api/v1/jobs") + "'") == 0);
  auto body = read_file(out);
  auto id = json_string(body, "id");
  REQUIRE_FALSE(id.empty());
  CHECK(json_string(server.wait_for_job(id), "status") == "succeeded");
  auto job = server.request("GET", "/api/v1/jobs/" + id);
  CHECK(job.body.find("\"filename\":\"messy.zip\"") != std::string::npos);
}

TEST_CASE("bad uploads get clear errors and the server keeps serving", "[e2e]") {
  const TempDir temp("e2e-bad");
  const fs::path& dir = temp.path();
  Server server(dir / "data", {"FTI_SERVER_MAX_UPLOAD_BYTES=1048576"});

  SECTION("not an archive: 415 with a code, nothing queued") {
    write_file(dir / "notes.txt", "just some text, not an archive\n");
    auto r = server.upload_file(dir / "notes.txt", "application/octet-stream");
    CHECK(r.status == 415);
    CHECK(r.header("content-type") == "application/problem+json");
    CHECK(json_string(r.body, "code") == "unsupported_media_type");
    auto list = server.request("GET", "/api/v1/jobs");
    CHECK(list.body.find("\"jobs\":[]") != std::string::npos);
  }

  SECTION("over the size limit: 413 without taking the body") {
    write_file(dir / "big.bin", std::string(8 << 20, 'x'));
    auto r = server.upload_file(dir / "big.bin", "application/zip");
    CHECK(r.status == 413);
    CHECK(json_string(r.body, "code") == "too_large");
  }

  SECTION("zip-slip, absolute paths and escaping links fail the job as unsafe_archive") {
    auto victim = dir / "victim.txt";
    auto script = dir / "mk.py";
    write_file(script,
               "import zipfile, sys, os, stat\n"
               "with zipfile.ZipFile(sys.argv[1] + '/slip.zip', 'w') as z:\n"
               "    z.writestr('ok.txt', 'fine\\n')\n"
               "    z.writestr('../../victim.txt', 'owned\\n')\n"
               "with zipfile.ZipFile(sys.argv[1] + '/abs.zip', 'w') as z:\n"
               "    z.writestr('/tmp/fti-abs-victim.txt', 'owned\\n')\n"
               "with zipfile.ZipFile(sys.argv[1] + '/link.zip', 'w') as z:\n"
               "    info = zipfile.ZipInfo('escape')\n"
               "    info.create_system = 3\n"
               "    info.external_attr = (stat.S_IFLNK | 0o777) << 16\n"
               "    z.writestr(info, '../../../../etc')\n");
    REQUIRE(sh("python3 '" + script.string() + "' '" + dir.string() + "'") == 0);
    for (auto name : {"slip.zip", "abs.zip", "link.zip"}) {
      INFO(name);
      auto r = server.upload_file(dir / name, "application/zip");
      REQUIRE(r.status == 201);
      auto done = server.wait_for_job(json_string(r.body, "id"));
      CHECK(json_string(done, "status") == "failed");
      CHECK(error_code_of(done) == "unsafe_archive");
    }
    CHECK_FALSE(fs::exists(victim));
    CHECK_FALSE(fs::exists("/tmp/fti-abs-victim.txt"));
  }

  CHECK(server.request("GET", "/healthz").status == 200);
}

TEST_CASE("another tenant's job, unknown routes and early downloads answer properly", "[e2e]") {
  const TempDir temp("e2e-errors");
  const fs::path& dir = temp.path();
  Server server(dir / "data");
  auto missing = server.request("GET", "/api/v1/jobs/01NOSUCHJOB0000000000000000");
  CHECK(missing.status == 404);
  CHECK(json_string(missing.body, "code") == "not_found");
  CHECK(server.request("GET", "/no/such/route").status == 404);
  CHECK(server.request("PUT", "/api/v1/jobs").status == 405);
}

TEST_CASE("memory does not grow with the upload's size", "[e2e][slow]") {
  const TempDir temp("e2e-stream");
  const fs::path& dir = temp.path();
  Server server(dir / "data");
  // 160 MiB of incompressible data in a tar: far more than the server may hold in memory.
  REQUIRE(sh("cd '" + dir.string() + "' && head -c 167772160 /dev/urandom > big.bin && tar cf big.tar big.bin") == 0);
  auto before = server.peak_rss_bytes();
  auto r = server.upload_file(dir / "big.tar", "application/x-tar");
  REQUIRE(r.status == 201);
  auto after = server.peak_rss_bytes();
  INFO("server peak RSS before " << before / 1048576 << " MiB, after " << after / 1048576 << " MiB");
  CHECK(after - before < 48LL << 20);
  CHECK(json_string(r.body, "status") == "queued");
  fs::remove(dir / "big.bin");
}

TEST_CASE("a job over its memory limit fails with resource_limit and the server lives on", "[e2e]") {
#if defined(__SANITIZE_ADDRESS__)
  SUCCEED("skipped: AddressSanitizer builds run cleanup children without a memory limit");
  return;
#endif
  const TempDir temp("e2e-memlimit");
  const fs::path& dir = temp.path();
  auto zip = make_messy_zip(dir);
  Server server(dir / "data", {"FTI_LIMITS_JOB_MEMORY_BYTES=33554432"});
  auto created = server.upload_file(zip, "application/zip");
  REQUIRE(created.status == 201);
  auto done = server.wait_for_job(json_string(created.body, "id"));
  INFO(done);
  CHECK(json_string(done, "status") == "failed");
  CHECK(error_code_of(done) == "resource_limit");
  CHECK(done.find("\"attempt\":1") != std::string::npos);  // not retried: it would fail again
  CHECK(server.request("GET", "/healthz").status == 200);
}

TEST_CASE("uploads that belong to no job are swept once they are an hour old", "[e2e]") {
  const TempDir temp("e2e-orphans");
  const fs::path& dir = temp.path();
  auto uploads = dir / "data/blobs/uploads";
  write_file(uploads / "01OLDORPHAN000000000000000", "left by a crash");
  write_file(uploads / "01NEWORPHAN000000000000000", "an upload still arriving");
  REQUIRE(sh("touch -d '2 hours ago' '" + (uploads / "01OLDORPHAN000000000000000").string() + "'") == 0);
  Server server(dir / "data");
  CHECK(wait_until([&] { return !fs::exists(uploads / "01OLDORPHAN000000000000000"); }, std::chrono::seconds(10)));
  CHECK(fs::exists(uploads / "01NEWORPHAN000000000000000"));
}

TEST_CASE("with storage replicas, every blob of a job reaches the replica", "[e2e]") {
  const TempDir temp("e2e-replicas");
  const fs::path& dir = temp.path();
  auto zip = make_messy_zip(dir);
  const auto replica = dir / "replica";
  Server server(dir / "data", {"FTI_STORAGE_REPLICAS=file:" + replica.string()});
  auto created = server.upload_file(zip, "application/zip", "?filename=messy.zip");
  REQUIRE(created.status == 201);
  auto id = json_string(created.body, "id");
  auto done = server.wait_for_job(id);
  INFO(done << "\n" << server.log());
  REQUIRE(json_string(done, "status") == "succeeded");
  // Replication runs as its own jobs after each blob is stored: wait for the copies.
  const auto primary = dir / "data/blobs";
  for (const std::string& key :
       {"uploads/" + id, "results/" + id + ".zip", "reports/" + id + ".json", "diffs/" + id + ".patch"}) {
    INFO(key);
    CHECK(wait_until([&] { return fs::exists(replica / key) && read_file(replica / key) == read_file(primary / key); },
                     std::chrono::seconds(30)));
  }
  auto metrics = server.request("GET", "/metrics").body;
  CHECK_THAT(metrics, Catch::Contains("fti_storage_replication_lag_seconds "));
  CHECK_THAT(metrics, Catch::Contains("fti_jobs_queue_depth{queue=\"replicate\"}"));
}
