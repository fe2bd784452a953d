#include "fti/storage/local_blob_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "fti/core/ids.hpp"

namespace fti::storage {
namespace fs = std::filesystem;
namespace {

Error io_error(std::string_view what, const fs::path& p) {
  return Error(errc::storage_error, fmt::format("{} {}: {}", what, p.string(), std::strerror(errno)));
}

std::int64_t mtime_ms(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

class LocalWriter final : public BlobWriter {
 public:
  LocalWriter(int fd, fs::path temp, fs::path final_path, std::string key)
      : fd_(fd), temp_(std::move(temp)), final_(std::move(final_path)), key_(std::move(key)) {}
  ~LocalWriter() override { abort(); }

  Status write(std::string_view bytes) override {
    if (fd_ < 0) return Error(errc::internal, "write after commit or abort");
    while (!bytes.empty()) {
      ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return io_error("write", temp_);
      bytes.remove_prefix(static_cast<std::size_t>(n));
      size_ += n;
    }
    return {};
  }

  Result<BlobInfo> commit() override {
    if (fd_ < 0) return Error(errc::internal, "commit after commit or abort");
    // fsync before rename: after a crash the key holds either nothing or the whole blob.
    if (::fsync(fd_) != 0) return io_error("fsync", temp_);
    ::close(fd_);
    fd_ = -1;
    std::error_code ec;
    fs::create_directories(final_.parent_path(), ec);
    if (::rename(temp_.c_str(), final_.c_str()) != 0) {
      auto err = io_error("rename", final_);
      ::unlink(temp_.c_str());
      return err;
    }
    sync_dir(final_.parent_path());
    struct stat st{};
    ::stat(final_.c_str(), &st);
    return BlobInfo{key_, size_, mtime_ms(st)};
  }

  void abort() override {
    if (fd_ < 0) return;
    ::close(fd_);
    fd_ = -1;
    ::unlink(temp_.c_str());
  }

 private:
  static void sync_dir(const fs::path& dir) {
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }

  int fd_;
  fs::path temp_;
  fs::path final_;
  std::string key_;
  std::int64_t size_ = 0;
};

class LocalReader final : public BlobReader {
 public:
  LocalReader(int fd, std::int64_t size) : fd_(fd), size_(size) {}
  ~LocalReader() override { ::close(fd_); }
  Result<std::size_t> read(char* buffer, std::size_t capacity) override {
    for (;;) {
      ssize_t n = ::read(fd_, buffer, capacity);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error(errc::storage_error, fmt::format("read: {}", std::strerror(errno)));
      return static_cast<std::size_t>(n);
    }
  }
  std::int64_t size() const override { return size_; }

 private:
  int fd_;
  std::int64_t size_;
};

class LocalBlobStore final : public BlobStore {
 public:
  explicit LocalBlobStore(fs::path root) : root_(std::move(root)), temp_dir_(root_ / ".tmp") {}

  Status init() {
    std::error_code ec;
    fs::create_directories(temp_dir_, ec);
    if (ec) return Error(errc::storage_error, fmt::format("cannot create {}: {}", temp_dir_.string(), ec.message()));
    // Temp files left by a crash belong to no blob.
    for (const auto& e : fs::directory_iterator(temp_dir_, ec)) fs::remove(e.path(), ec);
    return {};
  }

  Result<std::unique_ptr<BlobWriter>> open_writer(std::string_view key) override {
    FTI_TRY(check_key(key));
    auto temp = temp_dir_ / fmt::format("{}.part", new_request_id());
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return io_error("create", temp);
    return std::unique_ptr<BlobWriter>(new LocalWriter(fd, temp, root_ / std::string(key), std::string(key)));
  }

  Result<std::unique_ptr<BlobReader>> open_reader(std::string_view key) override {
    FTI_TRY(check_key(key));
    auto p = root_ / std::string(key);
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      if (errno == ENOENT) return Error(errc::not_found, fmt::format("no blob {}", key));
      return io_error("open", p);
    }
    struct stat st{};
    ::fstat(fd, &st);
    return std::unique_ptr<BlobReader>(new LocalReader(fd, st.st_size));
  }

  Result<BlobInfo> stat(std::string_view key) override {
    FTI_TRY(check_key(key));
    struct stat st{};
    auto p = root_ / std::string(key);
    if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return Error(errc::not_found, fmt::format("no blob {}", key));
    }
    return BlobInfo{std::string(key), st.st_size, mtime_ms(st)};
  }

  Status remove(std::string_view key) override {
    FTI_TRY(check_key(key));
    auto p = root_ / std::string(key);
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) return io_error("unlink", p);
    return {};
  }

  Result<std::vector<BlobInfo>> list(std::string_view prefix) override {
    std::vector<BlobInfo> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root_, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (it->path() == temp_dir_) {
        it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file(ec)) continue;
      auto key = fs::relative(it->path(), root_, ec).generic_string();
      if (key.rfind(prefix, 0) != 0) continue;
      struct stat st{};
      ::stat(it->path().c_str(), &st);
      out.push_back({key, st.st_size, mtime_ms(st)});
    }
    std::sort(out.begin(), out.end(), [](const BlobInfo& a, const BlobInfo& b) { return a.key < b.key; });
    return out;
  }

  // A local folder has no URL of its own: the API streams the file instead.
  Result<std::optional<std::string>> presigned_get_url(std::string_view key, const PresignRequest&) override {
    FTI_TRY(check_key(key));
    return std::optional<std::string>();
  }

  Status check() override {
    struct stat st{};
    if (::stat(temp_dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return io_error("stat", temp_dir_);
    if (::access(temp_dir_.c_str(), W_OK) != 0) return io_error("access", temp_dir_);
    return {};
  }

  std::string url() const override { return "file:" + root_.string(); }

 private:
  static Status check_key(std::string_view key) {
    if (!is_valid_key(key)) return Error(errc::bad_request, fmt::format("invalid blob key \"{}\"", key));
    return {};
  }

  fs::path root_;
  fs::path temp_dir_;
};

}  // namespace

Result<std::unique_ptr<BlobStore>> make_local_blob_store(const fs::path& root) {
  auto store = std::make_unique<LocalBlobStore>(root);
  FTI_TRY(store->init());
  return std::unique_ptr<BlobStore>(std::move(store));
}

}  // namespace fti::storage
