#include "views/config_panel.h"

#include "core/errors.h"
#include "core/store/experiment_store.h"
#include "views/config_form.h"

#include <QComboBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QVBoxLayout>

namespace rr::views {

ConfigPanel::ConfigPanel(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("ConfigPanel"));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  auto* top = new QGridLayout;
  preset_ = new QComboBox;
  for (const QString& p : presetNames()) {
    preset_->addItem(p, p);
    preset_->setItemData(preset_->count() - 1, presetDescription(p), Qt::ToolTipRole);
  }
  saved_ = new QComboBox;
  saved_->setToolTip(tr("Configurations saved in this project"));
  dataset_ = new QComboBox;
  auto* importButton = new QPushButton(tr("Import…"));
  name_ = new QLineEdit;
  name_->setPlaceholderText(tr("optional run name"));
  top->addWidget(new QLabel(tr("Preset:")), 0, 0);
  top->addWidget(preset_, 0, 1);
  top->addWidget(new QLabel(tr("Saved:")), 0, 2);
  top->addWidget(saved_, 0, 3);
  top->addWidget(new QLabel(tr("Dataset:")), 1, 0);
  auto* ds = new QHBoxLayout;
  ds->addWidget(dataset_, 1);
  ds->addWidget(importButton);
  top->addLayout(ds, 1, 1);
  top->addWidget(new QLabel(tr("Name:")), 1, 2);
  top->addWidget(name_, 1, 3);
  top->setColumnStretch(1, 1);
  top->setColumnStretch(3, 1);
  layout->addLayout(top);

  form_ = new ConfigForm;
  layout->addWidget(form_, 1);

  issues_ = new QLabel;
  issues_->setWordWrap(true);
  issues_->setTextFormat(Qt::RichText);
  layout->addWidget(issues_);
  auto* buttons = new QHBoxLayout;
  save_ = new QPushButton(tr("Save configuration…"));
  create_ = new QPushButton(tr("Create run"));
  create_->setToolTip(tr("Store the run as queued without starting it"));
  start_ = new QPushButton(tr("Start run"));
  start_->setDefault(true);
  start_->setToolTip(tr("Create the run and queue its training (F5)"));
  buttons->addWidget(save_);
  buttons->addStretch();
  buttons->addWidget(create_);
  buttons->addWidget(start_);
  layout->addLayout(buttons);

  connect(preset_, &QComboBox::activated, this, [this](int) { setPreset(preset_->currentData().toString()); });
  connect(saved_, &QComboBox::activated, this, [this](int i) {
    const qint64 id = saved_->itemData(i).toLongLong();
    if (id > 0) loadSavedConfiguration(id);
  });
  connect(form_, &ConfigForm::changed, this, &ConfigPanel::updateState);
  connect(dataset_, &QComboBox::currentIndexChanged, this, &ConfigPanel::updateState);
  connect(importButton, &QPushButton::clicked, this, &ConfigPanel::importRequested);
  connect(save_, &QPushButton::clicked, this, [this] {
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("Save configuration"), tr("Name:"), QLineEdit::Normal,
                                               form_->valueText(QStringLiteral("preset")), &ok);
    if (!ok || name.trimmed().isEmpty()) return;
    const QString err = saveConfiguration(name.trimmed());
    if (!err.isEmpty()) QMessageBox::warning(this, tr("Save configuration"), err);
  });
  auto request = [this](bool startNow) {
    try {
      const RunConfig cfg = form_->config();
      emit runRequested(datasetId(), cfg, runName(), startNow);
    } catch (const Error& e) {
      QMessageBox::warning(this, tr("Invalid configuration"), e.message());
    }
  };
  connect(create_, &QPushButton::clicked, this, [request] { request(false); });
  connect(start_, &QPushButton::clicked, this, [request] { request(true); });
  setPreset(QStringLiteral("sasrec"));
}

void ConfigPanel::setStore(ExperimentStore* store) {
  store_ = store;
  reloadLists();
}

void ConfigPanel::reloadLists() {
  const qint64 keepDataset = datasetId();
  dataset_->clear();
  saved_->clear();
  saved_->addItem(tr("(none)"), 0);
  if (store_) {
    try {
      for (const DatasetRecord& d : store_->datasets())
        dataset_->addItem(QStringLiteral("%1 — %2 users, %3 items").arg(d.name).arg(d.stats.users).arg(d.stats.items), d.id);
      for (const SavedConfigRecord& c : store_->savedConfigs()) saved_->addItem(c.name, c.id);
    } catch (const Error&) {
    }
  }
  if (keepDataset > 0) selectDataset(keepDataset);
  updateState();
}

void ConfigPanel::setPreset(const QString& name) {
  const int i = preset_->findData(name);
  if (i >= 0) preset_->setCurrentIndex(i);
  try {
    form_->setConfig(RunConfig::fromPreset(name));
  } catch (const Error& e) {
    QMessageBox::warning(this, tr("Preset"), e.message());
  }
}

void ConfigPanel::selectDataset(qint64 id) {
  const int i = dataset_->findData(id);
  if (i >= 0) dataset_->setCurrentIndex(i);
}

qint64 ConfigPanel::datasetId() const { return dataset_->currentData().toLongLong(); }
QString ConfigPanel::runName() const { return name_->text().trimmed(); }

QString ConfigPanel::saveConfiguration(const QString& name) {
  if (!store_) return tr("no project is open");
  try {
    const RunConfig cfg = form_->config();
    store_->saveConfig(name, cfg.toJson());
  } catch (const Error& e) {
    return e.message();
  }
  reloadLists();
  const int i = saved_->findText(name);
  if (i >= 0) saved_->setCurrentIndex(i);
  return {};
}

void ConfigPanel::loadSavedConfiguration(qint64 id) {
  if (!store_) return;
  for (const SavedConfigRecord& c : store_->savedConfigs()) {
    if (c.id != id) continue;
    try {
      const RunConfig cfg = RunConfig::fromJson(c.config);
      const int p = preset_->findData(cfg.preset());
      if (p >= 0) preset_->setCurrentIndex(p);
      form_->setConfig(cfg);
    } catch (const Error& e) {
      QMessageBox::warning(this, tr("Saved configuration"), e.message());
    }
  }
}

void ConfigPanel::updateState() {
  const auto issues = form_->issues();
  QStringList lines;
  for (int i = 0; i < issues.size() && i < 4; ++i)
    lines.append(QStringLiteral("<b>%1</b>: %2").arg(issues[i].key.toHtmlEscaped(), issues[i].message.toHtmlEscaped()));
  if (issues.size() > 4) lines.append(tr("… and %1 more").arg(issues.size() - 4));
  const bool noDataset = datasetId() <= 0;
  if (noDataset) lines.append(tr("Import a dataset first (File ▸ Import dataset…)."));
  issues_->setText(lines.isEmpty() ? QString()
                                   : QStringLiteral("<span style='color:#c02020'>%1</span>").arg(lines.join(QStringLiteral("<br>"))));
  issues_->setVisible(!lines.isEmpty());
  const bool ok = issues.isEmpty() && !noDataset;
  start_->setEnabled(ok);
  create_->setEnabled(ok);
  save_->setEnabled(issues.isEmpty());
}

}  // namespace rr::views
