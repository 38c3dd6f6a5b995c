// Host memory for the CPU backend: 64-byte aligned blocks, large ones kept in a cache for reuse.
#pragma once

#include <cstddef>

namespace heed::cpu {

void* allocate(size_t bytes);  // nullptr when the system is out of memory
void release(void* pointer);

size_t cached_bytes();  // bytes held in idle cached blocks
size_t live_bytes();    // bytes in blocks handed out and not yet released (size classes)
size_t peak_live_bytes();
void reset_peak_live_bytes();  // the peak starts again from the live bytes now
void empty_cache();            // give every idle cached block back to the system

}  // namespace heed::cpu
