#include "core/train/checkpoint.h"

#include "core/errors.h"

#include <ATen/Context.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace rr {
namespace {

QJsonObject mapJson(const QJsonObject& o) { return o; }

torch::Tensor cpuRngState() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void setCpuRngState(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

void syncFile(const QString& path) {
  const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

QJsonObject StageState::toJson() const {
  return QJsonObject{{QStringLiteral("epoch"), epoch},
                     {QStringLiteral("step"), static_cast<double>(step)},
                     {QStringLiteral("best_epoch"), bestEpoch},
                     {QStringLiteral("best_metric"), bestMetric},
                     {QStringLiteral("bad_epochs"), badEpochs},
                     {QStringLiteral("finished"), finished},
                     {QStringLiteral("samples"), static_cast<double>(samples)},
                     {QStringLiteral("targets"), static_cast<double>(targets)},
                     {QStringLiteral("train_seconds"), trainSeconds},
                     {QStringLiteral("best_valid"), mapJson(bestValid)},
                     {QStringLiteral("last_valid"), mapJson(lastValid)},
                     {QStringLiteral("extra"), extra}};
}

StageState StageState::fromJson(const QJsonObject& o) {
  StageState s;
  s.epoch = o.value(QStringLiteral("epoch")).toInt();
  s.step = static_cast<int64_t>(o.value(QStringLiteral("step")).toDouble());
  s.bestEpoch = o.value(QStringLiteral("best_epoch")).toInt();
  s.bestMetric = o.value(QStringLiteral("best_metric")).toDouble(-1);
  s.badEpochs = o.value(QStringLiteral("bad_epochs")).toInt();
  s.finished = o.value(QStringLiteral("finished")).toBool();
  s.samples = static_cast<int64_t>(o.value(QStringLiteral("samples")).toDouble());
  s.targets = static_cast<int64_t>(o.value(QStringLiteral("targets")).toDouble());
  s.trainSeconds = o.value(QStringLiteral("train_seconds")).toDouble();
  s.bestValid = o.value(QStringLiteral("best_valid")).toObject();
  s.lastValid = o.value(QStringLiteral("last_valid")).toObject();
  s.extra = o.value(QStringLiteral("extra")).toObject();
  return s;
}

void saveCheckpoint(const QString& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                    const StageState& state) {
  QDir().mkpath(QFileInfo(path).absolutePath());
  const QString tmp = path + QStringLiteral(".tmp");
  try {
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive modelArchive;
    model.save(modelArchive);
    archive.write("model", modelArchive);
    if (optimizer) {
      torch::serialize::OutputArchive optArchive;
      optimizer->save(optArchive);
      archive.write("optimizer", optArchive);
    }
    const QByteArray json = QJsonDocument(state.toJson()).toJson(QJsonDocument::Compact);
    archive.write("state", c10::IValue(json.toStdString()));
    archive.write("rng_cpu", cpuRngState(), /*is_buffer=*/true);
    for (int64_t i = 0; i < static_cast<int64_t>(torch::cuda::device_count()); ++i) {
      const auto& gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
      archive.write("rng_cuda_" + std::to_string(i), gen.get_state(), true);
    }
    archive.save_to(QFile::encodeName(tmp).toStdString());
  } catch (const c10::Error& e) {
    QFile::remove(tmp);
    throw RunError(QStringLiteral("writing checkpoint %1: %2").arg(path, QString::fromStdString(e.what()).section(QLatin1Char('\n'), 0, 0)));
  } catch (const std::exception& e) {
    QFile::remove(tmp);
    throw RunError(QStringLiteral("writing checkpoint %1: %2").arg(path, QString::fromLocal8Bit(e.what())));
  }
  syncFile(tmp);
  if (std::rename(QFile::encodeName(tmp).constData(), QFile::encodeName(path).constData()) != 0) {
    const QString why = QString::fromLocal8Bit(std::strerror(errno));
    QFile::remove(tmp);
    throw RunError(QStringLiteral("writing checkpoint %1: %2").arg(path, why));
  }
}

namespace {
torch::serialize::InputArchive openArchive(const QString& path) {
  if (!QFileInfo::exists(path)) throw RunError(QStringLiteral("checkpoint %1 does not exist").arg(path));
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(QFile::encodeName(path).toStdString());
  } catch (const std::exception& e) {
    throw RunError(QStringLiteral("checkpoint %1 is unreadable or corrupt: %2")
                       .arg(path, QString::fromLocal8Bit(e.what()).section(QLatin1Char('\n'), 0, 0)));
  }
  return archive;
}

StageState readState(torch::serialize::InputArchive& archive, const QString& path) {
  c10::IValue v;
  if (!archive.try_read("state", v) || !v.isString())
    throw RunError(QStringLiteral("checkpoint %1 has no training state").arg(path));
  return StageState::fromJson(QJsonDocument::fromJson(QByteArray::fromStdString(v.toStringRef())).object());
}
}  // namespace

StageState readCheckpointState(const QString& path) {
  auto archive = openArchive(path);
  return readState(archive, path);
}

StageState loadCheckpoint(const QString& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                          bool restoreRng) {
  auto archive = openArchive(path);
  StageState state = readState(archive, path);
  try {
    torch::serialize::InputArchive modelArchive;
    archive.read("model", modelArchive);
    model.load(modelArchive);
    if (optimizer) {
      torch::serialize::InputArchive optArchive;
      if (archive.try_read("optimizer", optArchive)) optimizer->load(optArchive);
    }
    if (restoreRng) {
      torch::Tensor rng;
      if (archive.try_read("rng_cpu", rng)) setCpuRngState(rng);
      for (int64_t i = 0; i < static_cast<int64_t>(torch::cuda::device_count()); ++i) {
        torch::Tensor s;
        if (archive.try_read("rng_cuda_" + std::to_string(i), s)) {
          auto gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
          std::lock_guard<std::mutex> lock(gen.mutex());
          gen.set_state(s);
        }
      }
    }
  } catch (const c10::Error& e) {
    throw RunError(QStringLiteral("checkpoint %1 does not fit this model: %2")
                       .arg(path, QString::fromStdString(e.what()).section(QLatin1Char('\n'), 0, 0)));
  }
  return state;
}

}  // namespace rr
