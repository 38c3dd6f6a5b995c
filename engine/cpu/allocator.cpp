// Host memory for the CPU backend, with a cache of freed blocks.
//
// Why a cache: a training step allocates the same large buffers every time (attention scores,
// their softmax, the gradients of both). Blocks of a megabyte or more come from the kernel as
// fresh pages, and every page faults and is zeroed on its first touch; freeing them returns the
// pages. For a (384, 256, 256) masked softmax that is half the time of the step. Keeping freed
// blocks and handing them back out for the next request of the same size class avoids both
// costs (below about 1 MiB, malloc itself keeps trimming and regrowing its heap, with the same
// page faults). Small blocks are kept too: a small recurrent model allocates thousands of
// 1-64 KiB gate and gradient buffers per step, and malloc's bins spent a tenth of its time
// splitting and merging them; below 1 KiB, every aligned_alloc splits a larger chunk and leaves
// fragments that malloc merges again later (a chain of small ops spent an eighth of its
// instructions there: bench/op_overhead under callgrind, 119M -> 105M with small blocks cached).
//
// The policy: idle blocks are kept up to 2 GiB in all; a block no request has taken back for
// about a million allocations is freed (what a loop reuses stays, what an earlier phase left
// behind goes); and when the system refuses an allocation, the whole cache is given back and
// the allocation tried once more. empty_cpu_cache() frees it at once.
//
// Every block carries a 64-byte header in front of the data that records its size class, so
// release() knows where the block belongs without a lookup table.
#include "engine/cpu/allocator.hpp"

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include "engine/checked_size.hpp"
#include "engine/sanitizer.hpp"

namespace heed::cpu {

namespace {

constexpr size_t kAlignment = 64;                // a cache line, and enough for any vector load
constexpr size_t kHeader = kAlignment;           // keeps the data aligned behind the header
constexpr size_t kCachedBlock = kAlignment;      // every block is cached
constexpr size_t kLargeBlock = size_t{1} << 20;  // 1 MiB and up: whole MiB size classes
constexpr size_t kPage = size_t{4} << 10;
constexpr size_t kMaxCachedBytes = size_t{2} << 30;  // idle cached blocks beyond 2 GiB are freed
// A cached block that no request has taken back for this many allocations (hundreds of training
// steps even for a small model) is given back to the system: the cache keeps what a loop
// reuses, not what an earlier phase (a larger batch, an evaluation) left behind. Checked every
// kTrimEvery allocations.
constexpr uint64_t kStaleAfter = uint64_t{1} << 20;
constexpr uint64_t kTrimEvery = uint64_t{1} << 12;

// Under AddressSanitizer every block goes back to the system, so a use after free is reported
// instead of silently reading a recycled buffer.
constexpr bool kCacheBlocks = !kAddressSanitizer;

// Large blocks are rounded up to a whole number of MiB, so a request of 100 MB and one a few
// bytes larger share a size class; medium ones to whole pages, small ones to cache lines.
size_t size_class(size_t bytes) {
  const size_t granule = bytes >= kLargeBlock          ? kLargeBlock
                         : bytes >= (size_t{64} << 10) ? kPage
                                                       : kAlignment;
  return (bytes + granule - 1) / granule * granule;
}

struct IdleBlock {
  void* block;     // its header's address
  uint64_t since;  // the allocation count when it was cached
};

struct BlockCache {
  std::mutex lock;
  std::map<size_t, std::vector<IdleBlock>> idle;  // size class -> free blocks, oldest first
  size_t idle_bytes = 0;
};

BlockCache& cache() {
  static BlockCache* instance = new BlockCache();  // never destroyed: tensors may outlive main
  return *instance;
}

// What memory_stats reports: bytes in blocks handed out (by size class), and their high mark.
std::atomic<size_t> live{0};
std::atomic<size_t> peak{0};
std::atomic<uint64_t> allocations{0};  // every allocate() so far: the cache's clock

void count_allocation(size_t block_size) {
  const size_t now = live.fetch_add(block_size) + block_size;
  size_t high = peak.load();
  while (now > high && !peak.compare_exchange_weak(high, now)) {
  }
}

void* take_cached(size_t block_size) {
  BlockCache& blocks = cache();
  const std::lock_guard guard(blocks.lock);
  auto found = blocks.idle.find(block_size);
  if (found == blocks.idle.end() || found->second.empty()) return nullptr;
  void* block = found->second.back().block;  // the most recently cached: still warm
  found->second.pop_back();
  blocks.idle_bytes -= block_size;
  return block;
}

bool keep_cached(void* block, size_t block_size) {
  BlockCache& blocks = cache();
  const std::lock_guard guard(blocks.lock);
  if (blocks.idle_bytes + block_size > kMaxCachedBytes) return false;
  blocks.idle[block_size].push_back({block, allocations.load()});
  blocks.idle_bytes += block_size;
  return true;
}

// Frees the cached blocks idle for more than kStaleAfter allocations (at most `now`).
void free_stale_blocks(uint64_t now) {
  BlockCache& blocks = cache();
  const std::lock_guard guard(blocks.lock);
  for (auto& [size, free_blocks] : blocks.idle) {
    size_t stale = 0;
    while (stale < free_blocks.size() && now - free_blocks[stale].since > kStaleAfter) {
      std::free(free_blocks[stale].block);
      blocks.idle_bytes -= size;
      ++stale;
    }
    free_blocks.erase(free_blocks.begin(), free_blocks.begin() + static_cast<int64_t>(stale));
  }
}

}  // namespace

void* allocate(size_t bytes) {
  if (bytes > kMaxAllocationBytes) return nullptr;  // the size class and header must not wrap
  const size_t block_size = size_class(bytes);
  const uint64_t now = allocations.fetch_add(1) + 1;
  if (now % kTrimEvery == 0) free_stale_blocks(now);
  void* block = kCacheBlocks && block_size >= kCachedBlock ? take_cached(block_size) : nullptr;
  if (block == nullptr) block = std::aligned_alloc(kAlignment, kHeader + block_size);
  if (block == nullptr && cached_bytes() > 0) {  // the system is short: give the cache back, retry
    empty_cache();
    block = std::aligned_alloc(kAlignment, kHeader + block_size);
  }
  if (block == nullptr) return nullptr;
  *static_cast<size_t*>(block) = block_size;
  count_allocation(block_size);
  return static_cast<char*>(block) + kHeader;
}

void release(void* pointer) {
  if (pointer == nullptr) return;
  void* block = static_cast<char*>(pointer) - kHeader;
  const size_t block_size = *static_cast<size_t*>(block);
  live.fetch_sub(block_size);
  if (kCacheBlocks && block_size >= kCachedBlock && keep_cached(block, block_size)) return;
  std::free(block);
}

size_t cached_bytes() {
  BlockCache& blocks = cache();
  const std::lock_guard guard(blocks.lock);
  return blocks.idle_bytes;
}

size_t live_bytes() {
  return live.load();
}

size_t peak_live_bytes() {
  return peak.load();
}

void reset_peak_live_bytes() {
  peak.store(live.load());
}

void empty_cache() {
  BlockCache& blocks = cache();
  const std::lock_guard guard(blocks.lock);
  for (auto& [size, free_blocks] : blocks.idle) {
    for (const IdleBlock& idle : free_blocks) std::free(idle.block);
  }
  blocks.idle.clear();
  blocks.idle_bytes = 0;
}

}  // namespace heed::cpu
