// Advisory file locks with flock: open, lock without waiting, and check the file is still the one
// at its path.
#include "engine/io/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/error.hpp"

namespace heed {

namespace {

// What the lock file says about its holder, for the error message ("" when unreadable).
std::string holder_of(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return "";
  char text[32] = {};
  const ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return "";
  std::string pid(text, static_cast<size_t>(n));
  return pid.find_first_not_of("0123456789") == std::string::npos ? " by process " + pid : "";
}

}  // namespace

int open_locked(const std::filesystem::path& path, const std::string& op,
                const std::string& purpose) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) fail("{}: cannot create {}: {}", op, path.string(), std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      ::close(fd);
      if (error == EWOULDBLOCK) {
        fail("{}: {} is locked{}: {}", op, path.string(), holder_of(path), purpose);
      }
      fail("{}: cannot lock {}: {}", op, path.string(), std::strerror(error));
    }
    struct stat opened {
    }, now{};
    if (::fstat(fd, &opened) == 0 && ::stat(path.c_str(), &now) == 0 &&
        opened.st_dev == now.st_dev && opened.st_ino == now.st_ino) {
      return fd;
    }
    ::close(fd);  // the holder renamed or removed the file before we got it: open it anew
  }
  fail("{}: cannot lock {}: it keeps being replaced by another process", op, path.string());
}

FileLock::FileLock(const std::filesystem::path& target) : lock_path_(target) {
  lock_path_ += ".lock";
  fd_ = open_locked(lock_path_, "checkpoint lock",
                    "another run is writing " + target.string() + " (give this run another path)");
  // The process id only makes a second run's error message better; the lock holds without it.
  const std::string pid = std::to_string(::getpid());
  const bool noted = ::ftruncate(fd_, 0) == 0 && ::write(fd_, pid.data(), pid.size()) > 0;
  (void)noted;
}

FileLock::~FileLock() {
  ::unlink(lock_path_.c_str());  // before close: a waiter then finds the file gone and retries
  ::close(fd_);
}

}  // namespace heed
