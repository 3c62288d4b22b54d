#pragma once
// The engine's one worker pool. Model code parallelises with parallel_for; BLAS is called from
// inside those regions single-threaded, so exactly one set of threads competes for the cores.
#include <cstdint>
#include <functional>

namespace bb {

// Number of worker threads used by the engine (including the calling thread). Default: cores.
int num_threads();
void set_num_threads(int n);  // n <= 0 means "all cores"

// Runs fn(i) for i in [begin, end) on the pool; items are handed out dynamically in `grain`-sized
// chunks. Blocks until all are done. Nested calls run serially on the calling thread.
void parallel_for(int64_t begin, int64_t end, const std::function<void(int64_t)>& fn, int64_t grain = 1);

// Runs fn(thread_index, thread_count) once on each worker thread (for static partitioning).
void parallel_threads(const std::function<void(int, int)>& fn);

}  // namespace bb
