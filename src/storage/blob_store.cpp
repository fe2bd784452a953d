#include "fti/storage/blob_store.hpp"

#include <cstdlib>
#include <fstream>
#include <fmt/format.h>

#include "fti/storage/local_blob_store.hpp"
#include "fti/storage/s3_blob_store.hpp"

namespace fti::storage {
namespace {
constexpr std::size_t kChunk = 256 * 1024;

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}
}  // namespace

bool is_valid_key(std::string_view key) {
  if (key.empty() || key.size() > 1024) return false;
  std::size_t start = 0;
  while (start <= key.size()) {
    auto slash = key.find('/', start);
    auto seg = key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char c : seg) {
      if (!is_key_char(c)) return false;
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

Result<BlobInfo> put_file(BlobStore& store, std::string_view key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(errc::io_error, fmt::format("cannot read {}", path));
  FTI_ASSIGN_OR_RETURN(auto writer, store.open_writer(key));
  std::string buf(kChunk, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto n = static_cast<std::size_t>(in.gcount());
    if (n == 0) break;
    if (auto st = writer->write(std::string_view(buf.data(), n)); !st) {
      writer->abort();
      return st.error();
    }
  }
  if (in.bad()) {
    writer->abort();
    return Error(errc::io_error, fmt::format("error reading {}", path));
  }
  return writer->commit();
}

Status get_file(BlobStore& store, std::string_view key, const std::string& path) {
  FTI_ASSIGN_OR_RETURN(auto reader, store.open_reader(key));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Error(errc::io_error, fmt::format("cannot write {}", path));
  std::string buf(kChunk, '\0');
  for (;;) {
    FTI_ASSIGN_OR_RETURN(std::size_t n, reader->read(buf.data(), buf.size()));
    if (n == 0) break;
    out.write(buf.data(), static_cast<std::streamsize>(n));
    if (!out) return Error(errc::io_error, fmt::format("cannot write {}", path));
  }
  out.close();
  if (!out) return Error(errc::io_error, fmt::format("cannot write {}", path));
  return {};
}

Result<BlobInfo> put_bytes(BlobStore& store, std::string_view key, std::string_view bytes) {
  FTI_ASSIGN_OR_RETURN(auto writer, store.open_writer(key));
  if (auto st = writer->write(bytes); !st) {
    writer->abort();
    return st.error();
  }
  return writer->commit();
}

Result<std::string> get_bytes(BlobStore& store, std::string_view key, std::int64_t max_bytes) {
  FTI_ASSIGN_OR_RETURN(auto reader, store.open_reader(key));
  if (reader->size() > max_bytes) {
    return Error(errc::too_large, fmt::format("blob {} is {} bytes, over {}", key, reader->size(), max_bytes));
  }
  std::string out(static_cast<std::size_t>(reader->size()), '\0');
  std::size_t filled = 0;
  while (filled < out.size()) {
    FTI_ASSIGN_OR_RETURN(std::size_t n, reader->read(out.data() + filled, out.size() - filled));
    if (n == 0) break;
    filled += n;
  }
  out.resize(filled);
  return out;
}

S3Credentials s3_credentials_from_environment() {
  auto get = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string(value ? value : "");
  };
  return {get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"), get("AWS_SESSION_TOKEN")};
}

Result<std::unique_ptr<BlobStore>> open_blob_store(std::string_view url, const OpenBlobStoreOptions& options) {
  if (url.rfind("file:", 0) == 0) return make_local_blob_store(std::string(url.substr(5)));
  if (url.rfind("s3://", 0) == 0) {
    S3Options s3;
    FTI_ASSIGN_OR_RETURN(s3.location, parse_s3_url(url));
    s3.credentials = options.s3_credentials;
    s3.clock = options.clock;
    return make_s3_blob_store(std::move(s3));
  }
  return Error(errc::bad_config, fmt::format("storage.url: \"{}\" must be file:PATH or "
                                             "s3://BUCKET?endpoint=...&region=...", url));
}

}  // namespace fti::storage
