// The process-wide allocator: large tensors on huge-page mappings that are reused within the
// live high-water mark and returned when a job ends (core/runtime.h).
#include "core/jobs/job.h"
#include "core/runtime.h"
#include "test_main.h"

#include <torch/torch.h>

#include <c10/core/CPUAllocator.h>

#include <random>

using namespace rr;

namespace {

constexpr int64_t kFloatsPerMb = 1024 * 1024 / 4;

torch::Tensor megabytes(int64_t mb) { return torch::empty({mb * kFloatsPerMb}); }

bool withinLivePeak() {
  const auto s = runtime::largeBlockStats();
  return s.liveMb + s.cachedMb <= s.peakLiveMb + 1e-9;
}

class AllocatingJob : public Job {
 public:
  QString title() const override { return QStringLiteral("allocate"); }
  double cachedAtEndOfRun = -1;

 protected:
  void run() override {
    { auto t = megabytes(64).fill_(1.0f); }
    cachedAtEndOfRun = runtime::largeBlockStats().cachedMb;
  }
};

}  // namespace

class TstRuntime : public QObject {
  Q_OBJECT

 private slots:
  void init() {
    if (runtime::allocatorPolicy() != runtime::AllocatorPolicy::HugePages)
      QSKIP("tensors stay in the heap here (no transparent huge pages, or RR_ALLOCATOR=heap)");
    runtime::releaseCachedMemory();
  }

  void largeBlocksAreAlignedAndReused() {
    auto a = megabytes(8);
    QCOMPARE(reinterpret_cast<uintptr_t>(a.data_ptr()) % (2u << 20), uintptr_t{0});
    const void* first = a.data_ptr();
    const auto before = runtime::largeBlockStats();
    QCOMPARE(before.liveMb, 8.0);
    a = torch::Tensor();
    QCOMPARE(runtime::largeBlockStats().cachedMb, 8.0);
    auto b = megabytes(8);  // the same size class comes back from the cache
    QCOMPARE(b.data_ptr(), first);
    QCOMPARE(runtime::largeBlockStats().reused, before.reused + 1);
    // Small tensors stay with LibTorch's own allocator.
    auto small = megabytes(1);
    QCOMPARE(runtime::largeBlockStats().liveMb, 8.0);
  }

  void valuesSurviveReuse() {
    // A computation on large blocks equals the same computation on fresh ones.
    torch::manual_seed(3);
    auto x = torch::randn({1024, 2048});
    auto w = torch::randn({2048, 1024});
    auto expected = torch::mm(x, w);
    for (int i = 0; i < 3; ++i) {
      auto y = torch::mm(x, w);  // 4 MB results, reused mappings from the second round on
      QVERIFY(torch::equal(y, expected));
    }
  }

  void cacheStaysWithinTheLivePeak() {
    auto a = megabytes(64);
    a = torch::Tensor();
    auto s = runtime::largeBlockStats();
    QCOMPARE(s.cachedMb, 64.0);
    QCOMPARE(s.peakLiveMb, 64.0);
    // Another size class: 48 + the cached 64 would exceed the peak of 64, so the 64 goes back.
    auto b = megabytes(48);
    s = runtime::largeBlockStats();
    QCOMPARE(s.liveMb, 48.0);
    QCOMPARE(s.cachedMb, 0.0);
    b = torch::Tensor();
    // A seeded mix of sizes and lifetimes keeps live + cached within the live peak throughout.
    std::mt19937 rng(7);
    std::vector<torch::Tensor> held;
    for (int i = 0; i < 300; ++i) {
      if (!held.empty() && rng() % 3 == 0) {
        held.erase(held.begin() + static_cast<long>(rng() % held.size()));
      } else {
        held.push_back(megabytes(4 + static_cast<int64_t>(rng() % 40)));
      }
      if (held.size() > 12) held.erase(held.begin());
      QVERIFY2(withinLivePeak(), qPrintable(QStringLiteral("step %1").arg(i)));
    }
    held.clear();
    QVERIFY(runtime::largeBlockStats().reused > 0);
  }

  void releaseReturnsMemoryToTheSystem() {
    const double rssBefore = runtime::currentRssMb();
    auto big = megabytes(256).fill_(1.0f);  // touched, so resident
    QVERIFY(runtime::currentRssMb() > rssBefore + 200);
    big = torch::Tensor();
    QVERIFY(runtime::currentRssMb() > rssBefore + 200);  // cached for reuse
    runtime::releaseCachedMemory();
    QVERIFY2(runtime::currentRssMb() < rssBefore + 56,
             qPrintable(QStringLiteral("RSS %1 MB, %2 MB before").arg(runtime::currentRssMb()).arg(rssBefore)));
    const auto s = runtime::largeBlockStats();
    QCOMPARE(s.cachedMb, 0.0);
    QCOMPARE(s.peakLiveMb, s.liveMb);
  }

  void rawAllocationsOfBothKindsAreFreed() {
    // LibTorch's raw_allocate/raw_deallocate path hands back one pointer and frees it through
    // raw_deleter(), which must tell large blocks from small ones.
    c10::Allocator* alloc = c10::GetCPUAllocator();
    void* large = alloc->raw_allocate(size_t{16} << 20);
    void* small = alloc->raw_allocate(4096);
    QCOMPARE(runtime::largeBlockStats().liveMb, 16.0);
    alloc->raw_deallocate(large);
    alloc->raw_deallocate(small);
    QCOMPARE(runtime::largeBlockStats().liveMb, 0.0);
    QCOMPARE(runtime::largeBlockStats().cachedMb, 16.0);
  }

  void aFinishedJobReleasesTheCache() {
    AllocatingJob job;
    job.execute();
    QCOMPARE(job.status(), JobStatus::Completed);
    QCOMPARE(job.cachedAtEndOfRun, 64.0);
    QCOMPARE(runtime::largeBlockStats().cachedMb, 0.0);
  }
};

RR_TEST_MAIN(TstRuntime)
#include "tst_runtime.moc"
