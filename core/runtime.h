#pragma once
/// \file
/// \brief Process-wide engine settings: allocator behaviour, CPU thread pools, device choice.

#include <QString>
#include <QtGlobal>

namespace rr::runtime {

/// \brief How the CPU threads are divided between LibTorch's intra-op pool and OpenBLAS's pool.
/// The two pools multiply, so their product must not exceed the core budget.
struct ThreadSplit {
  int torch = 1;  ///< at::set_num_threads
  int blas = 1;   ///< openblas_set_num_threads (ignored when the BLAS is not OpenBLAS)
};

/// \brief Where LibTorch's CPU tensors live (see initialiseProcess).
enum class AllocatorPolicy {
  Heap,       ///< all blocks in the heap, kept after free (no transparent huge pages here)
  HugePages,  ///< blocks from 4 MB on their own huge-page mappings, returned on free
};

/// \brief Call once at process start (any thread, before the first tensor).
/// Keeps freed blocks in the heap: on virtual machines every fresh 50 MB logits buffer otherwise
/// costs ~130 ms of page faults (200 MB malloc+fill+free: 532 ms through mmap, 32 ms reusing heap
/// memory). Where the kernel offers transparent huge pages, tensors from 4 MB up get mappings of
/// their own with 2 MB pages instead (38 ms for the same 200 MB); freed ones are reused and never
/// held beyond the live peak, so the resident size follows the live tensors rather than the
/// fragmented heap. RR_ALLOCATOR=heap turns that off.
void initialiseProcess();

/// The policy initialiseProcess chose.
AllocatorPolicy allocatorPolicy();

/// \brief The huge-page blocks' books (all zero under the Heap policy). Freed blocks are kept for
/// reuse while live + cached stays within the highest live total seen (peakLiveMb).
struct LargeBlockStats {
  double liveMb = 0;      ///< in tensors now
  double cachedMb = 0;    ///< freed, kept for reuse
  double peakLiveMb = 0;  ///< highest live total since start or the last releaseCachedMemory()
  qint64 mapped = 0;      ///< blocks that needed a new mapping
  qint64 reused = 0;      ///< blocks served from the cache
};
LargeBlockStats largeBlockStats();

/// \brief Returns the cached huge-page blocks to the system and restarts the high-water mark
/// (called when a job ends, so an idle studio does not hold a finished run's peak).
void releaseCachedMemory();

/// Number of usable CPU cores.
int hardwareCores();

/// \brief The split used for a total thread budget (0 = all cores). Never oversubscribes.
ThreadSplit defaultSplit(int totalThreads);

/// \brief Applies a split to both pools and returns what was applied. Call from the thread
/// that will run tensor code before it runs any (OpenMP pools are per calling thread).
ThreadSplit applyThreads(int totalThreads);
ThreadSplit applySplit(ThreadSplit split);

/// The split most recently applied ({0, 0} before the first applySplit).
ThreadSplit currentSplit();

/// \brief Sets OpenBLAS's pool alone and returns its previous size (0, doing nothing, without
/// OpenBLAS). currentSplit() is unchanged: for code that runs threads of its own for a while
/// and then puts the previous size back.
int setBlasThreads(int threads);
/// OpenBLAS's pool size now (0 when the BLAS is not OpenBLAS).
int blasThreads();

/// Whether the loaded BLAS exposes openblas_set_num_threads.
bool blasThreadsControllable();

/// \brief Resolves "auto" | "cpu" | "cuda" | "cuda:N" to a concrete device string.
/// Throws ConfigError("device", ...) for malformed strings or an unavailable CUDA device.
QString resolveDevice(const QString& request);

/// Whether LibTorch sees a CUDA device.
bool cudaAvailable();

/// Peak resident set size of this process in MiB (VmHWM), 0 if unknown.
double peakRssMb();
/// Current resident set size in MiB (VmRSS), 0 if unknown.
double currentRssMb();

/// Library version string, e.g. "0.1.0 (LibTorch 1.13.0, Qt 6.4.2)".
QString versionString();

}  // namespace rr::runtime
