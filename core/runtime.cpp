#include "core/runtime.h"

#include "core/errors.h"

#include <torch/torch.h>

#include <QFile>
#include <QRegularExpression>
#include <QThread>

#include <c10/core/CPUAllocator.h>

#include <dlfcn.h>
#include <malloc.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace rr::runtime {
namespace {

// glibc returns every block above the mmap threshold to the kernel on free, so each new
// logits/gradient buffer of tens of MB is faulted in page by page again. Keeping freed memory in
// the heap (no mmap for large blocks, no trimming) makes a 200 MB alloc+fill 16x cheaper here.
constexpr int kNeverTrimBytes = 1 << 30;

// The heap policy's cost is memory: freed blocks of many sizes stay in one heap and fragment it
// (PLR at batch 2,048: 1.49 GB live, 2.47 GB resident). Where the kernel offers transparent huge
// pages, blocks from kLargeBlockBytes up get mappings of their own with MADV_HUGEPAGE instead:
// 2 MB pages fault in cheaply (200 MB alloc+fill: 532 ms with 4 kB pages, 38 ms with 2 MB pages,
// 32 ms for reused heap memory), and a freed mapping is reused or returned (LargeBlocks).
constexpr size_t kLargeBlockBytes = size_t{4} << 20;
constexpr size_t kHugePageBytes = size_t{2} << 20;

using Mapping = std::pair<void*, size_t>;

/// \brief Large-block mappings: live ones by address, freed ones kept for reuse, oldest first.
/// A training loop asks for similar sizes every batch, and reusing a resident mapping (cut to
/// size, or grown by the difference) costs next to nothing. The cache never lets live + cached
/// bytes exceed the highest live total seen so far (the oldest mappings are returned first), so
/// the resident size follows the live tensors' peak.
class LargeBlocks {
 public:
  /// Never destroyed: tensors may be freed after static destruction at exit.
  static LargeBlocks& instance() {
    static auto* blocks = new LargeBlocks;
    return *blocks;
  }

  void* allocate(size_t n) {
    const size_t length = sizeClass(n);
    std::lock_guard<std::mutex> lock(mutex_);
    void* p = reuse(length);
    if (!p) {
      p = mapHuge(length, n);
      ++mapped_;
    }
    addLive(p, length);
    return p;
  }

  /// False when `p` is not a large block.
  bool release(void* p) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(p);
    if (it == live_.end()) return false;
    const size_t length = it->second;
    live_.erase(it);
    liveBytes_ -= length;
    cached_.emplace_back(p, length);
    cachedBytes_ += length;
    return true;
  }

  void trim() {
    std::deque<Mapping> all;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      all.swap(cached_);
      cachedBytes_ = 0;
      peakLiveBytes_ = liveBytes_;
    }
    for (const auto& [q, length] : all) munmap(q, length);
  }

  LargeBlockStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    constexpr double mb = 1024.0 * 1024.0;
    return {liveBytes_ / mb, cachedBytes_ / mb, peakLiveBytes_ / mb, mapped_, reused_};
  }

 private:
  /// Whole huge pages, in steps of at most 1/8 of the size: batches of varying width then share
  /// mappings, and a fresh mapping's untouched tail costs no memory.
  static size_t sizeClass(size_t n) {
    size_t step = kHugePageBytes;
    while (step * 16 < n) step *= 2;
    return (n + step - 1) / step * step;
  }

  static void* mapHuge(size_t length, size_t requested) {
    // Over-map by one huge page and cut to a 2 MB boundary so that every page can be huge.
    void* raw = mmap(nullptr, length + kHugePageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    TORCH_CHECK(raw != MAP_FAILED, "out of memory: could not map ", requested, " bytes for a tensor (",
                std::strerror(errno), ")");
    const auto base = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (base + kHugePageBytes - 1) & ~(uintptr_t{kHugePageBytes} - 1);
    if (aligned > base) munmap(raw, aligned - base);
    const uintptr_t end = base + length + kHugePageBytes;
    if (end > aligned + length) munmap(reinterpret_cast<void*>(aligned + length), end - aligned - length);
    void* p = reinterpret_cast<void*>(aligned);
    madvise(p, length, MADV_HUGEPAGE);
    return p;
  }

  /// A block of `length` bytes made from cached mappings, or nullptr when none is cached. Under
  /// the lock. A cached mapping is resident already, so reshaping one costs faults only for the
  /// bytes it grows by: the smallest one that is large enough is cut to size, or else the
  /// largest one is grown in place (or moved without copying) after the oldest others are
  /// returned to keep live + cached within the budget.
  void* reuse(size_t length) {
    auto fit = cached_.end(), largest = cached_.end();
    for (auto it = cached_.begin(); it != cached_.end(); ++it) {
      if (it->second >= length && (fit == cached_.end() || it->second < fit->second)) fit = it;
      if (largest == cached_.end() || it->second > largest->second) largest = it;
    }
    auto chosen = fit != cached_.end() ? fit : largest;
    if (chosen == cached_.end()) return nullptr;
    auto [p, size] = *chosen;
    cached_.erase(chosen);
    cachedBytes_ -= size;
    if (size >= length) {
      if (size > length) munmap(static_cast<char*>(p) + length, size - length);
      ++reused_;
      return p;
    }
    const size_t budget = std::max(peakLiveBytes_, liveBytes_ + length);
    while (!cached_.empty() && liveBytes_ + cachedBytes_ + length > budget) {
      munmap(cached_.front().first, cached_.front().second);
      cachedBytes_ -= cached_.front().second;
      cached_.pop_front();
    }
    void* grown = mremap(p, size, length, MREMAP_MAYMOVE);
    if (grown == MAP_FAILED) {
      munmap(p, size);
      return nullptr;
    }
    madvise(grown, length, MADV_HUGEPAGE);
    ++reused_;
    return grown;
  }

  void addLive(void* p, size_t length) {
    live_[p] = length;
    liveBytes_ += length;
    peakLiveBytes_ = std::max(peakLiveBytes_, liveBytes_);
  }

  std::mutex mutex_;
  std::unordered_map<void*, size_t> live_;
  std::deque<Mapping> cached_;
  size_t liveBytes_ = 0, cachedBytes_ = 0, peakLiveBytes_ = 0;
  qint64 mapped_ = 0, reused_ = 0;
};

/// LibTorch's CPU allocator with large blocks from LargeBlocks; everything smaller goes to the
/// allocator it replaces.
class HugePageCpuAllocator final : public c10::Allocator {
 public:
  explicit HugePageCpuAllocator(c10::Allocator* small) : small_(small) { smallDeleter() = small->raw_deleter(); }

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  c10::DataPtr allocate(size_t n) override { return allocateBlock(n); }
  void copy_data(void* dest, const void* src, size_t count) const override { std::memcpy(dest, src, count); }
#else
  c10::DataPtr allocate(size_t n) const override { return allocateBlock(n); }
#endif
  c10::DeleterFnPtr raw_deleter() const override { return smallDeleter() ? &freeAny : nullptr; }

 private:
  c10::DataPtr allocateBlock(size_t n) const {
    if (n < kLargeBlockBytes) return small_->allocate(n);
    void* p = LargeBlocks::instance().allocate(n);
    return {p, p, &freeAny, c10::Device(c10::DeviceType::CPU)};
  }
  static void freeAny(void* p) {
    if (!LargeBlocks::instance().release(p)) smallDeleter()(p);
  }
  static c10::DeleterFnPtr& smallDeleter() {
    static c10::DeleterFnPtr fn = nullptr;
    return fn;
  }

  c10::Allocator* small_;
};

bool transparentHugePagesOffered() {
  QFile f(QStringLiteral("/sys/kernel/mm/transparent_hugepage/enabled"));
  if (!f.open(QIODevice::ReadOnly)) return false;
  const QByteArray mode = f.readAll();
  return mode.contains("[always]") || mode.contains("[madvise]");
}

AllocatorPolicy gPolicy = AllocatorPolicy::Heap;

using OpenBlasSetThreads = void (*)(int);
using OpenBlasGetThreads = int (*)();

OpenBlasSetThreads openBlasSetter() {
  static auto fn = reinterpret_cast<OpenBlasSetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  return fn;
}

double readStatusMb(const char* key) {
  QFile f(QStringLiteral("/proc/self/status"));
  if (!f.open(QIODevice::ReadOnly)) return 0;
  const QByteArray k(key);
  for (const QByteArray& line : f.readAll().split('\n')) {
    if (line.startsWith(k)) {
      const QList<QByteArray> parts = line.mid(k.size()).simplified().split(' ');
      if (!parts.isEmpty()) return parts[0].toDouble() / 1024.0;  // kB -> MiB
    }
  }
  return 0;
}

void installHugePageAllocator() {
  static auto* allocator = new HugePageCpuAllocator(c10::GetCPUAllocator());
  c10::SetCPUAllocator(allocator, /*priority=*/1);
  gPolicy = AllocatorPolicy::HugePages;
}

}  // namespace

void initialiseProcess() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, kNeverTrimBytes);
    // Experiments: RR_ALLOCATOR=heap keeps every block in the heap even where huge pages exist.
    const bool heapOnly = qgetenv("RR_ALLOCATOR").trimmed().toLower() == "heap";
    if (!heapOnly && transparentHugePagesOffered()) installHugePageAllocator();
  });
}

AllocatorPolicy allocatorPolicy() { return gPolicy; }

LargeBlockStats largeBlockStats() {
  return gPolicy == AllocatorPolicy::HugePages ? LargeBlocks::instance().stats() : LargeBlockStats{};
}

void releaseCachedMemory() {
  if (gPolicy == AllocatorPolicy::HugePages) LargeBlocks::instance().trim();
}

int hardwareCores() { return std::max(1, QThread::idealThreadCount()); }

bool blasThreadsControllable() { return openBlasSetter() != nullptr; }

ThreadSplit defaultSplit(int totalThreads) {
  const int total = totalThreads > 0 ? totalThreads : hardwareCores();
  ThreadSplit s;
  // The pools multiply. Measured on 2 cores with SASRec on Beauty (README, "Performance"):
  // torch 1 x OpenBLAS 2 trains ~25% faster and evaluates ~15% faster than torch 2 x OpenBLAS 1,
  // and torch 2 x OpenBLAS 2 is slowest (the issue's own figures agree: 1,403 / 1,229 / 888
  // seq/s). The GEMMs dominate and OpenBLAS parallelises them better than the intra-op pool.
  s.torch = 1;
  s.blas = total;
  // Experiments: RR_THREAD_SPLIT=TxB (e.g. 1x2) overrides the split.
  const QByteArray env = qgetenv("RR_THREAD_SPLIT");
  if (!env.isEmpty()) {
    const QList<QByteArray> parts = env.toLower().split('x');
    if (parts.size() == 2 && parts[0].toInt() > 0 && parts[1].toInt() > 0) {
      s.torch = parts[0].toInt();
      s.blas = parts[1].toInt();
    }
  }
  return s;
}

namespace {
std::atomic<int> gSplitTorch{0}, gSplitBlas{0};
}  // namespace

ThreadSplit applySplit(ThreadSplit split) {
  split.torch = std::max(1, split.torch);
  split.blas = std::max(1, split.blas);
  at::set_num_threads(split.torch);
  if (auto fn = openBlasSetter()) fn(split.blas);
  gSplitTorch.store(split.torch);
  gSplitBlas.store(split.blas);
  return split;
}

ThreadSplit currentSplit() { return {gSplitTorch.load(), gSplitBlas.load()}; }

int blasThreads() {
  using OpenBlasGetThreads = int (*)();
  static auto get = reinterpret_cast<OpenBlasGetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get && openBlasSetter() ? get() : 0;
}

int setBlasThreads(int threads) {
  auto set = openBlasSetter();
  if (!set) return 0;
  const int previous = blasThreads();
  set(std::max(1, threads));
  return previous;
}

ThreadSplit applyThreads(int totalThreads) { return applySplit(defaultSplit(totalThreads)); }

bool cudaAvailable() { return torch::cuda::is_available(); }

QString resolveDevice(const QString& request) {
  const QString r = request.trimmed().toLower();
  if (r.isEmpty() || r == QLatin1String("auto"))
    return cudaAvailable() ? QStringLiteral("cuda:0") : QStringLiteral("cpu");
  if (r == QLatin1String("cpu")) return r;
  static const QRegularExpression cudaRe(QStringLiteral("^cuda(?::(\\d+))?$"));
  const auto m = cudaRe.match(r);
  if (!m.hasMatch())
    throw ConfigError(QStringLiteral("device"),
                      QStringLiteral("'%1' is not auto, cpu, cuda or cuda:N").arg(request));
  if (!cudaAvailable())
    throw ConfigError(QStringLiteral("device"),
                      QStringLiteral("'%1' requested but this LibTorch sees no CUDA device").arg(request));
  const int index = m.captured(1).isEmpty() ? 0 : m.captured(1).toInt();
  const int count = static_cast<int>(torch::cuda::device_count());
  if (index >= count)
    throw ConfigError(QStringLiteral("device"),
                      QStringLiteral("cuda:%1 requested but only %2 CUDA device(s) exist").arg(index).arg(count));
  return QStringLiteral("cuda:%1").arg(index);
}

double peakRssMb() { return readStatusMb("VmHWM:"); }
double currentRssMb() { return readStatusMb("VmRSS:"); }

QString versionString() {
  return QStringLiteral("%1 (LibTorch %2.%3.%4, Qt %5)")
      .arg(QStringLiteral(REASONREC_VERSION))
      .arg(TORCH_VERSION_MAJOR).arg(TORCH_VERSION_MINOR).arg(TORCH_VERSION_PATCH)
      .arg(QString::fromLatin1(qVersion()));
}

}  // namespace rr::runtime
