// Advisory locks (flock) that keep two processes from writing one file at once: a checkpoint
// is saved through a locked temporary file, and a training run holds a lock on its checkpoint
// for as long as it runs, so a second run given the same --checkpoint stops at its start with
// an error instead of silently interleaving saves with the first.
#pragma once

#include <filesystem>
#include <string>

namespace heed {

// Opens (creating it if needed) and locks `path` without waiting; a lock held elsewhere is a
// heed::Error that starts with `op` and says `purpose`. Returns the open descriptor, which holds
// the lock until closed. The file is checked to still be the one at `path` once locked (another
// holder may have renamed or removed it in between), so the lock always covers the file now at
// `path`.
int open_locked(const std::filesystem::path& path, const std::string& op,
                const std::string& purpose);

// Held for the life of a training run: locks `<target>.lock` (writing this process's id into it)
// and removes it again when destroyed.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& target);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  std::filesystem::path lock_path_;
  int fd_ = -1;
};

}  // namespace heed
