#include "views/import_wizard.h"

#include "core/data/preprocess.h"
#include "core/data/readers.h"
#include "core/data/synthetic.h"
#include "core/errors.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QWizardPage>
#include <QtConcurrent>
#include <qcustomplot.h>

namespace rr::views {

ImportPreview computeImportPreview(const ImportRequest& request, int maxLen, const std::atomic<bool>* cancel) {
  ImportPreview out;
  try {
    RawLog log;
    if (isSyntheticSpec(request.source)) {
      log = generateSynthetic(parseSyntheticSpec(request.source));
      out.format = QStringLiteral("synthetic");
    } else {
      log = readInteractions(request.source, request.format, [cancel](qint64, qint64) {
        return !(cancel && cancel->load());
      });
      out.format = dataFormatName(log.format);
    }
    out.rawInteractions = static_cast<qint64>(log.interactions.size());
    out.linesRead = log.linesRead;
    if (cancel && cancel->load()) throw CancelledError();
    const SequenceData data = preprocess(log, request.preprocess);
    out.stats = data.computeStats();
    for (const auto& s : data.sequences)
      if (static_cast<int>(s.size()) > maxLen) ++out.truncatedUsers;
    out.ok = true;
  } catch (const CancelledError&) {
    out.cancelled = true;
    out.error = QObject::tr("cancelled");
  } catch (const DataError& e) {
    out.error = e.message();
    out.errorLine = e.line();
  } catch (const Error& e) {
    out.error = e.message();
  } catch (const std::exception& e) {
    out.error = QString::fromLocal8Bit(e.what());
  }
  return out;
}

namespace {

/// A page whose completeness is decided by a callback.
class Page : public QWizardPage {
 public:
  std::function<bool()> complete;
  std::function<void()> init;
  bool isComplete() const override { return complete ? complete() : true; }
  void initializePage() override {
    if (init) init();
  }
  void changed() { emit completeChanged(); }
};

}  // namespace

ImportWizard::ImportWizard(const QString& projectDir, QWidget* parent) : QWizard(parent), projectDir_(projectDir) {
  setObjectName(QStringLiteral("ImportWizard"));
  setWindowTitle(tr("Import dataset"));
  setWizardStyle(QWizard::ClassicStyle);
  setOption(QWizard::NoBackButtonOnStartPage);
  resize(820, 620);
  cancel_ = std::make_shared<std::atomic<bool>>(false);

  // --- 1. source ---
  auto* source = new Page;
  source->setTitle(tr("Choose the interaction file"));
  source->setSubTitle(tr("SASRec text, RecBole .inter, Amazon Reviews 2023 JSON lines or CSV, plain or gzip; "
                         "or a generator spec such as synthetic:users=2000,items=400,seed=1."));
  {
    auto* l = new QVBoxLayout(source);
    auto* row = new QHBoxLayout;
    path_ = new QLineEdit;
    path_->setPlaceholderText(tr("/path/to/file.inter  or  synthetic:users=2000,items=400"));
    auto* browse = new QPushButton(tr("Browse…"));
    row->addWidget(path_, 1);
    row->addWidget(browse);
    l->addLayout(row);
    auto* f = new QFormLayout;
    format_ = new QComboBox;
    format_->addItem(tr("auto-detect"), QStringLiteral("auto"));
    format_->addItem(QStringLiteral("SASRec text"), QStringLiteral("sasrec"));
    format_->addItem(QStringLiteral("RecBole .inter"), QStringLiteral("recbole"));
    format_->addItem(QStringLiteral("Amazon Reviews 2023"), QStringLiteral("amazon2023"));
    f->addRow(tr("Format:"), format_);
    detected_ = new QLabel;
    detected_->setWordWrap(true);
    f->addRow(tr("Detected:"), detected_);
    l->addLayout(f);
    l->addWidget(new QLabel(tr("First lines:")));
    lines_ = new QPlainTextEdit;
    lines_->setReadOnly(true);
    lines_->setLineWrapMode(QPlainTextEdit::NoWrap);
    lines_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    l->addWidget(lines_, 1);
    connect(browse, &QPushButton::clicked, this, [this] {
      const QString p = QFileDialog::getOpenFileName(this, tr("Interaction file"), QFileInfo(path_->text()).absolutePath(),
                                                     tr("Interaction files (*.txt *.inter *.jsonl *.json *.csv *.gz);;All files (*)"));
      if (!p.isEmpty()) path_->setText(p);
    });
    connect(path_, &QLineEdit::textChanged, this, &ImportWizard::updateSource);
    connect(format_, &QComboBox::currentIndexChanged, this, &ImportWizard::updateSource);
    source->complete = [this] {
      const QString s = path_->text().trimmed();
      return !s.isEmpty() && (isSyntheticSpec(s) || QFileInfo(s).isFile());
    };
  }
  setPage(SourcePage, source);

  // --- 2. options ---
  auto* options = new Page;
  options->setTitle(tr("Preprocessing"));
  options->setSubTitle(tr("Filters are applied in this order and recorded with the dataset; the maximum length and "
                          "split become the defaults of new runs on it."));
  {
    auto* f = new QFormLayout(options);
    minRating_ = new QDoubleSpinBox;
    minRating_->setRange(-1e9, 1e9);
    minRating_->setDecimals(2);
    minRating_->setValue(3.0);
    minRating_->setToolTip(tr("Keep interactions rated strictly above this (when the file has ratings)"));
    f->addRow(tr("Keep ratings above:"), minRating_);
    kcore_ = new QSpinBox;
    kcore_->setRange(0, 100000);
    kcore_->setValue(5);
    kcore_->setToolTip(tr("Drop users and items with fewer than k interactions, repeatedly; 0 = off"));
    f->addRow(tr("k-core:"), kcore_);
    minLength_ = new QSpinBox;
    minLength_->setRange(1, 100000);
    minLength_->setValue(3);
    f->addRow(tr("Minimum history length:"), minLength_);
    maxLength_ = new QSpinBox;
    maxLength_->setRange(1, 1024);
    maxLength_->setValue(50);
    maxLength_->setToolTip(tr("Histories are cut to their most recent items (data.max_len of new runs)"));
    f->addRow(tr("Maximum sequence length:"), maxLength_);
    split_ = new QComboBox;
    split_->addItems({QStringLiteral("leave_one_out"), QStringLiteral("global_time")});
    f->addRow(tr("Split:"), split_);
    name_ = new QLineEdit;
    name_->setPlaceholderText(tr("default: the file's name"));
    f->addRow(tr("Dataset name:"), name_);
  }
  setPage(OptionsPage, options);

  // --- 3. statistics ---
  auto* stats = new Page;
  stats->setTitle(tr("Statistics"));
  stats->setSubTitle(tr("Computed from the file with the options chosen; Finish imports it as a job."));
  {
    auto* l = new QVBoxLayout(stats);
    status_ = new QLabel;
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    l->addWidget(status_);
    auto* row = new QHBoxLayout;
    statsTable_ = new QTableWidget(0, 2);
    statsTable_->horizontalHeader()->hide();
    statsTable_->verticalHeader()->hide();
    statsTable_->horizontalHeader()->setStretchLastSection(true);
    statsTable_->setMaximumWidth(300);
    row->addWidget(statsTable_);
    histogram_ = new QCustomPlot;
    histogram_->setMinimumSize(360, 260);
    histogram_->xAxis->setLabel(tr("sequence length"));
    histogram_->yAxis->setLabel(tr("users"));
    histogram_->plotLayout()->insertRow(0);
    histogram_->plotLayout()->addElement(0, 0, new QCPTextElement(histogram_, tr("Sequence lengths"), QFont(font().family(), 10, QFont::Bold)));
    row->addWidget(histogram_, 1);
    l->addLayout(row, 1);
    stats->init = [this] { startPreview(); };
    stats->complete = [this] { return preview_.ok && !watcher_.isRunning(); };
  }
  setPage(StatsPage, stats);

  connect(&watcher_, &QFutureWatcher<ImportPreview>::finished, this, [this, stats] {
    preview_ = watcher_.result();
    showPreview();
    stats->changed();
    emit previewFinished();
  });
  connect(this, &QWizard::rejected, this, [this] { cancel_->store(true); });
}

ImportWizard::~ImportWizard() {
  cancel_->store(true);
  watcher_.waitForFinished();
}

void ImportWizard::setSource(const QString& pathOrSpec) { path_->setText(pathOrSpec); }
QString ImportWizard::source() const { return path_->text().trimmed(); }
int ImportWizard::maxLength() const { return maxLength_->value(); }
QString ImportWizard::split() const { return split_->currentText(); }
QString ImportWizard::statusText() const { return status_->text(); }
QString ImportWizard::detectedText() const { return detected_->text(); }

ImportRequest ImportWizard::request() const {
  ImportRequest r;
  r.projectDir = projectDir_;
  r.source = source();
  r.format = parseDataFormat(format_->currentData().toString());
  r.preprocess.minRating = minRating_->value();
  r.preprocess.kcore = kcore_->value();
  r.preprocess.minSequenceLength = minLength_->value();
  r.name = name_->text().trimmed();
  return r;
}

void ImportWizard::updateSource() {
  const QString s = source();
  lines_->clear();
  if (s.isEmpty()) {
    detected_->clear();
  } else if (isSyntheticSpec(s)) {
    try {
      detected_->setText(tr("generator: %1").arg(parseSyntheticSpec(s).toSpec()));
    } catch (const Error& e) {
      detected_->setText(QStringLiteral("<span style='color:#c02020'>%1</span>").arg(e.message().toHtmlEscaped()));
    }
  } else if (!QFileInfo(s).isFile()) {
    detected_->setText(tr("no such file"));
  } else {
    try {
      const DataFormat f = detectFormat(s);
      detected_->setText(tr("%1 (%2 bytes)").arg(dataFormatName(f)).arg(QFileInfo(s).size()));
      if (name_ && name_->text().isEmpty()) name_->setPlaceholderText(QFileInfo(s).completeBaseName());
    } catch (const Error& e) {
      detected_->setText(QStringLiteral("<span style='color:#c02020'>%1</span>").arg(e.message().toHtmlEscaped()));
    }
    try {
      lines_->setPlainText(previewLines(s, 20).join(QLatin1Char('\n')));
    } catch (const Error& e) {
      lines_->setPlainText(e.message());
    }
  }
  if (auto* p = dynamic_cast<Page*>(page(SourcePage))) p->changed();
}

void ImportWizard::startPreview() {
  if (watcher_.isRunning()) {
    cancel_->store(true);
    watcher_.waitForFinished();
  }
  cancel_ = std::make_shared<std::atomic<bool>>(false);
  preview_ = ImportPreview{};
  status_->setText(tr("Reading %1 …").arg(source()));
  statsTable_->setRowCount(0);
  histogram_->clearPlottables();
  histogram_->replot();
  const ImportRequest req = request();
  const int maxLen = maxLength();
  auto cancel = cancel_;
  watcher_.setFuture(QtConcurrent::run([req, maxLen, cancel] { return computeImportPreview(req, maxLen, cancel.get()); }));
}

void ImportWizard::showPreview() {
  if (!preview_.ok) {
    QString text = preview_.error.toHtmlEscaped();
    if (preview_.errorLine > 0) text = tr("<b>Line %1</b> — %2").arg(preview_.errorLine).arg(text);
    status_->setText(QStringLiteral("<span style='color:#c02020'>%1</span><br>%2")
                         .arg(text, tr("Fix the file or choose another format; nothing was imported.")));
    return;
  }
  const DatasetStats& s = preview_.stats;
  status_->setText(tr("%1: %2 lines read, %3 interactions before filtering. %4 of %5 users are longer than the maximum "
                      "length %6 and will be cut to their most recent items.")
                       .arg(preview_.format)
                       .arg(preview_.linesRead)
                       .arg(preview_.rawInteractions)
                       .arg(preview_.truncatedUsers)
                       .arg(s.users)
                       .arg(maxLength()));
  const QVector<QPair<QString, QString>> rows = {
      {tr("Users"), QString::number(s.users)},
      {tr("Items"), QString::number(s.items)},
      {tr("Interactions"), QString::number(s.interactions)},
      {tr("Average length"), QString::number(s.avgLength, 'f', 2)},
      {tr("Median length"), QString::number(s.medianLength, 'f', 1)},
      {tr("Min / max length"), QStringLiteral("%1 / %2").arg(s.minLength).arg(s.maxLength)},
      {tr("Sparsity"), QStringLiteral("%1 %").arg(100 * s.sparsity, 0, 'f', 3)},
      {tr("Timestamps"), s.hasTimestamps ? tr("yes") : tr("no")},
      {tr("Titles"), s.hasTitles ? tr("yes") : tr("no")}};
  statsTable_->setRowCount(rows.size());
  for (int i = 0; i < rows.size(); ++i) {
    statsTable_->setItem(i, 0, new QTableWidgetItem(rows[i].first));
    statsTable_->setItem(i, 1, new QTableWidgetItem(rows[i].second));
  }
  histogram_->clearPlottables();
  auto* bars = new QCPBars(histogram_->xAxis, histogram_->yAxis);
  bars->setBrush(QColor(0, 114, 178, 170));
  bars->setPen(QPen(QColor(0, 80, 130)));
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  QVector<double> keys, values;
  for (size_t i = 0; i < s.lengthHistogram.size(); ++i) {
    keys.append(static_cast<double>(i));
    values.append(static_cast<double>(s.lengthHistogram[i]));
    const int lo = i < s.histogramEdges.size() ? s.histogramEdges[i] : 0;
    const int hi = i + 1 < s.histogramEdges.size() ? s.histogramEdges[i + 1] - 1 : lo;
    ticker->addTick(static_cast<double>(i), lo == hi ? QString::number(lo) : QStringLiteral("%1–%2").arg(lo).arg(hi));
  }
  bars->setData(keys, values);
  histogram_->xAxis->setTicker(ticker);
  histogram_->xAxis->setTickLabelRotation(45);
  histogram_->rescaleAxes();
  histogram_->xAxis->setRange(-0.7, keys.size() - 0.3);
  histogram_->yAxis->setRangeLower(0);
  histogram_->yAxis->setRangeUpper(histogram_->yAxis->range().upper * 1.08);
  histogram_->replot();
}

}  // namespace rr::views
