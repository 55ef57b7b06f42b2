#include "core/train/checkpoint.h"

#include "core/errors.h"

#include <ATen/Context.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QStringList>

#include <sstream>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace rr {
namespace {

/// Parameter and buffer shapes by name, saved with each checkpoint: LibTorch's Module::load
/// silently replaces a tensor of another shape, so the check is ours.
QJsonObject shapeManifest(const torch::nn::Module& model) {
  QJsonObject o;
  auto add = [&o](const std::string& name, const torch::Tensor& t) {
    QJsonArray dims;
    for (int64_t d : t.sizes()) dims.append(static_cast<double>(d));
    o.insert(QString::fromStdString(name), dims);
  };
  for (const auto& p : model.named_parameters(true)) add(p.key(), p.value());
  for (const auto& b : model.named_buffers(true)) add(b.key(), b.value());
  return o;
}

/// Writes bytes to path, flushed and fsync'ed; throws RunError naming path on any failure.
void writeDurably(const QString& path, const std::string& bytes) {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
    throw RunError(QStringLiteral("cannot create %1: %2").arg(path, f.errorString()));
  const qint64 n = f.write(bytes.data(), static_cast<qint64>(bytes.size()));
  const bool flushed = f.flush();
  if (n != static_cast<qint64>(bytes.size()) || !flushed || f.error() != QFileDevice::NoError) {
    const QString why = f.errorString();
    f.close();
    throw RunError(why);
  }
  if (::fsync(f.handle()) != 0) {
    const QString why = QString::fromLocal8Bit(std::strerror(errno));
    f.close();
    throw RunError(why);
  }
  f.close();
}

}  // namespace

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
                     {QStringLiteral("best_valid"), bestValid},
                     {QStringLiteral("last_valid"), lastValid},
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
  std::string bytes;
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
    const QByteArray shapes = QJsonDocument(shapeManifest(model)).toJson(QJsonDocument::Compact);
    archive.write("shapes", c10::IValue(shapes.toStdString()));
    archive.write("rng_cpu", cpuRngState(), /*is_buffer=*/true);
    for (int64_t i = 0; i < static_cast<int64_t>(torch::cuda::device_count()); ++i) {
      const auto& gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
      archive.write("rng_cuda_" + std::to_string(i), gen.get_state(), true);
    }
    // Serialise in memory: LibTorch 1.13's file writer throws from a destructor when the disk
    // is full, which would terminate the process instead of reporting the error.
    std::ostringstream buffer;
    archive.save_to(buffer);
    bytes = buffer.str();
  } catch (const std::exception& e) {
    throw RunError(QStringLiteral("writing checkpoint %1: %2").arg(path, QString::fromLocal8Bit(e.what()).section(QLatin1Char('\n'), 0, 0)));
  }
  try {
    writeDurably(tmp, bytes);
  } catch (const RunError& e) {
    QFile::remove(tmp);
    throw RunError(QStringLiteral("writing checkpoint %1: %2").arg(path, e.message()));
  }
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
  c10::IValue shapes;
  if (archive.try_read("shapes", shapes) && shapes.isString()) {
    const QJsonObject saved = QJsonDocument::fromJson(QByteArray::fromStdString(shapes.toStringRef())).object();
    const QJsonObject here = shapeManifest(model);
    for (auto it = here.begin(); it != here.end(); ++it) {
      const auto other = saved.value(it.key());
      if (other != it.value()) {
        auto dims = [](const QJsonValue& v) {
          if (v.isUndefined()) return QStringLiteral("missing");
          QStringList d;
          for (const auto& x : v.toArray()) d << QString::number(x.toInt());
          return QStringLiteral("[%1]").arg(d.join(QStringLiteral(", ")));
        };
        throw RunError(QStringLiteral("checkpoint %1 does not fit this model: %2 is %3 in the checkpoint, %4 here")
                           .arg(path, it.key(), dims(other), dims(it.value())));
      }
    }
  }
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
