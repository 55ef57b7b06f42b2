#include "core/runtime.h"

#include "core/errors.h"

#include <torch/torch.h>

#include <QFile>
#include <QRegularExpression>
#include <QThread>

#include <dlfcn.h>
#include <malloc.h>

#include <algorithm>
#include <mutex>

namespace rr::runtime {
namespace {

// glibc returns every block above the mmap threshold to the kernel on free, so each new
// logits/gradient buffer of tens of MB is faulted in page by page again. Keeping freed memory in
// the heap (no mmap for large blocks, no trimming) makes a 200 MB alloc+fill 90x cheaper here.
constexpr int kNeverTrimBytes = 1 << 30;

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

}  // namespace

void initialiseProcess() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, kNeverTrimBytes);
  });
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

ThreadSplit applySplit(ThreadSplit split) {
  split.torch = std::max(1, split.torch);
  split.blas = std::max(1, split.blas);
  at::set_num_threads(split.torch);
  if (auto fn = openBlasSetter()) fn(split.blas);
  return split;
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
