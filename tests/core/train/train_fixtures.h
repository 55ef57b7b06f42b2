#pragma once
// Shared by the training tests: hooks that never cancel and keep the trainer's messages.
#include "core/train/trainer.h"

#include <QStringList>

namespace rr {

struct NullHooks : TrainHooks {
  QStringList messages;
  void checkCancel() override {}
  void batchProgress(const std::string&, int, int, int64_t, int64_t, double) override {}
  void metric(const std::string&, int64_t, int, const QString&, double) override {}
  void message(const QString& m) override { messages << m; }
};

}  // namespace rr
